"""StyleGAN2 of seed 000 (Karras et al. 2020; NVlabs stylegan2-ada-pytorch `train.py`): mapping +
'skip' synthesis, 'resnet' D, lazy R1 and path length, style mixing, G_ema, Adam with the
lazy-regularization adjustment.

`--cfg` picks NVlabs' network and training settings together (stylegan2-ada-pytorch
`cfg_specs`: `stylegan2` is config-f at 1024, `paper256` / `paper512` / `paper1024`, `cifar`)
or a small CPU config (`tiny32`, `tiny64`); every option left unset takes the config's value,
and the resolved values are what options.json records.
"""
import dataclasses

import tensorflow as tf

from kgan.config import config, option
from kgan.errors import UsageError
from kgan.models.stylegan2 import TRAINING_CONFIGS, StyleGAN2, auto_r1_gamma, stylegan2_optimizers
from kgan.networks.stylegan2 import CONFIGS, stylegan2_discriminator, stylegan2_generator
from kgan.systems.base import SystemConfig, System, TrainingData, power_of_two

# Network defaults of NVlabs' networks that CONFIGS leaves out.
_NETWORK_DEFAULTS = dict(channel_max=512, w_dim=512)


@config
class StyleGAN2Config(SystemConfig):
    data: str = option("sample", "'sample' (the 100 embedded 25x25 faces, upscaled; with --cond also the 100 "
                       "non-faces as a second class), a folder of images (aligned faces: seed 000's use; --cond: "
                       "one subfolder per class), or a prepared tfds dataset name such as celeb_a")
    cfg: str = option("tiny32", "network and training config (NVlabs stylegan2-ada cfg_specs; stylegan2 = "
                      "config-f at 1024; tiny32 / tiny64: small CPU configs)", choices=tuple(CONFIGS))
    batch_size: int = option(None, "global batch size (default: the --cfg's: stylegan2 32, paper256 64, tiny 16)",
                             type=int, minimum=1)
    image_size: int = option(None, "resolution, a power of two >= 8 (default: the --cfg's); data is resized to "
                             "it (short side, centre crop)", type=int, minimum=8)
    lr: float = option(None, "Adam learning rate of G and D before the lazy-regularization adjustment lr * I / "
                       "(I + 1) (default: the --cfg's: 0.002 stylegan2 / paper1024, else 0.0025)", type=float)
    r1_gamma: str = option(None, "R1 weight gamma, or 'auto' = 0.0002 image_size^2 / batch_size (ADA); 0 turns "
                           "R1 off (default: the --cfg's: stylegan2 10, paper256 1, cifar 0.01, tiny: auto)",
                           type=str)
    r1_interval: int = option(16, "lazy R1: every N steps, the penalty times N", minimum=1)
    pl_weight: float = option(None, "path-length regularization weight; 0 turns it off (default: the --cfg's: "
                              "2, cifar 0)", type=float)
    pl_interval: int = option(4, "lazy path-length regularization: every N steps, the penalty times N",
                              minimum=1)
    style_mixing_prob: float = option(None, "probability of style mixing (default: the --cfg's: 0.9, cifar 0)",
                                      type=float)
    ema_kimg: float = option(None, "G_ema half-life in thousands of images (default: the --cfg's: stylegan2 10, "
                             "paper256 20, tiny 5)", type=float)
    ema_rampup: float = option(None, "G_ema ramp-up: half-life at most images seen x this; 0 = none (default: "
                               "the --cfg's: 0.05 for cifar and tiny, else none)", type=float)
    channel_base: int = option(None, "feature maps at resolution r: min(channel_base / r, channel_max) (ADA "
                               "--cbase; default: the --cfg's)", type=int, minimum=1)
    channel_max: int = option(None, "most feature maps of a layer (ADA --cmax; default: the --cfg's)", type=int,
                              minimum=1)
    mapping_layers: int = option(None, "dense layers of the mapping network (ADA --map; default: the --cfg's: 8, "
                                 "cifar 2, tiny 4)", type=int, minimum=1)
    w_dim: int = option(None, "dimension of z and w (default: the --cfg's: 512, tiny 128)", type=int, minimum=1)
    mbstd_group: int = option(None, "minibatch-std group size, min(this, per-replica batch) (ADA --mbstd-group; "
                              "default: the --cfg's: 4, paper256 8, cifar 32)", type=int, minimum=1)
    mirror: bool = option(False, "add the left-right flip of every image to the data (ADA --mirror)")
    cond: bool = option(False, "condition G and D on the data's class labels (ADA --cond)")
    num_classes: int = option(None, "classes of a conditional model (default with --cond: the data's)", type=int,
                              minimum=2)

    def __post_init__(self):
        """Fills every unset option from --cfg (frozen: through object.__setattr__)."""
        if self.cfg not in CONFIGS:
            raise UsageError(f"unknown --cfg {self.cfg!r}: choose one of {', '.join(CONFIGS)}")
        network, training = {**_NETWORK_DEFAULTS, **CONFIGS[self.cfg]}, TRAINING_CONFIGS[self.cfg]
        defaults = dict(batch_size=training["batch_size"], image_size=network["image_size"],
                        lr=training["learning_rate"], pl_weight=training.get("pl_weight", 2.0),
                        style_mixing_prob=training.get("style_mixing_prob", 0.9), ema_kimg=training["ema_kimg"],
                        ema_rampup=training["ema_rampup"] or 0.0, channel_base=network["channel_base"],
                        channel_max=network["channel_max"], mapping_layers=network["mapping_layers"],
                        w_dim=network["w_dim"], mbstd_group=network["mbstd_group_size"],
                        r1_gamma="auto" if self.cfg.startswith("tiny") else str(training["r1_gamma"]))
        for key, value in defaults.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)

    @property
    def gamma(self):
        """The R1 weight as a number ('auto': ADA's formula at this resolution and batch)."""
        if self.r1_gamma == "auto":
            return auto_r1_gamma(self.image_size, self.batch_size)
        try:
            return float(self.r1_gamma)
        except ValueError:
            raise UsageError(f"--r1-gamma must be a number or 'auto', got {self.r1_gamma!r}") from None


