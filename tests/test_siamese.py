"""Seed 004's siamese GAN: tile cut/join, the combo model, the siamese discriminator, the
losses against hand computations, the crop pipeline, the whole-image translator, the seam
metric and `python -m kgan.stylize`."""
import itertools
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kgan import stylize
from kgan.errors import UsageError
from kgan.export import export_generator
from kgan.models.siamese import pair_differences, siamese_losses
from kgan.models.tiles import combo, cut_tiles, join_tiles, seam_ratio, translate_tiled
from kgan.networks import build_discriminator
from kgan.systems import SYSTEMS
from pipelines.batches import unpaired_crop_batches
from pipelines.sources import ImageSource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tile_mean_generator(channels=3):
    """A per-tile function as a Keras model: each tile minus its own mean (tiles processed
    together would share a mean)."""
    images = keras.Input((None, None, channels))
    outputs = keras.layers.Lambda(lambda x: x - tf.reduce_mean(x, axis=[1, 2], keepdims=True))(images)
    return keras.Model(images, outputs)


def test_cut_gives_row_major_tiles_and_join_is_its_exact_inverse():
    images = tf.random.stateless_uniform([2, 12, 8, 3], [1, 2])
    tiles = cut_tiles(images, 4)
    assert tiles.shape == (12, 4, 4, 3)
    expected = [images[b, 4 * i:4 * i + 4, 4 * j:4 * j + 4] for b in range(2) for i in range(3) for j in range(2)]
    np.testing.assert_array_equal(tiles.numpy(), np.stack(expected))
    np.testing.assert_array_equal(join_tiles(tiles, 3, 2).numpy(), images.numpy())
    np.testing.assert_array_equal(cut_tiles(join_tiles(tiles, 3, 2), 4).numpy(), tiles.numpy())


def test_combo_translates_each_of_the_four_tiles_on_its_own():
    images = tf.random.stateless_uniform([3, 16, 16, 3], [3, 4])
    out = combo(tile_mean_generator(), images, 8).numpy()
    assert out.shape == (3, 16, 16, 3)
    for i, j in itertools.product((0, 8), (0, 8)):
        tile = images.numpy()[:, i:i + 8, j:j + 8]
        np.testing.assert_allclose(out[:, i:i + 8, j:j + 8], tile - tile.mean(axis=(1, 2), keepdims=True), atol=1e-6)


def test_siamese_discriminator_has_travelgans_layers():
    """TraVeLGAN SiameseNet at 128, nfilt 64: 4x4 stride-2 convs with bias 3->64->128->256->512
    ->512 (128 -> 4), batch norm (gamma, beta) on all but the first, dense 4*4*512 -> vec_len
    (the docstring's 15,147,176 for TraVeLGAN's 1000 is the same sum with 1000)."""
    convs = sum(16 * a * b + b for a, b in [(3, 64), (64, 128), (128, 256), (256, 512), (512, 512)])
    assert convs + 2 * (128 + 256 + 512 + 512) + 8192 * 1000 + 1000 == 15_147_176
    network = build_discriminator("siamese", image_size=128, vec_len=128)
    assert sum(int(np.prod(w.shape)) for w in network.trainable_weights) == 8_002_880
    assert network(tf.zeros([2, 128, 128, 3])).shape == (2, 128)


def test_pairs_are_every_ordered_pair_once():
    vectors = tf.constant([[1.0], [10.0], [100.0]])
    differences = sorted(pair_differences(vectors).numpy().ravel().tolist())
    assert differences == sorted(x - y for x, y in itertools.permutations([1.0, 10.0, 100.0], 2))


def test_losses_equal_a_hand_computation():
    d_a = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    d_ab = np.array([[0.5, 0.5], [3.0, 0.0], [0.0, -1.0]])
    d_b = np.array([[0.3, 0.4], [1.0, 0.0], [0.0, 0.0]])
    margin, weight = 2.0, 0.5
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    cosines, squares = [], []
    for i, j in pairs:
        v, w = d_a[i] - d_a[j], d_ab[i] - d_ab[j]
        cosines.append(v @ w / np.linalg.norm(v) / np.linalg.norm(w))
        squares.append(np.mean((v - w) ** 2))
    travel = -np.mean(cosines) + weight * np.mean(squares)
    d_real = np.mean([0.25, 1.0, 0.0])                                      # ||D(B)||^2
    norms = [np.sqrt(0.5), 3.0, 1.0]                                          # ||D(AB)||
    d_fake = np.mean([max(0.0, margin - n) for n in norms])
    losses = siamese_losses(*(tf.constant(x, tf.float32) for x in (d_a, d_ab, d_b)), margin, weight)
    np.testing.assert_allclose(losses["travel_cos"], -np.mean(cosines), rtol=1e-6)
    np.testing.assert_allclose(losses["travel_l2"], np.mean(squares), rtol=1e-6)
    np.testing.assert_allclose(losses["d_loss"], d_real + d_fake + travel, rtol=1e-6)
    np.testing.assert_allclose(losses["g_loss"], np.mean(norms) + travel, rtol=1e-6)


