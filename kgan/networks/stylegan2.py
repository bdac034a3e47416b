"""StyleGAN2 networks (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN"; seed 000's face generator): mapping network, 'skip' synthesis network, 'resnet'
(or 'orig') discriminator.

A layer-for-layer port of NVlabs/stylegan2-ada-pytorch `training/networks.py` (the networks
of NVlabs/stylegan2 `training/networks_stylegan2.py`) to Keras 3 in NHWC, without custom ops:
the [1, 3, 3, 1] FIR resampling of `upfirdn2d` is a zero insertion plus a depthwise conv,
bias_act is plain TF ops. Weight layout, for importing official weights: conv kernels are
HWIO (torch OIHW `.transpose(2, 3, 1, 0)`, the up-sampling convs too: they run as ADA's
transposed convolution of the same kernel, unflipped), dense kernels (in, out) (torch
weight `.T`), the learned constant (4, 4, C), noise_const (res, res); the discriminator's
first dense layer reads the 4x4 features in NCHW order, as ADA's `flatten(1)`. With weights
copied from ADA's own networks (its reference ops, CPU) the outputs agree to 2.3e-5 (images)
and 5.7e-6 (D logits), the size of ADA's own fused vs non-fused difference.

Modulated convolutions use ADA's non-fused training form (scale the input by the styles, one
conv shared by the batch, scale the output by the demodulation coefficients computed as
styles^2 @ sum_hw(kernel^2)) for training and inference. Against the fused grouped conv
(per-sample weights, batch folded into channels), forward + backward (to input, kernel and
styles) of a 3x3 modulated conv on this shared 2-core CPU, medians of 10: 512 -> 512 at 8x8
batch 32 0.82 s non-fused vs 6.5 s fused, at 16x16 batch 8 0.75 vs 2.6 s, 256 -> 256 at
32x32 batch 8 0.62 vs 1.15 s; at batch 1 they tie (16x16x512: 0.15 vs 0.15 s).

Parameter counts: the trainable weights are NVlabs' parameters; their buffers w_avg and
noise_const are the non-trainable weights (config-f at 1024: G 30,370,060 trainable =
mapping 2,101,248 + synthesis 28,268,812, plus 512 + 17 noise maps; D 29,012,513).

Mixed precision as ADA: with a mixed global dtype policy only the `num_fp16_res` highest
resolutions compute in float16 / bfloat16 (the rest, the mapping network, the affine style
layers and the discriminator epilogue stay float32), activations clamped to +-conv_clamp.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from kgan import rng

FIR_TAPS = (1, 3, 3, 1)
LRELU_GAIN = math.sqrt(2.0)
ACTIVATIONS = ("linear", "lrelu")
NOISE_MODES = ("random", "const", "none")
D_ARCHITECTURES = ("resnet", "orig")

# NVlabs' configurations (stylegan2-ada-pytorch train.py `cfg_specs`, which trains all of them
# with num_fp16_res 4 and conv_clamp 256) and two small ones for CPU runs (a training step at
# batch 16, averaged over the lazy schedule, on the shared 2-core CPU: tiny32 0.62 s, tiny64 2.0 s).
_ADA = dict(num_fp16_res=4, conv_clamp=256)
CONFIGS = {
    "stylegan2": dict(image_size=1024, channel_base=32768, mapping_layers=8, mbstd_group_size=4, **_ADA),
    "paper256": dict(image_size=256, channel_base=16384, mapping_layers=8, mbstd_group_size=8, **_ADA),
    "paper512": dict(image_size=512, channel_base=32768, mapping_layers=8, mbstd_group_size=8, **_ADA),
    "paper1024": dict(image_size=1024, channel_base=32768, mapping_layers=8, mbstd_group_size=4, **_ADA),
    "cifar": dict(image_size=32, channel_base=32768, mapping_layers=2, mbstd_group_size=32, architecture="orig",
                  **_ADA),
    "tiny32": dict(image_size=32, z_dim=128, w_dim=128, channel_base=1024, channel_max=64, mapping_layers=4,
                   mbstd_group_size=4, **_ADA),
    "tiny64": dict(image_size=64, z_dim=128, w_dim=128, channel_base=2048, channel_max=64, mapping_layers=4,
                   mbstd_group_size=4, **_ADA),
}


def num_ws_for(image_size):
    """Rows of W+ of a generator at `image_size`: 2 log2(image_size) - 2 (18 at 1024)."""
    return 2 * int(math.log2(image_size)) - 2


def channels_at(resolution, channel_base, channel_max):
    """Feature maps at a resolution: min(channel_base // resolution, channel_max)."""
    return min(channel_base // resolution, channel_max)


def _fir_kernel(channels, gain, dtype):
    taps = np.asarray(FIR_TAPS, np.float64)
    kernel = np.outer(taps, taps)
    kernel = kernel / kernel.sum() * gain
    return tf.constant(np.tile(kernel[:, :, None, None], [1, 1, channels, 1]), dtype)


def upfirdn2d(x, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """ADA `upfirdn2d` with the normalized [1, 3, 3, 1] filter, NHWC: inserts up - 1 zeros after
    every pixel, zero-pads (left, right, top, bottom) = padding, convolves each channel with
    the 4x4 filter times gain (symmetric, so convolution = correlation), keeps every down-th
    pixel. (B, H, W, C) -> (B, (up H + top + bottom - 3) / down, ..., C)."""
    channels = x.shape[-1]
    if up > 1:
        shape = tf.shape(x)
        x = tf.reshape(x, [shape[0], shape[1], 1, shape[2], 1, channels])
        x = tf.pad(x, [[0, 0], [0, 0], [0, up - 1], [0, 0], [0, up - 1], [0, 0]])
        x = tf.reshape(x, [shape[0], shape[1] * up, shape[2] * up, channels])
    left, right, top, bottom = padding
    x = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
    return tf.nn.depthwise_conv2d(x, _fir_kernel(channels, gain, x.dtype), [1, down, down, 1], "VALID")


def upsample2d(x):
    """ADA `upsample2d` (factor 2, gain 4): (B, H, W, C) -> (B, 2H, 2W, C)."""
    return upfirdn2d(x, up=2, padding=(2, 1, 2, 1), gain=4.0)


def bias_act(x, bias=None, activation="linear", gain=1.0, clamp=None):
    """ADA `bias_act`: x + bias, then the activation ("lrelu": slope 0.2 and gain sqrt(2)),
    times gain, clamped to [-clamp, clamp] when clamp is given."""
    if bias is not None:
        x = x + tf.cast(bias, x.dtype)
    if activation == "lrelu":
        x = tf.nn.leaky_relu(x, 0.2)
        gain = gain * LRELU_GAIN
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = tf.clip_by_value(x, -clamp, clamp)
    return x


def normalize_2nd_moment(x, eps=1e-8):
    """x * rsqrt(mean(x^2 over the last axis) + eps)."""
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + eps)


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")


class _Layer(keras.layers.Layer):
    """A layer whose weights are created in __init__ (every shape is known from the config)
    and which casts its inputs and weights itself (autocast off), so float32 style paths
    can run inside a float16 block."""

    def __init__(self, **kwargs):
        super().__init__(autocast=False, **kwargs)

    def cast(self, x):
        return tf.cast(x, self.compute_dtype)


@keras.saving.register_keras_serializable(package="kgan")
class EqualizedDense(_Layer):
    """ADA `FullyConnectedLayer`: (B, in_features) -> (B, units), equalized learning rate.

    The kernel is drawn N(0, 1 / lr_multiplier^2) and scaled by lr_multiplier / sqrt(in_features)
    at run time; the bias (initialized to bias_init) by lr_multiplier."""

    def __init__(self, in_features, units, activation="linear", lr_multiplier=1.0, bias_init=0.0, use_bias=True,
                 **kwargs):
        super().__init__(**kwargs)
        _check_activation(activation)
        self.in_features, self.units = int(in_features), int(units)
        self.activation, self.lr_multiplier = activation, float(lr_multiplier)
        self.bias_init, self.use_bias = float(bias_init), bool(use_bias)
        self.weight_gain = self.lr_multiplier / math.sqrt(self.in_features)
        self.kernel = self.add_weight(
            name="kernel", shape=(self.in_features, self.units),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier))
        self.bias = (self.add_weight(name="bias", shape=(self.units,),
                                     initializer=keras.initializers.Constant(self.bias_init))
                     if self.use_bias else None)
        self.built = True

    def call(self, x):
        x = self.cast(x)
        y = tf.matmul(x, self.cast(self.kernel) * self.weight_gain)
        bias = None if self.bias is None else self.cast(self.bias) * self.lr_multiplier
        return bias_act(y, bias, self.activation)

    def get_config(self):
        return {**super().get_config(), "in_features": self.in_features, "units": self.units,
                "activation": self.activation, "lr_multiplier": self.lr_multiplier, "bias_init": self.bias_init,
                "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="kgan")
class EqualizedConv2D(_Layer):
    """ADA `Conv2dLayer` (the discriminator's convs): (B, H, W, in_channels) ->
    (B, H / down, W / down, filters).

    Kernel N(0, 1) scaled by 1 / sqrt(in_channels k^2) at run time, bias 0. down 2: the input
    FIR-filtered with padding k // 2 + 1, then a stride-2 VALID conv (1x1: filter and
    subsample first, ADA's fast path). The output gets bias_act(activation, gain, clamp =
    conv_clamp * gain)."""

    def __init__(self, in_channels, filters, kernel_size, activation="linear", down=1, use_bias=True, gain=1.0,
                 conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        _check_activation(activation)
        if down not in (1, 2):
            raise ValueError(f"EqualizedConv2D down must be 1 or 2, got {down}")
        self.in_channels, self.filters, self.kernel_size = int(in_channels), int(filters), int(kernel_size)
        self.activation, self.down, self.use_bias, self.gain = activation, int(down), bool(use_bias), float(gain)
        self.conv_clamp = conv_clamp
        self.weight_gain = 1.0 / math.sqrt(self.in_channels * self.kernel_size ** 2)
        k = self.kernel_size
        self.kernel = self.add_weight(name="kernel", shape=(k, k, self.in_channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)
        self.built = True

    def call(self, x):
        x = self.cast(x)
        kernel = self.cast(self.kernel) * self.weight_gain
        if self.down == 1:
            y = tf.nn.conv2d(x, kernel, 1, "SAME")
        elif self.kernel_size == 1:
            y = tf.nn.conv2d(upfirdn2d(x, down=2, padding=(1, 1, 1, 1)), kernel, 1, "VALID")
        else:
            pad = self.kernel_size // 2 + 1
            y = tf.nn.conv2d(upfirdn2d(x, padding=(pad, pad, pad, pad)), kernel, 2, "VALID")
        clamp = None if self.conv_clamp is None else self.conv_clamp * self.gain
        return bias_act(y, self.bias, self.activation, self.gain, clamp)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        size = (lambda n: None if n is None else n // self.down)
        return (batch, size(height), size(width), self.filters)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels, "filters": self.filters,
                "kernel_size": self.kernel_size, "activation": self.activation, "down": self.down,
                "use_bias": self.use_bias, "gain": self.gain, "conv_clamp": self.conv_clamp}


def modulated_conv2d(x, kernel, styles, demodulate=True, up=1):
    """ADA `modulated_conv2d`, non-fused: (B, H, W, I) * styles (B, I), kernel (k, k, I, O) ->
    (B, up H, up W, O).

    w' = kernel * styles; with demodulation the output is divided by ||w'|| per sample and
    output channel, d = rsqrt(styles^2 @ sum_hw(kernel^2) + 1e-8) (= rsqrt(sum w'^2 + 1e-8)),
    computed in float32. up 2 (3x3 kernels): transposed stride-2 VALID conv of the kernel, then
    the FIR filter with padding 1 and gain 4 (ADA `conv2d_resample`). Under float16 the kernel
    and styles are first scaled by their maxima, as ADA does against overflow."""
    in_channels, kernel_size = kernel.shape[2], kernel.shape[0]
    styles = tf.cast(styles, tf.float32)
    kernel = tf.cast(kernel, tf.float32)
    if x.dtype == tf.float16 and demodulate:
        kernel = kernel * (1.0 / math.sqrt(in_channels * kernel_size ** 2)
                           / tf.reduce_max(tf.abs(kernel), axis=[0, 1, 2], keepdims=True))
        styles = styles / tf.reduce_max(tf.abs(styles), axis=1, keepdims=True)
    x = x * tf.cast(styles, x.dtype)[:, None, None, :]
    conv_kernel = tf.cast(kernel, x.dtype)
    if up == 1:
        x = tf.nn.conv2d(x, conv_kernel, 1, "SAME")
    else:
        shape = tf.shape(x)
        out_shape = [shape[0], 2 * shape[1] + 1, 2 * shape[2] + 1, kernel.shape[3]]
        x = tf.nn.conv2d_transpose(x, tf.transpose(conv_kernel, [0, 1, 3, 2]), out_shape, 2, "VALID")
        x = upfirdn2d(x, padding=(1, 1, 1, 1), gain=4.0)
    if demodulate:
        coefficients = tf.math.rsqrt(tf.matmul(tf.square(styles), tf.reduce_sum(tf.square(kernel), axis=[0, 1])) + 1e-8)
        x = x * tf.cast(coefficients, x.dtype)[:, None, None, :]
    return x


@keras.saving.register_keras_serializable(package="kgan")
class SynthesisLayer(_Layer):
    """ADA `SynthesisLayer`: a modulated, demodulated 3x3 conv (up 1 or 2) of
    (B, resolution / up, resolution / up, in_channels) with w (B, w_dim) -> (B, resolution,
    resolution, out_channels), plus per-pixel noise times a learned strength (init 0), bias,
    LeakyReLU x sqrt(2), clamp.

    styles = affine(w), an EqualizedDense with bias init 1 (float32). noise_mode: "random"
    (N(0, 1) per call; stateless when `noise_seed` is given: a [2] seed folded with this
    layer's `noise_index` (`kgan.rng.normal`, the same under XLA), or a function
    (shape, noise_index) -> noise, which a distributed train step uses to draw the global
    batch's noise), "const" (the stored noise_const), "none"."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, up=1, use_noise=True, conv_clamp=None,
                 noise_index=0, **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.w_dim = int(in_channels), int(out_channels), int(w_dim)
        self.resolution, self.up, self.use_noise = int(resolution), int(up), bool(use_noise)
        self.conv_clamp, self.noise_index = conv_clamp, int(noise_index)
        self.affine = EqualizedDense(self.w_dim, self.in_channels, bias_init=1.0, dtype="float32", name="affine")
        self.kernel = self.add_weight(name="kernel", shape=(3, 3, self.in_channels, self.out_channels),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        if self.use_noise:
            self.noise_const = self.add_weight(name="noise_const", shape=(self.resolution, self.resolution),
                                               initializer=keras.initializers.RandomNormal(stddev=1.0),
                                               trainable=False)
            self.noise_strength = self.add_weight(name="noise_strength", shape=(), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(self.out_channels,), initializer="zeros")
        self.built = True

    def noise(self, batch, noise_mode, noise_seed):
        """The (B, res, res, 1) float32 noise added after the conv, or None."""
        if not self.use_noise or noise_mode == "none":
            return None
        if noise_mode == "const":
            return self.noise_const[None, :, :, None] * self.noise_strength
        shape = [batch, self.resolution, self.resolution, 1]
        if noise_seed is None:
            noise = tf.random.normal(shape)
        elif callable(noise_seed):
            noise = noise_seed(shape, self.noise_index)
        else:
            noise = rng.normal(shape, tf.random.experimental.stateless_fold_in(noise_seed, self.noise_index))
        return noise * self.noise_strength

    def call(self, x, w, noise_mode="random", noise_seed=None):
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"unknown noise_mode {noise_mode!r}; choose one of {', '.join(NOISE_MODES)}")
        x = self.cast(x)
        x = modulated_conv2d(x, self.kernel, self.affine(w), demodulate=True, up=self.up)
        noise = self.noise(tf.shape(x)[0], noise_mode, noise_seed)
        if noise is not None:
            x = x + self.cast(noise)
        return bias_act(x, self.bias, "lrelu", clamp=self.conv_clamp)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels, "out_channels": self.out_channels,
                "w_dim": self.w_dim, "resolution": self.resolution, "up": self.up, "use_noise": self.use_noise,
                "conv_clamp": self.conv_clamp, "noise_index": self.noise_index}


@keras.saving.register_keras_serializable(package="kgan")
class ToRGB(_Layer):
    """ADA `ToRGBLayer`: 1x1 modulated conv without demodulation, (B, H, W, in_channels) with
    w (B, w_dim) -> (B, H, W, out_channels); styles = affine(w) / sqrt(in_channels), bias,
    clamp; no activation."""

    def __init__(self, in_channels, out_channels, w_dim, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.w_dim = int(in_channels), int(out_channels), int(w_dim)
        self.conv_clamp = conv_clamp
        self.weight_gain = 1.0 / math.sqrt(self.in_channels)
        self.affine = EqualizedDense(self.w_dim, self.in_channels, bias_init=1.0, dtype="float32", name="affine")
        self.kernel = self.add_weight(name="kernel", shape=(1, 1, self.in_channels, self.out_channels),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.bias = self.add_weight(name="bias", shape=(self.out_channels,), initializer="zeros")
        self.built = True

    def call(self, x, w):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(self.cast(x), self.kernel, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels, "out_channels": self.out_channels,
                "w_dim": self.w_dim, "conv_clamp": self.conv_clamp}


@keras.saving.register_keras_serializable(package="kgan")
class SynthesisBlock(_Layer):
    """ADA `SynthesisBlock`, 'skip' architecture, at `resolution`: (x (B, res/2, res/2,
    in_channels) or None for the first block, img (B, res/2, res/2, img_channels) float32 or
    None, ws (B, num_conv + 1, w_dim)) -> (x (B, res, res, out_channels), img (B, res, res,
    img_channels) float32).

    The first block (in_channels 0) starts from the learned constant (4, 4, out_channels),
    N(0, 1), and has only conv1; the others conv0 (up 2) and conv1. The block's ToRGB output
    is added to the FIR-upsampled img of the previous block."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels=3, use_noise=True, conv_clamp=None,
                 first_noise_index=0, **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.w_dim = int(in_channels), int(out_channels), int(w_dim)
        self.resolution, self.img_channels, self.use_noise = int(resolution), int(img_channels), bool(use_noise)
        self.conv_clamp, self.first_noise_index = conv_clamp, int(first_noise_index)
        common = dict(w_dim=self.w_dim, resolution=self.resolution, use_noise=self.use_noise,
                      conv_clamp=conv_clamp, dtype=self.dtype_policy)
        if self.in_channels == 0:
            self.const = self.add_weight(name="const", shape=(self.resolution, self.resolution, self.out_channels),
                                         initializer=keras.initializers.RandomNormal(stddev=1.0))
            self.conv0 = None
        else:
            self.conv0 = SynthesisLayer(self.in_channels, self.out_channels, up=2, noise_index=self.first_noise_index,
                                        name="conv0", **common)
        self.num_conv = 1 if self.conv0 is None else 2
        self.conv1 = SynthesisLayer(self.out_channels, self.out_channels, noise_index=self.first_noise_index
                                    + self.num_conv - 1, name="conv1", **common)
        self.torgb = ToRGB(self.out_channels, self.img_channels, self.w_dim, conv_clamp=conv_clamp,
                           dtype=self.dtype_policy, name="torgb")
        self.num_torgb = 1
        self.built = True

    def call(self, x, img, ws, noise_mode="random", noise_seed=None):
        layer_kwargs = dict(noise_mode=noise_mode, noise_seed=noise_seed)
        if self.conv0 is None:
            x = tf.tile(self.cast(self.const)[None], [tf.shape(ws)[0], 1, 1, 1])
            x = self.conv1(x, ws[:, 0], **layer_kwargs)
        else:
            x = self.conv0(x, ws[:, 0], **layer_kwargs)
            x = self.conv1(x, ws[:, 1], **layer_kwargs)
        y = tf.cast(self.torgb(x, ws[:, self.num_conv]), tf.float32)
        img = y if img is None else upsample2d(img) + y
        return x, img

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels, "out_channels": self.out_channels,
                "w_dim": self.w_dim, "resolution": self.resolution, "img_channels": self.img_channels,
                "use_noise": self.use_noise, "conv_clamp": self.conv_clamp,
                "first_noise_index": self.first_noise_index}


def _block_dtype(resolution, image_size, num_fp16_res):
    """None (the global policy) for the num_fp16_res highest resolutions, else float32 (ADA's
    fp16_resolution = max(2 ** (log2(image_size) + 1 - num_fp16_res), 8))."""
    fp16_resolution = max(2 ** (int(math.log2(image_size)) + 1 - num_fp16_res), 8)
    return None if num_fp16_res and resolution >= fp16_resolution else "float32"


def _check_image_size(image_size):
    if image_size < 4 or image_size & (image_size - 1):
        raise ValueError(f"StyleGAN2 image_size must be a power of two >= 4, got {image_size}")


@keras.saving.register_keras_serializable(package="kgan")
class SynthesisNetwork(_Layer):
    """ADA `SynthesisNetwork`: W+ (B, num_ws, w_dim) -> images (B, image_size, image_size,
    channels) float32, one SynthesisBlock per resolution 4 ... image_size with
    channels_at(res, channel_base, channel_max) feature maps. Block res reads rows
    [i, i + num_conv + 1) of W+, i advancing by its num_conv (a ToRGB shares its row with the
    next block's conv0); num_ws = 2 log2(image_size) - 2.

    call(ws, noise_mode="random" | "const" | "none", noise_seed=None | [2] int | function)."""

    def __init__(self, w_dim=512, image_size=1024, channels=3, channel_base=32768, channel_max=512, num_fp16_res=0,
                 conv_clamp=None, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        _check_image_size(image_size)
        self.w_dim, self.image_size, self.channels = int(w_dim), int(image_size), int(channels)
        self.channel_base, self.channel_max = int(channel_base), int(channel_max)
        self.num_fp16_res, self.conv_clamp = int(num_fp16_res), conv_clamp
        self.block_resolutions = [2 ** i for i in range(2, int(math.log2(image_size)) + 1)]
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(
                channels_at(res // 2, channel_base, channel_max) if res > 4 else 0,
                channels_at(res, channel_base, channel_max), self.w_dim, res, img_channels=self.channels,
                conv_clamp=conv_clamp, first_noise_index=self.num_ws,
                dtype=_block_dtype(res, image_size, self.num_fp16_res), name=f"b{res}")
            setattr(self, f"b{res}", block)  # an attribute, not a list: see MappingNetwork
            self.num_ws += block.num_conv
        self.num_ws += 1
        self.built = True

    @property
    def blocks(self):
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def call(self, ws, noise_mode="random", noise_seed=None):
        ws = tf.cast(ws, tf.float32)
        x = img = None
        w_index = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, w_index:w_index + block.num_conv + block.num_torgb],
                           noise_mode=noise_mode, noise_seed=noise_seed)
            w_index += block.num_conv
        return img

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.image_size, self.image_size, self.channels)

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "w_dim": self.w_dim, "image_size": self.image_size, "channels": self.channels,
                "channel_base": self.channel_base, "channel_max": self.channel_max,
                "num_fp16_res": self.num_fp16_res, "conv_clamp": self.conv_clamp}


@keras.saving.register_keras_serializable(package="kgan")
class MappingNetwork(_Layer):
    """ADA `MappingNetwork`, float32: z (B, z_dim) [, labels (B,) int] -> w broadcast to
    (B, num_ws, w_dim) (or (B, w_dim) when num_ws is None).

    z is normalized (x rsqrt(mean x^2 + 1e-8)); labels are one-hot, embedded (EqualizedDense,
    num_classes -> embed_features), normalized and concatenated; then num_layers
    EqualizedDense + LeakyReLU x sqrt(2) with lr_multiplier 0.01. `w_avg` (non-trainable,
    zeros, mean-aggregated across replicas) is the running mean of w that `update_w_avg` moves
    (ADA: in training only, not in the style-mixing pass), and truncation pulls rows below
    `truncation_cutoff` (all when None) toward it: w_avg + psi (w - w_avg). z_dim 0: labels
    only (the discriminator's label mapping)."""

    def __init__(self, z_dim=512, num_classes=0, w_dim=512, num_ws=None, num_layers=8, embed_features=None,
                 layer_features=None, lr_multiplier=0.01, w_avg_beta=0.995, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.z_dim, self.num_classes, self.w_dim = int(z_dim), int(num_classes or 0), int(w_dim)
        self.num_ws, self.num_layers = num_ws, int(num_layers)
        self.embed_features = self.w_dim if embed_features is None else int(embed_features)
        self.layer_features = self.w_dim if layer_features is None else int(layer_features)
        self.lr_multiplier, self.w_avg_beta = float(lr_multiplier), w_avg_beta
        embed = self.embed_features if self.num_classes else 0
        features = [self.z_dim + embed] + [self.layer_features] * (self.num_layers - 1) + [self.w_dim]
        self.embed = (EqualizedDense(self.num_classes, embed, dtype="float32", name="embed")
                      if self.num_classes else None)
        for i in range(self.num_layers):  # attributes, not a list: tf.train.Checkpoint skips Keras' tracked lists
            setattr(self, f"fc{i}", EqualizedDense(features[i], features[i + 1], activation="lrelu",
                                                   lr_multiplier=lr_multiplier, dtype="float32", name=f"fc{i}"))
        self.w_avg = (self.add_weight(name="w_avg", shape=(self.w_dim,), initializer="zeros", trainable=False,
                                      aggregation="mean") if w_avg_beta is not None else None)
        self.built = True

    @property
    def fcs(self):
        return [getattr(self, f"fc{i}") for i in range(self.num_layers)]

    def call(self, z, labels=None, truncation_psi=1.0, truncation_cutoff=None):
        parts = []
        if self.z_dim:
            parts.append(normalize_2nd_moment(tf.cast(z, tf.float32)))
        if self.num_classes:
            one_hot = tf.one_hot(tf.reshape(tf.cast(labels, tf.int32), [-1]), self.num_classes)
            parts.append(normalize_2nd_moment(self.embed(one_hot)))
        x = parts[0] if len(parts) == 1 else tf.concat(parts, axis=1)
        for fc in self.fcs:
            x = fc(x)
        if self.num_ws is None:
            return x
        ws = tf.tile(x[:, None], [1, self.num_ws, 1])
        return self.truncate(ws, truncation_psi, truncation_cutoff)

    def truncate(self, ws, truncation_psi=1.0, truncation_cutoff=None):
        """W+ (B, num_ws, w_dim) with rows < cutoff moved to w_avg + psi (w - w_avg); psi a
        float, a scalar tensor or one per sample (B,); psi == 1 (a Python number) is a no-op."""
        if isinstance(truncation_psi, (int, float)) and truncation_psi == 1:
            return ws
        psi = tf.cast(truncation_psi, ws.dtype)
        if psi.shape.rank == 1:
            psi = psi[:, None, None]
        truncated = self.w_avg + psi * (ws - self.w_avg)
        if truncation_cutoff is None:
            return truncated
        return mix_styles(truncated, ws, truncation_cutoff)

    def update_w_avg(self, ws):
        """w_avg <- lerp(batch mean of w, w_avg, w_avg_beta); ws (B, w_dim) or W+ (B, num_ws,
        w_dim), whose rows are equal before truncation and mixing (the first one is read)."""
        w = ws[:, 0] if ws.shape.rank == 3 else ws
        mean = tf.reduce_mean(tf.cast(w, tf.float32), axis=0)
        self.w_avg.assign(mean + self.w_avg_beta * (self.w_avg - mean))

    def compute_output_shape(self, z_shape=None, labels_shape=None):
        batch = (z_shape or labels_shape)[0]
        return (batch, self.w_dim) if self.num_ws is None else (batch, self.num_ws, self.w_dim)

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "z_dim": self.z_dim, "num_classes": self.num_classes, "w_dim": self.w_dim,
                "num_ws": self.num_ws, "num_layers": self.num_layers, "embed_features": self.embed_features,
                "layer_features": self.layer_features, "lr_multiplier": self.lr_multiplier,
                "w_avg_beta": self.w_avg_beta}


def mix_styles(ws, other, cutoff):
    """Style mixing: rows [0, cutoff) of W+ `ws`, rows [cutoff, num_ws) of `other` (both
    (B, num_ws, w_dim)); cutoff a Python int or a scalar int tensor. cutoff = num_ws returns ws."""
    rows = tf.range(tf.shape(ws)[1])[None, :, None]
    return tf.where(rows < tf.cast(cutoff, tf.int32), ws, other)


@keras.saving.register_keras_serializable(package="kgan")
class MinibatchStdDev(_Layer):
    """ADA `MinibatchStdLayer`: (B, H, W, C) -> (B, H, W, C + num_channels). The batch is split
    into groups of min(group_size, B) samples (sample i in group i mod B / G; B must be a
    multiple of it), the channels into num_channels parts; each part's standard deviation over
    its group (eps 1e-8) is averaged over pixels and channels and appended as a constant map."""

    def __init__(self, group_size=4, num_channels=1, **kwargs):
        super().__init__(**kwargs)
        self.group_size, self.num_channels = group_size, int(num_channels)

    def call(self, x):
        x = self.cast(x)
        shape = tf.shape(x)
        batch, height, width, channels = shape[0], shape[1], shape[2], x.shape[-1]
        group = batch if self.group_size is None else tf.minimum(self.group_size, batch)
        parts = self.num_channels
        y = tf.reshape(x, [group, -1, height, width, parts, channels // parts])
        y = y - tf.reduce_mean(y, axis=0)
        y = tf.sqrt(tf.reduce_mean(tf.square(y), axis=0) + 1e-8)
        y = tf.reduce_mean(y, axis=[1, 2, 4])
        y = tf.tile(y[:, None, None, :], [group, height, width, 1])
        return tf.concat([x, y], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], input_shape[3] + self.num_channels)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "num_channels": self.num_channels}


def _config(config, overrides, keys):
    if config is not None and config not in CONFIGS:
        raise ValueError(f"unknown StyleGAN2 config {config!r}; choose one of {', '.join(CONFIGS)}")
    values = {k: v for k, v in CONFIGS.get(config, {}).items() if k in keys}
    return {**values, **overrides}


_GENERATOR_KEYS = ("image_size", "z_dim", "w_dim", "num_classes", "channels", "channel_base", "channel_max",
                   "mapping_layers", "num_fp16_res", "conv_clamp")
_DISCRIMINATOR_KEYS = ("image_size", "num_classes", "channels", "channel_base", "channel_max", "architecture",
                       "mbstd_group_size", "num_fp16_res", "conv_clamp")


@keras.saving.register_keras_serializable(package="kgan")
class StyleGAN2Generator(keras.Model):
    """ADA `Generator` as a functional model: z (B, z_dim) [, labels (B,) int32] -> images
    (B, image_size, image_size, channels) float32, through the layers "mapping"
    (`MappingNetwork`) and "synthesis" (`SynthesisNetwork`) with ψ = 1 and random noise.

    For truncation, style mixing, W+ input or const noise call them directly:
    `g.synthesis(g.mapping(z, truncation_psi=0.7, truncation_cutoff=8), noise_mode="const")`.
    Config-f defaults; num_classes None / 0: unconditional."""

    def __init__(self, image_size=1024, z_dim=512, w_dim=512, num_classes=None, channels=3, channel_base=32768,
                 channel_max=512, mapping_layers=8, num_fp16_res=0, conv_clamp=None, name="generator", **kwargs):
        synthesis = SynthesisNetwork(w_dim, image_size, channels, channel_base, channel_max, num_fp16_res,
                                     conv_clamp, name="synthesis")
        mapping = MappingNetwork(z_dim, num_classes, w_dim, synthesis.num_ws, mapping_layers, name="mapping")
        z = keras.Input((z_dim,), name="z")
        if num_classes:
            labels = keras.Input((), dtype="int32", name="labels")
            inputs, ws = [z, labels], mapping(z, labels)
        else:
            inputs, ws = z, mapping(z)
        super().__init__(inputs, synthesis(ws), name=name, **kwargs)
        self._construction = dict(image_size=image_size, z_dim=z_dim, w_dim=w_dim, num_classes=num_classes,
                                  channels=channels, channel_base=channel_base, channel_max=channel_max,
                                  mapping_layers=mapping_layers, num_fp16_res=num_fp16_res, conv_clamp=conv_clamp)
        self.z_dim, self.w_dim, self.num_classes = int(z_dim), int(w_dim), num_classes or None
        self.image_size, self.num_ws = int(image_size), synthesis.num_ws

    @property
    def mapping(self):
        return self.get_layer("mapping")

    @property
    def synthesis(self):
        return self.get_layer("synthesis")

    def get_config(self):
        return {"name": self.name, **self._construction}


def stylegan2_generator(config=None, **kwargs):
    """A `StyleGAN2Generator`, from a named config of CONFIGS ("stylegan2" = config-f at
    1024, "paper256", "paper512", "paper1024", "cifar", "tiny32", "tiny64") and / or keyword
    arguments (image_size, z_dim, w_dim, num_classes, channels, channel_base, channel_max,
    mapping_layers, num_fp16_res, conv_clamp, name), which override the config."""
    return StyleGAN2Generator(**_config(config, kwargs, _GENERATOR_KEYS))


def stylegan2_discriminator(config=None, **kwargs):
    """ADA `Discriminator` from a named config of CONFIGS and / or keyword arguments (image_size,
    num_classes, channels, channel_base, channel_max, architecture, mbstd_group_size,
    mbstd_num_channels, num_fp16_res, conv_clamp, cmap_dim, name; see `_discriminator`),
    which override the config."""
    return _discriminator(**_config(config, kwargs, _DISCRIMINATOR_KEYS))


def _discriminator(image_size=1024, num_classes=None, channels=3, channel_base=32768, channel_max=512,
                   architecture="resnet", mbstd_group_size=4, mbstd_num_channels=1, num_fp16_res=0, conv_clamp=None,
                   cmap_dim=None, name="discriminator"):
    """ADA `Discriminator`: images (B, S, S, channels) [, labels (B,) int32] -> logits (B, 1)
    float32; config-f defaults.

    Blocks S ... 8 (channels_at(res) -> channels_at(res / 2)): fromrgb 1x1 at the first,
    conv0 3x3, conv1 3x3 down 2; 'resnet': plus a bias-free 1x1 skip with FIR downsampling,
    (skip + conv1) / sqrt(2) (both with gain sqrt(0.5)); 'orig': no skip. Epilogue b4:
    minibatch std, conv 3x3, dense 16 C -> C (NCHW flatten), dense -> 1. Conditional: the
    label mapping (8 layers, lr_multiplier 0.01) gives cmap (B, cmap_dim), and the output
    (B, cmap_dim) is projected on it: sum(out cmap) / sqrt(cmap_dim)."""
    _check_image_size(image_size)
    if architecture not in D_ARCHITECTURES:
        raise ValueError(f"unknown discriminator architecture {architecture!r}; choose one of "
                         f"{', '.join(D_ARCHITECTURES)}")
    if image_size < 8:
        raise ValueError(f"the StyleGAN2 discriminator needs image_size >= 8, got {image_size}")

    def width(res):
        return channels_at(res, channel_base, channel_max)

    images = keras.Input((image_size, image_size, channels), name="images")
    x = None
    for res in [2 ** i for i in range(int(math.log2(image_size)), 2, -1)]:
        dtype = _block_dtype(res, image_size, num_fp16_res)
        tmp, out = width(res), width(res // 2)
        if x is None:
            x = EqualizedConv2D(channels, tmp, 1, "lrelu", conv_clamp=conv_clamp, dtype=dtype,
                                name=f"b{res}_fromrgb")(images)
        gain = math.sqrt(0.5) if architecture == "resnet" else 1.0
        skip = (EqualizedConv2D(tmp, out, 1, down=2, use_bias=False, gain=gain, dtype=dtype, name=f"b{res}_skip")(x)
                if architecture == "resnet" else None)
        x = EqualizedConv2D(tmp, tmp, 3, "lrelu", conv_clamp=conv_clamp, dtype=dtype, name=f"b{res}_conv0")(x)
        x = EqualizedConv2D(tmp, out, 3, "lrelu", down=2, gain=gain, conv_clamp=conv_clamp, dtype=dtype,
                            name=f"b{res}_conv1")(x)
        if skip is not None:
            x = keras.layers.Add(dtype=dtype, name=f"b{res}_add")([skip, x])

    c4 = width(4)
    cmap_dim = (c4 if cmap_dim is None else int(cmap_dim)) if num_classes else 0
    x = MinibatchStdDev(mbstd_group_size, mbstd_num_channels, dtype="float32", name="b4_mbstd")(x)
    x = EqualizedConv2D(c4 + mbstd_num_channels, c4, 3, "lrelu", conv_clamp=conv_clamp, dtype="float32",
                        name="b4_conv")(x)
    x = keras.layers.Flatten(dtype="float32", name="b4_flatten")(keras.layers.Permute((3, 1, 2), dtype="float32",
                                                                                      name="b4_nchw")(x))
    x = EqualizedDense(16 * c4, c4, "lrelu", dtype="float32", name="b4_fc")(x)
    logits = EqualizedDense(c4, cmap_dim or 1, dtype="float32", name="b4_out")(x)
    if not num_classes:
        return keras.Model(images, logits, name=name)
    labels = keras.Input((), dtype="int32", name="labels")
    cmap = MappingNetwork(0, num_classes, cmap_dim, num_ws=None, w_avg_beta=None, name="mapping")(None, labels)
    projected = keras.layers.Dot(axes=1, dtype="float32", name="projection")([logits, cmap])
    logits = keras.layers.Rescaling(1.0 / math.sqrt(cmap_dim), dtype="float32", name="projection_scale")(projected)
    return keras.Model([images, labels], logits, name=name)
