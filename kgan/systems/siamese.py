"""Siamese GAN of seed 004 (HD style transfer: landscapes -> Van Gogh): G on S x S tiles,
the combo model (D judges 2S x 2S images of 4 translated tiles), a siamese D that outputs
vectors, and the seed's margin + transformation-vector losses (`kgan.models.siamese`).

Defaults and their sources: S = 64 (the seed's example); vec_len 128 (MelGAN-VC, the seed
author's code; TraVeLGAN uses 1000); margin 2.0 (the seed names a "cost" without a value:
MelGAN-VC's `delta` 2, a margin on an unsquared Euclidean distance as here); travel_l2 0
(the seed's term is the cosine only; 1 is MelGAN-VC's and TraVeLGAN's weight of the squared
distance); batch 16, Adam 2e-4, beta_1 0.5 (MelGAN-VC and TraVeLGAN); G is junyanz's U-Net
built for S x S (TraVeLGAN's G is a U-Net with batch norm), without dropout; D is
TraVeLGAN's `SiameseNet` with batch norm.
"""
import os

import tensorflow as tf

from kgan.config import config, inherit, option
from kgan.errors import UsageError
from kgan.models import SiameseGAN
from kgan.networks import build_discriminator, build_generator
from kgan.systems.base import NORM_CHOICES, System, SystemConfig, TrainingData, power_of_two, resolve_norm

# --generator -> (kgan.networks key, whether the builder takes the tile size).
GENERATORS = {"unet": ("unet_256", True), "resnet_6blocks": ("resnet_6blocks", False),
              "resnet_9blocks": ("resnet_9blocks", False)}


@config
class SiameseConfig(SystemConfig):
    data: str = option("sample", "'sample' (embedded: scikit-image's 7 colour photos -> its 3 texture photos), a "
                       "folder with trainA/ and trainB/ of images of any size, or a prepared tfds dataset such as "
                       "cycle_gan/vangogh2photo")
    direction: str = option("AtoB", "which domain is translated: AtoB (trainA -> trainB) or BtoA; "
                            "cycle_gan/vangogh2photo's trainA is Van Gogh, so photos -> Van Gogh is BtoA",
                            choices=("AtoB", "BtoA"))
    batch_size: int = inherit(16)
    lr: float = option(2e-4, "Adam learning rate of G and D (MelGAN-VC, TraVeLGAN)")
    beta1: float = option(0.5, "Adam beta_1 of G and D (MelGAN-VC, TraVeLGAN)")
    tile_size: int = option(64, "S: the generator's tile side; training crops and D's input are 2S x 2S (seed: 64)",
                            minimum=4)
    train_scale: float = option(1.0, "resize each training image by this factor before the random 2S x 2S crops "
                                "(the seed's fix for HD crops without content, e.g. 0.5)")
    combo: bool = option(True, "train through the combo model (4 tiles translated and joined, D on 2S x 2S); "
                         "--no-combo: G and D on the single S x S tiles (the seed's baseline with visible seams)")
    generator: str = option("unet", "generator: unet (junyanz U-Net for S x S, no dropout), resnet_6blocks or "
                            "resnet_9blocks", choices=tuple(GENERATORS))
    base_width: int = option(64, "width of the first conv of G and D (TraVeLGAN --nfilt)", minimum=1)
    vec_len: int = option(128, "length of D's output vector (MelGAN-VC 128, TraVeLGAN 1000)", minimum=1)
    margin: float = option(2.0, "m of D's max(0, m - ||D(AB)||) (the seed's 'cost'; MelGAN-VC's delta 2)")
    travel_l2: float = option(0.0, "weight of the squared distance of the transformation vectors added to -cos "
                              "(seed 0; MelGAN-VC and TraVeLGAN 1)", minimum=0)
    norm: str = option("auto", "normalization in G and D; auto = batch (TraVeLGAN), synchronized across replicas",
                       choices=NORM_CHOICES)
    tiles_per_call: int = option(64, "tiles the exported translator runs through G at once (its memory bound)",
                                 minimum=1)


def domain_sources(config):
    """(source A, source B) of the config's data, A the domain translated."""
    from pipelines.sources import SAMPLE_NAME, cyclegan_sources, style_sample_sources, tfds_source

    if config.data == SAMPLE_NAME:
        return style_sample_sources()
    if os.path.isdir(config.data):
        sources = cyclegan_sources(config.data)
    else:
        sources = tuple(tfds_source(config.data, config.data_dir, split=f"train{d}") for d in "AB")
    return sources if config.direction == "AtoB" else sources[::-1]


class SiameseSystem(System):
    name = "siamese"
    description = "siamese GAN of seed 004: G on S x S tiles, combo 2S x 2S for D, vector losses, HD by tiles"
    Config = SiameseConfig
    tiny = dict(tile_size=16, generator="resnet_6blocks", base_width=4, vec_len=8, batch_size=4)
    device_transforms = True

    def check(self, config):
        # The U-Net halves S to 1 x 1 (S >= 32), a ResNet's bottleneck S / 4 is reflect-padded by 1, and the
        # siamese discriminator halves 2S (or S) down to 4 x 4: powers of two.
        power_of_two(config.tile_size, 32 if config.generator == "unet" else 8,
                     f"--tile-size of the {config.generator} generator")
        if config.batch_size < 2:
            raise UsageError("--batch-size must be at least 2: the transformation vectors pair images of a batch")
        if not 0 < config.train_scale <= 1:
            raise UsageError(f"--train-scale must be in (0, 1], got {config.train_scale}")

    def build(self, config, replicas=1):
        norm = resolve_norm(config.norm, "batch", replicas)
        key, sized = GENERATORS[config.generator]
        g_kwargs = dict(base_width=config.base_width, norm=norm, name="generator")
        if sized:
            g_kwargs.update(image_size=config.tile_size, dropout=0.0)
        generator = build_generator(key, **g_kwargs)
        discriminator = build_discriminator(
            "siamese", image_size=config.tile_size * (2 if config.combo else 1), vec_len=config.vec_len,
            base_width=config.base_width, norm=norm, name="discriminator")
        return SiameseGAN(generator, discriminator, config.tile_size, margin=config.margin,
                          travel_l2=config.travel_l2, combo=config.combo, tiles_per_call=config.tiles_per_call,
                          seed=config.seed, name=self.name)

    def compile(self, model, config, run, steps_per_epoch):
        model.compile(*self.optimizers(config, run, steps_per_epoch), jit_compile=run.jit,
                      steps_per_execution=run.steps_per_execution)

    def training_data(self, config):
        from pipelines.batches import place, unpaired_crop_pipeline
        from pipelines.sources import SAMPLE_NAME

        source_a, source_b = domain_sources(config)
        raw, transform, steps = unpaired_crop_pipeline(source_a, source_b, config.batch_size, 2 * config.tile_size,
                                                       config.train_scale, cache=config.data == SAMPLE_NAME,
                                                       seed=config.seed)
        dataset, transform = place(raw, transform, config.seed, config.transforms)
        return TrainingData(dataset, steps, (source_a, source_b), transform=transform)

    def synthetic_batch(self, config):
        side = 2 * config.tile_size
        images = tf.random.stateless_uniform((config.batch_size, side, side, 3), [0, 0], -1.0, 1.0)
        return {"a": images, "b": -images}


SYSTEM = SiameseSystem()
