"""Random and deterministic transforms in TF ops for paired, unpaired and
super-resolution data (seeds 000, 001, 003, 004).

Randomness is stateless: the batch transforms take a `draw` of random integers keyed by
(run seed, step) (`kgan.rng.draws`), the per-element ones a seed tensor of shape [2], so a
pipeline is reproducible for a seed and different every step.
"""
import functools

import tensorflow as tf

from kgan import rng

RESIZE_METHODS = ("bicubic", "bilinear", "area", "nearest")


def resize(image, size, method="bicubic"):
    """([B,] H, W, C) any dtype -> float32 ([B,] size[0], size[1], C), values kept in range
    (bicubic overshoot clipped to the input's [0, 255] scale)."""
    out = tf.image.resize(tf.cast(image, tf.float32), size, method=method, antialias=method in ("bicubic", "bilinear"))
    return tf.clip_by_value(out, 0.0, 255.0)


def crop_flip(images, crop_size, draw, flip=True, salt=0):
    """The random crop_size x crop_size (or (height, width)) crop and horizontal flip of
    every example of a batch, the same for each tensor of an aligned list [(B, H, W, Ci)]
    (a pix2pix pair, a Cityscapes triple) so pixels stay aligned; any dtype (uint8: the
    crop moves bytes, no arithmetic, so it is exact in any precision).
    `draw(shape, maxval, salt)` gives the random integers (`kgan.rng.draws`, or the model's
    draws for the global batch under `--transforms device`): per example the top row, the
    left column and the flip. The crop and flip are one gather per axis, the same ops in
    tf.data and in an XLA-compiled train step.
    With images first resized to a load size this is junyanz's `resize_and_crop` jitter
    (286 -> 256 is 1.12x; seed 000's CycleGAN uses 1.33x)."""
    height, width = (crop_size, crop_size) if isinstance(crop_size, int) else crop_size
    shape = tf.shape(images[0])
    batch = shape[0]
    top = draw([batch], shape[1] - height + 1, salt)
    left = draw([batch], shape[2] - width + 1, salt + 1)
    columns = tf.range(width)[tf.newaxis]
    if flip:
        columns = tf.where(draw([batch], 2, salt + 2)[:, tf.newaxis] == 1, width - 1 - columns, columns)
    rows = top[:, tf.newaxis] + tf.range(height)[tf.newaxis]
    columns = left[:, tf.newaxis] + columns
    return [tf.gather(tf.gather(image, rows, axis=1, batch_dims=1), columns, axis=2, batch_dims=1)
            for image in images]


def random_crop_flip(images, crop_size, seed, flip=True):
    """`crop_flip` of one example: an aligned list [(H, W, Ci)] of any size, keyed by the
    [2] `seed` (the per-element transforms of images of different sizes)."""
    return [image[0] for image in crop_flip([image[tf.newaxis] for image in images], crop_size, rng.draws(seed), flip)]


def random_hr_crop(hr_image, hr_crop, scale, seed):
    """Random hr_crop x hr_crop uint8 crop of an HR image (H, W, 3) of any size, keyed by the
    [2] `seed`; images smaller than the crop are first upscaled (bicubic, rounded) so their
    short side equals it. `bicubic_lr` makes its LR partner."""
    if hr_crop % scale:
        raise ValueError(f"the HR crop {hr_crop} must be a multiple of the scale {scale}")
    shape = tf.shape(hr_image)[:2]
    short = tf.reduce_min(shape)
    factor = tf.maximum(1.0, hr_crop / tf.cast(short, tf.float32))
    new_shape = tf.cast(tf.math.ceil(tf.cast(shape, tf.float32) * factor), tf.int32)
    hr = tf.cond(factor > 1.0, lambda: tf.cast(tf.round(resize(hr_image, new_shape)), tf.uint8),
                 lambda: tf.cast(hr_image, tf.uint8))
    return random_crop_flip([hr], hr_crop, seed, flip=False)[0]


@functools.lru_cache(maxsize=None)
def _bicubic_weights(size_in, size_out):
    """float32 (size_out, size_in): along one axis, the weights of `resize`'s antialiased
    bicubic from size_in to size_out (the resize of each unit impulse, computed once)."""
    with tf.init_scope():
        impulses = tf.eye(size_in)[:, :, tf.newaxis]
        return tf.image.resize(impulses, [size_out, size_in], method="bicubic", antialias=True)[:, :, 0].numpy()


def bicubic_lr(hr, scale):
    """uint8 HR (B, H, W, 3), H and W known -> float32 LR (B, H/scale, W/scale, 3) in [0, 255]:
    `resize`'s bicubic, antialiased downscale as two matrix products with its weights (its
    op, ScaleAndTranslate, has no XLA kernel; these run in tf.data and in an XLA step alike,
    within 3.1e-5 of it). Float32: a filter whose result feeds the [-1, 1] scaling."""
    height, width = hr.shape[1], hr.shape[2]
    if height is None or width is None:
        raise ValueError(f"bicubic_lr needs HR batches of a known size, got shape {hr.shape}")
    rows = tf.constant(_bicubic_weights(height, height // scale))
    columns = tf.constant(_bicubic_weights(width, width // scale))
    lr = tf.einsum("ph,bhwc->bpwc", rows, tf.cast(hr, tf.float32))
    return tf.clip_by_value(tf.einsum("qw,bpwc->bpqc", columns, lr), 0.0, 255.0)


def mod_crop(image, scale):
    """Crops H and W down to multiples of `scale` (super-resolution evaluation)."""
    shape = tf.shape(image)
    return image[: shape[0] - shape[0] % scale, : shape[1] - shape[1] % scale]
