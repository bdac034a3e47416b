"""DCGAN and conditional DCGAN of seed 002 (faces): transposed-conv G, strided-conv D.

At 64x64 with base width 64 the unconditional networks have the seed's trainable
parameter counts: G 3,576,704 and D 2,765,568 (Keras also counts the batch-norm moving
statistics: +1,920 in G, +1,792 in D). Other power-of-two sizes add or drop stride-2 stages.
"""
import math

import keras

from kgan.layers import KERNEL_INIT, ConditionalBatchNormalization, norm_layer

CONDITIONINGS = ("concat", "projection")
_HIDDEN = 100  # width of the conditional head's hidden layer (seed 002)


def _stages(image_size):
    """Number of stride-2 stages between 4x4 and image_size (4 at 64x64)."""
    stages = math.log2(image_size) - 2
    if image_size < 8 or stages != int(stages):
        raise ValueError(f"DCGAN image size must be a power of two >= 8, got {image_size}")
    return int(stages)


def _label_embedding(num_classes, embed_dim, name):
    """Label (B,) int -> (B, embed_dim); N(0, 1) init as PyTorch's nn.Embedding."""
    labels = keras.Input((), dtype="int32", name="labels")
    embedding = keras.layers.Embedding(
        num_classes,
        embed_dim,
        embeddings_initializer=keras.initializers.RandomNormal(0.0, 1.0),
        name=f"{name}_label_embedding",
    )(labels)
    return labels, embedding


def dcgan_generator(
    latent_dim=100,
    image_size=64,
    channels=3,
    base_width=64,
    norm="batch",
    num_classes=None,
    embed_dim=32,
    conditional_norm=False,
    name="generator",
):
    """Noise (B, latent_dim) [and labels (B,) int32] -> images (B, S, S, channels) in [-1, 1].

    Seed 002: ConvTranspose 4x4 valid to 4x4x(8*base), then stride-2 4x4 transposed convs
    halving the width, BatchNorm + ReLU, no bias, tanh. With num_classes, a label embedding
    of embed_dim (seed: 32) is concatenated to the noise (conditional GAN).
    conditional_norm (with num_classes and norm "batch" / "sync_batch"): each batch norm is
    class-conditional, its scale and offset looked up per label (`ConditionalBatchNormalization`:
    de Vries et al. 2017; Miyato & Koyama 2018), as well as the label at the input.
    """
    if conditional_norm and (not num_classes or norm not in ("batch", "sync_batch")):
        raise ValueError(f"conditional_norm needs num_classes and norm 'batch' or 'sync_batch', got "
                         f"num_classes={num_classes}, norm={norm!r}")
    stages = _stages(image_size)
    noise = keras.Input((latent_dim,), name="noise")
    inputs, x = [noise], noise
    if num_classes:
        labels, embedding = _label_embedding(num_classes, embed_dim, name)
        inputs.append(labels)
        x = keras.layers.Concatenate(name="noise_and_label")([noise, embedding])
    x = keras.layers.Reshape((1, 1, x.shape[-1]), name="to_1x1")(x)
    for i in range(stages):
        width = base_width * 2 ** (stages - 1 - i)
        x = keras.layers.Conv2DTranspose(
            width,
            4,
            strides=1 if i == 0 else 2,
            padding="valid" if i == 0 else "same",
            use_bias=False,
            kernel_initializer=KERNEL_INIT,
            name=f"up_{i}",
        )(x)
        if conditional_norm:
            x = ConditionalBatchNormalization(num_classes, synchronized=norm == "sync_batch", name=f"up_{i}_norm")(
                [x, labels])
        else:
            normalization = norm_layer(norm, name=f"up_{i}_norm")
            if normalization is not None:
                x = normalization(x)
        x = keras.layers.ReLU(name=f"up_{i}_relu")(x)
    x = keras.layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", use_bias=False, kernel_initializer=KERNEL_INIT, name="to_rgb"
    )(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs if num_classes else noise, images, name=name)


def dcgan_discriminator(
    image_size=64,
    channels=3,
    base_width=64,
    norm="batch",
    num_classes=None,
    embed_dim=32,
    conditioning="concat",
    name="discriminator",
):
    """Images (B, S, S, channels) [and labels (B,) int32] -> score (logit) of "real" (B, 1).

    Seed 002: stride-2 4x4 convs (base, 2*base, 4*base, 8*base at 64x64), no bias,
    BatchNorm from the 2nd, LeakyReLU(0.2). Unconditional head: 4x4 valid conv to 1.
    Conditional head (num_classes): one more stride-2 conv to 64 channels, flatten
    (2*2*64 = 256 at 64x64), then
    - conditioning "concat" (seed 002): concatenate an embed_dim label embedding (288),
      Dense 100, LeakyReLU, Dense 1;
    - conditioning "projection" (Miyato & Koyama 2018, cGANs with projection
      discriminator): phi(x) = Dense 100 + LeakyReLU of the image features alone, score
      psi(phi(x)) + <embed(y), phi(x)> with psi = Dense 1 and a 100-wide label embedding
      (embed_dim unused).
    The seed's final sigmoid is applied by the loss (`GANLoss("bce")`).
    """
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"unknown conditioning {conditioning!r}; choose one of {', '.join(CONDITIONINGS)}")
    stages = _stages(image_size)
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for i in range(stages):
        x = keras.layers.Conv2D(
            base_width * 2**i,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=KERNEL_INIT,
            name=f"down_{i}",
        )(x)
        normalization = norm_layer(norm, name=f"down_{i}_norm") if i > 0 else None
        if normalization is not None:
            x = normalization(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down_{i}_lrelu")(x)
    if not num_classes:
        x = keras.layers.Conv2D(1, 4, padding="valid", use_bias=False, kernel_initializer=KERNEL_INIT, name="score")(x)
        score = keras.layers.Flatten(dtype="float32", name="flatten")(x)
        return keras.Model(images, score, name=name)
    x = keras.layers.Conv2D(
        64, 4, strides=2, padding="same", use_bias=False, kernel_initializer=KERNEL_INIT, name="down_features"
    )(x)
    normalization = norm_layer(norm, name="down_features_norm")
    if normalization is not None:
        x = normalization(x)
    x = keras.layers.LeakyReLU(0.2, name="down_features_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if conditioning == "concat":
        labels, embedding = _label_embedding(num_classes, embed_dim, name)
        x = keras.layers.Concatenate(name="features_and_label")([x, embedding])
    x = keras.layers.Dense(_HIDDEN, kernel_initializer=KERNEL_INIT, name="hidden")(x)
    x = keras.layers.LeakyReLU(0.2, name="hidden_lrelu")(x)
    score = keras.layers.Dense(1, kernel_initializer=KERNEL_INIT, dtype="float32", name="score")(x)
    if conditioning == "projection":
        labels = keras.Input((), dtype="int32", name="labels")
        embedding = keras.layers.Embedding(num_classes, _HIDDEN, embeddings_initializer=KERNEL_INIT,
                                           name=f"{name}_label_projection")(labels)
        projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")([embedding, x])
        score = keras.layers.Add(dtype="float32", name="score_and_projection")([score, projection])
    return keras.Model([images, labels], score, name=name)
