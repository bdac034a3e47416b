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
import pathlib
import sys
import types

import numpy as np
import pytest
import tensorflow as tf

from kgan import convert, translate, upscale
from kgan.inference import read_image

# One worker runs this file: its module-scoped fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("convert")

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


def test_sgrvinod_variant_has_the_tutorial_parameter_counts():
    """sgrvinod Generator() counted in PyTorch 2.13: 1,549,462 parameters, 4,224 running
    statistics (33 BatchNorm2d x 64 x 2)."""
    from kgan.networks.srgan import srgan_generator

    generator = srgan_generator(variant="sgrvinod")
    assert sum(int(np.prod(w.shape)) for w in generator.trainable_weights) == 1_549_462
    assert generator.count_params() == 1_549_462 + 4_224
    assert generator.get_layer("res_0_norm_0").epsilon == 1e-5
    assert tuple(generator.get_layer("res_0_prelu").alpha.shape) == (1, 1, 1)
    with pytest.raises(ValueError, match="sub-pixel"):
        srgan_generator(variant="sgrvinod", upsample="nearest")


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

    return types.SimpleNamespace(ConvolutionalBlock=ConvolutionalBlock, ResidualBlock=ResidualBlock,
                                 SubPixelConvolutionalBlock=SubPixelConvolutionalBlock, SRResNet=SRResNet,
                                 Generator=Generator)


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
    """([Keras networks], endpoint function) of `kgan.convert ARGV` without writing anything."""
    args = convert.build_parser().parse_args([str(a) for a in argv])
    convert.check_options(args)
    endpoint, *_ = convert.CONVERTERS[args.format](args)
    return list(endpoint.networks), endpoint.fn


def test_sgrvinod_generator_state_dict_converts_exactly(tmp_path):
    """Generator(n_channels=8, n_blocks=2, x4) state dict under "generator": the Keras
    network on the ImageNet-normalized input equals the PyTorch forward (2 x 13 x 21)."""
    torch = _torch()
    net = randomize(sgrvinod_models().Generator(n_channels=8, n_blocks=2, scaling_factor=4))
    torch.save({"epoch": 3, "generator": net.state_dict()}, tmp_path / "checkpoint_srgan.pth.tar")
    image = np.random.default_rng(0).integers(0, 256, (2, 13, 21, 3), dtype=np.uint8)
    reference = torch_forward(net, imagenet_norm(image))
    assert reference.shape == (2, 52, 84, 3) and reference.std() > 0.05 and np.mean(np.abs(reference) > 0.99) < 0.02
    [generator], _ = converted(["srgan-sgrvinod", tmp_path / "checkpoint_srgan.pth.tar", tmp_path / "unused"])
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
        [keras_net], _ = converted(["srgan-sgrvinod", tmp_path / name, tmp_path / "out", "--trust-pickle"])
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
    with capsys.disabled():
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
    ("resnet_9blocks", "instance", 8, False, (20, 28), (3, 3)),   # CycleGAN's, also through kgan.translate
    ("resnet_6blocks", "batch", 4, True, (16, 24), (3, 3)),
    ("unet_256", "batch", 4, True, (256, 512), (3, 3)),           # pix2pix's
    ("unet_128", "instance", 4, False, (128, 256), (1, 3)),
])
def test_junyanz_generators_convert_exactly(capsys, tmp_path, netG, norm, ngf, dropout, size, channels):
    """Each generator and norm junyanz defines; DataParallel's "module." prefix on some; the
    network read off the checkpoint with no option given. CycleGAN's resnet_9blocks goes
    on through the SavedModel and `python -m kgan.translate` on a 22 x 30 image file
    (padded to the multiple of 4 inside, cropped back)."""
    torch = _torch()
    net = randomize(junyanz_networks()(*channels, ngf, netG, norm, dropout))
    state = net.state_dict()
    if norm == "batch":
        state = {f"module.{key}": value for key, value in state.items()}
    torch.save(state, tmp_path / "latest_net_G.pth")
    x = np.random.default_rng(3).uniform(-1, 1, (1, *size, channels[0])).astype(np.float32)
    reference = torch_forward(net, x)
    assert reference.std() > 0.05 and np.mean(np.abs(reference) > 0.99) < 0.02
    [generator], _ = converted(["junyanz", tmp_path / "latest_net_G.pth", tmp_path / "unused"])
    error, relative = relative_error(generator(x), reference)
    with capsys.disabled():
        print(f"junyanz {netG} {norm}: max abs error {error:.2e}, relative {relative:.2e}")
    assert relative < RTOL
    if netG != "resnet_9blocks":
        return
    status, lines = run(capsys, "junyanz", tmp_path / "latest_net_G.pth", tmp_path / "cyclegan_AtoB",
                        "--netG", netG, "--norm", norm)
    assert status == 0, lines
    photo = np.random.default_rng(7).integers(0, 256, (22, 30, 3), dtype=np.uint8)
    tf.io.write_file(str(tmp_path / "photo.png"), tf.io.encode_png(photo))
    assert translate.main([str(tmp_path / name) for name in ("cyclegan_AtoB", "photo.png", "out.png")]) == 0
    padded = np.pad(photo, ((0, 2), (0, 2), (0, 0)), mode="edge")[None].astype(np.float32) / 127.5 - 1
    reference = to_uint8(torch_forward(net, padded)[0, :22, :30]).astype(int)
    assert np.abs(read_image(str(tmp_path / "out.png")).astype(int) - reference).max() <= 1


