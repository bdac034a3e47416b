"""pix2pix of seeds 000 and 003 (junyanz): U-Net 256 + 70x70 PatchGAN, L1 x 100, batch 1."""
import os

import tensorflow as tf

from kgan.config import config, inherit, option
from kgan.errors import UsageError
from kgan.models import Pix2Pix
from kgan.networks import build_discriminator, build_generator
from kgan.systems.base import AdversarialConfig, NORM_CHOICES, System, TrainingData, power_of_two, resolve_norm

# Generators that translate an image into one of the same size, by key (kgan.networks).
TRANSLATION_GENERATORS = ("unet_256", "unet_128", "unet_256_seed000", "resnet_9blocks", "resnet_6blocks",
                          "resnet_9blocks_seed000")
PATCH_DISCRIMINATORS = ("basic", "n_layers", "patch_seed000")


@config
class TranslationConfig(AdversarialConfig):
    """Options shared by the image-to-image systems (junyanz's option names)."""

    batch_size: int = inherit(1)
    loss: str = inherit("lsgan")
    image_size: int = option(256, "training crop side in pixels", minimum=1)
    load_size: int = option(None, "resize to this before the random crop of --image-size (default 1.12 x "
                            "--image-size, junyanz's 286 for 256)", type=int, minimum=1)
    base_width: int = option(64, "width of the first conv of G and D (junyanz --ngf / --ndf)", minimum=1)
    generator: str = option("unet_256", "generator network (junyanz --netG)", choices=TRANSLATION_GENERATORS)
    discriminator: str = option("basic", "discriminator network (junyanz --netD; basic = 70x70 PatchGAN)",
                                choices=PATCH_DISCRIMINATORS)
    n_layers_d: int = option(3, "stride-2 convs of the n_layers discriminator (junyanz --n_layers_D)", minimum=1)
    norm: str = option("auto", "normalization in G and D; auto = the seed's (pix2pix: batch, synchronized across "
                       "replicas; CycleGAN and *_seed000 networks: instance)", choices=NORM_CHOICES)

    @property
    def crop_load_size(self):
        return self.load_size or round(self.image_size * 286 / 256)


@config
class Pix2PixConfig(TranslationConfig):
    data: str = option("sample", "'sample' (bundled photos -> their edges + colour hints), a folder of A|B "
                       "side-by-side files (facades, maps), or of photos with --pairs edges")
    pairs: str = option("ab", "folder layout: ab = A|B side-by-side files; edges = photos paired with their edges "
                        "and colour hints (seed 000's shoes)", choices=("ab", "edges"))
    direction: str = option("AtoB", "A|B files: which half is the input", choices=("AtoB", "BtoA"))
    l1_weight: float = option(100.0, "weight of the L1 loss to the target (junyanz --lambda_L1)")
    dropout: bool = option(True, "dropout in the U-Net decoder (junyanz: on unless --no_dropout)")


def seed_norm(config, default):
    return "instance" if config.generator.endswith("_seed000") else default


def translation_networks(config, replicas, default_norm, discriminator_channels, names=("generator",
                                                                                      "discriminator")):
    """(generator, discriminator) of a translation config."""
    norm = resolve_norm(config.norm, seed_norm(config, default_norm), replicas)
    g_kwargs = dict(base_width=config.base_width, norm=norm, name=names[0])
    if config.generator.startswith("unet"):
        g_kwargs.update(image_size=config.image_size if config.generator != "unet_128" else 128)
        g_kwargs["dropout"] = 0.5 if getattr(config, "dropout", False) else 0.0
    d_kwargs = dict(base_width=config.base_width, norm=norm, input_channels=discriminator_channels, name=names[1])
    if config.discriminator == "n_layers":
        d_kwargs["n_layers"] = config.n_layers_d
    return build_generator(config.generator, **g_kwargs), build_discriminator(config.discriminator, **d_kwargs)


def size_multiple(config):
    """Input sizes the generator takes: U-Net: multiples of its crop; ResNet: of 4."""
    if config.generator == "unet_128":
        return 128
    return config.image_size if config.generator.startswith("unet") else 4


def check_translation(config):
    if config.generator.startswith("unet"):
        if config.generator == "unet_128" and config.image_size % 128:
            raise UsageError(f"--generator unet_128 takes multiples of 128 pixels, got --image-size {config.image_size}")
        power_of_two(config.image_size, 32, "--image-size of the U-Net generators")
    elif config.image_size % 4:
        raise UsageError(f"--image-size must be a multiple of 4 for the ResNet generators, got {config.image_size}")
    smallest = 3 * 2**config.n_layers_d if config.discriminator != "patch_seed000" else 2 ** (config.n_layers_d + 1)
    if config.image_size < smallest:
        raise UsageError(f"--image-size {config.image_size} is too small for the {config.discriminator} "
                         f"discriminator with {config.n_layers_d} layers: use at least {smallest}")
    if config.crop_load_size < config.image_size:
        raise UsageError(f"--load-size {config.crop_load_size} is smaller than --image-size {config.image_size}: "
                         "the crop must fit")


def _looks_like_ab_files(source_folder):
    """True when the first image is about twice as wide as high (A|B side by side)."""
    from PIL import Image

    from pipelines.sources import list_images

    paths = list_images(source_folder)
    if not paths:
        return True
    try:
        with Image.open(paths[0]) as image:
            width, height = image.size
    except OSError:
        return True
    return abs(width - 2 * height) <= 2


class Pix2PixSystem(System):
    name = "pix2pix"
    description = "pix2pix of seeds 000/003: U-Net 256 + 70x70 PatchGAN, L1 x 100, batch 1"
    Config = Pix2PixConfig
    tiny = dict(image_size=32, base_width=4, batch_size=2, dropout=False)
    device_transforms = True

    def check(self, config):
        check_translation(config)

    def build(self, config, replicas=1):
        generator, discriminator = translation_networks(config, replicas, "batch", 6)
        return Pix2Pix(generator, discriminator, l1_weight=config.l1_weight, size_multiple=size_multiple(config),
                       seed=config.seed, name=self.name)

    def training_data(self, config):
        from pipelines.batches import edges2shoes_pipeline, paired_pipeline, place
        from pipelines.sources import SAMPLE_NAME, ab_folder_source, folder_source, sample_photos_source

        if config.data == SAMPLE_NAME or config.pairs == "edges":
            source = sample_photos_source() if config.data == SAMPLE_NAME else folder_source(config.data)
            pipeline = edges2shoes_pipeline(source, config.batch_size, config.image_size, seed=config.seed)
        else:
            if not os.path.isdir(config.data):
                raise UsageError(f"pix2pix data {config.data!r} is not a folder: pass a folder of A|B images "
                                 "(or of photos with --pairs edges), or 'sample'")
            if not _looks_like_ab_files(config.data):
                raise UsageError(f"the images in {config.data!r} are not A|B pairs (twice as wide as high, A left, "
                                 "B right): for ordinary photos pass --pairs edges")
            source = ab_folder_source(config.data, config.direction)
            pipeline = paired_pipeline(source, config.batch_size, config.crop_load_size, config.image_size,
                                       seed=config.seed)
        dataset, transform = place(*pipeline, config.seed, config.transforms)
        return TrainingData(dataset, source.count // config.batch_size, (source,), transform=transform)

    def synthetic_batch(self, config):
        images = tf.random.stateless_uniform((config.batch_size, config.image_size, config.image_size, 3), [0, 0],
                                             -1.0, 1.0)
        return {"source": images, "target": -images}


SYSTEM = Pix2PixSystem()
