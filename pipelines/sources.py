"""Image sources: the embedded sample, folders of images (optionally class-labelled) and
tfds datasets by name. Each becomes an `ImageSource` of uint8 images and int32 labels."""
import dataclasses
import os

import numpy as np
import tensorflow as tf

from kgan.errors import UsageError
from pipelines.images import decode_image, standardize

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
SAMPLE_NAME = "sample"
SAMPLE_CLASSES = ("face", "nonface")


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """A finite set of images. `dataset` yields {"image": uint8 (H, W, C), "label": int32}."""

    name: str
    dataset: tf.data.Dataset
    count: int
    class_names: tuple = ()


def sample_source():
    """The embedded default, downloading nothing: scikit-image's bundled `lfw_subset`,
    100 face and 100 non-face 25x25 grayscale crops (labels 0 = face, 1 = non-face)."""
    from skimage.data import lfw_subset

    images = np.round(lfw_subset() * 255).astype(np.uint8)[..., None]
    labels = np.repeat(np.arange(2, dtype=np.int32), len(images) // 2)
    dataset = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})
    return ImageSource(SAMPLE_NAME, dataset, len(images), SAMPLE_CLASSES)


def list_images(folder):
    """Sorted paths of the image files below `folder`, recursively (case-insensitive suffix)."""
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths.extend(os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS))
    return paths


def _decode_file(path, label):
    return {"image": decode_image(tf.io.read_file(path)), "label": label}


def folder_source(folder, labelled=False):
    """Images below `folder`; with labelled=True each subfolder is a class (seed 002's
    `females/`, `males/`), labels in sorted subfolder order."""
    if not os.path.isdir(folder):
        raise UsageError(f"data folder {folder!r} does not exist: pass an existing folder of images")
    if labelled:
        class_names = tuple(sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))))
        per_class = [list_images(os.path.join(folder, name)) for name in class_names]
        if len(class_names) < 2 or not all(per_class):
            raise UsageError(
                f"{folder!r} needs two or more class subfolders with images in each "
                f"(found {len(class_names)}): put each class's images in its own subfolder"
            )
        paths = [p for class_paths in per_class for p in class_paths]
        labels = [i for i, class_paths in enumerate(per_class) for _ in class_paths]
    else:
        class_names, paths = (), list_images(folder)
        labels = [0] * len(paths)
    if not paths:
        raise UsageError(
            f"no images ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) found under {folder!r}: "
            "check the path or add images"
        )
    dataset = tf.data.Dataset.from_tensor_slices((paths, np.asarray(labels, np.int32)))
    dataset = dataset.map(_decode_file, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors(log_warning=True)
    return ImageSource(folder, dataset, len(paths), class_names)


def tfds_source(name, data_dir=None, split="train"):
    """A prepared tfds image dataset by name (nothing is downloaded at run time)."""
    import tensorflow_datasets as tfds

    try:
        dataset, info = tfds.load(name, split=split, data_dir=data_dir, download=False, with_info=True)
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError) as error:
        where = data_dir or "~/tensorflow_datasets"
        raise UsageError(
            f"tfds dataset {name!r} is not prepared in {where}: run `tfds build {name} --data_dir {where}` "
            f"where there is internet, copy the folder here and pass --data-dir ({str(error).splitlines()[0]})"
        ) from None
    features = info.features
    if "image" not in features:
        raise UsageError(f"tfds dataset {name!r} has no 'image' feature: choose an image dataset")
    class_names = tuple(features["label"].names) if "label" in features and hasattr(features["label"], "names") else ()

    def to_example(example):
        label = tf.cast(example["label"], tf.int32) if class_names else tf.constant(0, tf.int32)
        return {"image": example["image"], "label": label}

    count = int(dataset.cardinality())
    if count < 0:
        count = info.splits[split].num_examples
    return ImageSource(name, dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE), count, class_names)


def _is_tfds_name(name):
    import tensorflow_datasets as tfds

    try:
        tfds.builder_cls(name.split("/")[0].split(":")[0])
    except Exception:
        return False
    return True


def resolve_source(data, data_dir=None, labelled=False, split="train"):
    """`--data` value -> ImageSource: "sample", a folder, or a tfds dataset name."""
    if data == SAMPLE_NAME:
        return sample_source()
    if os.path.isdir(data):
        return folder_source(data, labelled=labelled)
    if _is_tfds_name(data):
        return tfds_source(data, data_dir=data_dir, split=split)
    if os.sep in data or data.startswith("."):
        raise UsageError(f"data folder {data!r} does not exist: pass an existing folder of images")
    raise UsageError(
        f"unknown data {data!r}: pass 'sample', a folder of images, or a tfds dataset name such as mnist"
    )


def image_batches(source, image_size, channels, batch_size, labelled=False, seed=0, shuffle=True):
    """ImageSource -> endless tf.data of float32 (B, S, S, C) in [-1, 1] batches
    [with int32 (B,) labels], shuffled each pass, static batch size (drop_remainder) so XLA
    and `tf.distribute` get fixed shapes. Cached in memory when it fits in 1 GiB."""
    if batch_size > source.count:
        raise UsageError(
            f"batch size {batch_size} is larger than the {source.count} images of {source.name!r}: lower --batch-size"
        )
    if labelled and len(source.class_names) < 2:
        raise UsageError(f"{source.name!r} has no class labels: the conditional GAN needs labelled data")

    def prepare(example):
        image = standardize(example["image"], image_size, channels)
        return (image, example["label"]) if labelled else image

    dataset = source.dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if source.count * image_size * image_size * channels * 4 <= 2**30:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(min(source.count, 10_000), seed=seed, reshuffle_each_iteration=True)
    return dataset.repeat().batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
