"""SRGAN networks (seed 001) and the frozen VGG19 feature model of the content loss."""
import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

from kgan.errors import UsageError
from kgan.layers import NearestUpsampleConv2D
from kgan.networks.srgan import srgan_discriminator, srgan_generator
from kgan.perceptual import WEIGHTS_ENV, WEIGHTS_FILE, CaffePreprocess, resolve_vgg_weights, vgg_feature_model


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def _tiny_generator():
    return srgan_generator(scale=2, n_residual_blocks=1, width=8, upsample_width=8)


@pytest.fixture
def no_weights_anywhere(tmp_path, monkeypatch):
    """No $KGAN_VGG19_WEIGHTS and an empty Keras cache (HOME and KERAS_HOME in tmp_path)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    return tmp_path


def test_generator_matches_seed_parameter_counts():
    """Seed 001 build_generator: 2,042,691 parameters, 33 batch norms x 128 moving statistics."""
    generator = srgan_generator()
    assert generator.count_params() == 2_042_691
    assert _count(generator.trainable_weights) == 2_038_467
    norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 33 and {layer.momentum for layer in norms} == {0.8}
    assert generator.input_shape == (None, None, None, 3)


@pytest.mark.parametrize("scale, height, width", [(4, 64, 64), (2, 10, 12), (8, 8, 8), (4, 23, 37)])
def test_generator_upsamples_by_scale_any_input_size(scale, height, width):
    """(1, H, W, 3) -> (1, scale*H, scale*W, 3) in [-1, 1]; log2(scale) upsampling stages."""
    generator = srgan_generator(scale=scale)
    low_res = np.random.default_rng(0).uniform(-1, 1, (1, height, width, 3)).astype("float32")
    high_res = keras.ops.convert_to_numpy(generator(low_res))
    assert high_res.shape == (1, scale * height, scale * width, 3)
    assert np.abs(high_res).max() <= 1.0
    upsamplings = [layer for layer in generator.layers if isinstance(layer, NearestUpsampleConv2D)]
    assert len(upsamplings) == int(np.log2(scale))


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_subpixel_generator_parameter_count_and_shapes(scale):
    """upsample="subpixel": per x2 stage conv 3x3 64 -> 256 at the lower resolution (147,712)
    and one PReLU slope; the 9x9 output conv reads 64 channels (15,555). At x4: 2,042,691 -
    (147,712 + 590,080 + 62,211) of seed 001's stages + (2 x 147,713 + 15,555) = 1,553,669."""
    generator = srgan_generator(scale=scale, upsample="subpixel")
    trunk = 2_042_691 - (147_712 + 590_080 + 62_211)
    assert generator.count_params() == trunk + 147_713 * int(np.log2(scale)) + 15_555
    high_res = keras.ops.convert_to_numpy(generator(np.zeros([1, 5, 7, 3], "float32")))
    assert high_res.shape == (1, 5 * scale, 7 * scale, 3)


def test_global_skip_adds_the_network_detail_to_the_bicubic_upscale():
    """With the last conv zeroed, the generator is exactly bicubic upscaling (no tanh)."""
    import tensorflow as tf

    generator = srgan_generator(n_residual_blocks=1, width=8, upsample="subpixel", global_skip=True)
    low_res = np.random.default_rng(0).uniform(-1, 1, (2, 6, 5, 3)).astype("float32")
    assert np.abs(keras.ops.convert_to_numpy(generator(low_res)) - tf.image.resize(low_res, [24, 20], "bicubic")).max() > 1e-3
    to_rgb = generator.get_layer("to_rgb")
    to_rgb.set_weights([np.zeros_like(w) for w in to_rgb.get_weights()])
    np.testing.assert_allclose(generator(low_res), tf.image.resize(low_res, [24, 20], "bicubic"), atol=1e-6)
    traced = tf.function(generator, input_signature=[tf.TensorSpec([None, None, None, 3])])  # as serving traces it
    np.testing.assert_allclose(traced(low_res), generator(low_res), atol=1e-6)


