"""pix2pixHD networks (seed 003; Wang et al. 2018, NVIDIA/pix2pixHD `models/networks.py`).

- `global_generator` (G1): reflect-pad 7x7 conv, n_downsampling 3x3 stride-2 convs, residual
  blocks, as many 3x3 stride-2 transposed convs, reflect-pad 7x7 conv, tanh. Its body up to
  the last conv is the nested model "global_trunk", so a trained G1 loads into G2 by name.
- `local_enhancer` (G2 = G1 + local enhancers): the trunk runs on the input downsampled
  n_local_enhancers times (3x3 stride-2 average pooling without the padding); each enhancer
  adds its own downsampled features to the coarser output, then residual blocks and a
  transposed conv double the resolution.
- `multiscale_discriminator`: num_d PatchGANs (4x4 convs, padding 2) on the input at full,
  1/2, 1/4 ... resolution; each returns every block's output (for feature matching), the
  last being its logits.
- `feature_encoder`: an encoder-decoder whose output is averaged over each instance.
All convs have biases and N(0, 0.02) kernels; norm "instance" is PyTorch's (no affine).
"""
import keras
import tensorflow as tf

from kgan.layers import AveragePoolingExcludePad, ReflectionPadding2D, normalize
from kgan.networks.resnet import residual_block
from kgan.networks.torch_compat import torch_conv2d, torch_conv2d_transpose


def _conv_norm_relu(x, width, kernel_size, norm, name, strides=1, padding=0):
    x = torch_conv2d(x, width, kernel_size, strides=strides, padding=padding, name=name)
    return keras.layers.ReLU(name=f"{name}_relu")(normalize(x, norm, f"{name}_norm"))


def _stem(x, width, norm, name):
    """Reflect pad 3, 7x7 conv to width, norm, ReLU."""
    return _conv_norm_relu(ReflectionPadding2D(3, name=f"{name}_pad")(x), width, 7, norm, name)


def _up(x, width, norm, name):
    """3x3 stride-2 transposed conv (padding 1, output padding 1): H -> 2H; norm, ReLU."""
    x = torch_conv2d_transpose(x, width, 3, 2, 1, output_padding=1, name=name)
    return keras.layers.ReLU(name=f"{name}_relu")(normalize(x, norm, f"{name}_norm"))


def _to_image(x, channels, name):
    """Reflect pad 3, 7x7 conv to channels, tanh (float32)."""
    x = torch_conv2d(ReflectionPadding2D(3, name=f"{name}_pad")(x), channels, 7, name=name)
    return keras.layers.Activation("tanh", dtype="float32", name=f"{name}_tanh")(x)


def global_trunk(input_channels, base_width=64, n_downsampling=3, n_blocks=9, norm="instance", name="global_trunk"):
    """(B, H, W, input_channels) -> features (B, H, W, base_width); H, W multiples of
    2**n_downsampling. G1 without its output conv; widths base_width * 2**i, uncapped
    (NVIDIA's 64 -> 1024 at 4 downsamplings)."""
    inputs = keras.Input((None, None, input_channels), name="inputs")
    x = _stem(inputs, base_width, norm, "stem")
    for i in range(n_downsampling):
        x = _conv_norm_relu(x, base_width * 2 ** (i + 1), 3, norm, f"down_{i}", strides=2, padding=1)
    for b in range(n_blocks):
        x = residual_block(x, norm, True, f"block_{b}")
    for i in reversed(range(n_downsampling)):
        x = _up(x, base_width * 2**i, norm, f"up_{i}")
    return keras.Model(inputs, x, name=name)


def global_generator(input_channels, output_channels=3, base_width=64, n_downsampling=4, n_blocks=9,
                     norm="instance", name="generator"):
    """G1 (NVIDIA `GlobalGenerator`, netG "global": 4 downsamplings, 9 blocks):
    (B, H, W, input_channels) -> images (B, H, W, output_channels) in [-1, 1], float32."""
    inputs = keras.Input((None, None, input_channels), name="inputs")
    trunk = global_trunk(input_channels, base_width, n_downsampling, n_blocks, norm)
    return keras.Model(inputs, _to_image(trunk(inputs), output_channels, "to_image"), name=name)


