"""U-Net generators of pix2pix: seed 000 `GeneratorUNet` (shoes) and junyanz `unet_256` (seed 003).

Both halve S x S to 1 x 1 with 4x4 stride-2 convs (8 downs at 256; widths base, 2, 4, then
8 x base), double back with 4x4 stride-2 transposed convs and concatenate each up output with
the mirrored down features. Trainable parameters at 256, base 64, RGB -> RGB:
seed 000 (instance norm without affine, no conv bias, upsample + pad + conv head) 54,404,099;
junyanz (batch norm, no bias but the transposed-conv head) 54,413,955 (Keras also counts
9,856 batch-norm moving statistics).
"""
import math

import keras

from kgan.layers import normalize
from kgan.networks.torch_compat import torch_conv2d, torch_conv2d_transpose

VARIANTS = ("junyanz", "seed000")


def _num_downs(image_size):
    """log2(image_size): the stride-2 downs from image_size to 1 x 1 (8 at 256)."""
    downs = math.log2(image_size)
    if image_size < 32 or downs != int(downs):
        raise ValueError(f"U-Net image size must be a power of two >= 32, got {image_size}")
    return int(downs)


def unet_generator(
    variant="junyanz",
    input_channels=3,
    output_channels=3,
    image_size=256,
    base_width=64,
    norm=None,
    dropout=0.5,
    name="generator",
):
    """Images (B, H, W, input_channels) -> images (B, H, W, output_channels) in [-1, 1], float32,
    for H and W multiples of S = image_size (which sets the depth: log2 S downs to 1 x 1).

    variant "junyanz" (`UnetGenerator(num_downs=log2 S)`, `unet_256` at 256): down i is
    LeakyReLU(0.2) (not before the first) -> conv -> norm (not the first nor the innermost);
    up i is ReLU -> transposed conv -> norm -> dropout (only the n - 5 blocks at 8 x base
    around the innermost) and is concatenated after its skip; the head is ReLU -> transposed
    conv with bias -> tanh. Conv bias only if norm is "instance". norm defaults to "batch".
    variant "seed000" (`UNetDown` / `UNetUp`): down is conv -> norm (not the first nor the
    innermost) -> LeakyReLU(0.2) -> dropout (downs at 8 x base); up is transposed conv ->
    norm -> ReLU -> dropout (ups to 8 x base) and is concatenated before its skip; no conv
    bias; the head is nearest upsample x2 -> zero pad (1, 0, 1, 0) -> 4x4 conv (padding 1,
    bias) -> tanh. norm defaults to "instance". "instance" is PyTorch's, without affine.
    dropout: rate of those Dropout layers (0 drops them). Layers are named by depth: down_i
    outputs S / 2**i; up_i outputs S / 2**i and is concatenated with down_i in up_i_skip.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown U-Net variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    seed000 = variant == "seed000"
    norm = norm or ("instance" if seed000 else "batch")
    use_bias = not seed000 and norm == "instance"
    downs = _num_downs(image_size)
    widths = [base_width * min(2**i, 8) for i in range(downs)]
    inner = 8 * base_width

    images = keras.Input((None, None, input_channels), name="images")
    x, skips = images, []
    for i, width in enumerate(widths, start=1):
        if i > 1 and not seed000:
            x = keras.layers.LeakyReLU(0.2, name=f"down_{i}_lrelu_in")(x)
        x = torch_conv2d(x, width, 4, strides=2, padding=1, use_bias=use_bias, name=f"down_{i}")
        if 1 < i < downs:
            x = normalize(x, norm, f"down_{i}_norm")
        if seed000:
            x = keras.layers.LeakyReLU(0.2, name=f"down_{i}_lrelu")(x)
            if dropout and width == inner:
                x = keras.layers.Dropout(dropout, name=f"down_{i}_dropout")(x)
        skips.append(x)

    for i in range(downs - 1, 0, -1):
        width, skip = widths[i - 1], skips[i - 1]
        if not seed000:
            x = keras.layers.ReLU(name=f"up_{i}_relu_in")(x)
        x = torch_conv2d_transpose(x, width, 4, 2, 1, use_bias=use_bias, name=f"up_{i}")
        x = normalize(x, norm, f"up_{i}_norm")
        if seed000:
            x = keras.layers.ReLU(name=f"up_{i}_relu")(x)
        if dropout and width == inner and (seed000 or i < downs - 1):
            x = keras.layers.Dropout(dropout, name=f"up_{i}_dropout")(x)
        pair = [x, skip] if seed000 else [skip, x]
        x = keras.layers.Concatenate(name=f"up_{i}_skip")(pair)

    if seed000:
        x = keras.layers.UpSampling2D(2, interpolation="nearest", name="head_upsample")(x)
        # ZeroPad2d((1, 0, 1, 0)) then the conv's padding 1.
        x = torch_conv2d(x, output_channels, 4, padding=((2, 1), (2, 1)), name="head")
    else:
        x = keras.layers.ReLU(name="head_relu_in")(x)
        x = torch_conv2d_transpose(x, output_channels, 4, 2, 1, name="head")
    outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(images, outputs, name=name)
