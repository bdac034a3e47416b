"""Batches for every architecture from an `ImageSource` (or two, for unpaired data).

Policy, the same for all: decode -> deterministic resize -> cache in memory when the
resized source fits in `CACHE_BYTES` -> shuffle (buffer min(count, 10000), reshuffled
each pass) -> repeat -> per-element random transform with a stateless seed drawn from
`tf.data.Dataset.random(seed)` (reproducible, new every epoch) -> batch with
drop_remainder (static shapes for XLA and `tf.distribute`) -> prefetch. The results are
plain `tf.data.Dataset`s that `fit` and `strategy.experimental_distribute_dataset` shard.
"""
import dataclasses

import tensorflow as tf

from kgan.errors import UsageError
from pipelines.edges import detect_edges
from pipelines.hints import draw_color_hints
from pipelines.images import convert_channels, standardize, to_unit_range
from pipelines.transforms import random_crop_flip, resize, superres_crop, superres_resize

CACHE_BYTES = 2**30
SHUFFLE_BUFFER = 10_000


def _check_batch(source, batch_size):
    if batch_size > source.count:
        raise UsageError(
            f"batch size {batch_size} is larger than the {source.count} examples of {source.name!r}: lower --batch-size"
        )


def _cache_shuffle_repeat(dataset, count, bytes_per_example, seed, shuffle=True):
    if bytes_per_example is not None and count * bytes_per_example <= CACHE_BYTES:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(min(count, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    return dataset.repeat()


def _with_seeds(dataset, seed):
    """Pairs every element with its own stateless seed, shape [2] int64."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip((dataset, seeds))


def _finish(dataset, batch_size):
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def image_batches(source, image_size, channels, batch_size, labelled=False, seed=0, shuffle=True, mirror=False):
    """Images for the noise-to-image GANs: float32 (B, S, S, C) in [-1, 1] [with int32 (B,)
    labels]: short side to S, center crop (seed 002), no random transform. `mirror`: the
    data doubled with the left-right flip of every image, as stylegan2-ada's `--mirror`
    (`xflip`: each pass shows every image both ways)."""
    count = source.count * (2 if mirror else 1)
    _check_batch(dataclasses.replace(source, count=count), batch_size)
    if labelled and len(source.class_names) < 2:
        raise UsageError(f"{source.name!r} has no class labels: the conditional GAN needs labelled data")

    def prepare(example):
        image = standardize(example["image"], image_size, channels)
        return (image, example["label"]) if labelled else image

    def flip(image, *label):
        return (tf.image.flip_left_right(image), *label) if label else tf.image.flip_left_right(image)

    dataset = source.dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if mirror:
        dataset = dataset.concatenate(dataset.map(flip, num_parallel_calls=tf.data.AUTOTUNE))
    dataset = _cache_shuffle_repeat(dataset, count, image_size * image_size * channels * 4, seed, shuffle)
    return _finish(dataset, batch_size)


def paired_batches(source, batch_size, load_size=286, crop_size=256, flip=True, seed=0):
    """pix2pix pairs: {"source", "target"} float32 (B, crop, crop, 3) in [-1, 1], both
    resized to load_size (bicubic) and given the same random crop and flip."""
    _check_batch(source, batch_size)

    def load(example):
        return {key: tf.cast(tf.round(resize(example[key], [load_size, load_size])), tf.uint8) for key in ("source", "target")}

    def jitter(example, element_seed):
        a, b = random_crop_flip([example["source"], example["target"]], crop_size, element_seed, flip)
        return {"source": to_unit_range(a), "target": to_unit_range(b)}

    dataset = source.dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = _cache_shuffle_repeat(dataset, source.count, load_size * load_size * 6, seed)
    dataset = _with_seeds(dataset, seed).map(jitter, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, batch_size)


@tf.function(jit_compile=True)
def _edges_and_hints_xla(photos, seed, max_hints):
    """Seed 000's ShoesData on a uint8 batch in one XLA call: (edges with color hints, photos)
    in [-1, 1]; edges with the float32 bilateral filter (F1 1.0 against cv2 on skimage's photos)."""
    targets = to_unit_range(photos)
    return draw_color_hints(to_unit_range(detect_edges(photos, fast=True)), targets, seed, max_hints), targets


def edges2shoes_batches(source, batch_size, image_size=256, max_hints=300, seed=0):
    """Seed 000's ShoesData from photos: {"source": edges of the photo (black on white)
    with up to max_hints color hints, "target": the photo}, float32 (B, S, S, 3) in [-1, 1].
    Edges and hints run on whole batches, in one XLA-compiled call."""
    _check_batch(source, batch_size)

    def load(example):
        # edges2shoes photos are image_size already: skip the resize (an identity, ~3 ms each).
        image = convert_channels(example["image"], 3)
        image = tf.cond(tf.reduce_all(tf.shape(image)[:2] == image_size), lambda: image,
                        lambda: tf.cast(tf.round(resize(image, [image_size, image_size])), tf.uint8))
        return tf.ensure_shape(image, [image_size, image_size, 3])

    def to_pairs(photos, batch_seed):
        source, target = _edges_and_hints_xla(photos, batch_seed, max_hints)
        return {"source": source, "target": target}

    dataset = source.dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = _cache_shuffle_repeat(dataset, source.count, image_size * image_size * 3, seed)
    dataset = _with_seeds(dataset.batch(batch_size, drop_remainder=True), seed)
    return dataset.map(to_pairs, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _unpaired(source_a, source_b, batch_size, load, jitter, bytes_per_example, seed, whole_images=True):
    """{"a", "b"} batches of two sources, each loaded, cached if it fits, shuffled with its
    own seed (seed and seed + 1: no pairing by index) and jittered separately. Batches of
    whole images need as many images as the batch; random crops do not."""
    for source in (source_a, source_b):
        if whole_images:
            _check_batch(source, batch_size)

    def domain(source, domain_seed):
        dataset = source.dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
        dataset = _cache_shuffle_repeat(dataset, source.count, bytes_per_example, domain_seed)
        return _with_seeds(dataset, domain_seed).map(jitter, num_parallel_calls=tf.data.AUTOTUNE)

    pairs = tf.data.Dataset.zip({"a": domain(source_a, seed), "b": domain(source_b, seed + 1)})
    return _finish(pairs, batch_size), max(max(source_a.count, source_b.count) // batch_size, int(not whole_images))


def unpaired_batches(source_a, source_b, batch_size, load_size=286, crop_size=256, flip=True, seed=0):
    """CycleGAN batches {"a", "b"} float32 (B, crop, crop, 3) in [-1, 1] (gray converted to
    RGB): A and B are
    shuffled independently (different seeds, so no pairing by index) and jittered
    separately. One epoch is max(|A|, |B|) // batch_size steps, as the seeds;
    returns (dataset, steps_per_epoch)."""

    def load(example):
        image = convert_channels(example["image"], 3)
        return tf.cast(tf.round(resize(image, [load_size, load_size])), tf.uint8)

    def jitter(image, element_seed):
        return to_unit_range(random_crop_flip([image], crop_size, element_seed, flip)[0])

    return _unpaired(source_a, source_b, batch_size, load, jitter, load_size * load_size * 3, seed)


def unpaired_crop_batches(source_a, source_b, batch_size, crop_size, scale=1.0, flip=True, cache=False, seed=0):
    """Seed 004's batches {"a", "b"} float32 (B, crop, crop, 3) in [-1, 1]: random crops of
    images of any size and aspect, each first resized by `scale` (the seed's "a resized,
    lower-resolution version of the HD dataset for training", so that crops hold content)
    and, if its short side is then below `crop_size`, up to it. `cache` keeps the resized
    images in memory (for sources known to be small). Returns (dataset, steps_per_epoch)."""

    def load(example):
        image = convert_channels(example["image"], 3)
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        factor = tf.maximum(tf.cast(scale, tf.float32), crop_size / tf.reduce_min(shape))
        size = tf.maximum(tf.cast(tf.round(shape * factor), tf.int32), crop_size)

        def resized(method):
            return lambda: tf.cast(tf.round(resize(image, size, method)), tf.uint8)

        return tf.cond(factor < 1.0, resized("area"), lambda: tf.cond(factor > 1.0, resized("bicubic"), lambda: image))

    def jitter(image, element_seed):
        return to_unit_range(random_crop_flip([image], crop_size, element_seed, flip)[0])

    return _unpaired(source_a, source_b, batch_size, load, jitter, 0 if cache else None, seed, whole_images=False)


def superres_batches(source, batch_size, scale=4, hr_crop=None, hr_size=256, seed=0):
    """Super-resolution pairs {"lr", "hr"} float32 in [-1, 1]. With hr_crop: a random HR
    crop and its bicubic downscale by `scale` (DIV2K-style photos); without: seed 001's
    whole image resized to hr_size and hr_size // scale with a random flip (CelebA). Random
    crops make a batch larger than the source fine; whole images need as many as the batch."""
    if not hr_crop:
        _check_batch(source, batch_size)

    def pair(example, element_seed):
        if hr_crop:
            lr, hr = superres_crop(example["image"], hr_crop, scale, element_seed)
        else:
            lr, hr = superres_resize(example["image"], hr_size, hr_size // scale, element_seed)
        return {"lr": to_unit_range(lr), "hr": to_unit_range(hr)}

    bytes_per_example = None if hr_crop else hr_size * hr_size * 3 * 4
    dataset = source.dataset
    if not hr_crop:
        dataset = dataset.map(lambda e: {"image": resize(e["image"], [hr_size, hr_size])})
    dataset = _cache_shuffle_repeat(dataset, source.count, bytes_per_example, seed)
    dataset = _with_seeds(dataset, seed).map(pair, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, batch_size)


def label_map_batches(source, batch_size, size, crop=None, flip=True, seed=0, shuffle=True):
    """pix2pixHD batches from {"label_map", ["instance_map"], "image"} examples (NVIDIA's
    AlignedDataset): {"labels": int32 (B, H, W), ["instances": int32 (B, H, W)], "image":
    float32 (B, H, W, 3) in [-1, 1]}. Everything is resized to size = (height, width) (label
    and instance maps nearest, photos bicubic: NVIDIA's scale_width), then given the same
    random crop (crop x crop; NVIDIA --fineSize) and horizontal flip; shuffle=False, flip=False
    and no crop give every example once per pass in order (evaluation)."""
    _check_batch(source, batch_size)
    height, width = size
    keys = [key for key in ("label_map", "instance_map", "image") if key in source.dataset.element_spec]

    def load(example):
        out = {key: tf.cast(tf.image.resize(example[key], [height, width], method="nearest"), tf.int32)
               for key in keys if key != "image"}
        out["image"] = tf.cast(tf.round(resize(example["image"], [height, width])), tf.int32)
        return out

    def jitter(example, element_seed):
        parts = random_crop_flip([example[key] for key in keys], (crop, crop) if crop else (height, width),
                                 element_seed, flip)
        return _label_batch_element(dict(zip(keys, parts)))

    dataset = source.dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if not shuffle:
        return _finish(dataset.map(_label_batch_element), batch_size)
    dataset = _cache_shuffle_repeat(dataset, source.count, height * width * 5 * 4, seed)
    dataset = _with_seeds(dataset, seed).map(jitter, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, batch_size)


def _label_batch_element(example):
    out = {"labels": example["label_map"][..., 0], "image": to_unit_range(example["image"])}
    if "instance_map" in example:
        out["instances"] = example["instance_map"][..., 0]
    return out