class StyleGAN2System(System):
    name = "stylegan2"
    description = ("StyleGAN2 of seed 000 (faces): mapping + modulated-conv synthesis, resnet D, lazy R1 + path "
                   "length, style mixing, G_ema; --cfg stylegan2 is config-f at 1024")
    Config = StyleGAN2Config
    # 8x8 (the 4x4 block and one up block), 4 channels, w 8: a few thousand weights. The
    # minibatch-std group is 1 because ADA's groups interleave the batch (sample i in group
    # i mod B / G), so on 2 replicas any group of 2 or more holds other samples than on one
    # device and the mirrored step differs from the single-device one (as ADA's per-GPU groups
    # make its multi-GPU step differ).
    tiny = dict(cfg="tiny32", image_size=8, channel_base=64, channel_max=4, w_dim=8, mapping_layers=1,
                batch_size=4, mbstd_group=1)

    def check(self, config):
        power_of_two(config.image_size, 8, "--image-size")
        if config.gamma < 0 or config.pl_weight < 0 or config.ema_kimg < 0 or config.ema_rampup < 0:
            raise UsageError("--r1-gamma, --pl-weight, --ema-kimg and --ema-rampup must be >= 0")
        if not 0 <= config.style_mixing_prob <= 1:
            raise UsageError(f"--style-mixing-prob must be in [0, 1], got {config.style_mixing_prob}")
        if config.lr <= 0:
            raise UsageError(f"--lr must be positive, got {config.lr}")
        group = min(config.mbstd_group, config.batch_size)
        if config.batch_size % group:
            raise UsageError(f"--batch-size {config.batch_size} must be a multiple of the minibatch-std group "
                             f"{group}: change --batch-size or --mbstd-group")
        if config.num_classes and not config.cond:
            raise UsageError("--num-classes needs --cond")

    def networks(self, config):
        """(StyleGAN2Generator, discriminator) of the config."""
        common = dict(image_size=config.image_size, channel_base=config.channel_base,
                      channel_max=config.channel_max, num_classes=config.num_classes if config.cond else None)
        generator = stylegan2_generator(config.cfg, z_dim=config.w_dim, w_dim=config.w_dim,
                                        mapping_layers=config.mapping_layers, **common)
        discriminator = stylegan2_discriminator(config.cfg, mbstd_group_size=config.mbstd_group, **common)
        return generator, discriminator

    def build(self, config, replicas=1):
        generator, discriminator = self.networks(config)
        return StyleGAN2(generator, discriminator, r1_gamma=config.gamma, r1_interval=config.r1_interval,
                         pl_weight=config.pl_weight, pl_interval=config.pl_interval,
                         style_mixing_prob=config.style_mixing_prob, ema_kimg=config.ema_kimg,
                         ema_rampup=config.ema_rampup or None, seed=config.seed, name=self.name)

    def optimizers(self, config, run, steps_per_epoch):
        """ADA's Adam (betas 0, 0.99; eps 1e-8) with c = I / (I + 1) on lr and betas: I = the
        path-length interval for G, the R1 interval for D."""
        return stylegan2_optimizers(config.lr, r1_interval=config.r1_interval, pl_interval=config.pl_interval)

    def compile(self, model, config, run, steps_per_epoch):
        model.compile(*self.optimizers(config, run, steps_per_epoch), loss="bce", jit_compile=run.jit,
                      steps_per_execution=run.steps_per_execution)

    def training_data(self, config):
        from pipelines.batches import image_batches
        from pipelines.sources import SAMPLE_NAME, resolve_source, sample_faces_source

        if config.data == SAMPLE_NAME and not config.cond:
            source = sample_faces_source()
        else:
            source = resolve_source(config.data, data_dir=config.data_dir, labelled=config.cond)
        dataset = image_batches(source, config.image_size, 3, config.batch_size, labelled=config.cond,
                                seed=config.seed, mirror=config.mirror)
        steps = source.count * (2 if config.mirror else 1) // config.batch_size
        return TrainingData(dataset, steps, (source,), source.class_names if config.cond else ())

    def with_data(self, config, data):
        if not config.cond:
            return config
        return dataclasses.replace(config, num_classes=config.num_classes or len(data.class_names))

    def synthetic_batch(self, config):
        shape = (config.batch_size, config.image_size, config.image_size, 3)
        images = tf.random.stateless_uniform(shape, [0, 0], -1.0, 1.0)
        if config.cond:
            return images, tf.range(config.batch_size, dtype=tf.int32) % (config.num_classes or 2)
        return images


SYSTEM = StyleGAN2System()
