"""`python train.py`: train any registered system (`--arch`) on any data it supports.

The flags are the run options below plus the chosen system's config fields
(`kgan.systems`); `train.py --arch X --help` lists both. A run directory's `options.json`
holds the resolved options, so `--resume` continues a run as it was started. Every failure
caused by the user's input ends in one line on stderr and exit status 2.
"""
import argparse
import dataclasses
import json
import math
import os
import re
import sys

from kgan import config as cfg
from kgan.config import config, option
from kgan.errors import UsageError

STRATEGIES = ("default", "mirrored", "multi_worker")
OPTIONS_FILE = "options.json"
OPTIONS_FORMAT = 2
DEFAULT_ARCH = "dcgan"


@config
class RunOptions:
    """How a run trains, checkpoints and logs (saved in options.json; a resumed run takes
    them from there unless they are given again)."""

    steps: int = option(None, "total train steps of the run (overrides --epochs)", type=int, minimum=1)
    epochs: int = option(25, "epochs at the initial learning rate", minimum=1)
    epochs_decay: int = option(0, "further epochs with the learning rate decaying linearly to 0, as junyanz",
                               minimum=0)
    steps_per_epoch: int = option(None, "steps per epoch (default: one pass over the data)", type=int, minimum=1)
    strategy: str = option("default", "tf.distribute strategy: mirrored = all local devices; multi_worker reads "
                           "TF_CONFIG", choices=STRATEGIES)
    jit: bool = option(False, "compile the train step with XLA")
    steps_per_execution: int = option(1, "train steps per compiled call", minimum=1)
    checkpoint_every: int = option(500, "save a checkpoint every N steps", minimum=1)
    keep_checkpoints: int = option(3, "how many recent checkpoints to keep", minimum=1)
    log_every: int = option(10, "write loss scalars every N steps", minimum=1)
    sample_every: int = option(100, "write a sample grid at epoch ends at most every N steps (and at the end)",
                               minimum=1)
    metrics: str = option("", "sample-quality metrics to write to TensorBoard during training, a comma-separated "
                          "subset of fid,kid,pr (e.g. kid; default none)", metavar="LIST")
    metrics_every: int = option(1000, "evaluate --metrics every N steps (and at step 0)", minimum=1)
    metrics_num_gen: int = option(1000, "generated (and real training) images per --metrics evaluation", minimum=2)
    inception_weights: str = option("imagenet", "Inception-v3 weights file of --metrics (default: "
                                    "$KGAN_INCEPTION_WEIGHTS or the Keras cache; nothing is downloaded); 'random': "
                                    "seeded random weights, for comparing steps of one run only", metavar="PATH")
    deterministic: bool = option(False, "bit-identical runs for one --seed: deterministic TF ops "
                                 "(tf.config.experimental.enable_op_determinism) at some cost in step time")


@dataclasses.dataclass
class Options:
    """A resolved command line: the system, its config, the run options and the actions."""

    system: object
    config: object
    run: RunOptions
    logdir: str
    resume: bool = False
    export: str = None
    total_steps: int = None


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _systems():
    from kgan.systems import SYSTEMS

    return SYSTEMS


def build_parser(system=None):
    """The train.py parser: shared flags, run options and, for `system`, its own flags."""
    systems = _systems()
    p = _Parser(
        prog="train.py",
        description="Train a kgan GAN. Scalars, sample grids and the graph go to TensorBoard "
        "(tensorboard --logdir LOGDIR); checkpoints to LOGDIR/checkpoints. Systems: "
        + "; ".join(f"{s.name}: {s.description}" for s in systems.values())
        + ". `train.py --arch ARCH --help` lists that system's own flags.",
    )
    p.add_argument("--arch", choices=sorted(systems), default=None,
                   help=f"the system to train (default {DEFAULT_ARCH}; a resumed run's own)")
    p.add_argument("--logdir", default=None, help="run directory for TensorBoard, checkpoints and options.json "
                   "(default runs/ARCH-DATA)")
    p.add_argument("--resume", action="store_true", help="continue the run in --logdir from its latest checkpoint, "
                   "to its own end or to a new --steps / --epochs")
    p.add_argument("--export", nargs="?", const="saved_models", default=None, metavar="DIR",
                   help="after training, export the generator for TF Serving to DIR/ARCH/VERSION "
                   "(DIR defaults to saved_models)")
    cfg.add_arguments(p, RunOptions, "run options")
    if system is not None:
        cfg.add_arguments(p, system.Config, f"{system.name} options")
    return p


