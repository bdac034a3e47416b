"""Issue-2 data sources: sample, folders (recursive, formats, channels), labelled
folders, tfds by name (mocked), and their one-line errors."""
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from kgan.errors import UsageError
from pipelines.images import decode_image, resize_center_crop, to_uint8, to_unit_range
from pipelines.batches import image_batches
from pipelines.sources import folder_source, resolve_source, sample_source


def write_image(path, mode="RGB", size=(40, 30), fmt=None, value=128):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    array = np.full((size[1], size[0], len(mode) if mode != "P" else 1), value, np.uint8).squeeze()
    Image.fromarray(array, "L" if mode in ("L", "P") else mode).convert(mode).save(path, fmt)


def test_sample_source_is_two_real_classes_of_faces():
    source = sample_source()
    assert source.count == 200
    assert source.class_names == ("face", "nonface")
    labels = [int(e["label"]) for e in source.dataset]
    assert labels.count(0) == 100 and labels.count(1) == 100
    first = next(iter(source.dataset))["image"]
    assert first.shape == (25, 25, 1) and first.dtype == tf.uint8


@pytest.mark.parametrize("ext,mode", [("jpg", "RGB"), ("png", "RGBA"), ("png", "L"), ("bmp", "RGB"),
                                      ("gif", "P"), ("webp", "RGB"), ("JPEG", "RGB")])
def test_decode_every_format_to_rgb(tmp_path, ext, mode):
    path = str(tmp_path / f"image.{ext}")
    write_image(path, mode, fmt={"jpg": "JPEG", "JPEG": "JPEG"}.get(ext))
    image = decode_image(tf.io.read_file(path))
    assert image.shape == (30, 40, 3) and image.dtype == tf.uint8
    assert abs(int(image[15, 20, 1]) - 128) <= 2


def test_folder_source_is_recursive_and_sorted(tmp_path):
    write_image(str(tmp_path / "b.png"))
    write_image(str(tmp_path / "sub" / "deeper" / "a.jpg"), fmt="JPEG")
    (tmp_path / "notes.txt").write_text("not an image")
    source = folder_source(str(tmp_path))
    assert source.count == 2
    assert len(list(source.dataset)) == 2


def test_labelled_folders_give_one_class_per_subfolder(tmp_path):
    for name, value in (("males", 10), ("females", 240)):
        for i in range(3):
            write_image(str(tmp_path / name / f"{i}.png"), value=value)
    source = folder_source(str(tmp_path), labelled=True)
    assert source.class_names == ("females", "males")
    pairs = [(int(e["label"]), int(e["image"][0, 0, 0])) for e in source.dataset]
    assert sorted(set(pairs)) == [(0, 240), (1, 10)]


def test_batches_are_static_normalized_and_labelled():
    batches = image_batches(sample_source(), 32, 3, 16, labelled=True, seed=0)
    images, labels = next(iter(batches))
    assert images.shape == (16, 32, 32, 3) and labels.shape == (16,)
    assert batches.element_spec[0].shape == (16, 32, 32, 3)
    assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0


def test_resize_center_crop_keeps_the_center():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 50:150] = 255  # the central square is white, the sides black
    out = resize_center_crop(tf.constant(image), 64).numpy()
    assert out.shape == (64, 64, 3)
    assert out[2:-2, 2:-2].min() > 250


def test_unit_range_round_trip():
    values = tf.constant(np.arange(256, dtype=np.uint8))
    np.testing.assert_array_equal(to_uint8(to_unit_range(values)).numpy(), values.numpy())


def test_tfds_by_name_with_mock_data():
    with tfds.testing.mock_data(num_examples=24):
        source = resolve_source("mnist", labelled=True)
        images, labels = next(iter(image_batches(source, 28, 1, 8, labelled=True)))
    assert source.class_names[:2] == ("0", "1")
    assert images.shape == (8, 28, 28, 1) and labels.dtype == tf.int32


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: resolve_source("mnist", data_dir=str(d)), "not prepared"),
        (lambda d: resolve_source("no_such_dataset_name"), "unknown data"),
        (lambda d: resolve_source(str(d / "missing")), "does not exist"),
        (lambda d: folder_source(str(d)), "no images"),
        (lambda d: folder_source(str(d), labelled=True), "class subfolders"),
        (lambda d: image_batches(sample_source(), 64, 3, 500), "larger than the 200 examples"),
    ],
    ids=["unprepared_tfds", "unknown_name", "missing_folder", "empty_folder", "unlabelled", "batch_too_large"],
)
def test_bad_data_gives_one_line_usage_errors(tmp_path, make, message):
    with pytest.raises(UsageError, match=message) as error:
        make(tmp_path)
    assert "\n" not in str(error.value)
