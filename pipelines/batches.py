"""Batches for every architecture from an `ImageSource` (or two, for unpaired data).

Policy, the same for all: decode -> deterministic resize -> cache in memory when the
resized source fits in `CACHE_BYTES` -> shuffle (buffer min(count, 10000), reshuffled
each pass) -> repeat, one stream whatever the iterator -> batch with drop_remainder
(static shapes for XLA and `tf.distribute`) -> the random per-image transform ->
prefetch. The results are plain `tf.data.Dataset`s that `fit` and
`strategy.experimental_distribute_dataset` shard.

Where the random transform runs is a choice (`--transforms`). A `*_pipeline` function
returns the uint8 batches before it and the transform itself, `transform(raw batch, draw)`,
whose random integers come from `draw(shape, maxval, salt)` (`kgan.rng.draws`): `on_host`
runs it in tf.data, keyed for batch i by (seed, i); with `--transforms device` the model
runs it at the start of train step i, keyed by (seed, i) too, on each replica for its rows
of the global batch (`AdversarialModel.prepare_batch`). One definition, both placements,
the same batches. Images of different sizes (siamese crops, SR crops of photos) get their
crop per element on the host, with a seed from `tf.data.Dataset.random(seed)`.
"""
import dataclasses

import tensorflow as tf

from kgan import rng
from kgan.errors import UsageError
from pipelines.edges import detect_edges
from pipelines.hints import draw_color_hints
from pipelines.images import convert_channels, standardize, to_unit_range
from pipelines.transforms import bicubic_lr, crop_flip, random_crop_flip, random_hr_crop, resize

CACHE_BYTES = 2**30
SHUFFLE_BUFFER = 10_000


def _check_batch(source, batch_size):
    if batch_size > source.count:
        raise UsageError(
            f"batch size {batch_size} is larger than the {source.count} examples of {source.name!r}: lower --batch-size"
        )