def nvidia_networks():
    """NVIDIA pix2pixHD models/networks.py: ResnetBlock, GlobalGenerator, LocalEnhancer,
    Encoder (instance-wise average pooling), and pix2pixHD_model.py get_edges."""
    torch = _torch()
    nn = torch.nn
    norm_layer = functools.partial(nn.InstanceNorm2d, affine=False)

    class ResnetBlock(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm_layer(dim),
                                            nn.ReLU(True), nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3),
                                            norm_layer(dim))

        def forward(self, x):
            return x + self.conv_block(x)

    def down_up(ngf, n_downsampling):
        layers = []
        for i in range(n_downsampling):
            width = ngf * 2 ** (i + 1)
            layers += [nn.Conv2d(width // 2, width, 3, stride=2, padding=1), norm_layer(width), nn.ReLU(True)]
        return layers, [layer for i in range(n_downsampling) for layer in (
            nn.ConvTranspose2d(ngf * 2 ** (n_downsampling - i), ngf * 2 ** (n_downsampling - i - 1), 3, stride=2,
                               padding=1, output_padding=1), norm_layer(ngf * 2 ** (n_downsampling - i - 1)),
            nn.ReLU(True))]

    def stem(input_nc, ngf):
        return [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), norm_layer(ngf), nn.ReLU(True)]

    class GlobalGenerator(nn.Module):
        def __init__(self, input_nc, output_nc, ngf=64, n_downsampling=3, n_blocks=9):
            super().__init__()
            down, up = down_up(ngf, n_downsampling)
            blocks = [ResnetBlock(ngf * 2**n_downsampling) for _ in range(n_blocks)]
            self.model = nn.Sequential(*stem(input_nc, ngf), *down, *blocks, *up, nn.ReflectionPad2d(3),
                                       nn.Conv2d(ngf, output_nc, 7), nn.Tanh())

        def forward(self, x):
            return self.model(x)

    class LocalEnhancer(nn.Module):
        def __init__(self, input_nc, output_nc, ngf=32, n_downsample_global=3, n_blocks_global=9, n_local_enhancers=1,
                     n_blocks_local=3):
            super().__init__()
            self.n_local_enhancers = n_local_enhancers
            trunk = GlobalGenerator(input_nc, output_nc, ngf * 2**n_local_enhancers, n_downsample_global,
                                    n_blocks_global).model
            self.model = nn.Sequential(*[trunk[i] for i in range(len(trunk) - 3)])
            for n in range(1, n_local_enhancers + 1):
                width = ngf * 2 ** (n_local_enhancers - n)
                downsample = stem(input_nc, width) + [nn.Conv2d(width, width * 2, 3, stride=2, padding=1),
                                                      norm_layer(width * 2), nn.ReLU(True)]
                upsample = [ResnetBlock(width * 2) for _ in range(n_blocks_local)]
                upsample += [nn.ConvTranspose2d(width * 2, width, 3, stride=2, padding=1, output_padding=1),
                             norm_layer(width), nn.ReLU(True)]
                if n == n_local_enhancers:
                    upsample += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
                setattr(self, f"model{n}_1", nn.Sequential(*downsample))
                setattr(self, f"model{n}_2", nn.Sequential(*upsample))
            self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

        def forward(self, x):
            pyramid = [x]
            for _ in range(self.n_local_enhancers):
                pyramid.append(self.downsample(pyramid[-1]))
            out = self.model(pyramid[-1])
            for n in range(1, self.n_local_enhancers + 1):
                features = getattr(self, f"model{n}_1")(pyramid[self.n_local_enhancers - n])
                out = getattr(self, f"model{n}_2")(features + out)
            return out

    class Encoder(nn.Module):
        def __init__(self, input_nc, output_nc, ngf=32, n_downsampling=4):
            super().__init__()
            down, up = down_up(ngf, n_downsampling)
            self.model = nn.Sequential(*stem(input_nc, ngf), *down, *up, nn.ReflectionPad2d(3),
                                       nn.Conv2d(ngf, output_nc, 7), nn.Tanh())

        def forward(self, x, inst):
            outputs = self.model(x)
            means = outputs.clone()
            for i in np.unique(inst.numpy().astype(int)):
                for b in range(x.shape[0]):
                    mask = inst[b, 0] == int(i)
                    for j in range(outputs.shape[1]):
                        means[b, j][mask] = outputs[b, j][mask].mean()
            return means

    def get_edges(t):
        edge = torch.zeros_like(t, dtype=torch.bool)
        edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
        edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
        edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
        edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
        return edge.float()

    return types.SimpleNamespace(GlobalGenerator=GlobalGenerator, LocalEnhancer=LocalEnhancer, Encoder=Encoder,
                                 get_edges=get_edges)


def label_maps(rng, size, label_nc):
    """(labels, instances) (1, H, W) int32: random label blocks, instances inside them."""
    h, w = size
    labels = np.kron(rng.integers(0, label_nc, (h // 8, w // 8)), np.ones((8, 8), int))
    instances = labels * 1000 + np.kron(rng.integers(0, 3, (h // 4, w // 4)), np.ones((4, 4), int))
    return labels[None].astype(np.int32), instances[None].astype(np.int32)


def nvidia_input(nvidia, labels, instances, label_nc, features=None):
    """pix2pixHD_model.encode_input + inference: one-hot labels, edge map [, features]."""
    torch = _torch()
    one_hot = torch.zeros(1, label_nc, *labels.shape[1:]).scatter_(1, torch.from_numpy(labels[:, None]).long(), 1.0)
    parts = [one_hot, nvidia.get_edges(torch.from_numpy(instances[:, None]))]
    return torch.cat(parts + ([features] if features is not None else []), 1)


def test_pix2pixhd_global_generator_converts_exactly(tmp_path):
    """GlobalGenerator(ngf 8, NVIDIA's 4 downsamplings, 2 blocks), 6 labels + instance edges,
    48 x 64."""
    torch = _torch()
    nvidia = nvidia_networks()
    label_nc = 6
    net = randomize(nvidia.GlobalGenerator(label_nc + 1, 3, ngf=8, n_downsampling=4, n_blocks=2))
    torch.save(net.state_dict(), tmp_path / "latest_net_G.pth")
    labels, instances = label_maps(np.random.default_rng(4), (48, 64), label_nc)
    with torch.no_grad():
        reference = net(nvidia_input(nvidia, labels, instances, label_nc)).numpy().transpose(0, 2, 3, 1)
    assert reference.std() > 0.05 and np.mean(np.abs(reference) > 0.99) < 0.02
    args = ["pix2pixhd", tmp_path / "latest_net_G.pth", tmp_path / "pix2pixhd", "--label-nc", label_nc]
    [generator], _ = converted(args)
    from kgan.models.pix2pixhd import label_input

    error, relative = relative_error(generator(label_input(labels, label_nc, instances)), reference)
    print(f"pix2pixhd global: max abs error {error:.2e}, relative {relative:.2e}")
    assert relative < RTOL


def test_pix2pixhd_photo_input_exports_an_image_translator(tmp_path):
    """--label-nc 0 --no-instance (NVIDIA: the input is the photo in [-1, 1]): the
    endpoint is kgan's images uint8 -> images uint8 translation, here on a 32 x 48 image."""
    torch = _torch()
    net = randomize(nvidia_networks().GlobalGenerator(3, 3, ngf=4, n_downsampling=2, n_blocks=1), seed=8)
    torch.save(net.state_dict(), tmp_path / "latest_net_G.pth")
    photo = np.random.default_rng(8).integers(0, 256, (1, 32, 48, 3), dtype=np.uint8)
    _, function = converted(["pix2pixhd", tmp_path / "latest_net_G.pth", tmp_path / "unused", "--label-nc", 0,
                             "--no-instance"])
    reference = to_uint8(torch_forward(net, (photo / 127.5 - 1).astype(np.float32))).astype(int)
    assert np.abs(function(tf.constant(photo))["images"].numpy().astype(int) - reference).max() <= 1


def test_pix2pixhd_local_enhancer_and_encoder_convert_exactly(capsys, tmp_path):
    """LocalEnhancer(ngf 4, 2 global downsamplings, 1 block, 1 enhancer, 1 local block) fed
    4 labels + edges + the Encoder's (nef 4, 2 downsamplings, 3 features) per-instance means
    of a real image (--use_encoded_image), 32 x 48; the checkpoint from before PyTorch 0.4
    carries instance-norm running statistics, which are dropped. The export's labels,
    instances and real_images -> images equals NVIDIA's inference in uint8."""
    torch = _torch()
    nvidia = nvidia_networks()
    label_nc = 4
    net = randomize(nvidia.LocalEnhancer(label_nc + 1 + 3, 3, ngf=4, n_downsample_global=2, n_blocks_global=1,
                                         n_local_enhancers=1, n_blocks_local=1))
    encoder = randomize(nvidia.Encoder(3, 3, ngf=4, n_downsampling=2), seed=5)
    state = net.state_dict()
    state.update({"model.2.running_mean": torch.zeros(16), "model.2.running_var": torch.ones(16),
                  "model.2.num_batches_tracked": torch.tensor(7)})
    torch.save(state, tmp_path / "latest_net_G.pth")
    torch.save(encoder.state_dict(), tmp_path / "latest_net_E.pth")
    rng = np.random.default_rng(6)
    labels, instances = label_maps(rng, (32, 48), label_nc)
    real = rng.integers(0, 256, (1, 32, 48, 3), dtype=np.uint8)
    real_unit = (real / 127.5 - 1).astype(np.float32)
    with torch.no_grad():
        features = encoder(torch.from_numpy(real_unit.transpose(0, 3, 1, 2)), torch.from_numpy(instances[:, None]))
        reference = net(nvidia_input(nvidia, labels, instances, label_nc, features)).numpy().transpose(0, 2, 3, 1)
    assert reference.std() > 0.05 and np.mean(np.abs(reference) > 0.99) < 0.02
    args = ["pix2pixhd", tmp_path / "latest_net_G.pth", tmp_path / "local", "--label-nc", label_nc,
            "--encoder", tmp_path / "latest_net_E.pth"]
    (generator, keras_encoder), _ = converted(args)
    from kgan.models.pix2pixhd import label_input

    keras_features = keras_encoder([real_unit, instances])
    error, relative = relative_error(keras_features, features.numpy().transpose(0, 2, 3, 1))
    with capsys.disabled():
        print(f"pix2pixhd encoder: max abs error {error:.2e}, relative {relative:.2e}")
    assert relative < RTOL
    x = tf.concat([label_input(labels, label_nc, instances), keras_features], -1)
    error, relative = relative_error(generator(x), reference)
    with capsys.disabled():
        print(f"pix2pixhd local enhancer: max abs error {error:.2e}, relative {relative:.2e}")
    assert relative < RTOL
    status, lines = run(capsys, *args)
    assert status == 0 and "dropped 3 instance-norm running statistics" in lines[0], lines
    out = serving(tmp_path / "local" / "1")(labels=tf.constant(labels), instances=tf.constant(instances),
                                            real_images=tf.constant(real))["images"].numpy()
    assert np.abs(out.astype(int) - to_uint8(reference)).max() <= 1


# ---- bad checkpoints: one line, exit 2, nothing written ----

@pytest.fixture(scope="module")
def small_checkpoints(tmp_path_factory):
    """A junyanz resnet_6blocks (ngf 2, instance norm) and a sgrvinod Generator (4
    channels, 1 block) state dict, and the path of each."""
    torch = _torch()
    folder = tmp_path_factory.mktemp("checkpoints")
    resnet = junyanz_networks()(3, 3, 2, "resnet_6blocks", "instance").state_dict()
    srgan = sgrvinod_models().Generator(n_channels=4, n_blocks=1, scaling_factor=2).state_dict()
    torch.save(resnet, folder / "latest_net_G.pth")
    torch.save({"generator": srgan}, folder / "srgan.pth.tar")
    return types.SimpleNamespace(folder=folder, resnet=resnet, srgan=srgan)


def assert_refused(capsys, tmp_path, argv, *fragments):
    """Asserts that kgan.convert refuses `argv` with one stderr line holding every fragment, exit
    2, and writes nothing."""
    line = assert_one_line_error(capsys, argv[:2] + [tmp_path / "out"] + argv[2:], *fragments)
    assert not (tmp_path / "out").exists()
    return line


def test_wrong_format_for_the_file_names_what_it_looks_like(capsys, tmp_path, small_checkpoints):
    assert_refused(capsys, tmp_path, ["srgan-sgrvinod", small_checkpoints.folder / "latest_net_G.pth"],
         "is not a srgan-sgrvinod checkpoint", "'conv_block1.conv_block.0.weight'", "looks like a junyanz resnet")
    assert_refused(capsys, tmp_path, ["junyanz", small_checkpoints.folder / "srgan.pth.tar"],
         "holds a dict of ['generator'], not a state dict", "its 'generator' looks like a srgan-sgrvinod checkpoint")
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint\n")
    assert_refused(capsys, tmp_path, ["pix2pixhd", text], "cannot read", "truncated, or not a .pth file")


def test_truncated_file(capsys, tmp_path, small_checkpoints):
    data = (small_checkpoints.folder / "latest_net_G.pth").read_bytes()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    assert_refused(capsys, tmp_path, ["junyanz", tmp_path / "truncated.pth"], "truncated.pth", "cannot read",
         "truncated, or not a .pth file")


def test_checkpoint_of_another_architecture_names_the_key_and_shape(capsys, tmp_path, small_checkpoints):
    resnet = small_checkpoints.folder / "latest_net_G.pth"
    assert_refused(capsys, tmp_path, ["junyanz", resnet, "--netG", "unet_256"], "is not a junyanz unet checkpoint",
         "looks like a junyanz resnet")
    assert_refused(capsys, tmp_path, ["junyanz", resnet, "--netG", "resnet_9blocks"],
         "lacks key 'model.16.conv_block.1.weight' (expected shape (8, 8, 3, 3), and 15 more)",
         "not a checkpoint of this network")
    assert_refused(capsys, tmp_path, ["junyanz", resnet, "--norm", "batch"],
         "lacks key 'model.2.weight' (expected shape (2,)")
    assert_refused(capsys, tmp_path, ["pix2pixhd", resnet], "takes 3 input channels", "--label-nc 35 + 1 instance edge map = 36")
    torch = _torch()
    discriminator = torch.nn.Module()  # NLayerDiscriminator's first block
    discriminator.model = torch.nn.Sequential(torch.nn.Conv2d(6, 4, 4, 2, 1), torch.nn.LeakyReLU(0.2, True))
    torch.save(discriminator.state_dict(), tmp_path / "latest_net_D.pth")
    assert_refused(capsys, tmp_path, ["junyanz", tmp_path / "latest_net_D.pth"], "looks like a discriminator")


def test_wrong_shape_or_leftover_key_is_never_a_partial_load(capsys, tmp_path, small_checkpoints):
    torch = _torch()
    wrong = dict(small_checkpoints.srgan)
    wrong["net.conv_block3.conv_block.0.weight"] = torch.zeros(3, 4, 7, 7)
    torch.save({"generator": wrong}, tmp_path / "wrong_shape.pth")
    assert_refused(capsys, tmp_path, ["srgan-sgrvinod", tmp_path / "wrong_shape.pth"],
         "key 'conv_block3.conv_block.0.weight' has shape (3, 4, 7, 7), expected (3, 4, 9, 9)")
    extra = dict(small_checkpoints.resnet)
    extra["model.30.weight"] = torch.zeros(5)
    torch.save(extra, tmp_path / "extra.pth")
    assert_refused(capsys, tmp_path, ["junyanz", tmp_path / "extra.pth"], "has key 'model.30.weight' (shape (5,))",
         "no place for")
