"""The architectures `train.py --arch` knows: seed defaults and how to build each system.

An `Arch` names the data it trains on (`data_kind`), its seed hyper-parameters and a
`build(options, num_classes)` returning the uncompiled `AdversarialModel`. New systems
(pix2pix, CycleGAN, SRGAN, ...) add an entry here and a data kind in `pipelines`.
"""
import dataclasses

from kgan.models import GAN
from kgan.networks import build_discriminator, build_generator


@dataclasses.dataclass(frozen=True)
class Arch:
    name: str
    description: str
    data_kind: str  # "images" or "labelled"
    image_size: int
    channels: int
    batch_size: int
    base_width: int
    lr: float
    beta_1: float
    loss: str
    build: object


def _norm(options, replicas):
    if options.norm == "auto":
        return "sync_batch" if replicas > 1 else "batch"
    return options.norm


def _build_mlp_gan(options, num_classes, replicas):
    shape = (options.image_size, options.image_size, options.channels)
    widths = tuple(options.base_width * 2**i for i in range(3))  # seed: 256, 512, 1024
    generator = build_generator("mlp", latent_dim=options.latent_dim, image_shape=shape, widths=widths)
    discriminator = build_discriminator("mlp", image_shape=shape, widths=widths[::-1], dropout=options.dropout)
    return GAN(generator, discriminator, latent_dim=options.latent_dim, seed=options.seed, name="gan")


def _build_dcgan(options, num_classes, replicas):
    common = dict(
        image_size=options.image_size,
        channels=options.channels,
        base_width=options.base_width,
        norm=_norm(options, replicas),
        num_classes=num_classes,
    )
    generator = build_generator("dcgan", latent_dim=options.latent_dim, **common)
    discriminator = build_discriminator("dcgan", **common)
    return GAN(
        generator,
        discriminator,
        latent_dim=options.latent_dim,
        num_classes=num_classes,
        seed=options.seed,
        name="cgan" if num_classes else "dcgan",
    )


ARCHS = {
    "gan": Arch(
        "gan",
        "MLP GAN of seed 002 (MNIST): 784-pixel grayscale images, Adam 2e-4, batch 128",
        "images",
        28,
        1,
        128,
        256,
        2e-4,
        0.9,
        "bce",
        _build_mlp_gan,
    ),
    "dcgan": Arch(
        "dcgan",
        "DCGAN of seed 002 (faces): 64x64 RGB, Adam 2e-4 beta1 0.5, batch 64",
        "images",
        64,
        3,
        64,
        64,
        2e-4,
        0.5,
        "bce",
        _build_dcgan,
    ),
    "cgan": Arch(
        "cgan",
        "conditional DCGAN of seed 002 (female/male faces): label embedding 32, any number of classes",
        "labelled",
        64,
        3,
        64,
        64,
        2e-4,
        0.5,
        "bce",
        _build_dcgan,
    ),
}
