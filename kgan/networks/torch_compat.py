"""PyTorch convolution padding for the image-to-image builders (seeds 000 and 003), NHWC.

`torch_conv2d` / `torch_conv2d_transpose` reproduce `nn.Conv2d(padding=p)` /
`nn.ConvTranspose2d(padding=p, output_padding=op)` exactly (Keras "same" puts an odd
padding after, not around, so a 3x3 stride-2 conv or transposed conv would be shifted by
one pixel).
"""
import keras

from kgan.layers import KERNEL_INIT


def torch_conv2d(x, filters, kernel_size, strides=1, padding=0, use_bias=True, name=None, dtype=None):
    """`nn.Conv2d(kernel_size, stride, padding)`: zero padding (int or ((top, bottom),
    (left, right))) then a "valid" conv, N(0, 0.02) kernel. (B, H, W, C) -> (B, H', W', filters)."""
    if padding:
        x = keras.layers.ZeroPadding2D(padding, name=name and f"{name}_pad")(x)
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        use_bias=use_bias,
        kernel_initializer=KERNEL_INIT,
        dtype=dtype,
        name=name,
    )(x)


def torch_conv2d_transpose(x, filters, kernel_size, strides, padding, output_padding=0, use_bias=True, name=None):
    """`nn.ConvTranspose2d(kernel_size, stride, padding, output_padding)`: the full "valid"
    transposed conv ((H - 1) * s + k) cropped by padding before and padding - output_padding
    after, giving (H - 1) * s - 2 * padding + k + output_padding (2H for 4/2/1/0 and 3/2/1/1)."""
    if not 0 <= output_padding <= padding:
        raise ValueError(f"output_padding must be in [0, padding={padding}], got {output_padding}")
    x = keras.layers.Conv2DTranspose(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        use_bias=use_bias,
        kernel_initializer=KERNEL_INIT,
        name=name,
    )(x)
    crop = (padding, padding - output_padding)
    if any(crop):
        x = keras.layers.Cropping2D((crop, crop), name=name and f"{name}_crop")(x)
    return x
