"""SRGAN of seed 001 (CelebA 64x64 -> 256x256): residual generator, per-position discriminator.

Seed 001 `build_generator` / `build_discriminator` layer for layer: Keras default kernel
initializers (glorot uniform, zero bias), convolutions with bias, batch norm momentum 0.8 and
Keras' epsilon 1e-3. Defaults give the generator 2,042,691 parameters (2,038,467 trainable,
33 batch norms x 128 moving statistics) and the discriminator 5,219,137 (5,215,425 trainable).
`upsample="subpixel"` swaps seed 001's upsampling for the paper's sub-pixel convolutions,
a 3.3x faster G-only step here (3.08 vs 0.93 img/s, 64 to 256). `variant="sgrvinod"` is the
pretrained SRGAN that seed 000 loads (sgrvinod/a-PyTorch-Tutorial-to-Super-Resolution
`models.py` `SRResNet` / `Generator`), layer for layer, so its weights load unchanged: at
its defaults 1,549,462 trainable parameters and 4,224 batch-norm statistics, as the PyTorch
original counts them.
"""
import math

import keras

from kgan.layers import BicubicUpscale, DepthToSpace, NearestUpsampleConv2D, normalize

MOMENTUM = 0.8  # seed 001: BatchNormalization(momentum=0.8)
EPSILON = 1e-3  # Keras' BatchNormalization default, which the seed uses
UPSAMPLING = ("nearest", "subpixel")
VARIANTS = ("seed001", "sgrvinod")


def _normalize(x, norm, name):
    return normalize(x, norm, name, momentum=MOMENTUM, epsilon=EPSILON)


def _normalize_torch(x, norm, name):
    """PyTorch's BatchNorm2d momentum and epsilon (sgrvinod)."""
    return normalize(x, norm, name)


def _conv(width, kernel_size, name, strides=1):
    return keras.layers.Conv2D(width, kernel_size, strides=strides, padding="same", name=name)


def _prelu(name):
    """`nn.PReLU()`: one slope for all channels, 0.25 at first."""
    return keras.layers.PReLU(keras.initializers.Constant(0.25), shared_axes=[1, 2, 3], name=name)


def _residual_block(x, width, norm, name, sgrvinod):
    """Seed `residual_block`: conv 3x3 - ReLU - BN - conv 3x3 - BN, plus the block input;
    sgrvinod `ResidualBlock`: conv 3x3 - BN - PReLU - conv 3x3 - BN, plus the block input."""
    norm_fn = _normalize_torch if sgrvinod else _normalize
    y = _conv(width, 3, f"{name}_conv_0")(x)
    if sgrvinod:
        y = _prelu(f"{name}_prelu")(norm_fn(y, norm, f"{name}_norm_0"))
    else:
        y = norm_fn(keras.layers.ReLU(name=f"{name}_relu")(y), norm, f"{name}_norm_0")
    y = norm_fn(_conv(width, 3, f"{name}_conv_1")(y), norm, f"{name}_norm_1")
    return keras.layers.Add(name=f"{name}_add")([y, x])


