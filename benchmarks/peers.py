"""PyTorch peers of benchmarks/train_step.py's rows: each seed's own PyTorch training step.

- `dcgan`: seed 002's DCGAN (64x64, batch 64): its `Generator` / `Discriminator`, BCE, Adam
  2e-4 (0.5, 0.999), `discriminator_train_step` then `generator_train_step` on fresh noise.
- `pix2pix`: seed 000's `GeneratorUNet` / `Discriminator` (256x256, batch 1), MSE GAN loss +
  100 x L1, one G forward per step, D on the detached fake, then G.
- `cyclegan`: seed 000's `GeneratorResNet` (9 blocks, nearest upsample + conv) and
  `Discriminator`, identity 5 + cycle 10 + MSE GAN, G_AB and G_BA in one Adam, then D_A, D_B.
- `srgan_g_pixel`: seed 001's SRGAN generator (a Keras seed: conv 9x9 + ReLU, 16 residual
  blocks conv-ReLU-BN-conv-BN, long skip, 2 x (Upsample 2, conv 3x3 256, ReLU), conv 9x9,
  tanh) in PyTorch, pixel MSE, Adam: the G-only pre-training step, 64 -> 256, batch 1.
- `pix2pixhd_global`: NVIDIA/pix2pixHD `GlobalGenerator` (ngf 64, 4 downsamplings, 9 blocks,
  instance norm) and `MultiscaleDiscriminator` (num_D 2, n_layers 3, getIntermFeat), LSGAN +
  10 x feature matching, no VGG, as `Pix2PixHDModel.forward` (D on the detached fake and on
  the fake again for G); input 35 one-hot labels + the instance edge map.
- `stylegan2`: stylegan2-ada-pytorch's `Generator` (mapping, 'skip' synthesis, non-fused
  modulated convs as ADA trains) and 'resnet' `Discriminator` (minibatch std), with its
  reference ops (upfirdn2d as a depthwise conv), non-saturating logistic loss, style
  mixing 0.9, no R1 / path length (the benchmark times the main step only), G_ema update.

`PEERS[name](precision)` returns (step, batch size); `step()` runs one training step.
precision "float32", or "mixed_bfloat16": forward and losses under
`torch.autocast("cpu", torch.bfloat16)`, backward and Adam outside it.
"""
import contextlib
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _autocast(precision):
    if precision == "float32":
        return contextlib.nullcontext
    return lambda: torch.autocast("cpu", dtype=torch.bfloat16)


def _init_normal(m):
    """Seeds 000 / 002 `weights_init_normal`."""
    if "Conv" in type(m).__name__:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm2d" in type(m).__name__:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.constant_(m.bias, 0.0)


def _adam(params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8):
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)


# ---- seed 002: DCGAN ----

