"""PatchGAN discriminators: junyanz `NLayerDiscriminator` ("basic", seed 003) and seed 000's.

Both score overlapping patches with 4x4 convs (padding 1) and return a map of logits.
"basic" (n_layers 3): 256 -> 30 x 30, receptive field 70 x 70, 2,768,705 trainable
parameters with 6 input channels and batch norm. "seed000": 256 -> 16 x 16, receptive
field 94 x 94, 2,767,808 parameters (pix2pix, 6 channels, instance norm without affine).
"""
import keras

from kgan.layers import normalize
from kgan.networks.torch_compat import torch_conv2d

VARIANTS = ("basic", "seed000")


def _block(x, width, strides, norm, use_bias, name):
    x = torch_conv2d(x, width, 4, strides=strides, padding=1, use_bias=use_bias, name=name)
    x = normalize(x, norm, f"{name}_norm")
    return keras.layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)


def patch_discriminator(
    variant="basic",
    input_channels=6,
    n_layers=3,
    base_width=64,
    norm=None,
    head_bias=None,
    name="discriminator",
):
    """Images (B, H, W, input_channels) -> logits (B, H', W', 1), float32, no sigmoid.

    pix2pix feeds the channel concatenation of source and target (6 channels), CycleGAN one
    image (3). Widths are base_width * min(2**i, 8); every conv is 4x4 with padding 1 and
    LeakyReLU(0.2); the first has a bias and no norm.
    "basic" (seed 003, junyanz): n_layers stride-2 convs, one stride-1 conv at
    base * min(2**n_layers, 8), a stride-1 conv to 1 (H' = H / 2**n_layers - 2). Conv bias
    only if norm is "instance"; norm defaults to "batch".
    "seed000" (seed 000 `Discriminator`): n_layers + 1 stride-2 convs with bias, then zero
    pad (1, 0, 1, 0) and a conv to 1 with padding 1 (H' = H / 2**(n_layers + 1)); norm
    defaults to "instance" (PyTorch's, without affine).
    head_bias: bias of the last conv; None is the seed's (basic: True; seed000: False as
    its pix2pix model; its CycleGAN discriminator, 3 channels, has one: pass True).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown PatchGAN variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    basic = variant == "basic"
    norm = norm or ("batch" if basic else "instance")
    use_bias = norm == "instance" or not basic
    head_bias = basic if head_bias is None else head_bias

    images = keras.Input((None, None, input_channels), name="images")
    x = _block(images, base_width, 2, "none", True, "down_0")
    for i in range(1, n_layers + (0 if basic else 1)):
        x = _block(x, base_width * min(2**i, 8), 2, norm, use_bias, f"down_{i}")
    if basic:
        x = _block(x, base_width * min(2**n_layers, 8), 1, norm, use_bias, f"conv_{n_layers}")
        padding = 1
    else:
        # ZeroPad2d((1, 0, 1, 0)) then the conv's padding 1.
        padding = ((2, 1), (2, 1))
    logits = torch_conv2d(x, 1, 4, padding=padding, use_bias=head_bias, dtype="float32", name="logits")
    return keras.Model(images, logits, name=name)


def receptive_field(model):
    """Receptive field (pixels along height) of one output unit of a chain of convs: walks
    the model's Conv2D and pooling layers in order, r += (k_eff - 1) * jump, jump *= stride,
    with k_eff = (k - 1) * dilation + 1. Padding shifts the field but not its size.
    70 for "basic" with n_layers 3 (1 + 3 * (1 + 2 + 4 + 8 + 8)), 94 for "seed000".
    """
    field, jump = 1, 1
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2DTranspose, keras.layers.UpSampling2D)):
            raise TypeError(f"receptive_field handles downsampling chains only, got {layer.name!r}")
        if isinstance(layer, keras.layers.Conv2D):
            kernel = (layer.kernel_size[0] - 1) * layer.dilation_rate[0] + 1
            stride = layer.strides[0]
        elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            kernel, stride = layer.pool_size[0], layer.strides[0]
        else:
            continue
        field += (kernel - 1) * jump
        jump *= stride
    return field
