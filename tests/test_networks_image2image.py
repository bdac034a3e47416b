"""Builders of pix2pix / CycleGAN (seeds 000 and 003): U-Net, PatchGAN, ResNet generator,
reflection padding and PyTorch padding semantics."""
import keras
import numpy as np
import pytest

from kgan.layers import ReflectionPadding2D
from kgan.networks.torch_compat import torch_conv2d, torch_conv2d_transpose
from kgan.networks.patchgan import patch_discriminator, receptive_field
from kgan.networks.resnet import resnet_generator
from kgan.networks.unet import unet_generator

RNG = np.random.default_rng(0)


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def images(size, channels=3, height=None):
    return RNG.uniform(-1, 1, (1, height or size, size, channels)).astype("float32")


def dropout_names(model):
    names = {layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)}
    assert all(model.get_layer(n).rate == 0.5 for n in names)
    return names


def test_reflection_padding_equals_numpy_reflect_and_round_trips(tmp_path):
    x = RNG.normal(size=(2, 5, 6, 3)).astype("float32")
    for padding, np_padding in [(2, ((2, 2), (2, 2))), (((2, 1), (3, 0)), ((2, 1), (3, 0)))]:
        y = ReflectionPadding2D(padding)(x)
        np.testing.assert_array_equal(y, np.pad(x, ((0, 0), *np_padding, (0, 0)), mode="reflect"))
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, ReflectionPadding2D(((2, 1), (3, 0)), name="pad")(inputs))
    assert model.compute_output_shape((2, 5, 6, 3)) == (2, 8, 9, 3)
    model.save(tmp_path / "pad.keras")
    loaded = keras.saving.load_model(tmp_path / "pad.keras")
    assert isinstance(loaded.get_layer("pad"), ReflectionPadding2D)
    assert loaded.get_layer("pad").padding == ((2, 1), (3, 0))
    np.testing.assert_array_equal(loaded(x), model(x))


def _torch_conv(x, w, stride, pad):
    """PyTorch Conv2d on one (H, W, Ci) image, w (k, k, Ci, Co)."""
    xp, k, s = np.pad(x, ((pad, pad), (pad, pad), (0, 0))), w.shape[0], stride
    n = (x.shape[0] + 2 * pad - k) // s + 1
    patches = [[xp[i * s : i * s + k, j * s : j * s + k] for j in range(n)] for i in range(n)]
    return np.einsum("ijabc,abco->ijo", np.array(patches), w)


def _torch_conv_transpose(x, w, stride, pad, output_padding):
    """PyTorch ConvTranspose2d on one (H, W, Ci) image, w (k, k, Co, Ci) (Keras layout)."""
    (h, _, _), k = x.shape, w.shape[0]
    full = np.zeros(((h - 1) * stride + k,) * 2 + (w.shape[2],))
    for i in range(h):
        for j in range(h):
            full[i * stride : i * stride + k, j * stride : j * stride + k] += w @ x[i, j]
    n = (h - 1) * stride - 2 * pad + k + output_padding
    return full[pad : pad + n, pad : pad + n]


def test_convs_follow_pytorch_padding_where_keras_same_would_shift():
    x = RNG.normal(size=(1, 6, 6, 2)).astype("float32")
    inputs = keras.Input((6, 6, 2))
    down = torch_conv2d(inputs, 3, 3, strides=2, padding=1, use_bias=False, name="down")
    up = torch_conv2d_transpose(inputs, 3, 3, 2, 1, output_padding=1, use_bias=False, name="up")
    model = keras.Model(inputs, [down, up])
    y_down, y_up = (y.numpy()[0] for y in model(x))
    assert y_down.shape == (3, 3, 3) and y_up.shape == (12, 12, 3)
    np.testing.assert_allclose(y_down, _torch_conv(x[0], model.get_layer("down").kernel.numpy(), 2, 1), atol=1e-5)
    reference = _torch_conv_transpose(x[0], model.get_layer("up").kernel.numpy(), 2, 1, 1)
    np.testing.assert_allclose(y_up, reference, atol=1e-5)
    same = keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", use_bias=False)
    same(x)
    same.set_weights([model.get_layer("up").kernel.numpy()])
    assert np.abs(same(x).numpy()[0] - reference).max() > 0.1


def layer_output_shape(model, name, size):
    """Shape of layer `name`'s output for one size x size image (the U-Net takes any
    multiple of its depth, so its layers have no static spatial shape)."""
    probe = keras.Model(model.inputs, model.get_layer(name).output)
    return tuple(probe(images(size)).shape)


def test_seed000_unet_has_the_seed_parameter_count_and_dropout():
    generator = unet_generator(variant="seed000")
    assert trainable_count(generator) == 54_404_099
    assert generator.count_params() == 54_404_099  # instance norm without affine: no weights
    assert layer_output_shape(generator, "down_8", 256) == (1, 1, 1, 512)
    # up_i is concatenated with down_i: the seed's up1 .. up4 are up_7 .. up_4.
    assert layer_output_shape(generator, "up_7_skip", 256) == (1, 2, 2, 1024)
    assert dropout_names(generator) == {f"down_{i}_dropout" for i in range(4, 9)} | {
        f"up_{i}_dropout" for i in range(4, 8)
    }
    y = generator(images(256)).numpy()
    assert y.shape == (1, 256, 256, 3) and y.dtype == np.float32
    assert np.abs(y).max() <= 1.0 and y.std() > 0


