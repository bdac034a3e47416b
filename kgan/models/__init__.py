"""Trainable systems: `keras.Model` subclasses with a custom `train_step`."""
from kgan.models.base import AdversarialModel
from kgan.models.cyclegan import CycleGAN
from kgan.models.gan import GAN
from kgan.models.image_pool import ImagePool
from kgan.models.pix2pix import Pix2Pix
from kgan.models.siamese import SiameseGAN
from kgan.models.srgan import SRGAN

__all__ = ["AdversarialModel", "CycleGAN", "GAN", "ImagePool", "Pix2Pix", "SRGAN", "SiameseGAN"]
