"""MLP GAN of seed 002 (MNIST): fully connected generator and discriminator."""
import math

import keras

from kgan.layers import KERNEL_INIT


def mlp_generator(latent_dim=100, image_shape=(28, 28, 1), widths=(256, 512, 1024), name="generator"):
    """Noise (B, latent_dim) -> images (B, H, W, C) in [-1, 1].

    Seed 002: 100 -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2), tanh: 1,486,352 parameters.
    """
    noise = keras.Input((latent_dim,), name="noise")
    x = noise
    for i, width in enumerate(widths):
        x = keras.layers.Dense(width, kernel_initializer=KERNEL_INIT, name=f"dense_{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu_{i}")(x)
    x = keras.layers.Dense(math.prod(image_shape), kernel_initializer=KERNEL_INIT, name="to_pixels")(x)
    x = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    images = keras.layers.Reshape(image_shape, name="to_image")(x)
    return keras.Model(noise, images, name=name)


def mlp_discriminator(image_shape=(28, 28, 1), widths=(1024, 512, 256), dropout=0.3, name="discriminator"):
    """Images (B, H, W, C) -> score (logit) of "real" (B, 1), float32.

    Seed 002: 784 -> 1024 -> 512 -> 256 -> 1, LeakyReLU(0.2), dropout 0.3: 1,460,225
    parameters. The seed's final sigmoid is applied by the loss (`GANLoss("bce")`).
    """
    images = keras.Input(image_shape, name="images")
    x = keras.layers.Flatten(name="flatten")(images)
    for i, width in enumerate(widths):
        x = keras.layers.Dense(width, kernel_initializer=KERNEL_INIT, name=f"dense_{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    score = keras.layers.Dense(1, kernel_initializer=KERNEL_INIT, dtype="float32", name="score")(x)
    return keras.Model(images, score, name=name)
