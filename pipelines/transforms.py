"""Random and deterministic transforms in TF ops for paired, unpaired and
super-resolution data (seeds 000, 001, 003, 004).

Randomness is stateless: every function takes a seed tensor of shape [2] (the batch
builders draw one per element from `tf.data.Dataset.random`), so a pipeline is
reproducible for a seed and different every epoch.
"""
import tensorflow as tf

RESIZE_METHODS = ("bicubic", "bilinear", "area", "nearest")


def resize(image, size, method="bicubic"):
    """(H, W, C) any dtype -> float32 (size[0], size[1], C), values kept in range
    (bicubic overshoot clipped to the input's [0, 255] scale)."""
    out = tf.image.resize(tf.cast(image, tf.float32), size, method=method, antialias=method in ("bicubic", "bilinear"))
    return tf.clip_by_value(out, 0.0, 255.0)


def random_crop_flip(images, crop_size, seed, flip=True):
    """The same random crop_size x crop_size (or (height, width)) crop and horizontal flip
    for every image of an aligned list [(H, W, Ci)] (a pix2pix pair, a Cityscapes triple),
    so pixels stay aligned.
    With images first resized to a load size this is junyanz's `resize_and_crop` jitter
    (286 -> 256 is 1.12x; seed 000's CycleGAN uses 1.33x)."""
    channels = [int(image.shape[-1]) for image in images]
    dtype = images[0].dtype
    stacked = tf.concat([tf.cast(image, dtype) for image in images], axis=-1)
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    height, width = (crop_size, crop_size) if isinstance(crop_size, int) else crop_size
    stacked = tf.image.stateless_random_crop(stacked, [height, width, sum(channels)], crop_seed)
    if flip:
        stacked = tf.image.stateless_random_flip_left_right(stacked, flip_seed)
    return tf.split(stacked, channels, axis=-1)


def superres_crop(hr_image, hr_crop, scale, seed):
    """Random hr_crop x hr_crop crop of an HR image (H, W, 3) and its bicubic (antialiased)
    downscale by `scale`: returns (lr (hr_crop/scale)^2, hr hr_crop^2), float32 in [0, 255].
    Images smaller than the crop are first upscaled so their short side equals it."""
    if hr_crop % scale:
        raise ValueError(f"the HR crop {hr_crop} must be a multiple of the scale {scale}")
    shape = tf.shape(hr_image)[:2]
    short = tf.reduce_min(shape)
    factor = tf.maximum(1.0, hr_crop / tf.cast(short, tf.float32))
    new_shape = tf.cast(tf.math.ceil(tf.cast(shape, tf.float32) * factor), tf.int32)
    hr = tf.cond(factor > 1.0, lambda: resize(hr_image, new_shape), lambda: tf.cast(hr_image, tf.float32))
    hr = tf.image.stateless_random_crop(hr, [hr_crop, hr_crop, 3], seed)
    lr = resize(hr, [hr_crop // scale, hr_crop // scale], "bicubic")
    return lr, hr


def superres_resize(image, hr_size=256, lr_size=64, seed=None):
    """Seed 001's CelebA pairs: the whole image resized to hr_size and to lr_size
    (bicubic), with a random horizontal flip when a seed is given. Returns (lr, hr)."""
    hr = resize(image, [hr_size, hr_size])
    lr = resize(image, [lr_size, lr_size])
    if seed is not None:
        flip = tf.random.stateless_uniform([], seed) < 0.5
        lr, hr = tf.cond(flip, lambda: (lr[:, ::-1], hr[:, ::-1]), lambda: (lr, hr))
    return lr, hr


def mod_crop(image, scale):
    """Crops H and W down to multiples of `scale` (super-resolution evaluation)."""
    shape = tf.shape(image)
    return image[: shape[0] - shape[0] % scale, : shape[1] - shape[1] % scale]