def test_junyanz_unet_256_has_the_count_its_definition_implies():
    generator = unet_generator(variant="junyanz")
    # Convs 19,532,800 + transposed convs 34,871,299 + batch-norm gamma/beta 2 x 4,928
    # (junyanz prints "54.414 M").
    assert trainable_count(generator) == 54_413_955
    assert generator.count_params() == 54_413_955 + 2 * 4_928
    assert dropout_names(generator) == {"up_4_dropout", "up_5_dropout", "up_6_dropout"}
    assert layer_output_shape(generator, "up_7_skip", 256) == (1, 2, 2, 1024)
    y = generator(images(256)).numpy()
    assert y.shape == (1, 256, 256, 3) and y.dtype == np.float32
    assert np.abs(y).max() <= 1.0 and y.std() > 0


def test_unet_scales_with_image_size_and_instance_norm_brings_conv_bias():
    small = unet_generator(variant="seed000", image_size=32, base_width=8)
    assert layer_output_shape(small, "down_5", 32) == (1, 1, 1, 64)
    assert small(images(64)).shape == (1, 64, 64, 3)  # any multiple of the depth
    assert dropout_names(small) == {"down_4_dropout", "down_5_dropout", "up_4_dropout"}
    assert small(images(32)).shape == (1, 32, 32, 3)
    instance = unet_generator(variant="junyanz", image_size=32, base_width=8, norm="instance", dropout=0)
    assert dropout_names(instance) == set()
    conv_types = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    convs = [layer for layer in instance.layers if isinstance(layer, conv_types)]
    assert len(convs) == 10 and all(conv.use_bias for conv in convs)
    norms = [layer for layer in instance.layers if isinstance(layer, keras.layers.GroupNormalization)]
    assert len(norms) == 7 and not any(norm.weights for norm in norms)
    with pytest.raises(ValueError, match="power of two"):
        unet_generator(image_size=48)


@pytest.mark.parametrize(
    "variant, kwargs, patches, patches_at_128, field, count",
    [
        ("basic", {}, 30, 14, 70, 2_768_705),
        ("seed000", {}, 16, 8, 94, 2_767_808),
        ("seed000", {"input_channels": 3, "head_bias": True}, 16, 8, 94, 2_764_737),  # CycleGAN's
    ],
)
def test_patch_discriminators_map_256_to_logit_patches(variant, kwargs, patches, patches_at_128, field, count):
    discriminator = patch_discriminator(variant, **kwargs)
    channels = kwargs.get("input_channels", 6)
    assert discriminator.input.shape == (None, None, None, channels)
    assert trainable_count(discriminator) == count
    assert receptive_field(discriminator) == field
    logits = discriminator(images(256, channels))
    assert logits.shape == (1, patches, patches, 1) and logits.dtype == "float32"
    assert discriminator.compute_output_shape((1, 128, 128, channels)) == (1, patches_at_128, patches_at_128, 1)


def test_receptive_field_counts_pooling_and_rejects_upsampling():
    chain = keras.Sequential(
        [
            keras.Input((None, None, 1)),
            keras.layers.Conv2D(1, 3),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(1, 3, dilation_rate=2),
        ]
    )
    assert receptive_field(chain) == 3 + 1 + 4 * 2  # the dilated 3x3 spans 5
    with pytest.raises(TypeError, match="downsampling"):
        receptive_field(resnet_generator(n_blocks=1, base_width=4))


@pytest.mark.parametrize("variant", ["junyanz", "seed000"])
def test_resnet_generator_9_blocks_is_fully_convolutional(variant):
    generator = resnet_generator(variant)
    assert trainable_count(generator) == 11_378_179
    assert generator.count_params() == 11_378_179
    assert generator.input.shape == (None, None, None, 3)
    assert generator.get_layer("block_8_add").output.shape[-1] == 256
    assert generator.compute_output_shape((1, 256, 256, 3)) == (1, 256, 256, 3)
    assert generator.compute_output_shape((1, 96, 64, 3)) == (1, 96, 64, 3)
    up = keras.layers.Conv2DTranspose if variant == "junyanz" else keras.layers.Conv2D
    assert isinstance(generator.get_layer("up_1"), up)
    y = generator(images(128, height=64)).numpy()
    assert y.shape == (1, 64, 128, 3) and y.dtype == np.float32
    assert np.abs(y).max() <= 1.0 and y.std() > 0


def test_outputs_are_float32_under_mixed_bfloat16():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        models = [
            (unet_generator(variant="junyanz", image_size=32, base_width=8), images(32)),
            (unet_generator(variant="seed000", image_size=32, base_width=8), images(32)),
            (patch_discriminator("basic", base_width=8), images(64, 6)),
            (resnet_generator(n_blocks=1, base_width=8), images(32)),
        ]
        for model, x in models:
            assert model.get_layer("down_1").compute_dtype == "bfloat16"
            y = model(x)
            assert y.dtype == "float32" and np.isfinite(y.numpy()).all()
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


@pytest.mark.parametrize("builder", [unet_generator, patch_discriminator, resnet_generator])
def test_unknown_variant_is_rejected(builder):
    with pytest.raises(ValueError, match="variant"):
        builder(variant="pytorch")


def test_junyanz_keys_are_registered():
    from kgan.networks import build_discriminator, build_generator

    assert build_discriminator("basic", input_channels=6).output_shape[-1] == 1
    generator = build_generator("resnet_6blocks", base_width=8)
    assert sum(1 for layer in generator.layers if layer.name.endswith("_add")) == 6