def _cache_shuffle_repeat(dataset, count, bytes_per_example, seed, shuffle=True):
    """Endless passes over `dataset` (cached if it fits), each shuffled anew. The stream is a
    function of the seed alone, so every iterator of it starts with the same batches: fit's,
    the sample batch's, and each multi_worker worker's, which takes its rows of those global
    batches. (A seeded `shuffle(reshuffle_each_iteration=True)` draws every new iterator's
    order from one generator its iterators share, so the fit of a multi_worker run, for which
    Keras makes one more iterator, started at another batch than the one-process fit; built
    inside `flat_map`, the shuffle gets a generator of its own per iterator.)"""
    if bytes_per_example is not None and count * bytes_per_example <= CACHE_BYTES:
        dataset = dataset.cache()
    if not shuffle:
        return dataset.repeat()
    return tf.data.Dataset.range(1).flat_map(
        lambda _: dataset.shuffle(min(count, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True).repeat())


def _with_seeds(dataset, seed):
    """Pairs every element with its own stateless seed, shape [2] int64: the same seeds for
    every iterator (see `_cache_shuffle_repeat`)."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=False).batch(2)
    return tf.data.Dataset.zip((dataset, seeds))


def _finish(dataset, batch_size):
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def on_host(raw, transform, seed):
    """The host placement of a pipeline: `transform` in tf.data, batch i with the draws of
    (seed, i), the ones train step i makes with `--transforms device`."""
    def run(batch, index):
        return transform(batch, rng.draws(rng.step_seed(seed, index, rng.TRANSFORM_SALT)))

    indexed = tf.data.Dataset.zip((raw, tf.data.Dataset.counter()))
    return indexed.map(run, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def place(raw, transform, seed, transforms):
    """(dataset, transform for the model or None) of a pipeline for `--transforms`: "host":
    the transformed batches; "device": the raw uint8 batches and the transform."""
    if transforms == "device":
        return raw.prefetch(tf.data.AUTOTUNE), transform
    return on_host(raw, transform, seed), None


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


def paired_pipeline(source, batch_size, load_size=286, crop_size=256, flip=True, seed=0):
    """pix2pix pairs: uint8 batches {"source", "target"} (B, load, load, 3), both resized to
    load_size (bicubic); the transform gives them the same random crop and flip and scales
    them to float32 [-1, 1]. Returns (raw batches, transform)."""
    _check_batch(source, batch_size)

    def load(example):
        return {key: tf.cast(tf.round(resize(example[key], [load_size, load_size])), tf.uint8) for key in ("source", "target")}

    def transform(batch, draw):
        a, b = crop_flip([batch["source"], batch["target"]], crop_size, draw, flip)
        return {"source": to_unit_range(a), "target": to_unit_range(b)}

    dataset = source.dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = _cache_shuffle_repeat(dataset, source.count, load_size * load_size * 6, seed)
    return dataset.batch(batch_size, drop_remainder=True), transform


def paired_batches(source, batch_size, load_size=286, crop_size=256, flip=True, seed=0):
    """`paired_pipeline` on the host: {"source", "target"} float32 (B, crop, crop, 3) in [-1, 1]."""
    return on_host(*paired_pipeline(source, batch_size, load_size, crop_size, flip, seed), seed)


@tf.function(jit_compile=True)
def _edges_and_hints_xla(photos, seeds, max_hints):
    """Seed 000's ShoesData on a uint8 batch in one XLA call (also inside a train step that is
    not XLA-compiled, so both placements run the same code): (edges with color hints, photos)
    in [-1, 1]; `seeds` (B, 2), one per photo. Edges with the float32 bilateral filter (F1 1.0
    against cv2 on skimage's photos): its result is floored and Canny's thresholds act on it,
    so it stays float32 under mixed precision."""
    targets = to_unit_range(photos)
    return draw_color_hints(to_unit_range(detect_edges(photos, fast=True)), targets, seeds, max_hints), targets


def edges2shoes_pipeline(source, batch_size, image_size=256, max_hints=300, seed=0):
    """Seed 000's ShoesData from photos: uint8 photo batches (B, S, S, 3); the transform makes
    {"source": edges of the photo (black on white) with up to max_hints color hints, "target":
    the photo}, float32 in [-1, 1], on whole batches in one XLA-compiled call, each photo's
    hints keyed by its own seed. Returns (raw batches, transform)."""
    _check_batch(source, batch_size)

    def load(example):
        # edges2shoes photos are image_size already: skip the resize (an identity, ~3 ms each).
        image = convert_channels(example["image"], 3)
        image = tf.cond(tf.reduce_all(tf.shape(image)[:2] == image_size), lambda: image,
                        lambda: tf.cast(tf.round(resize(image, [image_size, image_size])), tf.uint8))
        return tf.ensure_shape(image, [image_size, image_size, 3])

    def transform(photos, draw):
        source, target = _edges_and_hints_xla(photos, draw([tf.shape(photos)[0], 2], 2**31 - 1, 0), max_hints)
        return {"source": source, "target": target}

    dataset = source.dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = _cache_shuffle_repeat(dataset, source.count, image_size * image_size * 3, seed)
    return dataset.batch(batch_size, drop_remainder=True), transform


def edges2shoes_batches(source, batch_size, image_size=256, max_hints=300, seed=0):
    """`edges2shoes_pipeline` on the host: {"source", "target"} float32 (B, S, S, 3) in [-1, 1]."""
    return on_host(*edges2shoes_pipeline(source, batch_size, image_size, max_hints, seed), seed)


def _unpaired(source_a, source_b, batch_size, load, jitter, bytes_per_example, seed, whole_images=True):
    """{"a", "b"} batches of two sources, each loaded, cached if it fits, shuffled with its
    own seed (seed and seed + 1: no pairing by index) and, with a `jitter`, jittered per
    element with seeds of its own. Batches of whole images need as many images as the batch;
    random crops do not. Returns (batches, steps_per_epoch)."""
    for source in (source_a, source_b):
        if whole_images:
            _check_batch(source, batch_size)

    def domain(source, domain_seed):
        dataset = source.dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
        dataset = _cache_shuffle_repeat(dataset, source.count, bytes_per_example, domain_seed)
        if jitter is None:
            return dataset
        return _with_seeds(dataset, domain_seed).map(jitter, num_parallel_calls=tf.data.AUTOTUNE)

    pairs = tf.data.Dataset.zip({"a": domain(source_a, seed), "b": domain(source_b, seed + 1)})
    steps = max(max(source_a.count, source_b.count) // batch_size, int(not whole_images))
    return pairs.batch(batch_size, drop_remainder=True), steps


def unpaired_pipeline(source_a, source_b, batch_size, load_size=286, crop_size=256, flip=True, seed=0):
    """CycleGAN batches: uint8 {"a", "b"} (B, load, load, 3) (gray converted to RGB), A and B
    shuffled independently (different seeds, so no pairing by index); the transform crops and
    flips A and B separately and scales them to float32 [-1, 1]. One epoch is
    max(|A|, |B|) // batch_size steps, as the seeds; returns (raw batches, transform,
    steps_per_epoch)."""

    def load(example):
        image = convert_channels(example["image"], 3)
        return tf.cast(tf.round(resize(image, [load_size, load_size])), tf.uint8)

    def transform(batch, draw):
        return {key: to_unit_range(crop_flip([batch[key]], crop_size, draw, flip, salt)[0])
                for key, salt in (("a", 0), ("b", 10))}

    raw, steps = _unpaired(source_a, source_b, batch_size, load, None, load_size * load_size * 3, seed)
    return raw, transform, steps


def unpaired_batches(source_a, source_b, batch_size, load_size=286, crop_size=256, flip=True, seed=0):
    """`unpaired_pipeline` on the host: {"a", "b"} float32 (B, crop, crop, 3) in [-1, 1];
    returns (dataset, steps_per_epoch)."""
    raw, transform, steps = unpaired_pipeline(source_a, source_b, batch_size, load_size, crop_size, flip, seed)
    return on_host(raw, transform, seed), steps


def unpaired_crop_pipeline(source_a, source_b, batch_size, crop_size, scale=1.0, flip=True, cache=False, seed=0):
    """Seed 004's batches from images of any size and aspect. Raw batches {"a", "b"} uint8
    (B, crop, crop, 3): random crops made on the host per element (the images differ in
    size), each image first resized by `scale` (the seed's "a resized, lower-resolution
    version of the HD dataset for training", so that crops hold content) and, if its short
    side is then below `crop_size`, up to it; `cache` keeps the resized images in memory (for
    sources known to be small). The transform flips A and B at random, separately, and
    scales them to float32 [-1, 1]. Returns (raw batches, transform, steps_per_epoch)."""

    def load(example):
        image = convert_channels(example["image"], 3)
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        factor = tf.maximum(tf.cast(scale, tf.float32), crop_size / tf.reduce_min(shape))
        size = tf.maximum(tf.cast(tf.round(shape * factor), tf.int32), crop_size)

        def resized(method):
            return lambda: tf.cast(tf.round(resize(image, size, method)), tf.uint8)

        return tf.cond(factor < 1.0, resized("area"), lambda: tf.cond(factor > 1.0, resized("bicubic"), lambda: image))

    def crop(image, element_seed):
        return random_crop_flip([image], crop_size, element_seed, flip=False)[0]

    def transform(batch, draw):
        return {key: to_unit_range(crop_flip([batch[key]], crop_size, draw, flip, salt)[0])
                for key, salt in (("a", 0), ("b", 10))}

    raw, steps = _unpaired(source_a, source_b, batch_size, load, crop, 0 if cache else None, seed,
                           whole_images=False)
    return raw, transform, steps


def unpaired_crop_batches(source_a, source_b, batch_size, crop_size, scale=1.0, flip=True, cache=False, seed=0):
    """`unpaired_crop_pipeline` on the host: {"a", "b"} float32 (B, crop, crop, 3) in [-1, 1];
    returns (dataset, steps_per_epoch)."""
    raw, transform, steps = unpaired_crop_pipeline(source_a, source_b, batch_size, crop_size, scale, flip, cache,
                                                   seed)
    return on_host(raw, transform, seed), steps


def superres_pipeline(source, batch_size, scale=4, hr_crop=None, hr_size=256, seed=0):
    """Super-resolution pairs. Raw uint8 HR batches: with hr_crop, random HR crops of photos of
    any size (on the host, per element: DIV2K-style); without, seed 001's whole image resized
    to hr_size (CelebA). The transform flips the whole images at random and makes
    {"lr": the bicubic downscale by `scale`, "hr"}, float32 in [-1, 1]. Random crops make a
    batch larger than the source fine; whole images need as many as the batch. Returns
    (raw batches, transform)."""
    if not hr_crop:
        _check_batch(source, batch_size)

    def transform(hr, draw):
        if not hr_crop:
            hr = crop_flip([hr], hr_size, draw)[0]
        return {"lr": to_unit_range(bicubic_lr(hr, scale)), "hr": to_unit_range(hr)}

    if hr_crop:
        dataset = _cache_shuffle_repeat(source.dataset, source.count, None, seed)
        dataset = _with_seeds(dataset, seed).map(lambda e, s: random_hr_crop(e["image"], hr_crop, scale, s),
                                                 num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = source.dataset.map(lambda e: tf.cast(tf.round(resize(e["image"], [hr_size, hr_size])), tf.uint8),
                                     num_parallel_calls=tf.data.AUTOTUNE)
        dataset = _cache_shuffle_repeat(dataset, source.count, hr_size * hr_size * 3, seed)
    return dataset.batch(batch_size, drop_remainder=True), transform


def superres_batches(source, batch_size, scale=4, hr_crop=None, hr_size=256, seed=0):
    """`superres_pipeline` on the host: {"lr", "hr"} float32 in [-1, 1]."""
    return on_host(*superres_pipeline(source, batch_size, scale, hr_crop, hr_size, seed), seed)


def label_map_pipeline(source, batch_size, size, crop=None, flip=True, seed=0):
    """pix2pixHD batches from {"label_map", ["instance_map"], "image"} examples (NVIDIA's
    AlignedDataset). Raw batches, everything resized to size = (height, width) (label and
    instance maps nearest, photos bicubic: NVIDIA's scale_width): {"label_map": int32
    (B, H, W, 1), ["instance_map": int32 (B, H, W, 1): Cityscapes ids exceed 255], "image":
    uint8 (B, H, W, 3)}. The transform gives the three the same random crop (crop x crop;
    NVIDIA --fineSize) and horizontal flip and makes {"labels": int32 (B, h, w),
    ["instances": int32 (B, h, w)], "image": float32 (B, h, w, 3) in [-1, 1]}. Returns
    (raw batches, transform)."""
    _check_batch(source, batch_size)
    height, width = size
    keys, load = _label_map_loader(source, size)

    def transform(batch, draw):
        parts = crop_flip([batch[key] for key in keys], (crop, crop) if crop else (height, width), draw, flip)
        return _label_batch_element(dict(zip(keys, parts)))

    dataset = source.dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = _cache_shuffle_repeat(dataset, source.count, height * width * (3 + 4 * (len(keys) - 1)), seed)
    return dataset.batch(batch_size, drop_remainder=True), transform


def label_map_batches(source, batch_size, size, crop=None, flip=True, seed=0, shuffle=True):
    """`label_map_pipeline` on the host: {"labels", ["instances"], "image"}; shuffle=False
    gives every example once per pass in order, at `size`, without crop or flip (evaluation)."""
    if shuffle:
        return on_host(*label_map_pipeline(source, batch_size, size, crop, flip, seed), seed)
    _check_batch(source, batch_size)
    _, load = _label_map_loader(source, size)
    dataset = source.dataset.map(lambda example: _label_batch_element(load(example)),
                                 num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, batch_size)


def _label_map_loader(source, size):
    """(keys present, load): an example resized to size = (height, width), label and instance
    maps nearest as int32, the photo bicubic as uint8 (NVIDIA's scale_width)."""
    height, width = size
    keys = [key for key in ("label_map", "instance_map", "image") if key in source.dataset.element_spec]

    def load(example):
        out = {key: tf.cast(tf.image.resize(example[key], [height, width], method="nearest"), tf.int32)
               for key in keys if key != "image"}
        out["image"] = tf.cast(tf.round(resize(example["image"], [height, width])), tf.uint8)
        return out

    return keys, load


def _label_batch_element(example):
    out = {"labels": example["label_map"][..., 0], "image": to_unit_range(example["image"])}
    if "instance_map" in example:
        out["instances"] = example["instance_map"][..., 0]
    return out
