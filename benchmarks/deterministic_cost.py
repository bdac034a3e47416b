"""Step-time cost of `train.py --deterministic` (issue 10.1), on README command 1's cGAN.

    python benchmarks/deterministic_cost.py [--rounds 3] [--steps 60]

Op determinism is process-wide and cannot be switched off, so each measurement is its own
process, and the two settings alternate (off, on, off, on, ...) so that a change in the
machine's load touches both. Each process trains README command 1's cGAN on the embedded
sample (image size 32, batch 32) through the same system calls as train.py and reports the
median step time after --warmup steps. Prints one row per round and the median ratio.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMAND = ["--arch", "cgan", "--data", "sample", "--image-size", "32", "--batch-size", "32"]


def child(deterministic, warmup, steps):
    """Median seconds per train step of one cGAN run in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import time

    import keras
    import numpy as np
    import tensorflow as tf

    from kgan import cli

    flags = [*COMMAND, "--steps", str(warmup + steps), "--logdir", tempfile.mkdtemp()]
    options = cli.parse_options(flags + (["--deterministic"] if deterministic else []))
    keras.utils.set_random_seed(options.config.seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    system = options.system
    data = system.training_data(options.config)
    config = system.with_data(options.config, data)
    model = system.build(config)
    system.compile(model, config, options.run, data.steps_per_epoch)
    ends = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    model.fit(data.dataset, epochs=1, steps_per_epoch=warmup + steps, callbacks=[Clock()], verbose=0)
    return float(np.median(np.diff(ends[warmup - 1:])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (off, on)")
    parser.add_argument("--steps", type=int, default=60, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="steps before timing (tracing, caches)")
    parser.add_argument("--child", choices=("off", "on"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child == "on", args.warmup, args.steps)))
        return 0
    ratios = []
    print("| round | step off (ms) | step --deterministic (ms) | ratio | load |")
    print("|---|---|---|---|---|")
    for round_ in range(args.rounds):
        times = {}
        for setting in ("off", "on"):
            result = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", setting, "--steps",
                                     str(args.steps), "--warmup", str(args.warmup)],
                                    capture_output=True, text=True, cwd=ROOT, check=True)
            times[setting] = json.loads(result.stdout.strip().splitlines()[-1])
        ratios.append(times["on"] / times["off"])
        print(f"| {round_} | {1000 * times['off']:.1f} | {1000 * times['on']:.1f} | {ratios[-1]:.3f} | "
              f"{os.getloadavg()[0]:.1f} |", flush=True)
    ratios.sort()
    print(f"median ratio {ratios[len(ratios) // 2]:.3f} (range {ratios[0]:.3f}-{ratios[-1]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
