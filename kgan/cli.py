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
# Options that define the model and its data: a resumed run takes them from its options.json.
MODEL_OPTIONS = (
    "arch", "data", "image_size", "channels", "base_width", "latent_dim", "dropout", "norm",
    "loss", "batch_size", "lr", "beta1", "precision", "seed", "generator", "discriminator",
    "load_size", "pairs", "direction", "l1_weight", "cycle_weight", "identity_weight", "pool_size",
    "scale", "hr_crop", "residual_blocks", "upsample", "global_skip", "content_loss", "vgg_layer", "pretrain_steps",
)
# Defaults shared by every arch; each Arch adds its own (kgan.archs).
COMMON_DEFAULTS = dict(
    data="sample", latent_dim=100, dropout=0.3, norm="auto", precision="float32", seed=0, generator=None,
    discriminator=None, pairs="ab", direction="AtoB", l1_weight=100.0, cycle_weight=10.0, identity_weight=5.0,
    pool_size=50, epochs=25, epochs_decay=0, scale=4, hr_crop=None, residual_blocks=16, upsample="nearest",
    global_skip=False, content_loss="vgg", vgg_layer="block3_conv3", pretrain_steps=0,
)
OPTIONS_FILE = "options.json"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    from kgan.archs import ARCHS
    from kgan.layers import NORMS
    from kgan.losses import GAN_MODES
    from kgan.networks import DISCRIMINATORS, GENERATORS

    arch_help = "; ".join(f"{a.name}: {a.description}" for a in ARCHS.values())
    p = _Parser(
        prog="train.py",
        description="Train a kgan GAN. Scalars, sample grids and the graph go to TensorBoard "
        "(tensorboard --logdir LOGDIR); checkpoints to LOGDIR/checkpoints.",
    )
    p.add_argument("--arch", choices=sorted(ARCHS), default=None, help=f"architecture ({arch_help}). Default dcgan")
    p.add_argument("--data", default=None, help="'sample' (embedded data, no download; default), a folder "
                   "(images; class subfolders for cgan; A|B files or photos for pix2pix; trainA/ trainB/ for cyclegan), "
                   "or a tfds dataset name such as mnist or cycle_gan/apple2orange")
    p.add_argument("--data-dir", default=None, help="tfds data directory holding prepared datasets")
    p.add_argument("--steps", type=int, default=None, help="total train steps (overrides --epochs)")
    p.add_argument("--epochs", type=int, default=None, help="epochs at the initial learning rate (default 25)")
    p.add_argument("--epochs-decay", type=int, default=None,
                   help="further epochs with the learning rate decaying linearly to 0, as junyanz (default 0)")
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
    p.add_argument("--loss", choices=GAN_MODES, default=None,
                   help="GAN loss (default: the arch's: bce for gan/dcgan/cgan, lsgan for pix2pix/cyclegan)")
    p.add_argument("--generator", choices=sorted(GENERATORS), default=None,
                   help="pix2pix/cyclegan generator (default unet_256 / resnet_9blocks)")
    p.add_argument("--discriminator", choices=sorted(DISCRIMINATORS), default=None,
                   help="pix2pix/cyclegan discriminator (default basic: 70x70 PatchGAN)")
    p.add_argument("--load-size", type=int, default=None,
                   help="pix2pix/cyclegan: resize to this before the random crop of --image-size (default 1.12x)")
    p.add_argument("--pairs", choices=("ab", "edges"), default=None,
                   help="pix2pix folder: ab = A|B side-by-side files; edges = photos paired with their edges and "
                   "color hints (seed 000 shoes). Default ab")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default=None, help="pix2pix A|B files: which half is the input")
    p.add_argument("--l1-weight", type=float, default=None, help="pix2pix L1 weight (default 100)")
    p.add_argument("--cycle-weight", type=float, default=None, help="CycleGAN cycle-consistency weight (default 10)")
    p.add_argument("--identity-weight", type=float, default=None, help="CycleGAN identity weight (default 5)")
    p.add_argument("--pool-size", type=int, default=None, help="CycleGAN fake-image pool size (default 50)")
    p.add_argument("--scale", type=int, choices=(2, 4, 8), default=None, help="SRGAN upscaling factor (default 4)")
    p.add_argument("--hr-crop", type=int, default=None,
                   help="SRGAN: random HR crops of this size (DIV2K-style photos); default: the whole image resized "
                   "to --image-size as seed 001 does with CelebA")
    p.add_argument("--residual-blocks", type=int, default=None, help="SRGAN generator residual blocks (default 16)")
    p.add_argument("--upsample", choices=("nearest", "subpixel"), default=None,
                   help="SRGAN generator upsampling: nearest + conv 4*width at the higher resolution (seed 001, "
                   "default) or sub-pixel conv + depth-to-space (paper, seed 000; G step 3.3x faster)")
    p.add_argument("--global-skip", action="store_true", default=None,
                   help="SRGAN generator output = bicubic upscale of the input + the network's detail (no tanh; "
                   "BasicSR MSRResNet); pre-training starts near bicubic quality instead of from noise")
    p.add_argument("--content-loss", choices=("vgg", "pixel"), default=None,
                   help="SRGAN content loss: VGG19 features (needs the weights file, see --vgg-weights) or pixel MSE")
    p.add_argument("--vgg-weights", default=None, metavar="PATH",
                   help="VGG19 notop weights file (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5); "
                   "else $KGAN_VGG19_WEIGHTS or the Keras cache")
    p.add_argument("--vgg-layer", default=None, help="VGG19 feature layer (default block3_conv3, seed 001; "
                   "block5_conv4 is the paper's VGG54)")
    p.add_argument("--pretrain-steps", type=int, default=None,
                   help="SRGAN: first train G alone on pixel MSE for N steps (SRResNet), counted in --steps")
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
            given, value = getattr(args, key), saved.get(key, COMMON_DEFAULTS.get(key))  # older runs lack newer options
            if given is not None and given != value:
                raise UsageError(
                    f"--{key.replace('_', '-')} {given} differs from the resumed run's {value}: "
                    "drop it or start a new --logdir"
                )
            setattr(args, key, value)
        return args
    arch = ARCHS[args.arch or "dcgan"]
    for key, value in dict(COMMON_DEFAULTS, arch=arch.name, **arch.defaults).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.load_size is None:
        args.load_size = round(args.image_size * 286 / 256)
    if args.logdir is None:
        args.logdir = os.path.join("runs", f"{args.arch}-{os.path.basename(os.path.normpath(args.data))}")
    return args