def _flag_owner(flag_name):
    """The systems that have a flag (for the error on a flag of another system)."""
    field = flag_name.lstrip("-").split("=")[0].replace("-", "_").removeprefix("no_")
    return sorted(name for name, s in _systems().items() if field in cfg.names(s.Config))


def read_options_file(logdir):
    """(arch, config dict, run dict, total_steps or None) of a run directory; reads the
    format this version writes and the flat dict of earlier versions."""
    path = os.path.join(logdir, OPTIONS_FILE)
    if not os.path.exists(path):
        raise UsageError(f"no {OPTIONS_FILE} in {logdir!r}: it is not a kgan run directory")
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path} ({error}): it is damaged; start a new --logdir") from None
    if saved.get("format") == OPTIONS_FORMAT:
        return saved["arch"], saved["config"], saved["run"], saved.get("total_steps")
    return saved["arch"], saved, saved, saved.get("steps")


def load_run(logdir):
    """(system, config) of the train.py run in `logdir` (kgan.evaluate, the benchmarks)."""
    from kgan.systems import get_system

    arch, saved_config, _, _ = read_options_file(logdir)
    system = get_system(arch)
    return system, cfg.from_dict(system.Config, saved_config)


def _resume(first, given_config, given_run):
    from kgan.systems import get_system

    arch, saved_config, saved_run, total_steps = read_options_file(first.logdir)
    if first.arch is not None and first.arch != arch:
        raise UsageError(f"--arch {first.arch} differs from the resumed run's {arch}: drop it or start a new --logdir")
    system = get_system(arch)
    config = cfg.from_dict(system.Config, saved_config)
    fields = {f.name: f for f in dataclasses.fields(config)}
    for key, value in given_config.items():
        saved = getattr(config, key)
        if value != saved and fields[key].metadata["fixed"]:
            raise UsageError(f"{cfg.flag(key)} {value} differs from the resumed run's {saved}: drop it or start a "
                             "new --logdir")
    config = dataclasses.replace(config, **given_config)
    run = cfg.from_dict(RunOptions, saved_run)
    if given_run.keys() & {"steps", "epochs", "epochs_decay", "steps_per_epoch"}:
        total_steps = None  # the given length replaces the saved one
        run = dataclasses.replace(run, steps=None)
    run = dataclasses.replace(run, **given_run)
    return system, config, run, total_steps


def parse_options(argv=None):
    """Command line -> resolved, validated `Options` (raises UsageError)."""
    from kgan.systems import get_system

    argv = list(sys.argv[1:] if argv is None else argv)
    first, _ = build_parser().parse_known_args([a for a in argv if a not in ("-h", "--help")])
    if first.arch is None and not first.resume and {"-h", "--help"} & set(argv):
        build_parser().parse_args(["--help"])
    if first.resume and first.logdir is None:
        raise UsageError("--resume needs --logdir: pass the run directory to continue")
    if first.resume and first.arch is None:
        system = get_system(read_options_file(first.logdir)[0])
    else:
        system = get_system(first.arch or DEFAULT_ARCH)
    parser = build_parser(system)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = unknown[0]
        owners = _flag_owner(flag) if flag.startswith("--") else []
        if owners:
            raise UsageError(f"{flag.split('=')[0]} is an option of --arch {', '.join(owners)}, not of --arch "
                             f"{system.name}: see train.py --arch {system.name} --help")
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)}")
    given_config, given_run = cfg.given(args, system.Config), cfg.given(args, RunOptions)
    total_steps = None
    if args.resume:
        system, config, run, total_steps = _resume(args, given_config, given_run)
    else:
        config = system.Config(**given_config)
        run = RunOptions(**given_run)
    cfg.validate(config)
    cfg.validate(run)
    _check_metrics(run)
    system.check_common(config)
    logdir = args.logdir or system.default_logdir(config)
    _check_writable(logdir)
    return Options(system, config, run, logdir, args.resume, args.export, total_steps)


