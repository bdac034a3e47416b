"""Step-time cost of a train.py option on README command 1's cGAN: `--deterministic`
(issue 10.1) or `--metrics kid` (issue 11.4).

    python benchmarks/option_cost.py deterministic [--rounds 5] [--steps 150]
    python benchmarks/option_cost.py metrics [--rounds 3] [--steps 300] [--every 100] [--num-gen 500]

Each measurement is its own process (op determinism is process-wide and cannot be switched
off), and the settings alternate (off, on, off, on, ...) so that a change in the machine's
load touches both. Each process trains command 1's cGAN on the embedded sample (image size
32, batch 32) through the same system calls as train.py, with the option's callback where it
has one, and reports the median time of the steps after --warmup. For `metrics`
(`--metrics kid --metrics-every EVERY --metrics-num-gen NUM_GEN --inception-weights random`)
the steps that ran an evaluation are left out of the median and reported on their own, with
the process's resident memory after each evaluation (flat if nothing leaks between them).
Prints one row per round and the median ratio on/off.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
COMMAND = ["--arch", "cgan", "--data", "sample", "--image-size", "32", "--batch-size", "32"]


def resident_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(option, on, warmup, steps, every, num_gen):
    """{"step": median seconds of the steps without an evaluation, "evaluations": seconds
    of each evaluating step beyond that median, "resident_mb": after each evaluation}."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import time

    import keras
    import numpy as np
    import tensorflow as tf

    from kgan import cli

    logdir = tempfile.mkdtemp()
    flags = [*COMMAND, "--steps", str(warmup + steps), "--logdir", logdir]
    if on:
        flags += (["--deterministic"] if option == "deterministic" else
                  ["--metrics", "kid", "--metrics-every", str(every), "--metrics-num-gen", str(num_gen),
                   "--inception-weights", "random"])
    options = cli.parse_options(flags)
    keras.utils.set_random_seed(options.config.seed)
    if options.run.deterministic:
        tf.config.experimental.enable_op_determinism()
    system = options.system
    data = system.training_data(options.config)
    config = system.with_data(options.config, data)
    model = system.build(config)
    system.compile(model, config, options.run, data.steps_per_epoch)
    callbacks = ([cli.metrics_callback(model, data.host_batches(config.seed), options.run, logdir, config.seed,
                                       tf.distribute.get_strategy())] if options.run.metrics else [])
    ends, resident = [], []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())
            if callbacks and len(callbacks[0].history) > len(resident):
                resident.append(resident_mb())

    model.fit(data.dataset, epochs=1, steps_per_epoch=warmup + steps, callbacks=[*callbacks, Clock()], verbose=0)
    evaluated = {step - 1 for step, _ in callbacks[0].history} if callbacks else set()  # ends[] index
    times = {i: ends[i] - ends[i - 1] for i in range(warmup, len(ends))}
    median = float(np.median([t for i, t in times.items() if i not in evaluated]))
    return {"step": median, "evaluations": [times[i] - median for i in sorted(evaluated) if i in times],
            "resident_mb": resident}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("option", choices=("deterministic", "metrics"), help="the train.py option to cost")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (off, on)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run (deterministic: 60, "
                                                                "metrics: 300)")
    parser.add_argument("--warmup", type=int, default=10, help="steps before timing (tracing, caches)")
    parser.add_argument("--every", type=int, default=100, help="metrics: --metrics-every")
    parser.add_argument("--num-gen", type=int, default=500, help="metrics: --metrics-num-gen")
    parser.add_argument("--child", choices=("off", "on"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    steps = args.steps or (60 if args.option == "deterministic" else 300)
    if args.child:
        print(json.dumps(child(args.option, args.child == "on", args.warmup, steps, args.every, args.num_gen)))
        return 0
    ratios = []
    extra = " s per evaluation | MB after each evaluation |" if args.option == "metrics" else ""
    print(f"| round | step off (ms) | step {args.option} (ms) | ratio |{extra} load |")
    print("|---|---|---|---|" + ("---|---|" if extra else "") + "---|")
    for round_ in range(args.rounds):
        results = {}
        for setting in ("off", "on"):
            result = subprocess.run([sys.executable, os.path.abspath(__file__), args.option, "--child", setting,
                                     "--steps", str(steps), "--warmup", str(args.warmup), "--every", str(args.every),
                                     "--num-gen", str(args.num_gen)],
                                    capture_output=True, text=True, cwd=ROOT, check=True)
            results[setting] = json.loads(result.stdout.strip().splitlines()[-1])
        off, on = results["off"]["step"], results["on"]["step"]
        ratios.append(on / off)
        evaluations = (f" {', '.join(f'{t:.1f}' for t in results['on']['evaluations'])} | "
                       f"{', '.join(f'{m:.0f}' for m in results['on']['resident_mb'])} |") if extra else ""
        print(f"| {round_} | {1000 * off:.1f} | {1000 * on:.1f} | {ratios[-1]:.3f} |{evaluations} "
              f"{os.getloadavg()[0]:.1f} |", flush=True)
    ratios.sort()
    print(f"median ratio {ratios[len(ratios) // 2]:.3f} (range {ratios[0]:.3f}-{ratios[-1]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
