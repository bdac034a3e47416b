"""Conditional DCGAN of seed 002 (female / male faces): a 32-wide label embedding in G; D
sees the label by projection (Miyato & Koyama 2018, the default) or by the seed's
concatenation (`--conditioning concat`). On `--data mnist-sample` G also has class-conditional
batch norm and the MSGAN mode-seeking term (`--conditional-norm`, `--mode-seeking 0.3`): without
them G ignored its noise there (one image or two per digit)."""
import dataclasses

import tensorflow as tf

from kgan.config import config, option
from kgan.errors import UsageError
from kgan.models import GAN
from kgan.networks.dcgan import CONDITIONINGS
from kgan.systems.base import resolve_norm
from kgan.systems.dcgan import DCGANConfig, DCGANSystem
from kgan.systems.gan import noise_training_data, synthetic_images
from pipelines.sources import MNIST_SAMPLE_NAME


@config
class CGANConfig(DCGANConfig):
    data: str = option("sample", "'sample' (embedded faces vs non-faces: 2 classes), a folder with one subfolder "
                       "per class (females/, males/), or a labelled tfds dataset")
    num_classes: int = option(None, "number of classes (default: the data's)", type=int, minimum=2)
    conditioning: str = option("projection", "how D sees the label: projection = psi(phi(x)) + <embed(y), phi(x)> "
                               "(Miyato & Koyama 2018); concat = seed 002's label embedding concatenated to the "
                               "image features", choices=CONDITIONINGS, before="concat")
    mode_seeking: float = option(None, "weight lambda of MSGAN's mode-seeking term (Mao et al. 2019): G also "
                                 "minimizes lambda * mean|z1 - z2| / mean|G(z1, y) - G(z2, y)| over pairs of samples "
                                 "of one label; 0 = off (default: 0.3 on --data mnist-sample, else 0)", type=float,
                                 minimum=0, before=0.0)
    conditional_norm: bool = option(None, "class-conditional batch norm in G, a scale and offset per label (de Vries "
                                    "et al. 2017; Miyato & Koyama 2018) (default: on with --data mnist-sample, else "
                                    "off)", before=False)

    def __post_init__(self):
        """Fills the unset --mode-seeking / --conditional-norm from --data (frozen: through
        object.__setattr__): on for mnist-sample, off otherwise."""
        digits = self.data == MNIST_SAMPLE_NAME
        if self.mode_seeking is None:
            object.__setattr__(self, "mode_seeking", 0.3 if digits else 0.0)
        if self.conditional_norm is None:
            object.__setattr__(self, "conditional_norm", digits)


class CGANSystem(DCGANSystem):
    name = "cgan"
    description = "conditional DCGAN of seed 002 (female/male faces): label embedding 32, any number of classes"
    Config = CGANConfig

    def check(self, config):
        super().check(config)
        if config.conditional_norm and resolve_norm(config.norm, "batch", 1) not in ("batch", "sync_batch"):
            raise UsageError(f"--conditional-norm needs batch norm in G: drop --norm {config.norm} or "
                             "--conditional-norm")

    def build(self, config, replicas=1):
        generator, discriminator = self.networks(config, replicas, config.num_classes,
                                                 dict(conditional_norm=config.conditional_norm),
                                                 conditioning=config.conditioning)
        return GAN(generator, discriminator, latent_dim=config.latent_dim, num_classes=config.num_classes,
                   mode_seeking=config.mode_seeking, seed=config.seed, name=self.name)

    def training_data(self, config):
        return noise_training_data(config, labelled=True)

    def with_data(self, config, data):
        return dataclasses.replace(config, num_classes=config.num_classes or len(data.class_names))

    def synthetic_batch(self, config):
        labels = tf.range(config.batch_size, dtype=tf.int32) % (config.num_classes or 2)
        return synthetic_images(config), labels


SYSTEM = CGANSystem()