def _check_metrics(run):
    """UsageError now, not after the first training steps, for bad --metrics or a missing
    --inception-weights file."""
    if run.metrics:
        from kgan.metrics import INCEPTION_WEIGHTS, check_metrics

        check_metrics(m.strip() for m in run.metrics.split(","))
        if run.inception_weights != "random":
            INCEPTION_WEIGHTS.resolve(run.inception_weights)


def metrics_callback(model, dataset, run, logdir, seed, strategy):
    """`training_metrics` of the --metrics run options, written to the run's TensorBoard
    logdir; the Inception extractor is built in the run's precision ('random' weights
    from `seed`) and the real statistics are kept in LOGDIR/metrics/; the feature pass is
    split over the replicas of `strategy`."""
    import keras
    import tensorflow as tf

    from kgan.metrics import check_metrics, inception_extractor, run_statistics_path, training_metrics

    if run.inception_weights == "random":
        keras.utils.set_random_seed(seed)
    with strategy.scope():
        extractor = inception_extractor(None if run.inception_weights == "random" else run.inception_weights)
    cache = run_statistics_path(logdir, run.metrics_num_gen, extractor.identity)
    return training_metrics(model, dataset, extractor, tf.summary.create_file_writer(logdir), run.metrics_every,
                            run.metrics_num_gen, check_metrics(m.strip() for m in run.metrics.split(",")), cache)


