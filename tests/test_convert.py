"""`python -m kgan.convert`: PyTorch checkpoints of the upstream networks -> kgan SavedModels.

Each upstream generator is re-typed below in PyTorch from its source (module structure and
names as upstream, so its state_dict keys are upstream's): sgrvinod/a-PyTorch-Tutorial-to-
Super-Resolution models.py, junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py,
NVIDIA/pix2pixHD models/networks.py. Random weights, randomized batch-norm statistics, small
widths, non-square inputs; the exported SavedModel must reproduce the PyTorch forward.
The tests that need PyTorch are skipped without it (CI installs no torch).
"""
import functools
import json
import math
import os
import pathlib
import sys
import types

import numpy as np
import pytest
import tensorflow as tf

from kgan import convert, upscale
from kgan.inference import read_image

RTOL = 1e-4


def run(capsys, *argv):
    """(exit status, stderr lines) of `python -m kgan.convert ARGV`."""
    status = convert.main([str(a) for a in argv])
    return status, capsys.readouterr().err.strip().splitlines()


def assert_one_line_error(capsys, argv, *fragments):
    status, lines = run(capsys, *argv)
    assert status == 2 and len(lines) == 1 and lines[0].startswith("convert: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def serving(path):
    return tf.saved_model.load(str(path)).signatures["serving_default"]


def relative_error(ours, reference):
    """(max |ours - reference|, that over max |reference|)."""
    error = float(np.abs(np.asarray(ours, np.float64) - reference).max())
    return error, error / float(np.abs(reference).max())


# ---- without PyTorch ----

def test_missing_file_is_one_line_without_torch(capsys, tmp_path):
    assert_one_line_error(capsys, ["junyanz", tmp_path / "nowhere.pth", tmp_path / "out"], "nowhere.pth",
                          "does not exist")


def test_without_torch_the_error_names_the_extra(capsys, tmp_path, monkeypatch):
    checkpoint = tmp_path / "latest_net_G.pth"
    checkpoint.write_bytes(b"PK\x03\x04")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert_one_line_error(capsys, ["junyanz", checkpoint, tmp_path / "out"], 'pip install -e ".[torch]"')
    assert not (tmp_path / "out").exists()


def test_options_of_another_format_are_rejected(capsys, tmp_path):
    assert_one_line_error(capsys, ["srgan-sgrvinod", tmp_path / "x.pth", tmp_path / "out", "--norm", "batch"],
                          "--netG and --norm are for the junyanz format")
    assert_one_line_error(capsys, ["junyanz", tmp_path / "x.pth", tmp_path / "out", "--no-instance"],
                          "for the pix2pixhd format")


def test_pixel_shuffle_order_matches_depth_to_space():
    """A conv output reordered by pixel_shuffle_order, through depth_to_space, equals the
    original output through nn.PixelShuffle (written here in numpy)."""
    from kgan.networks.torch_compat import pixel_shuffle_order

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 5, 12)).astype("float32")  # NHWC, 12 = 3 channels x 2 x 2
    c, r = 3, 2
    h, w = x.shape[1:3]
    shuffled = x.reshape(1, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3).reshape(1, h * r, w * r, c)
    ours = tf.nn.depth_to_space(x[..., pixel_shuffle_order(12)], 2).numpy()
    np.testing.assert_array_equal(ours, shuffled)


# ---- the upstream networks, re-typed (needs torch) ----

def _torch():
    return pytest.importorskip("torch", reason="the reference networks are PyTorch (pip install -e '.[torch]')")


def randomize(module, seed=0):
    """Random weights everywhere, and batch-norm / PReLU parameters and statistics away
    from their initial values, so that each one matters in the comparison."""
    torch = _torch()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.normal_(0, 0.1, generator=generator)
                m.running_mean.normal_(0, 0.1, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)
                m.num_batches_tracked.fill_(1000)
            elif isinstance(m, torch.nn.PReLU):
                m.weight.uniform_(0.05, 0.5, generator=generator)
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                fan_in = m.weight[0].numel() if isinstance(m, torch.nn.Conv2d) else m.weight.shape[0] * 9
                m.weight.normal_(0, 0.8 / math.sqrt(fan_in), generator=generator)
                if m.bias is not None:
                    m.bias.normal_(0, 0.05, generator=generator)
    return module.eval()


def torch_forward(net, nhwc):
    torch = _torch()
    with torch.no_grad():
        return net(torch.from_numpy(np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2)))).numpy().transpose(0, 2, 3, 1)