def srgan_generator(
    scale=4,
    n_residual_blocks=16,
    width=64,
    upsample_width=256,
    channels=3,
    norm="batch",
    upsample=None,
    global_skip=False,
    variant="seed001",
    name="generator",
):
    """Low-resolution images (B, H, W, channels) in [-1, 1] -> (B, scale*H, scale*W, channels).

    Seed 001: conv 9x9 64 + ReLU, 16 residual blocks, conv 3x3 + BN added to the first conv's
    output (long skip), log2(scale) x (UpSampling2D 2, conv 3x3 256, ReLU), conv 9x9 to
    channels, tanh. Fully convolutional: any H, W (64x64 -> 256x256 at scale 4). Each
    upsample + conv pair is one `NearestUpsampleConv2D`: the same function and weights,
    2.25x fewer multiply-adds.
    upsample "subpixel": each x2 stage is instead conv 3x3 to 4 * width at the lower
    resolution, depth-to-space 2, PReLU (one slope, as `nn.PReLU()`): SRGAN paper.
    global_skip: the output is the bicubic upscale of the input plus the last conv (no tanh),
    so the network learns only the detail bicubic misses (BasicSR's MSRResNet adds its
    bilinear upscale the same way); much faster pixel pre-training.
    variant "sgrvinod" (seed 000's pretrained SRGAN; upsample "subpixel" only): PReLU
    instead of ReLU after the first conv and in the residual blocks, each block conv - BN -
    PReLU - conv - BN, batch norm with PyTorch's epsilon 1e-5. Its input is ImageNet-
    normalized (`kgan.models.srgan.upscale_endpoint(..., "imagenet")`), not [-1, 1].
    upsample None: "nearest" for seed001, "subpixel" for sgrvinod.
    """
    stages = math.log2(scale)
    if scale < 2 or stages != int(stages):
        raise ValueError(f"SRGAN scale must be a power of two >= 2, got {scale}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown SRGAN variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    sgrvinod = variant == "sgrvinod"
    upsample = upsample or ("subpixel" if sgrvinod else "nearest")
    if upsample not in UPSAMPLING:
        raise ValueError(f"unknown upsample {upsample!r}; choose one of {', '.join(UPSAMPLING)}")
    if sgrvinod and (upsample != "subpixel" or global_skip):
        raise ValueError("the sgrvinod SRGAN has sub-pixel upsampling and no global skip")
    low_res = keras.Input((None, None, channels), name="low_res")
    x = _conv(width, 9, "head")(low_res)
    head = _prelu("head_prelu")(x) if sgrvinod else keras.layers.ReLU(name="head_relu")(x)
    x = head
    for i in range(n_residual_blocks):
        x = _residual_block(x, width, norm, f"res_{i}", sgrvinod)
    x = _conv(width, 3, "post_res")(x)
    x = (_normalize_torch if sgrvinod else _normalize)(x, norm, "post_res_norm")
    x = keras.layers.Add(name="long_skip")([x, head])
    for i in range(int(stages)):
        if upsample == "nearest":
            x = NearestUpsampleConv2D(upsample_width, name=f"up_{i}_conv")(x)  # = UpSampling2D(2) + conv 3x3
            x = keras.layers.ReLU(name=f"up_{i}_relu")(x)
        else:
            x = _conv(4 * width, 3, f"up_{i}_conv")(x)
            x = DepthToSpace(2, name=f"up_{i}")(x)
            x = _prelu(f"up_{i}_prelu")(x)
    x = _conv(channels, 9, "to_rgb")(x)
    if global_skip:
        bicubic = BicubicUpscale(scale, dtype="float32", name="bicubic")(low_res)
        images = keras.layers.Add(dtype="float32", name="global_skip")([bicubic, x])
    else:
        images = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(low_res, images, name=name)


def srgan_discriminator(
    image_size=256,
    widths=(64, 64, 128, 128, 256, 256, 512, 512),
    strides=(1, 2, 1, 2, 1, 2, 1, 2),
    dense_width=1024,
    channels=3,
    norm="batch",
    name="discriminator",
):
    """Images (B, S, S, channels) -> logits of "real" per position (B, S/16, S/16, 1), float32.

    Seed 001: 8 conv 3x3 blocks (widths / strides above), LeakyReLU(0.2) then BN from the
    2nd block; Dense 1024, LeakyReLU(0.2), Dense 1. As in the seed the Dense layers act on
    the last axis of the 4-D feature map (no Flatten), so a 256x256 image gets a 16x16 map
    of scores. The seed's final sigmoid is applied by the loss. image_size None: any size.
    """
    if len(widths) != len(strides):
        raise ValueError(f"widths and strides differ in length: {len(widths)} != {len(strides)}")
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for i, (width, stride) in enumerate(zip(widths, strides)):
        x = _conv(width, 3, f"down_{i}", strides=stride)(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down_{i}_lrelu")(x)
        if i > 0:
            x = _normalize(x, norm, f"down_{i}_norm")
    x = keras.layers.Dense(dense_width, name="hidden")(x)
    x = keras.layers.LeakyReLU(0.2, name="hidden_lrelu")(x)
    score = keras.layers.Dense(1, dtype="float32", name="score")(x)
    return keras.Model(images, score, name=name)
