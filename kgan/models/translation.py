"""Image-to-image inference at any size, shared by pix2pix and CycleGAN exports."""
import tensorflow as tf

from kgan.serving import MAX_TRANSLATION_SIDE, Endpoint, checked_images, smallest_size
from pipelines.images import to_uint8, to_unit_range


def pad_to_multiple(images, multiple, minimum=0):
    """(B, H, W, C) -> (B, H', W', C) with H', W' the next multiples of `multiple` (at least
    `minimum`), by repeating the last row and column (works for images smaller than that)."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    rows = tf.minimum(tf.range(tf.maximum(height + (-height) % multiple, minimum)), height - 1)
    cols = tf.minimum(tf.range(tf.maximum(width + (-width) % multiple, minimum)), width - 1)
    return tf.gather(tf.gather(images, rows, axis=1), cols, axis=2)


def smallest_input(generator, multiple):
    """The smallest of multiple, 2 * multiple, 4 * multiple (square) that `generator` runs on
    (`kgan.serving.smallest_size`)."""
    return smallest_size(lambda size: generator(tf.zeros([1, size, size, generator.input_shape[-1]]), training=False),
                         multiple)


def translate(generator, images, multiple, minimum=0):
    """uint8 (B, H, W, C), any H and W -> the generator's uint8 output (B, H, W, C): padded
    to the network's multiple (and at least `minimum`), translated, cropped back."""
    shape = tf.shape(images)
    padded = pad_to_multiple(to_unit_range(images), multiple, minimum)
    return to_uint8(generator(padded, training=False)[:, : shape[1], : shape[2]])


def translation_endpoint(generator, multiple):
    """The Endpoint for TF Serving: "images" uint8 (B, H, W, C) of any size from 1x1 to
    MAX_TRANSLATION_SIDE per side -> {"images": uint8 (B, H, W, C')}; malformed requests
    answer InvalidArgumentError (`kgan.serving.checked_images`)."""
    channels, minimum = generator.input_shape[-1], smallest_input(generator, multiple)

    def serve(images):
        images = checked_images(images, channels, MAX_TRANSLATION_SIDE)
        return {"images": translate(generator, images, multiple, minimum)}

    spec = tf.TensorSpec([None, None, None, channels], tf.uint8, name="images")
    return Endpoint((generator,), serve, (spec,))
