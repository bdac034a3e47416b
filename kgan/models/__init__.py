"""Trainable systems: `keras.Model` subclasses with a custom `train_step`."""
from kgan.models.base import AdversarialModel
from kgan.models.gan import GAN

__all__ = ["AdversarialModel", "GAN"]
