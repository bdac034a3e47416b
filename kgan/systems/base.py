"""What a system is: its config, how to build and compile its model, its training data,
its training phases and a synthetic batch. `train.py`, `kgan.evaluate` and the benchmarks
use only this interface (and the model contract of `kgan.models.base`).

A new system is one module in `kgan/systems/` defining `SYSTEM = MySystem()`; the registry
(`kgan.systems.SYSTEMS`) finds it.
"""
import dataclasses
import os

import keras

from kgan.config import config, option
from kgan.errors import UsageError
from kgan.losses import GAN_MODES
from kgan.optimizers import Adam

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
NORM_CHOICES = ("auto", "batch", "sync_batch", "instance", "none")
TRANSFORM_PLACEMENTS = ("host", "device")


@config
class SystemConfig:
    """Options every system has; a system's config subclasses it (or `AdversarialConfig`)."""

    data: str = option("sample", "'sample' (embedded data, no download), a folder, or a prepared tfds dataset name")
    data_dir: str = option(None, "tfds data directory holding prepared datasets", type=str, fixed=False)
    batch_size: int = option(64, "global batch size (losses are averaged over it)", minimum=1)
    precision: str = option("float32", "Keras dtype policy", choices=PRECISIONS)
    seed: int = option(0, "random seed (weights, data order, noise)")
    transforms: str = option("host", "where the random per-image data transforms (crops, flips, edges + hints, "
                             "bicubic LR) run: host = in tf.data; device = at the start of the compiled train step, "
                             "on each replica, from uint8 batches", choices=TRANSFORM_PLACEMENTS, fixed=False)


@config
class AdversarialConfig(SystemConfig):
    """Options of the systems trained with one `GANLoss` and two Adam optimizers."""

    loss: str = option("bce", "GAN loss on the discriminator's logits", choices=GAN_MODES)
    lr: float = option(2e-4, "Adam learning rate of G and D")
    beta1: float = option(0.5, "Adam beta_1 of G and D")


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """Batches for `fit` plus what the run reports: steps in one pass, the sources (for
    skipped-file counts), the class names of labelled data; with `--transforms device` the
    batches are raw and `transform` is the model's `input_transform`."""

    dataset: object
    steps_per_epoch: int
    sources: tuple
    class_names: tuple = ()
    transform: object = None

    def host_batches(self, seed):
        """The batches as the step sees them, transformed on the host whatever `--transforms`
        says (`pipelines.batches.on_host`): what the metrics embed outside the train step."""
        from pipelines.batches import on_host

        return self.dataset if self.transform is None else on_host(self.dataset, self.transform, seed)


@dataclasses.dataclass(frozen=True)
class Phase:
    """A stretch of training with one train step: `steps` long, or `epochs` of the run's
    steps per epoch (neither: to the end of the run); `name` is passed to
    `model.set_phase` (SRGAN "pretrain", pix2pixHD "fix_global")."""

    name: str
    steps: int = None
    epochs: int = None

    def length(self, steps_per_epoch):
        """Steps of this phase; None: to the end of the run."""
        return self.steps if self.epochs is None else self.epochs * steps_per_epoch


def resolve_norm(norm, seed_norm, replicas):
    """--norm value -> the builders' norm: "auto" is the seed's norm, with batch norm
    synchronized across replicas when there are several."""
    if norm != "auto":
        return norm
    return "sync_batch" if seed_norm == "batch" and replicas > 1 else seed_norm


def learning_rate(lr, run, steps_per_epoch):
    """`lr`, or junyanz's linear decay after `run.epochs` with `run.epochs_decay` > 0."""
    from kgan.schedules import LinearDecay

    if not run.epochs_decay:
        return lr
    return LinearDecay(lr, steps_per_epoch, run.epochs, run.epochs_decay)


class System:
    """Base class of a system definition. Subclasses set `name`, `description`, `Config`
    and implement `build`, `training_data` and `synthetic_batch`."""

    name = ""
    description = ""
    Config = AdversarialConfig
    # Config overrides for a network of a few thousand weights: the contract tests and smoke runs.
    tiny = {}
    # True where training_data places its per-image transforms as --transforms says.
    device_transforms = False

    def build(self, config, replicas=1):
        """The uncompiled `AdversarialModel`; `replicas` > 1 synchronizes batch norm."""
        raise NotImplementedError

    def training_data(self, config):
        """`TrainingData` for `fit`, made from the config's data options."""
        raise NotImplementedError

    def synthetic_batch(self, config):
        """One random batch with the structure and shapes of `training_data`'s (benchmarks,
        contract tests)."""
        raise NotImplementedError

    def with_data(self, config, data):
        """The config completed from the training data (the conditional GAN's classes)."""
        return config

    def optimizers(self, config, run, steps_per_epoch):
        """(g_optimizer, d_optimizer): kgan.optimizers.Adam(lr, beta1), with --epochs-decay
        junyanz's decay."""
        return tuple(Adam(learning_rate(config.lr, run, steps_per_epoch), beta_1=config.beta1)
                     for _ in range(2))

    def compile(self, model, config, run, steps_per_epoch):
        model.compile(*self.optimizers(config, run, steps_per_epoch), loss=config.loss, jit_compile=run.jit,
                      steps_per_execution=run.steps_per_execution)

    def phases(self, config):
        """The training phases in order; the last runs to the end."""
        return (Phase("train"),)

    def default_logdir(self, config):
        return os.path.join("runs", f"{self.name}-{os.path.basename(os.path.normpath(config.data))}")

    def check(self, config):
        """One-line UsageError for option combinations the builders cannot take."""

    def check_common(self, config):
        """`check` plus the checks of the shared options."""
        if config.transforms == "device" and not self.device_transforms:
            from kgan.systems import SYSTEMS

            movable = ", ".join(sorted(name for name, system in SYSTEMS.items() if system.device_transforms))
            raise UsageError(f"--transforms device: the {self.name} data has no per-image transforms to move "
                             f"(systems with them: {movable})")
        self.check(config)


def power_of_two(value, minimum, what):
    """UsageError unless value is a power of two >= minimum."""
    if value < minimum or value & (value - 1):
        raise UsageError(f"{what} must be a power of two >= {minimum}, got {value}")
