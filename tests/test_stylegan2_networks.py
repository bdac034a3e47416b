"""StyleGAN2 networks: NVlabs' parameter counts, W+ layout, modulation, truncation, mixing, FIR."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.networks import build_discriminator, build_generator
from kgan.networks.stylegan2 import (
    MinibatchStdDev,
    StyleGAN2Generator,
    mix_styles,
    modulated_conv2d,
    num_ws_for,
    stylegan2_discriminator,
    stylegan2_generator,
    upfirdn2d,
    upsample2d,
)

TINY = dict(image_size=32, z_dim=32, w_dim=32, channel_base=256, channel_max=32, mapping_layers=2)


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


@pytest.fixture
def zero_init(monkeypatch):
    """N(0, 1) initializers return zeros: the counts do not depend on the values, and drawing
    50M normals costs seconds here."""
    monkeypatch.setattr(keras.initializers.RandomNormal, "__call__",
                        lambda self, shape, dtype=None: keras.ops.zeros(shape, dtype))


def test_config_f_parameter_counts_and_one_forward_pass_at_1024():
    """Config-f (NVlabs `stylegan2`) at 1024: G 30,370,060 = mapping 2,101,248 + synthesis
    28,268,812 trainable weights (NVlabs' parameters), per-layer spot checks of the reference;
    non-trainable = NVlabs' buffers: w_avg (512) + 17 noise_const maps. One forward pass at
    batch 1 (about 5 s on 2 cores)."""
    generator = stylegan2_generator("stylegan2")
    assert _count(generator.trainable_weights) == 30_370_060
    assert _count(generator.mapping.trainable_weights) == 2_101_248
    assert _count(generator.synthesis.trainable_weights) == 28_268_812
    noise_maps = [layer.noise_const for block in generator.synthesis.blocks
                  for layer in (block.conv0, block.conv1) if layer is not None]
    assert len(noise_maps) == 17 == generator.num_ws - 1
    noise_pixels = 4 * 4 + 2 * sum(4 ** i for i in range(3, 11))
    assert _count(generator.non_trainable_weights) == 512 + noise_pixels
    b4, b128 = generator.synthesis.blocks[0], generator.synthesis.blocks[5]
    assert b4.conv1.count_params() - 16 == 2_622_465  # minus its 4x4 noise_const buffer
    assert b4.torgb.count_params() == 264_195
    assert int(np.prod(b4.const.shape)) == 8_192
    assert b128.conv0.count_params() - 128 * 128 == 1_442_561
    images = generator(tf.random.stateless_normal([1, 512], [1, 2]))
    assert images.shape == (1, 1024, 1024, 3) and images.dtype == tf.float32
    assert np.isfinite(images.numpy()).all()


NVLABS_COUNTS = [  # config, keyword arguments, G, D
    ("stylegan2", {}, 30_370_060, 29_012_513),
    ("paper256", {}, 24_767_458, 24_001_089),
    ("paper512", {}, 30_276_583, 28_982_849),
    ("cifar", {}, 19_947_539, 20_720_641),
    ("cifar", dict(num_classes=10), 20_215_315, 23_089_664),
]


def test_nvlabs_parameter_counts(zero_init):
    """Trainable weights = NVlabs' `parameters()` of the same config (stylegan2-ada-pytorch
    train.py cfg_specs; cifar: 2 mapping layers, D 'orig'; conditional: label embedding in G,
    label mapping + projection in D); D has no buffers."""
    for config, kwargs, g_params, d_params in NVLABS_COUNTS:
        generator = stylegan2_generator(config, **kwargs)
        discriminator = stylegan2_discriminator(config, **kwargs)
        assert (config, _count(generator.trainable_weights)) == (config, g_params)
        assert (config, _count(discriminator.trainable_weights)) == (config, d_params)
        assert not discriminator.non_trainable_weights
        if config == "stylegan2":
            assert discriminator.get_layer("b1024_fromrgb").count_params() == 128


def test_num_ws_per_resolution(zero_init):
    """num_ws = 2 log2(res) - 2: one row per conv (1 at 4x4, 2 per later block) and one for the
    last ToRGB; the mapping broadcasts w to (B, num_ws, w_dim)."""
    for image_size, num_ws in [(4, 2), (8, 4), (32, 8), (256, 14), (1024, 18)]:
        generator = stylegan2_generator(image_size=image_size, z_dim=8, w_dim=8, channel_base=1024, channel_max=4,
                                        mapping_layers=1)
        assert generator.num_ws == num_ws == num_ws_for(image_size)
        assert generator.mapping(tf.ones([2, 8])).shape == (2, num_ws, 8)
        assert generator.output_shape == (None, image_size, image_size, 3)
        rows = [block.num_conv for block in generator.synthesis.blocks]
        assert rows == [1] + [2] * (len(rows) - 1) and sum(rows) + 1 == num_ws


def test_demodulated_conv_keeps_unit_std():
    """Unit-variance input and N(0, 1) weights: with demodulation every output channel has std
    ~1 whatever the styles (away from the zero-padded border); without, it grows with the
    styles and the fan-in (3 sqrt(9 * 64) = 72 for styles ~ 3)."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((8, 24, 24, 64)), tf.float32)
    kernel = tf.constant(rng.standard_normal((3, 3, 64, 32)), tf.float32)
    styles = tf.constant(3.0 + rng.standard_normal((8, 64)), tf.float32)
    y = modulated_conv2d(x, kernel, styles, demodulate=True)[:, 1:-1, 1:-1].numpy()
    assert y.shape == (8, 22, 22, 32)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1.0, atol=0.06)
    assert abs(y.std() - 1.0) < 0.02
    raw = modulated_conv2d(x, kernel, styles, demodulate=False)[:, 1:-1, 1:-1].numpy()
    assert raw.std() > 50


