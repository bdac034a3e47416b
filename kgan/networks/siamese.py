"""Siamese discriminator of seed 004 (TraVeLGAN `SiameseNet`, KrishnaswamyLab/travelgan
travelgan.py): an image -> a vector, no real/fake score.

4x4 stride-2 convs ("same" padding, as TF's) with LeakyReLU(0.2), batch norm on all but
the first, widths base, 2, 4, 8 x base (capped at 8 x base), until the map is 4 x 4; then
flatten and a dense layer to `vec_len`. At 128 x 128 (seed 004's 2S for S = 64), base 64,
RGB: 5 convs (128 -> 4) and 8192 -> vec_len; with vec_len 1000 (TraVeLGAN) 15,147,176
trainable parameters, with 128 (MelGAN-VC's vec_len) 8,002,880.
"""
import math

import keras

from kgan.layers import normalize

TRUNCATED_NORMAL = keras.initializers.TruncatedNormal(mean=0.0, stddev=0.02)


def siamese_discriminator(image_size=128, vec_len=128, base_width=64, norm="batch", channels=3, min_size=4,
                          name="discriminator"):
    """Images (B, image_size, image_size, channels) -> vectors (B, vec_len), float32.

    image_size: a power of two > min_size (the convs halve it down to min_size x min_size,
    TraVeLGAN's `minshape` 4). norm: "batch" (TraVeLGAN), "sync_batch", "instance" or "none".
    Weights ~ truncated N(0, 0.02) as TraVeLGAN's `conv`; every conv has a bias.
    """
    downs = math.log2(image_size / min_size)
    if downs < 1 or downs != int(downs):
        raise ValueError(f"siamese discriminator image size must be {min_size} x a power of two, got {image_size}")
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for i in range(int(downs)):
        x = keras.layers.Conv2D(base_width * min(2**i, 8), 4, strides=2, padding="same",
                                kernel_initializer=TRUNCATED_NORMAL, name=f"down_{i + 1}")(x)
        if i:
            x = normalize(x, norm, f"down_{i + 1}_norm")
        x = keras.layers.LeakyReLU(0.2, name=f"down_{i + 1}_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    vectors = keras.layers.Dense(vec_len, dtype="float32", name="vector")(x)
    return keras.Model(images, vectors, name=name)