def _check_writable(logdir):
    try:
        os.makedirs(logdir, exist_ok=True)
        probe = os.path.join(logdir, f".write_probe-{os.getpid()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as error:
        raise UsageError(f"cannot write to --logdir {logdir!r} ({error.strerror}): pass a writable directory")


def save_options(options, config, total_steps):
    """Writes options.json atomically: the format, the arch, the config, the run options and
    the run's total steps (what a bare --resume continues to)."""
    path = os.path.join(options.logdir, OPTIONS_FILE)
    saved = {"format": OPTIONS_FORMAT, "arch": options.system.name, "config": cfg.to_dict(config),
             "run": cfg.to_dict(options.run), "total_steps": total_steps}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(saved, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def make_strategy(name):
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


class WorkerLost(Exception):
    """A multi_worker peer stopped (killed, crashed, preempted): main() prints one line, exit 1."""

    def __init__(self, error, logdir):
        super().__init__(f"lost a worker of the multi_worker run ({_lost_worker_reason(error)}): restart every "
                         f"worker with python train.py --resume --logdir {logdir}")


def _lost_worker_reason(error):
    """What a collective's error says of the stopped task: the coordination service's
    "unhealthy" task (missed heartbeats) or the peer whose connection broke ("Collective ops
    is aborted by: Socket closed ... from remote target /job:worker/replica:0/task:1"), else
    the error's type."""
    text = str(error)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "unhealthy" in line:
            task = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return f"{type(error).__name__}: {task} stopped sending heartbeats"
    peer = re.search(r"from remote target (/job:\S+/task:\d+)", text)
    cause = re.search(r"Collective ops is aborted by: (.+)", text)
    if peer:
        return f"{type(error).__name__}: connection to {peer.group(1)} lost" + (f": {cause.group(1).strip()}"
                                                                              if cause else "")
    return type(error).__name__


def worker_logdir(logdir, task_id):
    """Where a multi_worker run's non-chief worker writes its checkpoints and TensorBoard logs
    (every worker saves, as tf.distribute requires, but only the chief into --logdir)."""
    return os.path.join(logdir, "workers", f"worker-{task_id}")


def train(options):
    """Runs one training described by resolved, validated options; returns the model."""
    import keras
    import tensorflow as tf

    from kgan.callbacks import ProgressBar, SkippedFilesReport, StopAtStep, StopOnInterrupt, TensorBoardLogger
    from kgan.checkpoints import PEER_LOST_ERRORS, CheckpointCallback, Checkpointer
    from kgan.export import export_generator

    system, run = options.system, options.run
    keras.utils.set_random_seed(options.config.seed)
    if run.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_dtype_policy(options.config.precision)
    strategy = make_strategy(run.strategy)
    data = system.training_data(options.config)
    config = system.with_data(options.config, data)
    names = " + ".join(f"{s.name} ({s.count})" for s in data.sources)
    sample_batch = next(iter(data.dataset), None)
    if sample_batch is None:
        raise UsageError(f"no readable images in {names}: every file failed to decode (truncated, empty or not an "
                         "image): check the --data files")
    steps_per_epoch = run.steps_per_epoch or max(1, data.steps_per_epoch)

    chief = strategy.extended.should_checkpoint
    own_logdir = options.logdir if chief else worker_logdir(options.logdir, strategy.cluster_resolver.task_id)
    with strategy.scope():
        model = system.build(config, strategy.num_replicas_in_sync)
        system.compile(model, config, run, steps_per_epoch)
        model.input_transform = data.transform
        checkpointer = Checkpointer(model, os.path.join(own_logdir, "checkpoints"), run.keep_checkpoints)
        # Every worker resumes from the chief's checkpoints (the --logdir all workers share, as
        # tf.distribute's multi-worker checkpointing requires): a worker's own copy can be older
        # (killed before it saved), and workers at different steps issue different collectives.
        run_checkpoints = checkpointer if chief else Checkpointer(model, os.path.join(options.logdir, "checkpoints"))
        if options.resume:
            try:
                restored = run_checkpoints.restore_latest()
            except PEER_LOST_ERRORS as error:  # a peer stopped during the restore's broadcast
                if run.strategy != "multi_worker":
                    raise
                raise WorkerLost(error, options.logdir) from None
            if restored is None:
                raise UsageError(f"no checkpoint in {run_checkpoints.directory!r} to resume from: drop --resume")
        elif run_checkpoints.latest is not None:
            raise UsageError(
                f"{options.logdir!r} already holds a run ({run_checkpoints.latest}): pass --resume to continue "
                "it or choose a new --logdir"
            )

    total_steps = options.total_steps or run.steps or (run.epochs + run.epochs_decay) * steps_per_epoch
    if chief:
        save_options(options, config, total_steps)
    print(f"{system.name} on {names}: steps {model.completed_steps} -> {total_steps}, batch {config.batch_size}, "
          f"{config.precision}, {strategy.num_replicas_in_sync} replica(s), logdir {options.logdir}", file=sys.stderr)
    progress = ProgressBar(total_steps)
    callbacks = [
        TensorBoardLogger(own_logdir, run.log_every, run.sample_every, sample_batch=model.prepare_batch(sample_batch)),
        CheckpointCallback(checkpointer, run.checkpoint_every),
        progress,
    ]
    callbacks += [SkippedFilesReport(s.counter, s.name) for s in data.sources if s.counter is not None]
    if run.metrics and chief:
        # multi_worker: the chief evaluates alone, on its own devices (a replicated pass would need every worker)
        own = strategy if run.strategy != "multi_worker" else tf.distribute.get_strategy()
        callbacks.append(metrics_callback(model, data.host_batches(config.seed), run, options.logdir, config.seed, own))
    sharding = tf.data.Options()
    # Every multi_worker worker makes each global batch and keeps its replicas' rows of it.
    sharding.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = data.dataset.with_options(sharding)
    start = 0
    for phase in system.phases(config):
        length = phase.length(steps_per_epoch)
        until = total_steps if length is None else min(start + length, total_steps)
        start = until
        step = model.completed_steps
        if step >= until:
            continue
        model.set_phase(phase.name)
        try:
            with StopOnInterrupt() as interrupt:
                model.fit(
                    dataset,
                    epochs=math.ceil(until / steps_per_epoch),
                    steps_per_epoch=steps_per_epoch,
                    initial_epoch=step // steps_per_epoch,
                    callbacks=[interrupt, StopAtStep(until), *callbacks],
                    shuffle=False,
                    verbose=0,
                )
        except PEER_LOST_ERRORS as error:  # what the surviving workers' collectives raise
            progress.close()
            if run.strategy != "multi_worker":
                raise
            raise WorkerLost(error, options.logdir) from None
        except KeyboardInterrupt:
            progress.close()
            path = checkpointer.save()
            print(f"interrupted at step {model.completed_steps}: saved {path}; continue with "
                  f"python train.py --resume --logdir {options.logdir}", file=sys.stderr)
            raise
    if options.export and chief:
        for path in export_generator(model, options.export, system.name):
            print(f"exported {path}", file=sys.stderr)
    return model


def main(argv=None):
    """Entry point of train.py; returns the process exit status."""
    try:
        train(parse_options(argv))
    except UsageError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    except WorkerLost as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