def test_truncation_psi_zero_returns_w_avg_and_cutoff_limits_it():
    generator = stylegan2_generator(**TINY)
    w_avg = np.random.default_rng(1).standard_normal(32).astype("float32")
    generator.mapping.w_avg.assign(w_avg)
    z = tf.random.stateless_normal([3, 32], [0, 1])
    ws = generator.mapping(z).numpy()
    truncated = generator.mapping(z, truncation_psi=0.0).numpy()
    np.testing.assert_array_equal(truncated, np.broadcast_to(w_avg, truncated.shape))
    cut = generator.mapping(z, truncation_psi=0.0, truncation_cutoff=3).numpy()
    np.testing.assert_array_equal(cut[:, :3], np.broadcast_to(w_avg, (3, 3, 32)))
    np.testing.assert_array_equal(cut[:, 3:], ws[:, 3:])
    half = generator.mapping(z, truncation_psi=tf.constant([0.5, 1.0, 2.0])).numpy()
    np.testing.assert_allclose(half, w_avg + np.array([0.5, 1.0, 2.0])[:, None, None] * (ws - w_avg), atol=1e-5)


def test_style_mixing_with_cutoff_num_ws_is_identity():
    rng = np.random.default_rng(2)
    ws, other = (tf.constant(rng.standard_normal((2, 8, 4)), tf.float32) for _ in range(2))
    np.testing.assert_array_equal(mix_styles(ws, other, 8).numpy(), ws.numpy())
    mixed = mix_styles(ws, other, tf.constant(3)).numpy()
    np.testing.assert_array_equal(mixed[:, :3], ws.numpy()[:, :3])
    np.testing.assert_array_equal(mixed[:, 3:], other.numpy()[:, 3:])


def test_w_avg_update_is_the_lerp_toward_the_batch_mean():
    generator = stylegan2_generator(**TINY)
    mapping = generator.mapping
    mapping.w_avg.assign(np.full(32, 2.0, "float32"))
    ws = mapping(tf.random.stateless_normal([5, 32], [3, 4]))
    mapping.update_w_avg(ws)
    expected = ws.numpy()[:, 0].mean(0) + 0.995 * (2.0 - ws.numpy()[:, 0].mean(0))
    np.testing.assert_allclose(mapping.w_avg.numpy(), expected, rtol=1e-6)