def sgrvinod_models():
    """sgrvinod models.py: ConvolutionalBlock, SubPixelConvolutionalBlock, ResidualBlock,
    SRResNet, Generator (same attributes, so the same state_dict keys)."""
    nn = _torch().nn

    class ConvolutionalBlock(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, batch_norm=False, activation=None):
            super().__init__()
            layers = [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)]
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers += {"prelu": [nn.PReLU()], "tanh": [nn.Tanh()], None: []}[activation]
            self.conv_block = nn.Sequential(*layers)

        def forward(self, x):
            return self.conv_block(x)

    class SubPixelConvolutionalBlock(nn.Module):
        def __init__(self, n_channels):
            super().__init__()
            self.conv = nn.Conv2d(n_channels, n_channels * 4, 3, padding=1)
            self.pixel_shuffle = nn.PixelShuffle(2)
            self.prelu = nn.PReLU()

        def forward(self, x):
            return self.prelu(self.pixel_shuffle(self.conv(x)))

    class ResidualBlock(nn.Module):
        def __init__(self, n_channels):
            super().__init__()
            self.conv_block1 = ConvolutionalBlock(n_channels, n_channels, 3, batch_norm=True, activation="prelu")
            self.conv_block2 = ConvolutionalBlock(n_channels, n_channels, 3, batch_norm=True)

        def forward(self, x):
            return self.conv_block2(self.conv_block1(x)) + x

    class SRResNet(nn.Module):
        def __init__(self, n_channels=64, n_blocks=16, scaling_factor=4):
            super().__init__()
            self.conv_block1 = ConvolutionalBlock(3, n_channels, 9, activation="prelu")
            self.residual_blocks = nn.Sequential(*[ResidualBlock(n_channels) for _ in range(n_blocks)])
            self.conv_block2 = ConvolutionalBlock(n_channels, n_channels, 3, batch_norm=True)
            self.subpixel_convolutional_blocks = nn.Sequential(
                *[SubPixelConvolutionalBlock(n_channels) for _ in range(int(math.log2(scaling_factor)))])
            self.conv_block3 = ConvolutionalBlock(n_channels, 3, 9, activation="tanh")

        def forward(self, x):
            head = self.conv_block1(x)
            return self.conv_block3(self.subpixel_convolutional_blocks(self.conv_block2(self.residual_blocks(head))
                                                                       + head))

    class Generator(nn.Module):
        def __init__(self, **kwargs):
            super().__init__()
            self.net = SRResNet(**kwargs)

        def forward(self, x):
            return self.net(x)

    return types.SimpleNamespace(ConvolutionalBlock=ConvolutionalBlock, SubPixelConvolutionalBlock=SubPixelConvolutionalBlock,
                                 ResidualBlock=ResidualBlock, SRResNet=SRResNet, Generator=Generator)


IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def imagenet_norm(uint8):
    """sgrvinod convert_image(pil -> 'imagenet-norm'): to_tensor (/ 255), minus mean, over std."""
    return ((uint8.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).astype(np.float32)


def to_uint8(images):
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


@pytest.fixture
def pickled_models(monkeypatch):
    """The tutorial's classes as the module "models" while a test pickles them (as
    train_srgan.py does with `from models import Generator`), gone when the test loads."""
    models = sgrvinod_models()
    module = types.ModuleType("models")
    for name, cls in vars(models).items():
        cls.__module__, cls.__qualname__ = "models", name
        setattr(module, name, cls)
    monkeypatch.setitem(sys.modules, "models", module)
    return models


def converted(argv):
    """(Keras network(s), endpoint function) of `kgan.convert ARGV` without writing anything."""
    args = convert.build_parser().parse_args([str(a) for a in argv])
    convert.check_options(args)
    (network, function, _), *_ = convert.CONVERTERS[args.format](args)
    return network, function


def test_sgrvinod_generator_state_dict_converts_exactly(tmp_path):
    """Generator(n_channels=8, n_blocks=2, x4) state dict under "generator": the Keras
    network on the ImageNet-normalized input equals the PyTorch forward (2 x 13 x 21)."""
    torch = _torch()
    net = randomize(sgrvinod_models().Generator(n_channels=8, n_blocks=2, scaling_factor=4))
    torch.save({"epoch": 3, "generator": net.state_dict()}, tmp_path / "checkpoint_srgan.pth.tar")
    image = np.random.default_rng(0).integers(0, 256, (2, 13, 21, 3), dtype=np.uint8)
    reference = torch_forward(net, imagenet_norm(image))
    assert reference.shape == (2, 52, 84, 3) and reference.std() > 0.05 and np.mean(np.abs(reference) > 0.99) < 0.02
    generator, _ = converted(["srgan-sgrvinod", tmp_path / "checkpoint_srgan.pth.tar", tmp_path / "unused"])
    error, relative = relative_error(generator(imagenet_norm(image)), reference)
    print(f"sgrvinod SRGAN: max abs error {error:.2e}, relative {relative:.2e}")
    assert relative < RTOL


def test_sgrvinod_pickled_models_need_trust_pickle(capsys, tmp_path, pickled_models, monkeypatch):
    """train_srgan.py / train_srresnet.py pickle whole models (and optimizers): refused with
    weights_only=True, read with --trust-pickle without the tutorial's models.py."""
    torch = _torch()
    generator = randomize(pickled_models.Generator(n_channels=4, n_blocks=1, scaling_factor=2))
    srresnet = randomize(pickled_models.SRResNet(n_channels=4, n_blocks=1, scaling_factor=2), seed=1)
    torch.save({"epoch": 0, "generator": generator, "optimizer_g": torch.optim.Adam(generator.parameters())},
               tmp_path / "checkpoint_srgan.pth.tar")
    torch.save({"epoch": 0, "model": srresnet}, tmp_path / "checkpoint_srresnet.pth.tar")
    monkeypatch.delitem(sys.modules, "models")
    assert_one_line_error(capsys, ["srgan-sgrvinod", tmp_path / "checkpoint_srgan.pth.tar", tmp_path / "out"],
                          "models.Generator", "--trust-pickle")
    image = np.random.default_rng(1).integers(0, 256, (1, 7, 10, 3), dtype=np.uint8)
    for name, net in [("checkpoint_srgan.pth.tar", generator), ("checkpoint_srresnet.pth.tar", srresnet)]:
        keras_net, _ = converted(["srgan-sgrvinod", tmp_path / name, tmp_path / "out", "--trust-pickle"])
        assert relative_error(keras_net(imagenet_norm(image)), torch_forward(net, imagenet_norm(image)))[1] < RTOL
    assert "models" not in sys.modules


def _set5():
    for parent in pathlib.Path(__file__).resolve().parents:
        folder = parent / "shared" / "verify_data" / "Set5"
        if folder.is_dir():
            return folder
    pytest.skip("Set5 not found in a shared/verify_data folder above the repository")


def test_converted_sgrvinod_srgan_upscales_a_set5_photo_like_pytorch(capsys, tmp_path):
    """Seed 000's pipeline end to end: a Set5 photo (a 36 x 52 crop of bird.png, kept small
    for speed) through `python -m kgan.upscale` on the converted model, against the
    PyTorch forward on the same uint8 input normalized once; normalizing twice or not at
    all gives clearly different images."""
    torch = _torch()
    net = randomize(sgrvinod_models().Generator(n_channels=8, n_blocks=2, scaling_factor=4), seed=2)
    torch.save({"generator": net.state_dict()}, tmp_path / "srgan.pth.tar")
    status, lines = run(capsys, "srgan-sgrvinod", tmp_path / "srgan.pth.tar", tmp_path / "srgan")
    assert status == 0 and lines[-1].endswith(str(tmp_path / "srgan" / "1")), lines
    record = json.loads((tmp_path / "srgan" / "1" / "assets.extra" / "kgan_convert.json").read_text())
    assert record["options"] == {"scale": 4, "n_residual_blocks": 2, "width": 8, "channels": 3, "variant": "sgrvinod"}
    assert record["input_normalization"] == "imagenet"
    photo = read_image(str(_set5() / "bird.png"))[100:136, 120:172]
    tf.io.write_file(str(tmp_path / "bird.png"), tf.io.encode_png(photo))
    assert upscale.main([str(tmp_path / "srgan"), str(tmp_path / "bird.png"), str(tmp_path / "bird_x4.png")]) == 0
    ours = read_image(str(tmp_path / "bird_x4.png")).astype(int)
    assert ours.shape == (144, 208, 3)
    reference = to_uint8(torch_forward(net, imagenet_norm(photo[None]))[0]).astype(int)
    differences = np.abs(ours - reference)
    print(f"Set5 bird through kgan.upscale: max {differences.max()} levels, {np.mean(differences > 0):.4%} differ")
    assert differences.max() <= 1 and np.mean(differences > 0) < 0.01
    for wrong in (photo.astype(np.float32), imagenet_norm(imagenet_norm(photo).clip(0, 1) * 255)):
        assert np.abs(ours - to_uint8(torch_forward(net, wrong[None].astype(np.float32))[0])).mean() > 5


def junyanz_networks():
    """junyanz models/networks.py: get_norm_layer, ResnetGenerator, ResnetBlock,
    UnetGenerator, UnetSkipConnectionBlock (current master: InstanceNorm2d without affine
    or running statistics; conv bias only with instance norm)."""
    nn = _torch().nn
    torch = _torch()

    def get_norm_layer(norm):
        if norm == "batch":
            return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)

    class ResnetBlock(nn.Module):
        def __init__(self, dim, norm_layer, use_dropout, use_bias):
            super().__init__()
            layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim), nn.ReLU(True)]
            layers += [nn.Dropout(0.5)] if use_dropout else []
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim)]
            self.conv_block = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv_block(x)

    class ResnetGenerator(nn.Module):
        def __init__(self, input_nc, output_nc, ngf, norm_layer, use_dropout=False, n_blocks=6):
            super().__init__()
            use_bias = norm_layer.func == nn.InstanceNorm2d
            model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=use_bias), norm_layer(ngf), nn.ReLU(True)]
            for i in range(2):
                mult = 2**i
                model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                          norm_layer(ngf * mult * 2), nn.ReLU(True)]
            model += [ResnetBlock(ngf * 4, norm_layer, use_dropout, use_bias) for _ in range(n_blocks)]
            for i in range(2):
                mult = 2 ** (2 - i)
                model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1,
                                             bias=use_bias), norm_layer(ngf * mult // 2), nn.ReLU(True)]
            model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
            self.model = nn.Sequential(*model)

        def forward(self, x):
            return self.model(x)

    class UnetSkipConnectionBlock(nn.Module):
        def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                     norm_layer=None, use_dropout=False):
            super().__init__()
            self.outermost = outermost
            use_bias = norm_layer.func == nn.InstanceNorm2d
            input_nc = input_nc or outer_nc
            downconv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=use_bias)
            if outermost:
                model = [downconv, submodule, nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1),
                         nn.Tanh()]
            elif innermost:
                model = [nn.LeakyReLU(0.2, True), downconv, nn.ReLU(True),
                         nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=use_bias), norm_layer(outer_nc)]
            else:
                model = [nn.LeakyReLU(0.2, True), downconv, norm_layer(inner_nc), submodule, nn.ReLU(True),
                         nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=use_bias), norm_layer(outer_nc)]
                model += [nn.Dropout(0.5)] if use_dropout else []
            self.model = nn.Sequential(*model)

        def forward(self, x):
            return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)

    class UnetGenerator(nn.Module):
        def __init__(self, input_nc, output_nc, num_downs, ngf, norm_layer, use_dropout=False):
            super().__init__()
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm_layer=norm_layer, innermost=True)
            for _ in range(num_downs - 5):
                block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer,
                                                use_dropout=use_dropout)
            for outer in (4, 2, 1):
                block = UnetSkipConnectionBlock(ngf * outer, ngf * outer * 2, submodule=block, norm_layer=norm_layer)
            self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                                 norm_layer=norm_layer)

        def forward(self, x):
            return self.model(x)

    def define_G(input_nc, output_nc, ngf, netG, norm, use_dropout=False):
        norm_layer = get_norm_layer(norm)
        if netG.startswith("resnet"):
            return ResnetGenerator(input_nc, output_nc, ngf, norm_layer, use_dropout, int(netG[7]))
        return UnetGenerator(input_nc, output_nc, {"unet_128": 7, "unet_256": 8}[netG], ngf, norm_layer, use_dropout)

    return define_G


