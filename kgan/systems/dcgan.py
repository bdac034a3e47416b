"""DCGAN of seed 002 (faces): 64x64 RGB, transposed-conv G, strided-conv D, Adam 2e-4 beta1 0.5."""
from kgan.config import config, option
from kgan.models import GAN
from kgan.networks import dcgan_discriminator, dcgan_generator
from kgan.systems.base import NORM_CHOICES, System, power_of_two, resolve_norm
from kgan.systems.gan import NoiseConfig, noise_training_data, synthetic_images


@config
class DCGANConfig(NoiseConfig):
    norm: str = option("auto", "normalization in G and D; auto = batch (seed 002), synchronized across replicas "
                       "when there are several", choices=NORM_CHOICES)


class DCGANSystem(System):
    name = "dcgan"
    description = "DCGAN of seed 002 (faces): 64x64 RGB, Adam 2e-4 beta1 0.5, batch 64"
    Config = DCGANConfig
    tiny = dict(image_size=8, base_width=4, batch_size=8)

    def check(self, config):
        power_of_two(config.image_size, 8, "--image-size")

    def networks(self, config, replicas, num_classes=None, generator_options=None, **discriminator_options):
        common = dict(image_size=config.image_size, channels=config.channels, base_width=config.base_width,
                      norm=resolve_norm(config.norm, "batch", replicas), num_classes=num_classes)
        return (dcgan_generator(latent_dim=config.latent_dim, **common, **(generator_options or {})),
                dcgan_discriminator(**common, **discriminator_options))

    def build(self, config, replicas=1):
        generator, discriminator = self.networks(config, replicas)
        return GAN(generator, discriminator, latent_dim=config.latent_dim, seed=config.seed, name=self.name)

    def training_data(self, config):
        return noise_training_data(config)

    def synthetic_batch(self, config):
        return synthetic_images(config)


SYSTEM = DCGANSystem()
