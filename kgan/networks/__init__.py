"""String-keyed network factories (as junyanz `define_G` / `define_D`).

`build_generator("dcgan", image_size=64)` returns a `keras.Model`; the keys are listed in
GENERATORS and DISCRIMINATORS.
"""
from functools import partial

from kgan.networks.dcgan import dcgan_discriminator, dcgan_generator
from kgan.networks.mlp import mlp_discriminator, mlp_generator
from kgan.networks.patchgan import patch_discriminator
from kgan.networks.pix2pixhd import global_generator, local_enhancer, multiscale_discriminator
from kgan.networks.resnet import resnet_generator
from kgan.networks.siamese import siamese_discriminator
from kgan.networks.srgan import srgan_discriminator, srgan_generator
from kgan.networks.stylegan2 import stylegan2_discriminator, stylegan2_generator
from kgan.networks.unet import unet_generator

GENERATORS = {
    "mlp": mlp_generator,
    "dcgan": dcgan_generator,
    "srgan": srgan_generator,
    "unet_256": partial(unet_generator, variant="junyanz"),
    "unet_128": partial(unet_generator, variant="junyanz", image_size=128),
    "unet_256_seed000": partial(unet_generator, variant="seed000"),
    "resnet_9blocks": partial(resnet_generator, variant="junyanz"),
    "resnet_6blocks": partial(resnet_generator, variant="junyanz", n_blocks=6),
    "resnet_9blocks_seed000": partial(resnet_generator, variant="seed000"),
    "global": global_generator,
    "local": local_enhancer,
    "stylegan2": stylegan2_generator,
}
DISCRIMINATORS = {
    "mlp": mlp_discriminator,
    "dcgan": dcgan_discriminator,
    "srgan": srgan_discriminator,
    "basic": partial(patch_discriminator, variant="basic"),
    "n_layers": patch_discriminator,
    "patch_seed000": partial(patch_discriminator, variant="seed000"),
    "multiscale": multiscale_discriminator,
    "stylegan2": stylegan2_discriminator,
    "siamese": siamese_discriminator,
}


def _build(registry, kind, key, kwargs):
    if key not in registry:
        raise ValueError(f"unknown {kind} {key!r}; choose one of {', '.join(sorted(registry))}")
    return registry[key](**kwargs)


def build_generator(key, **kwargs):
    """Generator by key (see GENERATORS), keyword arguments (name=... too) passed to its builder."""
    return _build(GENERATORS, "generator", key, kwargs)


def build_discriminator(key, **kwargs):
    """Discriminator by key (see DISCRIMINATORS), keyword arguments passed to its builder."""
    return _build(DISCRIMINATORS, "discriminator", key, kwargs)


__all__ = [
    "GENERATORS",
    "DISCRIMINATORS",
    "build_generator",
    "build_discriminator",
    "mlp_generator",
    "mlp_discriminator",
    "dcgan_generator",
    "dcgan_discriminator",
    "srgan_generator",
    "srgan_discriminator",
    "unet_generator",
    "resnet_generator",
    "patch_discriminator",
    "global_generator",
    "local_enhancer",
    "multiscale_discriminator",
    "stylegan2_generator",
    "stylegan2_discriminator",
    "siamese_discriminator",
]
