"""The architectures `train.py --arch` knows: seed defaults, how to build each system and
how to make its training data.

An `Arch` has a `data_kind` ("images", "labelled", "paired", "unpaired", "superres"), its seed
defaults and `build(options, data, replicas)` returning the uncompiled `AdversarialModel`.
A new system adds an entry here, a model in `kgan.models` and, for a new data kind, a
branch in `training_data`.
"""
import dataclasses
import os

from kgan.errors import UsageError
from kgan.models import GAN, SRGAN, CycleGAN, Pix2Pix
from kgan.networks import build_discriminator, build_generator


@dataclasses.dataclass(frozen=True)
class Arch:
    name: str
    description: str
    data_kind: str
    defaults: dict
    build: object


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """Batches for `fit` plus what the run reports: steps in one pass, the sources (for
    skipped-file counts), the number of classes (conditional GAN)."""

    dataset: object
    steps_per_epoch: int
    sources: tuple
    num_classes: int = None


def _norm(options, replicas):
    if options.norm == "auto":
        return "sync_batch" if replicas > 1 else "batch"
    return options.norm


def _build_mlp_gan(options, data, replicas):
    shape = (options.image_size, options.image_size, options.channels)
    widths = tuple(options.base_width * 2**i for i in range(3))  # seed: 256, 512, 1024
    generator = build_generator("mlp", latent_dim=options.latent_dim, image_shape=shape, widths=widths)
    discriminator = build_discriminator("mlp", image_shape=shape, widths=widths[::-1], dropout=options.dropout)
    return GAN(generator, discriminator, latent_dim=options.latent_dim, seed=options.seed, name="gan")


def _build_dcgan(options, data, replicas):
    common = dict(
        image_size=options.image_size,
        channels=options.channels,
        base_width=options.base_width,
        norm=_norm(options, replicas),
        num_classes=data.num_classes,
    )
    generator = build_generator("dcgan", latent_dim=options.latent_dim, **common)
    discriminator = build_discriminator("dcgan", **common)
    return GAN(generator, discriminator, latent_dim=options.latent_dim, num_classes=data.num_classes,
               seed=options.seed, name="cgan" if data.num_classes else "dcgan")


def _generator(options, replicas, name="generator"):
    kwargs = dict(base_width=options.base_width, name=name)
    if options.norm != "auto":
        kwargs["norm"] = options.norm
    if options.generator.startswith("unet"):
        kwargs["image_size"] = options.image_size
    return build_generator(options.generator, **kwargs)


def _size_multiple(options):
    return options.image_size if options.generator.startswith("unet") else 4


def _discriminator(options, replicas, input_channels, name="discriminator"):
    kwargs = dict(base_width=options.base_width, input_channels=input_channels, name=name)
    if options.norm != "auto":
        kwargs["norm"] = options.norm
    return build_discriminator(options.discriminator, **kwargs)


def _build_pix2pix(options, data, replicas):
    return Pix2Pix(
        _generator(options, replicas),
        _discriminator(options, replicas, 2 * options.channels),
        l1_weight=options.l1_weight,
        size_multiple=_size_multiple(options),
        seed=options.seed,
        name="pix2pix",
    )


def _build_cyclegan(options, data, replicas):
    return CycleGAN(
        _generator(options, replicas, "generator_ab"),
        _generator(options, replicas, "generator_ba"),
        _discriminator(options, replicas, options.channels, "discriminator_a"),
        _discriminator(options, replicas, options.channels, "discriminator_b"),
        image_shape=(options.image_size, options.image_size, options.channels),
        cycle_weight=options.cycle_weight,
        identity_weight=options.identity_weight,
        pool_size=options.pool_size,
        size_multiple=_size_multiple(options),
        seed=options.seed,
        name="cyclegan",
    )


def _build_srgan(options, data, replicas):
    from kgan.perceptual import vgg_feature_model

    norm = _norm(options, replicas)
    generator = build_generator("srgan", scale=options.scale, n_residual_blocks=options.residual_blocks,
                                width=options.base_width, upsample_width=4 * options.base_width, norm=norm,
                                upsample=options.upsample, global_skip=options.global_skip)
    discriminator = build_discriminator("srgan", image_size=None, widths=tuple(
        options.base_width * m for m in (1, 1, 2, 2, 4, 4, 8, 8)), dense_width=16 * options.base_width, norm=norm)
    features = None
    if options.content_loss == "vgg":
        features = vgg_feature_model(options.vgg_layer, weights=options.vgg_weights or "imagenet")
    return SRGAN(generator, discriminator, features, seed=options.seed, name="srgan")


_NOISE_DEFAULTS = dict(channels=3, batch_size=64, base_width=64, lr=2e-4, beta1=0.5, loss="bce", image_size=64)