def _validate(args):
    for key in ("steps", "epochs", "steps_per_epoch", "batch_size", "image_size", "base_width", "latent_dim",
                "steps_per_execution", "checkpoint_every", "keep_checkpoints", "log_every", "sample_every", "load_size"):
        value = getattr(args, key)
        if value is not None and value < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be at least 1, got {value}")
    if not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.lr <= 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    if args.load_size < args.image_size:
        raise UsageError(f"--load-size {args.load_size} is smaller than --image-size {args.image_size}: the crop must fit")
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


def make_optimizers(args, steps_per_epoch):
    """Adam for G and D; with --epochs-decay, junyanz's linear decay after --epochs."""
    import keras

    from kgan.schedules import LinearDecay

    def learning_rate():
        if not args.epochs_decay:
            return args.lr
        return LinearDecay(args.lr, steps_per_epoch, args.epochs, args.epochs_decay)

    return keras.optimizers.Adam(learning_rate(), beta_1=args.beta1), keras.optimizers.Adam(learning_rate(), beta_1=args.beta1)


def train(args):
    """Runs one training described by resolved, validated options; returns the model."""
    import keras

    from kgan.archs import ARCHS, training_data
    from kgan.callbacks import ProgressBar, SkippedFilesReport, StopAtStep, TensorBoardLogger
    from kgan.checkpoints import CheckpointCallback, Checkpointer
    from kgan.export import export_generator

    arch = ARCHS[args.arch]
    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_dtype_policy(args.precision)
    strategy = _strategy(args.strategy)
    data = training_data(arch, args)
    steps_per_epoch = args.steps_per_epoch or max(1, data.steps_per_epoch)

    with strategy.scope():
        model = arch.build(args, data, strategy.num_replicas_in_sync)
        g_optimizer, d_optimizer = make_optimizers(args, steps_per_epoch)
        model.compile(g_optimizer, d_optimizer, loss=args.loss, jit_compile=args.jit,
                      steps_per_execution=args.steps_per_execution)
        checkpointer = Checkpointer(model, os.path.join(args.logdir, "checkpoints"), args.keep_checkpoints)
        if args.resume:
            if checkpointer.restore_latest() is None:
                raise UsageError(f"no checkpoint in {checkpointer.directory!r} to resume from: drop --resume")
        elif checkpointer.latest is not None:
            raise UsageError(
                f"{args.logdir!r} already holds a run ({checkpointer.latest}): pass --resume to continue "
                "it or choose a new --logdir"
            )

    total_steps = args.steps or (args.epochs + args.epochs_decay) * steps_per_epoch
    _save_options(args, os.path.join(args.logdir, OPTIONS_FILE))
    step = int(model.step)
    names = " + ".join(f"{s.name} ({s.count})" for s in data.sources)
    print(f"{arch.name} on {names}: steps {step} -> {total_steps}, batch {args.batch_size}, {args.precision}, "
          f"{strategy.num_replicas_in_sync} replica(s), logdir {args.logdir}", file=sys.stderr)
    callbacks = [
        TensorBoardLogger(args.logdir, args.log_every, args.sample_every, sample_batch=next(iter(data.dataset))),
        CheckpointCallback(checkpointer, args.checkpoint_every),
        ProgressBar(total_steps),
    ]
    callbacks += [SkippedFilesReport(s.counter, s.name) for s in data.sources if s.counter is not None]
    # SRGAN: pixel pre-training (SRResNet) up to --pretrain-steps, then the adversarial steps.
    phases = [(min(args.pretrain_steps, total_steps), True)] if hasattr(model, "pretraining") else []
    phases.append((total_steps, False))
    for until, pretraining in phases:
        step = int(model.step)
        if step >= until:
            continue
        if hasattr(model, "pretraining") and model.pretraining != pretraining:
            model.pretraining = pretraining
            model.train_function = None  # retrace the step for the other phase
        try:
            model.fit(
                data.dataset,
                epochs=math.ceil(until / steps_per_epoch),
                steps_per_epoch=steps_per_epoch,
                initial_epoch=step // steps_per_epoch,
                callbacks=[StopAtStep(until), *callbacks],
                shuffle=False,
                verbose=0,
            )
        except KeyboardInterrupt:
            path = checkpointer.save()
            print(f"\ninterrupted at step {int(model.step)}: saved {path}; continue with --resume --logdir "
                  f"{args.logdir}", file=sys.stderr)
            raise
    if args.export:
        for path in export_generator(model, args.export, args.arch):
            print(f"exported {path}", file=sys.stderr)
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
