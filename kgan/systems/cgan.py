"""Conditional DCGAN of seed 002 (female / male faces): a 32-wide label embedding in G; D
sees the label by projection (Miyato & Koyama 2018, the default) or by the seed's
concatenation (`--conditioning concat`)."""
import dataclasses

import tensorflow as tf

from kgan.config import config, option
from kgan.models import GAN
from kgan.networks.dcgan import CONDITIONINGS
from kgan.systems.dcgan import DCGANConfig, DCGANSystem
from kgan.systems.gan import noise_training_data, synthetic_images


@config
class CGANConfig(DCGANConfig):
    data: str = option("sample", "'sample' (embedded faces vs non-faces: 2 classes), a folder with one subfolder "
                       "per class (females/, males/), or a labelled tfds dataset")
    num_classes: int = option(None, "number of classes (default: the data's)", type=int, minimum=2)
    conditioning: str = option("projection", "how D sees the label: projection = psi(phi(x)) + <embed(y), phi(x)> "
                               "(Miyato & Koyama 2018); concat = seed 002's label embedding concatenated to the "
                               "image features", choices=CONDITIONINGS, before="concat")


class CGANSystem(DCGANSystem):
    name = "cgan"
    description = "conditional DCGAN of seed 002 (female/male faces): label embedding 32, any number of classes"
    Config = CGANConfig

    def build(self, config, replicas=1):
        generator, discriminator = self.networks(config, replicas, config.num_classes,
                                                 conditioning=config.conditioning)
        return GAN(generator, discriminator, latent_dim=config.latent_dim, num_classes=config.num_classes,
                   seed=config.seed, name=self.name)

    def training_data(self, config):
        return noise_training_data(config, labelled=True)

    def with_data(self, config, data):
        return dataclasses.replace(config, num_classes=config.num_classes or len(data.class_names))

    def synthetic_batch(self, config):
        labels = tf.range(config.batch_size, dtype=tf.int32) % (config.num_classes or 2)
        return synthetic_images(config), labels


SYSTEM = CGANSystem()