def local_enhancer(input_channels, output_channels=3, base_width=32, n_downsample_global=4, n_blocks_global=9,
                   n_local_enhancers=1, n_blocks_local=3, norm="instance", name="generator"):
    """G2 (NVIDIA `LocalEnhancer`, netG "local"): (B, H, W, input_channels) -> images
    (B, H, W, output_channels); H, W multiples of 2**(n_downsample_global + n_local_enhancers).
    Its "global_trunk" is G1's at base_width * 2**n_local_enhancers (64 for the defaults)."""
    inputs = keras.Input((None, None, input_channels), name="inputs")
    pyramid = [inputs]
    for i in range(n_local_enhancers):
        pyramid.append(AveragePoolingExcludePad(3, 2, 1, name=f"pyramid_{i + 1}")(pyramid[-1]))
    trunk = global_trunk(input_channels, base_width * 2**n_local_enhancers, n_downsample_global, n_blocks_global, norm)
    x = trunk(pyramid[-1])
    for n in range(1, n_local_enhancers + 1):
        width = base_width * 2 ** (n_local_enhancers - n)
        prefix = f"local_{n}"
        y = _stem(pyramid[n_local_enhancers - n], width, norm, f"{prefix}_stem")
        y = _conv_norm_relu(y, 2 * width, 3, norm, f"{prefix}_down", strides=2, padding=1)
        x = keras.layers.Add(name=f"{prefix}_add")([y, x])
        for b in range(n_blocks_local):
            x = residual_block(x, norm, True, f"{prefix}_block_{b}")
        x = _up(x, width, norm, f"{prefix}_up")
    return keras.Model(inputs, _to_image(x, output_channels, "to_image"), name=name)


def _patch_scale(input_channels, base_width, n_layers, norm, name):
    """NVIDIA `NLayerDiscriminator` with getIntermFeat: (B, H, W, C) -> [n_layers + 2 block
    outputs], the last (B, H', W', 1) float32 logits. 4x4 convs with padding 2 (stride 2
    for the first n_layers, then 1), widths base * 2**i capped at 512, LeakyReLU 0.2, norm
    from the second block."""
    inputs = keras.Input((None, None, input_channels), name="inputs")
    outputs, x, width = [], inputs, base_width
    for i in range(n_layers + 1):
        x = torch_conv2d(x, width, 4, strides=2 if i < n_layers else 1, padding=2, name=f"block_{i}")
        if i:
            x = normalize(x, norm, f"block_{i}_norm")
        x = keras.layers.LeakyReLU(0.2, name=f"block_{i}_lrelu")(x)
        outputs.append(x)
        width = min(2 * width, 512)
    outputs.append(torch_conv2d(x, 1, 4, padding=2, dtype="float32", name="logits"))
    return keras.Model(inputs, outputs, name=name)


def multiscale_discriminator(input_channels, base_width=64, n_layers=3, num_d=3, norm="instance",
                             name="discriminator"):
    """NVIDIA `MultiscaleDiscriminator` (num_d 2 in its training defaults, 3 in the paper):
    (B, H, W, input_channels) -> [per scale, full resolution first: n_layers + 2 block
    outputs, the last being that scale's logits]. Scales see the input average-pooled 3x3
    stride 2 (padding excluded) once more each."""
    inputs = keras.Input((None, None, input_channels), name="inputs")
    outputs, x = [], inputs
    for i in range(num_d):
        if i:
            x = AveragePoolingExcludePad(3, 2, 1, name=f"downsample_{i}")(x)
        outputs.append(_patch_scale(input_channels, base_width, n_layers, norm, f"scale_{i}")(x))
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="kgan")
class InstanceAverage(keras.layers.Layer):
    """[features (B, H, W, C), instance ids (B, H, W) int] -> (B, H, W, C): every pixel gets
    the mean feature of its instance in its image (NVIDIA `Encoder.forward`'s
    instance-wise average pooling), in one segment mean over (image, id) pairs."""

    def call(self, inputs):
        features, instances = inputs
        shape = tf.shape(features)
        batch_index = tf.range(shape[0], dtype=tf.int64)[:, None, None] * tf.ones_like(instances, tf.int64)
        keys = tf.stack([batch_index, tf.cast(instances, tf.int64)], axis=-1)
        flat_keys = tf.reshape(keys, [-1, 2])
        _, segments = tf.raw_ops.UniqueV2(x=flat_keys, axis=[0])
        flat = tf.reshape(features, [-1, shape[-1]])
        count = tf.reduce_max(segments) + 1
        means = tf.math.unsorted_segment_mean(tf.cast(flat, tf.float32), segments, count)
        return tf.cast(tf.reshape(tf.gather(means, segments), shape), features.dtype)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def feature_encoder(input_channels=3, feature_channels=3, base_width=16, n_downsampling=4, norm="instance",
                    name="encoder"):
    """NVIDIA `Encoder` (netE; feat_num 3, nef 16, 4 downsamplings): [images (B, H, W,
    input_channels), instance ids (B, H, W)] -> per-instance mean features (B, H, W,
    feature_channels) in [-1, 1]."""
    images = keras.Input((None, None, input_channels), name="images")
    instances = keras.Input((None, None), dtype="int32", name="instances")
    x = _stem(images, base_width, norm, "stem")
    for i in range(n_downsampling):
        x = _conv_norm_relu(x, base_width * 2 ** (i + 1), 3, norm, f"down_{i}", strides=2, padding=1)
    for i in reversed(range(n_downsampling)):
        x = _up(x, base_width * 2**i, norm, f"up_{i}")
    features = _to_image(x, feature_channels, "to_features")
    return keras.Model([images, instances], InstanceAverage(name="instance_average")([features, instances]), name=name)
