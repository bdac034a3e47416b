"""pipelines.edges against OpenCV (seed 000's ``detect_edges``) on skimage's bundled photos."""

import functools

import cv2
import numpy as np
import pytest
import tensorflow as tf
from skimage import data

from pipelines.edges import bilateral_filter, canny, detect_edges, edge_f1, rgb_to_gray

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "immunohistochemistry"]
# Bilateral code path of the installed cv2: IPP (x86 wheels) truncates, plain OpenCV rounds.
CV2_ROUNDING = "ipp" if cv2.ipp.useIPP() else "nearest"


@functools.lru_cache(maxsize=None)
def photo(name):
    """uint8 RGB [H, W, 3] photo bundled with scikit-image (gray ones repeated to 3 channels)."""
    image = getattr(data, name)()
    return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image


def cv2_gray(image):
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def cv2_bilateral(gray):
    return cv2.bilateralFilter(gray, 5, 50, 50)


def test_gray_bit_exact_on_random_colours_and_photos():
    colours = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    for image in [colours] + [photo(name) for name in PHOTOS[:3]]:
        ours = rgb_to_gray(image).numpy()
        assert ours.dtype == np.uint8
        assert np.abs(ours.astype(int) - cv2_gray(image)).max() <= 1
        np.testing.assert_array_equal(ours, cv2_gray(image))


@pytest.mark.parametrize("name", PHOTOS)
def test_bilateral_close_to_cv2(name):
    gray = cv2_gray(photo(name))
    diff = bilateral_filter(gray, rounding=CV2_ROUNDING).numpy().astype(int) - cv2_bilateral(gray)
    # Measured: max |diff| = 1 on 0.01-0.14% of pixels (IPP), <= 4 pixels (no IPP).
    assert np.abs(diff).max() <= 1
    assert np.mean(diff != 0) < 0.003


@pytest.mark.parametrize("name", PHOTOS)
def test_fast_bilateral_within_one_level_of_cv2(name):
    gray = cv2_gray(photo(name))
    diff = bilateral_filter(gray, rounding=CV2_ROUNDING, fast=True).numpy().astype(int) - cv2_bilateral(gray)
    # Measured (IPP): max |diff| = 1 on 0.01-0.28% of pixels.
    assert np.abs(diff).max() <= 1
    assert np.mean(diff != 0) < 0.005


def test_bilateral_nearest_matches_opencv_without_ipp():
    gray = cv2_gray(photo("astronaut"))
    previous = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(False)
    try:
        ref = cv2_bilateral(gray)
    finally:
        cv2.ipp.setUseIPP(previous)
    ours = bilateral_filter(gray, rounding="nearest").numpy()
    # Measured: 0 differing pixels (float32 summation order only).
    assert np.sum(ours != ref) <= 4


@pytest.mark.parametrize("name", ["astronaut", "coins"])
@pytest.mark.parametrize("low,high", [(45, 100), (100, 45), (10.7, 30.2)])
def test_canny_bit_exact_given_same_input(name, low, high):
    smoothed = cv2_bilateral(cv2_gray(photo(name)))
    ours = canny(smoothed, low, high).numpy()
    np.testing.assert_array_equal(ours, cv2.Canny(smoothed, low, high))


@pytest.mark.parametrize("shape", [(301, 277), (37, 95), (64, 31), (5, 3)])
def test_canny_bit_exact_on_sizes_off_the_32_pixel_words(shape):
    """Long chains of weak pixels (noise, low thresholds) through the packed hysteresis."""
    noise = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    smoothed = cv2.GaussianBlur(noise, (5, 5), 1.5)
    expected = cv2.Canny(smoothed, 10, 40)
    assert shape[0] < 10 or (expected > 0).mean() > 0.05
    np.testing.assert_array_equal(canny(smoothed, 10, 40).numpy(), expected)
    compiled = tf.function(lambda gray: canny(gray, 10, 40), jit_compile=True)
    np.testing.assert_array_equal(compiled(smoothed).numpy(), expected)


@pytest.mark.parametrize("name", PHOTOS)
def test_detect_edges_f1_vs_opencv(name):
    image = photo(name)
    ref = cv2.Canny(cv2_bilateral(cv2_gray(image)), 45, 100) > 0
    matched = detect_edges(image, rounding=CV2_ROUNDING).numpy()[..., 0] == 0
    default = detect_edges(image).numpy()[..., 0] == 0
    fast = detect_edges(image, fast=True).numpy()[..., 0] == 0
    assert ref.sum() > 1000
    assert edge_f1(default, ref)[0] >= 0.9
    # Measured F1 = 1.0000 on every photo (at most 2 differing pixels), with and without fast.
    assert edge_f1(matched, ref)[0] >= 0.999
    assert edge_f1(fast, ref)[0] >= 0.999


def test_output_contract_and_batches():
    images = np.stack([cv2.resize(photo(name), (96, 64)) for name in PHOTOS[:3]])
    batch = detect_edges(images).numpy()
    assert batch.dtype == np.uint8 and batch.shape == images.shape
    assert set(np.unique(batch)) == {0, 255}
    assert (batch == batch[..., :1]).all()
    for image, edges in zip(images, batch, strict=True):
        np.testing.assert_array_equal(detect_edges(image).numpy(), edges)
    as_float = detect_edges(images.astype(np.float32) / 255.0).numpy()
    np.testing.assert_array_equal(as_float, batch)
    expected = 255 - cv2.Canny(cv2_bilateral(cv2_gray(images[0])), 45, 100)
    np.testing.assert_array_equal(detect_edges(images[0], rounding=CV2_ROUNDING).numpy()[..., 1], expected)


def test_flat_image_has_no_edges():
    assert (detect_edges(np.full((32, 40, 3), 77, np.uint8)).numpy() == 255).all()


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        detect_edges(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError):
        bilateral_filter(np.zeros((8, 8), np.uint8), rounding="floor")


def test_runs_in_tf_data_map():
    images = np.stack([cv2.resize(photo(name), (128, 128)) for name in PHOTOS[:4]])
    dataset = tf.data.Dataset.from_tensor_slices(images).map(detect_edges).batch(2)
    out = np.concatenate([batch.numpy() for batch in dataset])
    assert out.shape == images.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, detect_edges(images).numpy())
    assert (out == 0).mean() > 0.01


@pytest.mark.parametrize("fast", [False, True])
def test_runs_under_xla(fast):
    images = np.stack([cv2.resize(photo(name), (125, 96)) for name in PHOTOS[:2]])
    compiled = tf.function(lambda x: detect_edges(x, fast=fast), jit_compile=True)(images).numpy()
    eager = detect_edges(images, fast=fast).numpy()
    assert (eager == 0).mean() > 0.01
    if fast:  # XLA's exp may round differently from the TF kernel's
        assert np.mean(compiled != eager) < 0.001
    else:
        np.testing.assert_array_equal(compiled, eager)