def test_upsample_conv_at_low_resolution_equals_nearest_upsampling_then_conv():
    """Seed 001's UpSampling2D(2) + Conv2D(3x3, same): outputs and gradients agree."""
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(3).normal(size=(2, 9, 6, 5)).astype("float32"))
    fused = NearestUpsampleConv2D(7)
    fused.build(x.shape)
    conv = keras.layers.Conv2D(7, 3, padding="same")
    conv.build((None, None, None, 5))
    conv.set_weights([w + 0.1 for w in fused.get_weights()])  # nonzero bias too
    fused.set_weights(conv.get_weights())
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours, reference = fused(x), conv(keras.layers.UpSampling2D(2)(x))
        loss_ours, loss_reference = tf.reduce_sum(ours**3), tf.reduce_sum(reference**3)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    for a, b in zip(tape.gradient(loss_ours, [x, *fused.weights]), tape.gradient(loss_reference, [x, *conv.weights])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def test_generator_rejects_scales_that_are_not_powers_of_two():
    with pytest.raises(ValueError, match="power of two"):
        srgan_generator(scale=3)


def test_discriminator_gives_a_16x16_map_of_logits_at_256():
    """Seed 001 build_discriminator: 5,219,137 parameters; Dense 1024 / Dense 1 per position,
    (2, 256, 256, 3) -> (2, 16, 16, 1) float32 logits (no sigmoid)."""
    discriminator = srgan_discriminator()
    assert discriminator.count_params() == 5_219_137
    assert _count(discriminator.trainable_weights) == 5_215_425
    images = np.random.default_rng(0).uniform(-1, 1, (2, 256, 256, 3)).astype("float32")
    logits = discriminator(images)
    assert tuple(logits.shape) == (2, 16, 16, 1)
    score = discriminator.get_layer("score")
    assert score.activation is keras.activations.linear and score.dtype_policy.compute_dtype == "float32"


def test_networks_output_float32_under_mixed_precision():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    generator = _tiny_generator()
    discriminator = srgan_discriminator(image_size=None)
    assert generator.get_layer("head").compute_dtype == "float16"
    images = generator(np.zeros((1, 8, 8, 3), "float32"))
    assert images.dtype == "float32" and tuple(images.shape) == (1, 16, 16, 3)
    logits = discriminator(images)
    assert logits.dtype == "float32" and tuple(logits.shape) == (1, 1, 1, 1)


def test_vgg_layer_selection():
    """block3_conv3 (seed 001 `layers[9]`): (1, 64, 64, 3) -> (1, 16, 16, 256);
    block5_conv4 (the paper's VGG54): (1, 64, 64, 3) -> (1, 4, 4, 512)."""
    images = np.zeros((1, 64, 64, 3), "float32")
    seed_cut = vgg_feature_model(weights=None)
    assert seed_cut.get_layer("vgg19").layers[9].name == "block3_conv3"
    assert tuple(seed_cut(images).shape) == (1, 16, 16, 256)
    assert tuple(vgg_feature_model("block5_conv4", weights=None)(images).shape) == (1, 4, 4, 512)
    with pytest.raises(ValueError, match="block5_conv4"):
        vgg_feature_model("block6_conv1", weights=None)


def test_vgg_is_frozen_inside_a_trained_model():
    """A tiny generator trained through a VGG feature MSE: its weights move, VGG's do not."""
    vgg = vgg_feature_model(weights=None)
    trunk = vgg.get_layer("vgg19")
    assert vgg.trainable_weights == [] and _count(vgg.non_trainable_weights) == 1_735_488
    assert not any(layer.trainable for layer in trunk.layers)
    generator = _tiny_generator()
    low_res = keras.Input((None, None, 3))
    model = keras.Model(low_res, vgg(generator(low_res)))
    assert len(model.trainable_weights) == len(generator.trainable_weights)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 16, 16, 3)).astype("float32")
    target = keras.ops.convert_to_numpy(vgg(rng.uniform(-1, 1, (3, 32, 32, 3)).astype("float32")))
    vgg_before = [w.copy() for w in vgg.get_weights()]
    generator_before = [w.copy() for w in generator.get_weights()]
    model.fit(x, target, batch_size=1, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(vgg_before, vgg.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(generator_before, generator.get_weights()))


def test_vgg_preprocessing_matches_keras_preprocess_input():
    """[-1, 1] RGB -> caffe (BGR, 0..255 minus the ImageNet mean) inside the model."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    expected = keras.applications.vgg19.preprocess_input((images + 1) * 127.5)
    vgg = vgg_feature_model(weights=None)
    preprocessed = vgg.get_layer("caffe_preprocess")(images)
    np.testing.assert_allclose(preprocessed, expected, atol=1e-4)
    np.testing.assert_allclose(vgg(images), vgg.get_layer("vgg19")(expected), rtol=1e-5, atol=1e-3)
    unit = rng.uniform(0, 1, (1, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(
        CaffePreprocess((0, 1))(unit), keras.applications.vgg19.preprocess_input(unit * 255.0), atol=1e-4
    )


def test_vgg_computes_in_float32_under_mixed_precision():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    vgg = vgg_feature_model(weights=None)
    assert keras.config.dtype_policy().name == "mixed_float16"
    layers = [vgg.get_layer("caffe_preprocess"), *vgg.get_layer("vgg19").layers[1:]]
    assert {layer.compute_dtype for layer in layers} == {"float32"}
    assert {w.dtype for w in vgg.weights} == {"float32"}
    features = vgg(keras.ops.zeros((1, 32, 32, 3), dtype="float16"))
    assert features.dtype == "float32"


def _assert_same_conv_weights(model, reference):
    trunk = model.get_layer("vgg19")
    for layer in trunk.layers[1:]:
        for loaded, saved in zip(layer.get_weights(), reference.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(loaded, saved)


def test_vgg_weights_load_from_a_local_path(tmp_path):
    reference = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / "vgg19.weights.h5"
    reference.save_weights(path)
    _assert_same_conv_weights(vgg_feature_model(weights=str(path)), reference)


def test_imagenet_weights_come_from_the_keras_cache(no_weights_anywhere):
    """The cached file is Keras' legacy .h5 format, as the downloaded ImageNet weights."""
    reference = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    cache = no_weights_anywhere / "keras_home" / "models"
    cache.mkdir(parents=True)
    with h5py.File(cache / WEIGHTS_FILE, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    _assert_same_conv_weights(vgg_feature_model(), reference)


def test_weights_resolution_order(no_weights_anywhere, monkeypatch):
    """Explicit path, else $KGAN_VGG19_WEIGHTS, else the Keras cache; None stays None."""
    cache = no_weights_anywhere / "keras_home" / "models"
    cache.mkdir(parents=True)
    (cache / WEIGHTS_FILE).touch()
    from_env = no_weights_anywhere / "env.h5"
    explicit = no_weights_anywhere / "explicit.h5"
    from_env.touch()
    explicit.touch()
    assert resolve_vgg_weights(None) is None
    assert resolve_vgg_weights("imagenet") == str(cache / WEIGHTS_FILE)
    monkeypatch.setenv(WEIGHTS_ENV, str(from_env))
    assert resolve_vgg_weights("imagenet") == str(from_env)
    assert resolve_vgg_weights(str(explicit)) == str(explicit)


def test_missing_imagenet_weights_is_a_one_line_usage_error(no_weights_anywhere, monkeypatch):
    with pytest.raises(UsageError) as missing:
        vgg_feature_model()
    message = str(missing.value)
    assert "\n" not in message
    for needed in (WEIGHTS_FILE, "--vgg-weights", WEIGHTS_ENV, "--content-loss pixel"):
        assert needed in message
    monkeypatch.setenv(WEIGHTS_ENV, str(no_weights_anywhere / "nowhere.h5"))
    with pytest.raises(UsageError, match="nowhere.h5"):
        vgg_feature_model()


def test_unreadable_weights_file_is_a_one_line_usage_error(tmp_path):
    bad = tmp_path / WEIGHTS_FILE
    bad.write_text("not an HDF5 file\n")
    with pytest.raises(UsageError) as unreadable:
        vgg_feature_model(weights=str(bad))
    assert "\n" not in str(unreadable.value) and str(bad) in str(unreadable.value)
