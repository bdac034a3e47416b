"""Issue-3 transforms and batch builders: aligned crops, bicubic LR, unpaired sampling."""
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pipelines.batches import edges2shoes_batches, paired_batches, superres_batches, unpaired_batches
from pipelines.sources import ImageSource, folder_source
from pipelines.transforms import bicubic_lr, mod_crop, random_crop_flip, random_hr_crop, resize


def ramp(height, width):
    """uint8 (H, W, 3) whose every pixel is distinct in (R, G): R = row, G = column."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return np.stack([rows, cols, np.zeros_like(rows)], -1).astype(np.uint8)


def test_crop_and_flip_keep_a_pair_aligned():
    a = tf.constant(ramp(64, 64))
    b = 255 - a
    flipped = 0
    for i in range(8):
        ca, cb = random_crop_flip([a, b], 32, tf.constant([i, 0], tf.int64))
        np.testing.assert_array_equal(cb.numpy(), 255 - ca.numpy())
        top, left = int(ca[0, 0, 0]), int(ca[0, 0, 1])
        if int(ca[0, 1, 1]) < left:  # columns run backwards: flipped
            flipped += 1
            left = int(ca[0, -1, 1])
        np.testing.assert_array_equal(np.sort(ca.numpy(), axis=None), np.sort(ramp(64, 64)[top : top + 32, left : left + 32], axis=None))
    assert 0 < flipped < 8


def test_lr_is_the_bicubic_downscale_of_the_hr_crop():
    image = tf.constant(np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8))
    hr = random_hr_crop(image, 64, 4, tf.constant([1, 2], tf.int64))
    lr = bicubic_lr(hr[tf.newaxis], 4)[0]
    assert lr.shape == (16, 16, 3) and hr.shape == (64, 64, 3) and hr.dtype == tf.uint8
    np.testing.assert_allclose(lr.numpy(), resize(hr, [16, 16], "bicubic").numpy(), atol=1e-4)
    windows = np.lib.stride_tricks.sliding_window_view(image.numpy(), (64, 64, 3))
    assert np.any(np.all(windows == hr.numpy(), axis=(-3, -2, -1)))


def test_small_images_are_upscaled_before_the_crop_and_crop_must_fit_the_scale():
    hr = random_hr_crop(tf.zeros((1, 1, 3), tf.uint8), 32, 4, tf.constant([0, 0], tf.int64))
    assert hr.shape == (32, 32, 3)
    with pytest.raises(ValueError, match="multiple of the scale"):
        random_hr_crop(tf.zeros((40, 40, 3), tf.uint8), 30, 4, tf.constant([0, 0], tf.int64))


def test_mod_crop():
    assert mod_crop(tf.zeros((250, 361, 3)), 4).shape == (248, 360, 3)


def write_folder(folder, count, size=(40, 48), value_of=lambda i: i):
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.full((*size, 3), value_of(i), np.uint8)).save(os.path.join(folder, f"{i:02d}.png"))
    return folder_source(folder)


def pair_source(count=6):
    images = np.stack([ramp(40, 40) + i for i in range(count)])
    dataset = tf.data.Dataset.from_tensor_slices({"source": images, "target": 255 - images})
    return ImageSource("pairs", dataset, count)


def test_paired_batches_are_static_aligned_and_reproducible():
    batches = paired_batches(pair_source(), 4, load_size=40, crop_size=32, seed=5)
    assert batches.element_spec["source"].shape == (4, 32, 32, 3)
    first = next(iter(batches))
    np.testing.assert_allclose(first["target"].numpy(), -first["source"].numpy(), atol=1e-6)
    again = next(iter(paired_batches(pair_source(), 4, load_size=40, crop_size=32, seed=5)))
    np.testing.assert_array_equal(first["source"].numpy(), again["source"].numpy())
    epochs = [b["source"].numpy() for b in batches.take(6)]
    assert not np.array_equal(epochs[0], epochs[3])


def test_unpaired_sampling_is_independent_and_epoch_is_the_larger_domain(tmp_path):
    a = write_folder(str(tmp_path / "A"), 6, value_of=lambda i: 10 * i)
    b = write_folder(str(tmp_path / "B"), 9, value_of=lambda i: 10 * i)
    batches, steps = unpaired_batches(a, b, 3, load_size=32, crop_size=32, flip=False, seed=1)
    assert steps == 3
    pairs = [(int(x[0, 0, 0] * 127.5 + 127.5 + 0.5), int(y[0, 0, 0] * 127.5 + 127.5 + 0.5))
             for batch in batches.take(12) for x, y in zip(batch["a"], batch["b"])]
    assert {p[0] for p in pairs} == {10 * i for i in range(6)}
    assert {p[1] for p in pairs} == {10 * i for i in range(9)}
    assert sum(x == y for x, y in pairs) < len(pairs) / 2


def test_edges2shoes_batches_pair_edges_with_hints_and_photo(tmp_path):
    from skimage import data

    folder = tmp_path / "shoes"
    folder.mkdir()
    for name in ("astronaut", "coffee"):
        Image.fromarray(getattr(data, name)()).save(folder / f"{name}.png")
    batch = next(iter(edges2shoes_batches(folder_source(str(folder)), 2, image_size=128, seed=0)))
    assert batch["source"].shape == (2, 128, 128, 3) and batch["target"].shape == (2, 128, 128, 3)
    source = batch["source"].numpy()
    assert (source > 0.99).mean() > 0.5  # mostly white paper
    assert np.any(np.abs(source[..., 0] - source[..., 1]) > 0.1)  # colored hints were drawn


@pytest.mark.parametrize("hr_crop", [None, 32])
def test_superres_batches(tmp_path, hr_crop):
    source = write_folder(str(tmp_path / "photos"), 4, size=(50, 60))
    batch = next(iter(superres_batches(source, 2, scale=4, hr_crop=hr_crop, hr_size=64)))
    hr = hr_crop or 64
    assert batch["hr"].shape == (2, hr, hr, 3) and batch["lr"].shape == (2, hr // 4, hr // 4, 3)
    assert -1.0 <= float(tf.reduce_min(batch["lr"])) and float(tf.reduce_max(batch["hr"])) <= 1.0