def test_norm_gradient_at_the_origin_is_finite():
    vectors = tf.Variable(tf.zeros([2, 4]))
    with tf.GradientTape() as tape:
        loss = siamese_losses(vectors, vectors, vectors, 2.0, 1.0)["g_loss"]
    assert np.all(np.isfinite(tape.gradient(loss, vectors).numpy()))


def test_crop_batches_resize_by_the_train_scale_and_lift_small_images():
    big = np.full([400, 200, 3], 200, np.uint8)
    small = np.zeros([20, 50, 1], np.uint8)
    sources = [ImageSource(name, tf.data.Dataset.from_tensors({"image": image, "label": 0}), 1)
               for name, image in (("big", big), ("small", small))]
    dataset, steps = unpaired_crop_batches(*sources, batch_size=4, crop_size=32, scale=0.25, seed=0)
    batch = next(iter(dataset))
    assert steps == 1 and batch["a"].shape == batch["b"].shape == (4, 32, 32, 3)
    np.testing.assert_allclose(batch["a"], 200 / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(batch["b"], -1.0)


def test_translate_tiled_pads_translates_in_groups_and_crops_back():
    generator = tile_mean_generator()
    image = tf.random.stateless_uniform([1, 21, 30, 3], [5, 6], 0, 256, tf.int32)
    image = tf.cast(image, tf.uint8)
    outputs = [translate_tiled(generator, image, 8, per_call).numpy() for per_call in (1, 5, 64)]
    assert outputs[0].shape == (1, 21, 30, 3)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])
    padded = np.pad(image.numpy(), [(0, 0), (0, 3), (0, 2), (0, 0)], mode="edge").astype(np.float32) / 127.5 - 1
    tile = padded[:, 8:16, 16:24]
    expected = np.round((tile - tile.mean(axis=(1, 2), keepdims=True) + 1) * 127.5).clip(0, 255)
    np.testing.assert_array_equal(outputs[0][:, 8:16, 16:24], expected)


def test_seam_ratio_of_a_hand_made_image():
    """Columns 0..7 step 1 inside each 4-wide tile, and 5 across the border: 14 inside
    differences of 1 per row, 1 border difference of 5 (rows are constant: differences 0)."""
    row = np.array([0, 1, 2, 3, 8, 9, 10, 11], np.float64)
    image = np.tile(row[None, :, None], [8, 1, 1])
    border = (8 * 5 + 8 * 0) / 16                       # 8 column pairs of 5, 8 row pairs of 0 (row 3 | 4)
    inside = (8 * 6 * 1 + 6 * 8 * 0) / (48 + 48)        # 8 rows x 6 column pairs of 1, 6 row pairs x 8 of 0
    assert seam_ratio(image, 4) == pytest.approx(border / inside)
    assert seam_ratio(np.tile(np.arange(8.0)[None, :, None], [8, 1, 1]), 4) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny siamese GAN (tile 16) exported as a SavedModel; (model, path)."""
    system = SYSTEMS["siamese"]
    config = system.Config(**system.tiny)
    model = system.build(config)
    return model, export_generator(model, str(tmp_path_factory.mktemp("sm")), "siamese")[0]


def test_stylize_blocks_equal_the_whole_image_translation(exported):
    model, path = exported
    translate, tile = stylize.load_stylizer(path)
    assert tile == 16
    image = np.asarray(tf.random.stateless_uniform([70, 90, 3], [7, 8], 0, 256, tf.int32), np.uint8)
    whole = model.serve(image[np.newaxis])["images"][0].numpy()
    np.testing.assert_array_equal(translate(image[np.newaxis])[0], whole)
    for batch_size in (1, 4, 100):
        np.testing.assert_array_equal(stylize.stylize_image(translate, image, tile, batch_size), whole)


@pytest.mark.parametrize("height, width, batch, expected", [(4096, 4096, 64, (32, 2048)), (100, 90, 4, (32, 96)),
                                                            (70, 20, 64, (2048, 32)), (10, 10**5, 8, (32, 256))])
def test_blocks_hold_at_most_the_batch(height, width, batch, expected):
    block = stylize.block_layout(height, width, 32, batch)
    assert block == expected and (block[0] // 32) * (block[1] // 32) <= max(batch, 1)


def test_stylize_command_translates_and_refuses_bad_input_in_one_line(exported, tmp_path):
    _, path = exported
    Image.fromarray(np.full([40, 50, 3], 90, np.uint8)).save(tmp_path / "in.png")
    run = [sys.executable, "-m", "kgan.stylize"]
    done = subprocess.run([*run, path, str(tmp_path / "in.png"), str(tmp_path / "out.png")], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert np.asarray(Image.open(tmp_path / "out.png")).shape == (40, 50, 3)
    assert stylize.main([str(tmp_path / "missing"), str(tmp_path / "in.png"), str(tmp_path / "o.png")]) == 2
    assert stylize.main([path, str(tmp_path / "in.png"), str(tmp_path / "o.png"), "--batch-size", "0"]) == 2
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("overrides, message", [
    (dict(tile_size=48), "power of two"), (dict(tile_size=16), ">= 32"),
    (dict(batch_size=1), "at least 2"), (dict(train_scale=1.5), "(0, 1]")])
def test_bad_configs_are_one_line_errors(overrides, message):
    system = SYSTEMS["siamese"]
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("]", r"\]")):
        system.check(system.Config(**overrides))
