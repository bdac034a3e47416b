"""SRGAN model: pixel pre-training, the perceptual step, precision, VGG frozen, export, CLI."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.models import SRGAN
from kgan.networks import srgan_discriminator, srgan_generator
from kgan.perceptual import vgg_feature_model


def tiny_srgan(content="vgg"):
    generator = srgan_generator(n_residual_blocks=2, width=8, upsample_width=16)
    discriminator = srgan_discriminator(image_size=None, widths=(8, 8, 16, 16, 16, 16, 16, 16), dense_width=32)
    features = vgg_feature_model(weights=None) if content == "vgg" else None
    model = SRGAN(generator, discriminator, features)
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5), loss="bce")
    return model


def sr_batches(batch=2, size=32, scale=4):
    hr = tf.random.stateless_uniform([8, size, size, 3], [0, 1], -1, 1)
    hr = tf.image.resize(tf.image.resize(hr, [size // 4, size // 4]), [size, size])  # smooth images
    lr = tf.image.resize(hr, [size // scale, size // scale], method="bicubic", antialias=True)
    return tf.data.Dataset.from_tensor_slices({"lr": lr, "hr": hr}).repeat().batch(batch, drop_remainder=True)


def weights(network):
    return [w.numpy().copy() for w in network.weights]


def test_pretraining_updates_the_generator_only_then_both_train():
    model = tiny_srgan(content="pixel")
    d_before, g_before = weights(model.discriminator), weights(model.generator)
    model.set_phase("pretrain")
    model.fit(sr_batches(), epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    assert all(np.array_equal(a, b) for a, b in zip(d_before, weights(model.discriminator)))
    assert not all(np.array_equal(a, b) for a, b in zip(g_before, weights(model.generator)))
    model.set_phase("train")
    history = model.fit(sr_batches(), epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert not all(np.array_equal(a, b) for a, b in zip(d_before, weights(model.discriminator)))
    assert history.history["g_adversarial"][-1] > 0 and int(model.step) == 5


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_perceptual_step_runs_50_steps_without_nan_and_vgg_stays_frozen(precision):
    keras.mixed_precision.set_dtype_policy(precision)
    model = tiny_srgan()
    frozen = weights(model.feature_model)
    assert model.feature_model.trainable_weights == []
    history = model.fit(sr_batches(), epochs=1, steps_per_epoch=50, verbose=0, shuffle=False)
    assert all(np.isfinite(history.history[name][-1]) for name in SRGAN.loss_names)
    assert all(np.all(np.isfinite(w.numpy())) for w in model.generator.weights)
    assert all(np.array_equal(a, b) for a, b in zip(frozen, weights(model.feature_model)))


def test_pixel_pretraining_raises_validation_psnr():
    """Measured here (tiny G, 32x32 HR): 19.36 dB at start, 20.13 / 21.62 / 22.78 / 23.77 after
    100 / 200 / 300 / 400 steps (bicubic: 30.74); the test asserts +1.5 dB after 200."""
    model = tiny_srgan(content="pixel")
    batch = next(iter(sr_batches(batch=8)))
    before = float(model.sample_scalars(batch)["val_psnr"])
    model.set_phase("pretrain")
    model.fit(sr_batches(batch=4), epochs=1, steps_per_epoch=200, verbose=0, shuffle=False)
    scalars = model.sample_scalars(batch)
    assert float(scalars["val_psnr"]) > before + 1.5, (before, float(scalars["val_psnr"]))
    images, columns = model.sample_grid(batch)
    assert columns == 3 and images.shape == (12, 32, 32, 3)


@pytest.mark.parametrize("generator_options", [[], ["--upsample", "subpixel", "--global-skip"]])
def test_cli_srgan_with_pretraining_logs_psnr_and_exports_an_any_size_upscaler(tmp_path, generator_options):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from kgan import cli

    logdir, exports = str(tmp_path / "run"), str(tmp_path / "sm")
    model = cli.train(cli.parse_options([
        "--arch", "srgan", "--content-loss", "pixel", "--image-size", "32", "--base-width", "8",
        "--residual-blocks", "2", "--steps", "4", "--pretrain-steps", "2", "--logdir", logdir, "--export", exports,
        "--log-every", "1", *generator_options]))
    assert int(model.step) == 4 and not model.pretraining
    accumulator = EventAccumulator(logdir, size_guidance={"tensors": 0})
    accumulator.Reload()
    assert {"val_psnr", "val_psnr_bicubic", "g_content", "samples"} <= set(accumulator.Tags()["tensors"])
    serving = tf.saved_model.load(os.path.join(exports, "srgan", "1")).signatures["serving_default"]
    out = serving(images=tf.zeros([1, 10, 13, 3], tf.uint8))["images"]
    assert out.shape == (1, 40, 52, 3) and out.dtype == tf.uint8


def test_train_srgan_on_celeba_by_the_seed_name_from_tfds(tmp_path):
    """`--data celeba` is tfds `celeb_a` (mocked: nothing is downloaded), seed 001's whole
    image resized to 32 and 8 here."""
    import tensorflow_datasets as tfds

    from kgan import cli

    with tfds.testing.mock_data(num_examples=6):
        model = cli.train(cli.parse_options([
            "--arch", "srgan", "--data", "celeba", "--content-loss", "pixel", "--image-size", "32", "--batch-size",
            "2", "--base-width", "8", "--residual-blocks", "1", "--steps", "3", "--logdir", str(tmp_path / "run")]))
    assert int(model.step) == 3