@pytest.mark.parametrize("netG, norm, ngf, dropout, size, channels", [
    ("resnet_9blocks", "instance", 8, False, (20, 28), (3, 3)),   # CycleGAN's
    ("resnet_6blocks", "batch", 4, True, (16, 24), (3, 3)),
    ("unet_256", "batch", 4, True, (256, 512), (3, 3)),           # pix2pix's
    ("unet_128", "instance", 4, False, (128, 256), (1, 3)),
])
def test_junyanz_generators_convert_exactly(tmp_path, netG, norm, ngf, dropout, size, channels):
    """Each generator and norm junyanz defines; DataParallel's "module." prefix on some; the
    network read off the checkpoint with no option given."""
    torch = _torch()
    net = randomize(junyanz_networks()(*channels, ngf, netG, norm, dropout))
    state = net.state_dict()
    if norm == "batch":
        state = {f"module.{key}": value for key, value in state.items()}
    torch.save(state, tmp_path / "latest_net_G.pth")
    x = np.random.default_rng(3).uniform(-1, 1, (1, *size, channels[0])).astype(np.float32)
    reference = torch_forward(net, x)
    assert reference.std() > 0.05 and np.mean(np.abs(reference) > 0.99) < 0.02
    generator, _ = converted(["junyanz", tmp_path / "latest_net_G.pth", tmp_path / "unused"])
    error, relative = relative_error(generator(x), reference)
    print(f"junyanz {netG} {norm}: max abs error {error:.2e}, relative {relative:.2e}")
    assert relative < RTOL
