"""String-keyed network factories (as junyanz `define_G` / `define_D`).

`build_generator("dcgan", image_size=64)` returns a `keras.Model`; the keys are listed in
GENERATORS and DISCRIMINATORS.
"""
from kgan.networks.dcgan import dcgan_discriminator, dcgan_generator
from kgan.networks.mlp import mlp_discriminator, mlp_generator
from kgan.networks.srgan import srgan_discriminator, srgan_generator

GENERATORS = {"mlp": mlp_generator, "dcgan": dcgan_generator, "srgan": srgan_generator}
DISCRIMINATORS = {"mlp": mlp_discriminator, "dcgan": dcgan_discriminator, "srgan": srgan_discriminator}


def _build(registry, kind, name, kwargs):
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(sorted(registry))}")
    return registry[name](**kwargs)


def build_generator(name, **kwargs):
    """Generator by key (see GENERATORS), keyword arguments passed to its builder."""
    return _build(GENERATORS, "generator", name, kwargs)


def build_discriminator(name, **kwargs):
    """Discriminator by key (see DISCRIMINATORS), keyword arguments passed to its builder."""
    return _build(DISCRIMINATORS, "discriminator", name, kwargs)


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
]
