"""`python train.py`: train any kgan architecture on any supported data.

Every failure caused by the user's input ends in one line on stderr and exit status 2.
"""
import argparse
import json
import math
import os
import sys

from kgan.errors import UsageError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker")
# Options that define the model: a resumed run takes them from its options.json.
MODEL_OPTIONS = (
    "arch", "data", "image_size", "channels", "base_width", "latent_dim", "dropout", "norm",
    "loss", "batch_size", "lr", "beta1", "precision", "seed",
)
OPTIONS_FILE = "options.json"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    from kgan.archs import ARCHS
    from kgan.layers import NORMS
    from kgan.losses import GAN_MODES

    arch_help = "; ".join(f"{a.name}: {a.description}" for a in ARCHS.values())
    p = _Parser(
        prog="train.py",
        description="Train a kgan GAN. Scalars, sample grids and the graph go to TensorBoard "
        "(tensorboard --logdir LOGDIR); checkpoints to LOGDIR/checkpoints.",
    )
    p.add_argument("--arch", choices=sorted(ARCHS), default=None, help=f"architecture ({arch_help}). Default dcgan")
    p.add_argument("--data", default=None, help="'sample' (embedded faces/non-faces, no download; default), "
                   "a folder of images (class subfolders for cgan), or a tfds dataset name such as mnist")
    p.add_argument("--data-dir", default=None, help="tfds data directory holding prepared datasets")
    p.add_argument("--steps", type=int, default=None, help="total train steps (overrides --epochs)")
    p.add_argument("--epochs", type=int, default=None, help="total epochs (default 25)")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="steps per epoch (default: one pass over the data)")
    p.add_argument("--batch-size", type=int, default=None, help="global batch size (default: the arch's seed value)")
    p.add_argument("--image-size", type=int, default=None, help="image side in pixels (default: the arch's)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None, help="image channels (default: the arch's)")
    p.add_argument("--base-width", type=int, default=None, help="width of the first layer (seed: 256 gan, 64 dcgan)")
    p.add_argument("--latent-dim", type=int, default=None, help="noise dimension (default 100)")
    p.add_argument("--dropout", type=float, default=None, help="dropout of the MLP discriminator (default 0.3)")
    p.add_argument("--norm", choices=("auto",) + NORMS, default=None,
                   help="normalization in conv nets; auto = batch, or sync_batch with several replicas")
    p.add_argument("--loss", choices=GAN_MODES, default=None, help="GAN loss (default: the arch's, bce)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate for G and D (default 2e-4)")
    p.add_argument("--beta1", type=float, default=None, help="Adam beta_1 (default: 0.9 gan, 0.5 dcgan/cgan)")
    p.add_argument("--precision", choices=PRECISIONS, default=None, help="dtype policy (default float32)")
    p.add_argument("--strategy", choices=STRATEGIES, default="default",
                   help="tf.distribute strategy: mirrored = all local devices; multi_worker reads TF_CONFIG")
    p.add_argument("--jit", action="store_true", help="compile the train step with XLA")
    p.add_argument("--steps-per-execution", type=int, default=1, help="train steps per compiled call")
    p.add_argument("--logdir", default=None, help="run directory for TensorBoard and checkpoints "
                   "(default runs/ARCH-DATA)")
    p.add_argument("--resume", action="store_true", help="continue the run in --logdir from its latest checkpoint")
    p.add_argument("--checkpoint-every", type=int, default=500, help="save a checkpoint every N steps")
    p.add_argument("--keep-checkpoints", type=int, default=3, help="how many recent checkpoints to keep")
    p.add_argument("--log-every", type=int, default=10, help="write loss scalars every N steps")
    p.add_argument("--sample-every", type=int, default=100,
                   help="write a sample grid at epoch ends at most every N steps (and at the end)")
    p.add_argument("--export", nargs="?", const="saved_models", default=None, metavar="DIR",
                   help="after training, export the generator for TF Serving to DIR/ARCH/VERSION "
                   "(DIR defaults to saved_models)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    return p


def _resolve(args):
    """Fills arch-dependent defaults; with --resume takes model options from options.json."""
    from kgan.archs import ARCHS

    if args.resume:
        if args.logdir is None:
            raise UsageError("--resume needs --logdir: pass the run directory to continue")
        path = os.path.join(args.logdir, OPTIONS_FILE)
        if not os.path.exists(path):
            raise UsageError(f"no {OPTIONS_FILE} in {args.logdir!r}: it is not a kgan run directory")
        with open(path) as f:
            saved = json.load(f)
        for key in MODEL_OPTIONS:
            given = getattr(args, key)
            if given is not None and given != saved[key]:
                raise UsageError(
                    f"--{key.replace('_', '-')} {given} differs from the resumed run's {saved[key]}: "
                    "drop it or start a new --logdir"
                )
            setattr(args, key, saved[key])
        return args
    arch = ARCHS[args.arch or "dcgan"]
    defaults = dict(
        arch=arch.name, data="sample", image_size=arch.image_size, channels=arch.channels,
        base_width=arch.base_width, latent_dim=100, dropout=0.3, norm="auto", loss=arch.loss,
        batch_size=arch.batch_size, lr=arch.lr, beta1=arch.beta_1, precision="float32", seed=0,
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.logdir is None:
        args.logdir = os.path.join("runs", f"{args.arch}-{os.path.basename(os.path.normpath(args.data))}")
    return args


def _validate(args):
    for key in ("steps", "epochs", "steps_per_epoch", "batch_size", "image_size", "base_width", "latent_dim",
                "steps_per_execution", "checkpoint_every", "keep_checkpoints", "log_every", "sample_every"):
        value = getattr(args, key)
        if value is not None and value < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be at least 1, got {value}")
    if not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.lr <= 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    try:
        os.makedirs(args.logdir, exist_ok=True)
        probe = os.path.join(args.logdir, ".write_probe")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as error:
        raise UsageError(f"cannot write to --logdir {args.logdir!r} ({error.strerror}): pass a writable directory")


def _save_options(args, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(vars(args), f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _strategy(name):
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def train(args):
    """Runs one training described by resolved, validated options; returns the model."""
    import keras

    from kgan.archs import ARCHS
    from kgan.callbacks import ProgressBar, SkippedFilesReport, StopAtStep, TensorBoardLogger
    from kgan.checkpoints import CheckpointCallback, Checkpointer
    from kgan.export import export_generator
    from pipelines.batches import image_batches
    from pipelines.sources import resolve_source

    arch = ARCHS[args.arch]
    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_dtype_policy(args.precision)
    strategy = _strategy(args.strategy)
    labelled = arch.data_kind == "labelled"
    source = resolve_source(args.data, data_dir=args.data_dir, labelled=labelled)
    dataset = image_batches(source, args.image_size, args.channels, args.batch_size, labelled=labelled, seed=args.seed)
    num_classes = len(source.class_names) if labelled else None

    with strategy.scope():
        model = arch.build(args, num_classes, strategy.num_replicas_in_sync)
        model.compile(
            keras.optimizers.Adam(args.lr, beta_1=args.beta1),
            keras.optimizers.Adam(args.lr, beta_1=args.beta1),
            loss=args.loss,
            jit_compile=args.jit,
            steps_per_execution=args.steps_per_execution,
        )
        checkpointer = Checkpointer(model, os.path.join(args.logdir, "checkpoints"), args.keep_checkpoints)
        if args.resume:
            if checkpointer.restore_latest() is None:
                raise UsageError(f"no checkpoint in {checkpointer.directory!r} to resume from: drop --resume")
        elif checkpointer.latest is not None:
            raise UsageError(
                f"{args.logdir!r} already holds a run ({checkpointer.latest}): pass --resume to continue "
                "it or choose a new --logdir"
            )

    steps_per_epoch = args.steps_per_epoch or max(1, source.count // args.batch_size)
    total_steps = args.steps or (args.epochs or 25) * steps_per_epoch
    _save_options(args, os.path.join(args.logdir, OPTIONS_FILE))
    step = int(model.step)
    print(f"{arch.name} on {source.name} ({source.count} images): steps {step} -> {total_steps}, "
          f"batch {args.batch_size}, {args.precision}, {strategy.num_replicas_in_sync} replica(s), logdir {args.logdir}",
          file=sys.stderr)
    if step < total_steps:
        callbacks = [
            StopAtStep(total_steps),
            TensorBoardLogger(args.logdir, args.log_every, args.sample_every),
            CheckpointCallback(checkpointer, args.checkpoint_every),
            ProgressBar(total_steps),
        ]
        if source.counter is not None:
            callbacks.append(SkippedFilesReport(source.counter, source.name))
        try:
            model.fit(
                dataset,
                epochs=math.ceil(total_steps / steps_per_epoch),
                steps_per_epoch=steps_per_epoch,
                initial_epoch=step // steps_per_epoch,
                callbacks=callbacks,
                shuffle=False,
                verbose=0,
            )
        except KeyboardInterrupt:
            path = checkpointer.save()
            print(f"\ninterrupted at step {int(model.step)}: saved {path}; continue with --resume --logdir "
                  f"{args.logdir}", file=sys.stderr)
            raise
    if args.export:
        print(f"exported {export_generator(model, args.export, args.arch)}", file=sys.stderr)
    return model


def parse_options(argv=None):
    """Command line -> resolved, validated options (raises UsageError)."""
    args = _resolve(build_parser().parse_args(argv))
    _validate(args)
    return args


def main(argv=None):
    """Entry point of train.py; returns the process exit status."""
    try:
        train(parse_options(argv))
    except UsageError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