def _upfirdn_reference(x, up, down, padding, gain):
    """NumPy transcription of ADA `_upfirdn2d_ref` (NHWC, the [1, 3, 3, 1] filter)."""
    f = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0 * gain
    b, h, w, c = x.shape
    up_x = np.zeros((b, h * up, w * up, c))
    up_x[:, ::up, ::up] = x
    left, right, top, bottom = padding
    p = np.pad(up_x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out = np.zeros((b, p.shape[1] - 3, p.shape[2] - 3, c))
    flipped = f[::-1, ::-1]
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            out[:, i, j] = np.einsum("bhwc,hw->bc", p[:, i:i + 4, j:j + 4], flipped)
    return out[:, ::down, ::down]


def test_upfirdn2d_matches_the_ada_reference():
    """Upsampling (ADA upsample2d), filter + subsample (the 1x1 skip), filter only (the 3x3
    down conv's padding 2, the up conv's padding 1 with gain 4)."""
    x = np.random.default_rng(3).standard_normal((2, 6, 6, 3)).astype("float32")
    for up, down, padding, gain in [(2, 1, (2, 1, 2, 1), 4.0), (1, 2, (1, 1, 1, 1), 1.0), (1, 1, (2, 2, 2, 2), 1.0),
                                    (1, 1, (1, 1, 1, 1), 4.0)]:
        y = upfirdn2d(tf.constant(x), up=up, down=down, padding=padding, gain=gain).numpy()
        np.testing.assert_allclose(y, _upfirdn_reference(x, up, down, padding, gain), atol=1e-5)
    y = upsample2d(tf.fill([1, 8, 8, 2], 3.0)).numpy()
    assert y.shape == (1, 16, 16, 2)
    np.testing.assert_allclose(y[:, 2:-2, 2:-2], 3.0, rtol=1e-6)


def test_minibatch_stddev_matches_a_hand_computation():
    """Group size 2 over a batch of 4: samples (0, 2) and (1, 3) form the groups (ADA's
    reshape(G, -1, ...)); the appended channel is the mean over pixels and channels of the
    std over the group."""
    x = np.random.default_rng(4).standard_normal((4, 3, 3, 6)).astype("float32")
    y = MinibatchStdDev(group_size=2)(tf.constant(x)).numpy()
    assert y.shape == (4, 3, 3, 7)
    np.testing.assert_array_equal(y[..., :6], x)
    for group in ((0, 2), (1, 3)):
        expected = np.sqrt(x[list(group)].var(axis=0) + 1e-8).mean()
        for i in group:
            np.testing.assert_allclose(y[i, ..., 6], expected, rtol=1e-5)


def test_mixed_precision_runs_only_the_top_resolutions_in_half_precision():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    generator = stylegan2_generator(**TINY, num_fp16_res=2, conv_clamp=256)
    discriminator = stylegan2_discriminator(image_size=32, channel_base=256, channel_max=32, num_fp16_res=2,
                                            conv_clamp=256)
    assert [block.compute_dtype for block in generator.synthesis.blocks] == ["float32", "float32", "bfloat16",
                                                                            "bfloat16"]
    assert generator.mapping.compute_dtype == "float32"
    assert discriminator.get_layer("b32_conv0").compute_dtype == "bfloat16"
    assert discriminator.get_layer("b8_conv0").compute_dtype == "float32"
    images = generator(tf.random.stateless_normal([4, 32], [5, 6]))
    logits = discriminator(images)
    assert images.dtype == logits.dtype == tf.float32
    assert np.isfinite(images.numpy()).all() and np.isfinite(logits.numpy()).all()


def test_noise_modes_and_registry():
    """'const' and 'none' are deterministic, 'random' with a seed is reproducible; the
    registry builds from a config name; the config round trip rebuilds the same generator."""
    generator = build_generator("stylegan2", **TINY)
    for layer in (generator.synthesis.blocks[1].conv0, generator.synthesis.blocks[1].conv1):
        layer.noise_strength.assign(1.0)
    ws = generator.mapping(tf.random.stateless_normal([2, 32], [7, 8]))
    const = [generator.synthesis(ws, noise_mode="const").numpy() for _ in range(2)]
    np.testing.assert_array_equal(*const)
    seeded = [generator.synthesis(ws, noise_seed=tf.constant([1, 2], tf.int64)).numpy() for _ in range(2)]
    np.testing.assert_array_equal(*seeded)
    assert np.abs(seeded[0] - const[0]).max() > 1e-3
    assert np.abs(generator.synthesis(ws, noise_mode="none").numpy() - const[0]).max() > 1e-3
    with pytest.raises(ValueError, match="noise_mode"):
        generator.synthesis(ws, noise_mode="fixed")
    clone = StyleGAN2Generator.from_config(generator.get_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in generator.weights]
    assert build_discriminator("stylegan2", config="tiny32").input_shape == (None, 32, 32, 3)
    with pytest.raises(ValueError, match="unknown StyleGAN2 config"):
        build_generator("stylegan2", config="ffhq")
    assert math.isclose(generator.mapping.fcs[0].weight_gain, 0.01 / math.sqrt(32))


def test_checkpoint_restores_every_weight_into_a_fresh_network(tmp_path):
    """tf.train.Checkpoint reaches every weight, buffers included (the mapping layers and
    synthesis blocks are attributes: Keras' tracked lists are invisible to it)."""
    generator = stylegan2_generator(**TINY)
    discriminator = stylegan2_discriminator(image_size=32, channel_base=256, channel_max=32, num_classes=3)
    path = tf.train.Checkpoint(g=generator, d=discriminator).write(str(tmp_path / "ckpt"))
    keras.utils.set_random_seed(1)
    fresh_g = stylegan2_generator(**TINY)
    fresh_d = stylegan2_discriminator(image_size=32, channel_base=256, channel_max=32, num_classes=3)
    tf.train.Checkpoint(g=fresh_g, d=fresh_d).read(path).assert_consumed()
    for a, b in zip(generator.weights + discriminator.weights, fresh_g.weights + fresh_d.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