def dcgan(precision, batch=64):
    generator = nn.Sequential(
        nn.ConvTranspose2d(100, 64 * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(64 * 8), nn.ReLU(True),
        nn.ConvTranspose2d(64 * 8, 64 * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(64 * 4), nn.ReLU(True),
        nn.ConvTranspose2d(64 * 4, 64 * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(64 * 2), nn.ReLU(True),
        nn.ConvTranspose2d(64 * 2, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
        nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(64, 64 * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(64 * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(64 * 2, 64 * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(64 * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(64 * 4, 64 * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(64 * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(64 * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    generator.apply(_init_normal)
    discriminator.apply(_init_normal)
    loss = nn.BCELoss()
    d_optimizer, g_optimizer = _adam(discriminator.parameters()), _adam(generator.parameters())
    real = torch.rand(batch, 3, 64, 64) * 2 - 1
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    autocast = _autocast(precision)

    def step():
        with autocast():
            fake = generator(torch.randn(batch, 100, 1, 1)).detach()
        d_optimizer.zero_grad()
        with autocast():
            error_real = loss(discriminator(real).squeeze().float(), ones)
        error_real.backward()
        with autocast():
            error_fake = loss(discriminator(fake).squeeze().float(), zeros)
        error_fake.backward()
        d_optimizer.step()
        g_optimizer.zero_grad()
        with autocast():
            error = loss(discriminator(generator(torch.randn(batch, 100, 1, 1))).squeeze().float(), ones)
        error.backward()
        g_optimizer.step()

    return step, batch


# ---- seed 000: pix2pix ----

class UNetDown(nn.Module):
    def __init__(self, in_size, out_size, normalize=True, dropout=0.0):
        super().__init__()
        layers = [nn.Conv2d(in_size, out_size, 4, 2, 1, bias=False)]
        if normalize:
            layers.append(nn.InstanceNorm2d(out_size))
        layers.append(nn.LeakyReLU(0.2))
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class UNetUp(nn.Module):
    def __init__(self, in_size, out_size, dropout=0.0):
        super().__init__()
        layers = [nn.ConvTranspose2d(in_size, out_size, 4, 2, 1, bias=False), nn.InstanceNorm2d(out_size),
                  nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x, skip_input):
        return torch.cat((self.model(x), skip_input), 1)


class GeneratorUNet(nn.Module):
    def __init__(self, in_channels=3, out_channels=3):
        super().__init__()
        self.downs = nn.ModuleList([
            UNetDown(in_channels, 64, normalize=False), UNetDown(64, 128), UNetDown(128, 256),
            UNetDown(256, 512, dropout=0.5), UNetDown(512, 512, dropout=0.5), UNetDown(512, 512, dropout=0.5),
            UNetDown(512, 512, dropout=0.5), UNetDown(512, 512, normalize=False, dropout=0.5)])
        self.ups = nn.ModuleList([
            UNetUp(512, 512, dropout=0.5), UNetUp(1024, 512, dropout=0.5), UNetUp(1024, 512, dropout=0.5),
            UNetUp(1024, 512, dropout=0.5), UNetUp(1024, 256), UNetUp(512, 128), UNetUp(256, 64)])
        self.final = nn.Sequential(nn.Upsample(scale_factor=2), nn.ZeroPad2d((1, 0, 1, 0)),
                                   nn.Conv2d(128, out_channels, 4, padding=1), nn.Tanh())

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        for up, skip in zip(self.ups, reversed(skips[:-1])):
            x = up(x, skip)
        return self.final(x)


def _patch_discriminator(in_channels, head_bias):
    """Seed 000's pix2pix (head_bias False, 6 channels) and CycleGAN (True, 3) `Discriminator`."""
    def block(i, o, normalization=True):
        return [nn.Conv2d(i, o, 4, stride=2, padding=1)] + ([nn.InstanceNorm2d(o)] if normalization else []) + [
            nn.LeakyReLU(0.2, inplace=True)]

    return nn.Sequential(*block(in_channels, 64, False), *block(64, 128), *block(128, 256), *block(256, 512),
                         nn.ZeroPad2d((1, 0, 1, 0)), nn.Conv2d(512, 1, 4, padding=1, bias=head_bias))


def pix2pix(precision, batch=1, size=256):
    generator, discriminator = GeneratorUNet(), _patch_discriminator(6, head_bias=False)
    generator.apply(_init_normal)
    discriminator.apply(_init_normal)
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    g_optimizer, d_optimizer = _adam(generator.parameters()), _adam(discriminator.parameters())
    source, target = torch.rand(batch, 3, size, size) * 2 - 1, torch.rand(batch, 3, size, size) * 2 - 1
    patch = size // 16
    ones, zeros = torch.ones(batch, 1, patch, patch), torch.zeros(batch, 1, patch, patch)
    autocast = _autocast(precision)

    def step():
        with autocast():
            fake = generator(source)
        d_optimizer.zero_grad()
        with autocast():
            error_real = mse(discriminator(torch.cat((target, source), 1)).float(), ones)
        error_real.backward()
        with autocast():
            error_fake = mse(discriminator(torch.cat((source, fake.detach()), 1)).float(), zeros)
        error_fake.backward()
        d_optimizer.step()
        g_optimizer.zero_grad()
        with autocast():
            loss = mse(discriminator(torch.cat((fake, source), 1)).float(), ones) + 100 * l1(fake.float(), target)
        loss.backward()
        g_optimizer.step()

    return step, batch


# ---- seed 000: CycleGAN ----

class ResidualBlock(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(features, features, 3), nn.InstanceNorm2d(features), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(features, features, 3), nn.InstanceNorm2d(features))

    def forward(self, x):
        return x + self.block(x)


def generator_resnet(num_residual_blocks=9, channels=3):
    """Seed 000's `GeneratorResNet`."""
    model = [nn.ReflectionPad2d(3), nn.Conv2d(channels, 64, 7), nn.InstanceNorm2d(64), nn.ReLU(inplace=True)]
    features = 64
    for _ in range(2):
        model += [nn.Conv2d(features, 2 * features, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * features),
                  nn.ReLU(inplace=True)]
        features *= 2
    model += [ResidualBlock(features) for _ in range(num_residual_blocks)]
    for _ in range(2):
        model += [nn.Upsample(scale_factor=2), nn.Conv2d(features, features // 2, 3, stride=1, padding=1),
                  nn.InstanceNorm2d(features // 2), nn.ReLU(inplace=True)]
        features //= 2
    model += [nn.ReflectionPad2d(channels), nn.Conv2d(features, channels, 7), nn.Tanh()]
    return nn.Sequential(*model)


def cyclegan(precision, batch=1, size=128):
    g_ab, g_ba = generator_resnet(), generator_resnet()
    d_a, d_b = _patch_discriminator(3, head_bias=True), _patch_discriminator(3, head_bias=True)
    for net in (g_ab, g_ba, d_a, d_b):
        net.apply(_init_normal)
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    g_optimizer = _adam(list(g_ab.parameters()) + list(g_ba.parameters()))
    d_a_optimizer, d_b_optimizer = _adam(d_a.parameters()), _adam(d_b.parameters())
    real_a, real_b = torch.rand(batch, 3, size, size) * 2 - 1, torch.rand(batch, 3, size, size) * 2 - 1
    patch = size // 16
    ones, zeros = torch.ones(batch, 1, patch, patch), torch.zeros(batch, 1, patch, patch)
    autocast = _autocast(precision)

    def d_step(d, optimizer, real, fake):
        optimizer.zero_grad()
        with autocast():
            loss = (mse(d(real).float(), ones) + mse(d(fake.detach()).float(), zeros)) / 2
        loss.backward()
        optimizer.step()

    def step():
        g_optimizer.zero_grad()
        with autocast():
            identity = (l1(g_ba(real_a).float(), real_a) + l1(g_ab(real_b).float(), real_b)) / 2
            fake_b, fake_a = g_ab(real_a), g_ba(real_b)
            gan = (mse(d_b(fake_b).float(), ones) + mse(d_a(fake_a).float(), ones)) / 2
            cycle = (l1(g_ba(fake_b).float(), real_a) + l1(g_ab(fake_a).float(), real_b)) / 2
            loss = gan + 10 * cycle + 5 * identity
        loss.backward()
        g_optimizer.step()
        d_step(d_a, d_a_optimizer, real_a, fake_a)
        d_step(d_b, d_b_optimizer, real_b, fake_b)

    return step, batch


# ---- seed 001 (Keras) in PyTorch: SRGAN generator, pixel pre-training ----

class SRResidual(nn.Module):
    """Seed 001 `residual_block`: conv 3x3 - ReLU - BN - conv 3x3 - BN, plus the input."""

    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(width, momentum=0.2),
                                  nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width, momentum=0.2))

    def forward(self, x):
        return x + self.body(x)


class SRGenerator(nn.Module):
    def __init__(self, blocks=16, width=64, upsample_width=256):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, width, 9, padding=4), nn.ReLU())
        self.blocks = nn.Sequential(*[SRResidual(width) for _ in range(blocks)])
        self.post = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width, momentum=0.2))
        ups, channels = [], width
        for _ in range(2):
            ups += [nn.Upsample(scale_factor=2), nn.Conv2d(channels, upsample_width, 3, padding=1), nn.ReLU()]
            channels = upsample_width
        self.up = nn.Sequential(*ups, nn.Conv2d(channels, 3, 9, padding=4), nn.Tanh())

    def forward(self, x):
        head = self.head(x)
        return self.up(self.post(self.blocks(head)) + head)


def srgan_g_pixel(precision, batch=1, size=64):
    generator = SRGenerator()
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.9, 0.999))
    low, high = torch.rand(batch, 3, size, size) * 2 - 1, torch.rand(batch, 3, 4 * size, 4 * size) * 2 - 1
    autocast = _autocast(precision)

    def step():
        optimizer.zero_grad()
        with autocast():
            loss = F.mse_loss(generator(low).float(), high)
        loss.backward()
        optimizer.step()

    return step, batch


# ---- NVIDIA/pix2pixHD: global generator, multi-scale D ----

def _pix2pixhd_generator(input_nc, ngf=64, n_downsampling=4, n_blocks=9):
    """NVIDIA `GlobalGenerator` with InstanceNorm2d (affine False) and its `ResnetBlock`."""
    model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
    for i in range(n_downsampling):
        mult = 2**i
        model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1), nn.InstanceNorm2d(ngf * mult * 2),
                  nn.ReLU(True)]
    width = ngf * 2**n_downsampling
    model += [ResidualBlock(width) for _ in range(n_blocks)]
    for i in range(n_downsampling):
        mult = 2 ** (n_downsampling - i)
        model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1),
                  nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU(True)]
    model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    return nn.Sequential(*model)


class NLayerDiscriminator(nn.Module):
    """NVIDIA `NLayerDiscriminator` with getIntermFeat: every block's output."""

    def __init__(self, input_nc, ndf=64, n_layers=3):
        super().__init__()
        blocks = [[nn.Conv2d(input_nc, ndf, 4, stride=2, padding=2), nn.LeakyReLU(0.2, True)]]
        nf = ndf
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            blocks.append([nn.Conv2d(prev, nf, 4, stride=2, padding=2), nn.InstanceNorm2d(nf), nn.LeakyReLU(0.2, True)])
        prev, nf = nf, min(nf * 2, 512)
        blocks.append([nn.Conv2d(prev, nf, 4, stride=1, padding=2), nn.InstanceNorm2d(nf), nn.LeakyReLU(0.2, True)])
        blocks.append([nn.Conv2d(nf, 1, 4, stride=1, padding=2)])
        self.blocks = nn.ModuleList(nn.Sequential(*b) for b in blocks)

    def forward(self, x):
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        return outputs


class MultiscaleDiscriminator(nn.Module):
    def __init__(self, input_nc, num_d=2):
        super().__init__()
        self.scales = nn.ModuleList(NLayerDiscriminator(input_nc) for _ in range(num_d))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

    def forward(self, x):
        outputs = []
        for i, scale in enumerate(self.scales):
            if i:
                x = self.downsample(x)
            outputs.append(scale(x))
        return outputs


def pix2pixhd_global(precision, batch=1, height=256, width=512, label_nc=35):
    input_nc = label_nc + 1
    generator, discriminator = _pix2pixhd_generator(input_nc), MultiscaleDiscriminator(input_nc + 3)
    for net in (generator, discriminator):
        net.apply(_init_normal)
    g_optimizer = _adam(generator.parameters())
    d_optimizer = _adam(discriminator.parameters())
    labels = F.one_hot(torch.randint(0, label_nc, (batch, height, width)), label_nc).permute(0, 3, 1, 2).float()
    edges = (torch.rand(batch, 1, height, width) > 0.9).float()
    label_input = torch.cat((labels, edges), 1)
    real = torch.rand(batch, 3, height, width) * 2 - 1
    autocast = _autocast(precision)

    def gan(outputs, target):
        return sum(F.mse_loss(scale[-1].float(), torch.full_like(scale[-1].float(), target)) for scale in outputs)

    def step():
        with autocast():
            fake = generator(label_input)
            pred_fake_pool = discriminator(torch.cat((label_input, fake.detach()), 1))
            pred_real = discriminator(torch.cat((label_input, real), 1))
            pred_fake = discriminator(torch.cat((label_input, fake), 1))
            loss_d = 0.5 * (gan(pred_fake_pool, 0.0) + gan(pred_real, 1.0))
            feat = sum(F.l1_loss(f.float(), r.detach().float()) * (4.0 / 4) / 2
                       for fs, rs in zip(pred_fake, pred_real) for f, r in zip(fs[:-1], rs[:-1]))
            loss_g = gan(pred_fake, 1.0) + 10 * feat
        g_optimizer.zero_grad()
        loss_g.backward()
        g_optimizer.step()
        d_optimizer.zero_grad()
        loss_d.backward()
        d_optimizer.step()

    return step, batch


# ---- stylegan2-ada-pytorch: Generator, 'resnet' Discriminator (reference ops) ----

# The --cfg values kgan's rows use (stylegan2-ada-pytorch cfg_specs paper256; kgan's tiny32, tiny64).
STYLEGAN2_CONFIGS = {
    "tiny32": dict(image_size=32, w_dim=128, channel_base=1024, channel_max=64, mapping_layers=4, mbstd_group=4,
                   batch=16, lr=0.0025),
    "tiny64": dict(image_size=64, w_dim=128, channel_base=2048, channel_max=64, mapping_layers=4, mbstd_group=4,
                   batch=16, lr=0.0025),
    "paper256": dict(image_size=256, w_dim=512, channel_base=16384, channel_max=512, mapping_layers=8,
                     mbstd_group=8, batch=64, lr=0.0025),
}
_FIR = torch.tensor([1.0, 3.0, 3.0, 1.0])
_FIR = _FIR[:, None] * _FIR[None, :]
_FIR = _FIR / _FIR.sum()
_GAIN = math.sqrt(2.0)
CONV_CLAMP = 256


def upfirdn2d(x, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """ADA `upfirdn2d` (reference path) with the [1, 3, 3, 1] filter: zero insertion, pad
    (left, right, top, bottom), depthwise 4x4 conv, keep every down-th pixel."""
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(b, c, h * up, w * up)
    x = F.pad(x, list(padding))
    kernel = (_FIR * gain).to(x.dtype)[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, kernel, groups=c, stride=down)


def bias_act(x, bias, lrelu=True, gain=1.0, clamp=None):
    x = x + bias.to(x.dtype).reshape(1, -1, 1, 1)
    if lrelu:
        x = F.leaky_relu(x, 0.2) * _GAIN
    x = x * gain if gain != 1 else x
    return x.clamp(-clamp, clamp) if clamp is not None else x


class FullyConnected(nn.Module):
    """ADA `FullyConnectedLayer`: equalized learning rate, lr multiplier."""

    def __init__(self, in_features, out_features, lrelu=False, lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.lrelu, self.weight_gain, self.bias_gain = lrelu, lr_multiplier / math.sqrt(in_features), lr_multiplier

    def forward(self, x):
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return F.leaky_relu(x, 0.2) * _GAIN if self.lrelu else x


class Conv2dLayer(nn.Module):
    """ADA `Conv2dLayer` (discriminator): equalized conv, optional [1, 3, 3, 1] downsampling
    (blur then strided conv, conv2d_resample's fast paths), bias + lrelu, clamp."""

    def __init__(self, in_channels, out_channels, kernel_size, bias=True, lrelu=True, down=1, clamp=None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.down, self.lrelu, self.clamp, self.padding = down, lrelu, clamp, kernel_size // 2

    def forward(self, x, gain=1.0):
        w = (self.weight * self.weight_gain).to(x.dtype)
        if self.down > 1 and self.padding:  # 3x3: blur, then the strided conv
            x = F.conv2d(upfirdn2d(x, padding=(2, 2, 2, 2)), w, stride=2)
        elif self.down > 1:  # 1x1: downsample first, then convolve
            x = F.conv2d(upfirdn2d(x, down=2, padding=(1, 1, 1, 1)), w)
        else:
            x = F.conv2d(x, w, padding=self.padding)
        if self.bias is None:
            return x * gain
        clamp = None if self.clamp is None else self.clamp * gain
        return bias_act(x, self.bias, self.lrelu, gain, clamp)


def modulated_conv2d(x, weight, styles, demodulate=True, up=1, padding=0):
    """ADA `modulated_conv2d`, non-fused (as it trains): scale the input by the styles, one
    conv for the batch, scale the output by the demodulation coefficients."""
    b = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    w = weight.to(x.dtype)
    styles = styles.to(x.dtype)
    x = x * styles.reshape(b, -1, 1, 1)
    if up > 1:
        x = F.conv_transpose2d(x, w.transpose(0, 1), stride=2)
        x = upfirdn2d(x, padding=(1, 1, 1, 1), gain=4.0)
    else:
        x = F.conv2d(x, w, padding=padding)
    if demodulate:
        dcoefs = ((w[None] * styles.reshape(b, 1, -1, 1, 1)).square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        x = x * dcoefs.reshape(b, -1, 1, 1)
    return x


class SynthesisLayer(nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, up=1):
        super().__init__()
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.up, self.resolution = up, resolution

    def forward(self, x, w):
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, up=self.up, padding=1)
        noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, dtype=x.dtype) * self.noise_strength
        return bias_act(x + noise.to(x.dtype), self.bias, clamp=CONV_CLAMP)


class ToRGB(nn.Module):
    def __init__(self, in_channels, w_dim, img_channels=3):
        super().__init__()
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(img_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x, w):
        x = modulated_conv2d(x, self.weight, self.affine(w) * self.weight_gain, demodulate=False)
        return bias_act(x, self.bias, lrelu=False, clamp=CONV_CLAMP)


class SynthesisBlock(nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution):
        super().__init__()
        self.resolution = resolution
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution)
        self.torgb = ToRGB(out_channels, w_dim)
        self.num_conv = 1 if in_channels == 0 else 2

    def forward(self, x, img, ws):
        if x is None:
            x = self.const[None].repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0])
        else:
            x = self.conv1(self.conv0(x, ws[:, 0]), ws[:, 1])
        if img is not None:
            img = upfirdn2d(img, up=2, padding=(2, 1, 2, 1), gain=4.0)
        y = self.torgb(x, ws[:, self.num_conv]).float()
        return x, y if img is None else img + y


class StyleGAN2Generator(nn.Module):
    def __init__(self, image_size, w_dim, channel_base, channel_max, mapping_layers, **_):
        super().__init__()
        resolutions = [2**i for i in range(2, int(math.log2(image_size)) + 1)]
        channels = {r: min(channel_base // r, channel_max) for r in resolutions}
        self.blocks = nn.ModuleList(
            SynthesisBlock(channels[r // 2] if r > 4 else 0, channels[r], w_dim, r) for r in resolutions)
        self.num_ws = 2 * len(resolutions)
        self.mapping = nn.ModuleList(FullyConnected(w_dim, w_dim, lrelu=True, lr_multiplier=0.01)
                                     for _ in range(mapping_layers))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.w_dim = w_dim

    def map(self, z, update_w_avg=True):
        x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        for layer in self.mapping:
            x = layer(x)
        if update_w_avg:
            self.w_avg.copy_(x.detach().float().mean(0).lerp(self.w_avg, 0.995))
        return x[:, None].repeat(1, self.num_ws, 1)

    def forward(self, z, style_mixing=0.9):
        ws = self.map(z)
        if style_mixing and torch.rand([]) < style_mixing:
            cutoff = int(torch.randint(1, self.num_ws, []))
            ws[:, cutoff:] = self.map(torch.randn_like(z), update_w_avg=False)[:, cutoff:]
        x = img = None
        first = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, first:first + block.num_conv + 1])
            first += block.num_conv
        return img


class MinibatchStd(nn.Module):
    def __init__(self, group_size):
        super().__init__()
        self.group_size = group_size

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        y = x.float().reshape(g, -1, 1, c, h, w)
        y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, 1, 1, 1)
        return torch.cat([x, y.repeat(g, 1, h, w).to(x.dtype)], 1)


class DiscriminatorBlock(nn.Module):
    def __init__(self, tmp_channels, out_channels, first):
        super().__init__()
        self.fromrgb = Conv2dLayer(3, tmp_channels, 1, clamp=CONV_CLAMP) if first else None
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, clamp=CONV_CLAMP)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, down=2, clamp=CONV_CLAMP)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x, img):
        if self.fromrgb is not None:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        return y + self.conv1(self.conv0(x), gain=math.sqrt(0.5))


class StyleGAN2Discriminator(nn.Module):
    def __init__(self, image_size, channel_base, channel_max, mbstd_group, **_):
        super().__init__()
        resolutions = [2**i for i in range(int(math.log2(image_size)), 2, -1)]
        channels = {r: min(channel_base // r, channel_max) for r in resolutions + [4]}
        self.blocks = nn.ModuleList(DiscriminatorBlock(channels[r], channels[r // 2], i == 0)
                                    for i, r in enumerate(resolutions))
        c = channels[4]
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = Conv2dLayer(c + 1, c, 3, clamp=CONV_CLAMP)
        self.fc = FullyConnected(c * 16, c, lrelu=True)
        self.out = FullyConnected(c, 1)

    def forward(self, img):
        x = None
        for block in self.blocks:
            x = block(x, img)
        x = self.conv(self.mbstd(x)).float()
        return self.out(self.fc(x.flatten(1)))


def stylegan2(precision, cfg="tiny32", batch=None):
    """ADA's Gmain and Dmain phases (Gmain: D frozen; Dmain: G frozen), Adam (0, 0.99), G_ema."""
    config = STYLEGAN2_CONFIGS[cfg]
    batch = batch or config["batch"]
    generator, discriminator = StyleGAN2Generator(**config), StyleGAN2Discriminator(**config)
    generator_ema = StyleGAN2Generator(**config).requires_grad_(False)
    generator_ema.load_state_dict(generator.state_dict())
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=config["lr"], betas=(0.0, 0.99), eps=1e-8)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=config["lr"], betas=(0.0, 0.99), eps=1e-8)
    size, w_dim = config["image_size"], config["w_dim"]
    real = torch.rand(batch, 3, size, size) * 2 - 1
    beta = 0.5 ** (batch / (10 * 1000))
    autocast = _autocast(precision)

    def step():
        discriminator.requires_grad_(False)
        g_optimizer.zero_grad()
        with autocast():
            loss = F.softplus(-discriminator(generator(torch.randn(batch, w_dim)))).mean()
        loss.backward()
        g_optimizer.step()
        discriminator.requires_grad_(True)
        generator.requires_grad_(False)
        d_optimizer.zero_grad()
        with autocast():
            loss = F.softplus(discriminator(generator(torch.randn(batch, w_dim)))).mean()
        loss.backward()
        with autocast():
            loss = F.softplus(-discriminator(real)).mean()
        loss.backward()
        d_optimizer.step()
        generator.requires_grad_(True)
        with torch.no_grad():
            for ema, p in zip(generator_ema.parameters(), generator.parameters()):
                ema.copy_(p.lerp(ema, beta))
            for ema, b in zip(generator_ema.buffers(), generator.buffers()):
                ema.copy_(b)

    return step, batch


PEERS = {
    "dcgan": dcgan,
    "pix2pix": pix2pix,
    "cyclegan": cyclegan,
    "srgan_g_pixel": srgan_g_pixel,
    "pix2pixhd_global": pix2pixhd_global,
    "stylegan2": stylegan2,
}