ARCHS = {
    "gan": Arch("gan", "MLP GAN of seed 002 (MNIST): 784-pixel grayscale images, Adam 2e-4, batch 128", "images",
                dict(_NOISE_DEFAULTS, image_size=28, channels=1, batch_size=128, base_width=256, beta1=0.9),
                _build_mlp_gan),
    "dcgan": Arch("dcgan", "DCGAN of seed 002 (faces): 64x64 RGB, Adam 2e-4 beta1 0.5, batch 64", "images",
                  dict(_NOISE_DEFAULTS), _build_dcgan),
    "cgan": Arch("cgan", "conditional DCGAN of seed 002 (female/male faces): label embedding 32, any number of "
                 "classes", "labelled", dict(_NOISE_DEFAULTS), _build_dcgan),
    "pix2pix": Arch("pix2pix", "pix2pix of seeds 000/003: U-Net 256 + 70x70 PatchGAN, L1 x 100, batch 1",
                    "paired", dict(image_size=256, channels=3, batch_size=1, base_width=64, lr=2e-4, beta1=0.5,
                                   loss="lsgan", generator="unet_256", discriminator="basic"), _build_pix2pix),
    "cyclegan": Arch("cyclegan", "CycleGAN of seeds 000/003: ResNet-9 generators, PatchGAN, cycle 10, identity 5, "
                     "pool 50, batch 1", "unpaired",
                     dict(image_size=256, channels=3, batch_size=1, base_width=64, lr=2e-4, beta1=0.5,
                          loss="lsgan", generator="resnet_9blocks", discriminator="basic"), _build_cyclegan),
    "srgan": Arch("srgan", "SRGAN of seed 001: 64 -> 256 (x4), 16 residual blocks, VGG19 block3_conv3 content "
                  "loss x 1 + adversarial x 1e-3, batch 1", "superres",
                  dict(image_size=256, channels=3, batch_size=1, base_width=64, lr=2e-4, beta1=0.5, loss="bce"),
                  _build_srgan),
}


def _sample_photos():
    """scikit-image's bundled color photos as an ImageSource (pix2pix's embedded default)."""
    import numpy as np
    import tensorflow as tf
    from skimage import data

    from pipelines.sources import ImageSource

    names = ("astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry", "retina", "colorwheel")
    photos = [tf.image.resize(getattr(data, n)()[..., :3], [256, 256], antialias=True).numpy() for n in names]
    images = np.round(np.stack(photos)).astype(np.uint8)
    dataset = tf.data.Dataset.from_tensor_slices({"image": images, "label": np.zeros(len(images), np.int32)})
    return ImageSource("sample photos", dataset, len(images))


def _unpaired_sources(options):
    from pipelines.sources import SAMPLE_NAME, ImageSource, cyclegan_sources, sample_source, tfds_source

    if options.data == SAMPLE_NAME:
        faces = sample_source()
        return tuple(
            ImageSource(f"sample {name}s", faces.dataset.filter(lambda e, k=k: e["label"] == k), 100)
            for k, name in enumerate(faces.class_names)
        )
    if os.path.isdir(options.data):
        return cyclegan_sources(options.data)
    return tuple(tfds_source(options.data, options.data_dir, split=f"train{d}") for d in "AB")


def training_data(arch, options):
    """The batches `arch` trains on, from `--data` and the other data options."""
    from pipelines.batches import (
        edges2shoes_batches,
        image_batches,
        paired_batches,
        superres_batches,
        unpaired_batches,
    )
    from pipelines.sources import SAMPLE_NAME, ab_folder_source, folder_source, resolve_source

    if arch.data_kind in ("images", "labelled"):
        labelled = arch.data_kind == "labelled"
        source = resolve_source(options.data, data_dir=options.data_dir, labelled=labelled)
        dataset = image_batches(source, options.image_size, options.channels, options.batch_size,
                                labelled=labelled, seed=options.seed)
        num_classes = len(source.class_names) if labelled else None
        return TrainingData(dataset, source.count // options.batch_size, (source,), num_classes)
    if arch.data_kind == "paired":
        if options.data == SAMPLE_NAME or options.pairs == "edges":
            source = _sample_photos() if options.data == SAMPLE_NAME else folder_source(options.data)
            dataset = edges2shoes_batches(source, options.batch_size, options.image_size, seed=options.seed)
        else:
            if not os.path.isdir(options.data):
                raise UsageError(f"pix2pix data {options.data!r} is not a folder: pass a folder of A|B images "
                                 "(or of photos with --pairs edges), or 'sample'")
            source = ab_folder_source(options.data, options.direction)
            dataset = paired_batches(source, options.batch_size, options.load_size, options.image_size,
                                     seed=options.seed)
        return TrainingData(dataset, source.count // options.batch_size, (source,))
    if arch.data_kind == "superres":
        source = _sample_photos() if options.data == SAMPLE_NAME else resolve_source(options.data, options.data_dir)
        hr_crop = options.hr_crop or (options.image_size if options.data == SAMPLE_NAME else None)
        if options.image_size % options.scale or (hr_crop and hr_crop % options.scale):
            raise UsageError(f"--image-size {options.image_size} and --hr-crop must be multiples of --scale {options.scale}")
        dataset = superres_batches(source, options.batch_size, options.scale, hr_crop, options.image_size,
                                   seed=options.seed)
        return TrainingData(dataset, max(1, source.count // options.batch_size), (source,))
    source_a, source_b = _unpaired_sources(options)
    dataset, steps = unpaired_batches(source_a, source_b, options.batch_size, options.load_size,
                                      options.image_size, seed=options.seed)
    return TrainingData(dataset, steps, (source_a, source_b))
