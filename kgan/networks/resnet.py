"""ResNet generators of CycleGAN: junyanz `resnet_9blocks` (seed 003 `Generator`) and seed 000
`GeneratorResNet` (apples <-> oranges).

Reflection pad 3 -> 7x7 conv -> two 3x3 stride-2 convs (base, 2, 4 x base) -> n residual
blocks -> two x2 ups -> reflection pad 3 -> 7x7 conv -> tanh, instance norm + ReLU after every
conv but the last. Fully convolutional (H, W multiples of 4). With 9 blocks, base 64, RGB and
instance norm (PyTorch's, no affine) both variants have 11,378,179 parameters.
"""
import keras

from kgan.layers import ReflectionPadding2D, normalize
from kgan.networks.torch_compat import torch_conv2d, torch_conv2d_transpose

VARIANTS = ("junyanz", "seed000")


def _norm_relu(x, norm, name):
    return keras.layers.ReLU(name=f"{name}_relu")(normalize(x, norm, f"{name}_norm"))


def residual_block(x, norm, use_bias, name):
    """x + (reflect pad 1 -> 3x3 conv -> norm -> ReLU -> reflect pad 1 -> 3x3 conv -> norm)(x)."""
    width = x.shape[-1]
    y = ReflectionPadding2D(1, name=f"{name}_pad_1")(x)
    y = torch_conv2d(y, width, 3, use_bias=use_bias, name=f"{name}_conv_1")
    y = _norm_relu(y, norm, f"{name}_conv_1")
    y = ReflectionPadding2D(1, name=f"{name}_pad_2")(y)
    y = torch_conv2d(y, width, 3, use_bias=use_bias, name=f"{name}_conv_2")
    y = normalize(y, norm, f"{name}_conv_2_norm")
    return keras.layers.Add(name=f"{name}_add")([x, y])


def resnet_generator(variant="junyanz", n_blocks=9, base_width=64, norm="instance", channels=3, name="generator"):
    """Images (B, H, W, channels) -> images (B, H, W, channels) in [-1, 1], float32.

    variant "junyanz" (seed 003): ups are 3x3 stride-2 transposed convs, padding 1,
    output_padding 1; conv bias only if norm is "instance" (the last conv always has one).
    variant "seed000": ups are nearest upsample x2 -> 3x3 conv (padding 1); every conv has a
    bias. Downs are 3x3 stride-2 convs with zero padding 1, as PyTorch's.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown ResNet variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    use_bias = variant == "seed000" or norm == "instance"

    images = keras.Input((None, None, channels), name="images")
    x = ReflectionPadding2D(3, name="stem_pad")(images)
    x = torch_conv2d(x, base_width, 7, use_bias=use_bias, name="stem")
    x = _norm_relu(x, norm, "stem")
    for i in (1, 2):
        x = torch_conv2d(x, base_width * 2**i, 3, strides=2, padding=1, use_bias=use_bias, name=f"down_{i}")
        x = _norm_relu(x, norm, f"down_{i}")
    for b in range(n_blocks):
        x = residual_block(x, norm, use_bias, f"block_{b}")
    for i in (1, 0):
        if variant == "junyanz":
            x = torch_conv2d_transpose(
                x, base_width * 2**i, 3, 2, 1, output_padding=1, use_bias=use_bias, name=f"up_{i}"
            )
        else:
            x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"up_{i}_upsample")(x)
            x = torch_conv2d(x, base_width * 2**i, 3, padding=1, name=f"up_{i}")
        x = _norm_relu(x, norm, f"up_{i}")
    x = ReflectionPadding2D(3, name="head_pad")(x)
    x = torch_conv2d(x, channels, 7, name="head")
    outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(images, outputs, name=name)
