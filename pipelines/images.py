"""Per-image transforms in TF ops: decode, channel conversion, resize/crop, [-1, 1] scaling."""
import tensorflow as tf


def decode_image(contents, channels=3):
    """Encoded bytes (JPEG, PNG, BMP, GIF: first frame, WebP) -> uint8 (H, W, channels).

    Grayscale is replicated to RGB, RGBA loses its alpha, RGB becomes gray for channels=1.
    """
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return convert_channels(image, channels)


def convert_channels(image, channels):
    """uint8 (..., H, W, 1|3|4) -> (..., H, W, channels) for channels 1 or 3."""
    if image.shape[-1] == 4:
        image = image[..., :3]
    if image.shape[-1] == channels:
        return image
    if channels == 1:
        return tf.image.rgb_to_grayscale(image)
    return tf.image.grayscale_to_rgb(image)


def resize_center_crop(image, size):
    """(H, W, C) -> (size, size, C) float32: short side to `size` (antialiased bilinear),
    then the central square, as seed 002's `Resize(64)` + `CenterCrop(64)`."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.reduce_min(shape)
    new_shape = tf.cast(tf.math.ceil(shape * scale), tf.int32)
    image = tf.image.resize(image, new_shape, method="bilinear", antialias=True)
    top = (new_shape[0] - size) // 2
    left = (new_shape[1] - size) // 2
    return image[top : top + size, left : left + size, :]


def standardize(image, size, channels):
    """uint8 (H, W, any channels) -> float32 (size, size, channels) in [-1, 1]: channel
    conversion, short side to `size`, center crop (the noise-to-image GANs' input)."""
    return to_unit_range(resize_center_crop(convert_channels(image, channels), size))


def to_unit_range(image):
    """uint8 values (any dtype) in [0, 255] -> float32 in [-1, 1] (seed: Normalize(0.5, 0.5)).
    A subtraction, then a product with 1 / 127.5: the same bits in eager mode, tf.data, a
    graph and XLA (x / 127.5 - 1 is not: graphs and XLA multiply by the reciprocal, XLA may
    fuse the subtraction), so host and device transforms agree exactly."""
    return (tf.cast(image, tf.float32) - 127.5) * (1 / 127.5)


def to_uint8(image):
    """float in [-1, 1] -> uint8 in [0, 255], rounded and clipped."""
    return tf.cast(tf.clip_by_value(tf.round((tf.cast(image, tf.float32) + 1.0) * 127.5), 0, 255), tf.uint8)
