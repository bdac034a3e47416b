"""Image-to-image inference at any size, shared by pix2pix and CycleGAN exports."""
import tensorflow as tf

from pipelines.images import to_uint8, to_unit_range


def pad_to_multiple(images, multiple, minimum=0):
    """(B, H, W, C) -> (B, H', W', C) with H', W' the next multiples of `multiple` (at least
    `minimum`), by repeating the last row and column (works for images smaller than that)."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    rows = tf.minimum(tf.range(tf.maximum(height + (-height) % multiple, minimum)), height - 1)
    cols = tf.minimum(tf.range(tf.maximum(width + (-width) % multiple, minimum)), width - 1)
    return tf.gather(tf.gather(images, rows, axis=1), cols, axis=2)


def translate(generator, images, multiple):
    """uint8 (B, H, W, C), any H and W -> the generator's uint8 output (B, H, W, C): padded
    to the network's multiple, translated, cropped back."""
    shape = tf.shape(images)
    padded = pad_to_multiple(to_unit_range(images), multiple)
    return to_uint8(generator(padded, training=False)[:, : shape[1], : shape[2]])


def translation_endpoint(generator, multiple):
    """(generator, function, input signature) for TF Serving: "images" uint8 (B, H, W, C)
    of any size -> {"images": uint8 (B, H, W, C')}."""
    spec = tf.TensorSpec([None, None, None, generator.input_shape[-1]], tf.uint8, name="images")
    return generator, (lambda images: {"images": translate(generator, images, multiple)}), [spec]
