"""Train-step throughput (images/s) of each system at its seed size.

    python benchmarks/train_step.py [--rows gan dcgan cgan] [--steps 10]

Rows are the registered systems at their seed defaults plus variants (options below).
SRGAN rows (seed 001, batch 1, 64 -> 256): `srgan` is the full step, D + G with the VGG19
block3_conv3 content loss (random VGG weights: the same work, nothing to download);
`srgan_g_pixel` is the G-only pixel-MSE pre-training step; `_subpixel` rows use
`--upsample subpixel`.

Prints a table for float32 vs mixed_bfloat16 and XLA off/on. Data is the system's
synthetic batch repeated, so only the step is timed; the rate is from the median step
time after warm-up. (PyTorch peers measured in the same run: issue 16.)
"""
import argparse
import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgan.cli import RunOptions  # noqa: E402
from kgan.systems import SYSTEMS  # noqa: E402

# Row name -> (system, config overrides, VGG content loss with random weights, phase).
ROWS = {name: (name, {}, False, "train") for name in SYSTEMS if name != "srgan"}
ROWS["cgan"] = ("cgan", {"num_classes": 2}, False, "train")
ROWS.update({
    "srgan": ("srgan", {}, True, "train"),
    "srgan_g_pixel": ("srgan", {}, False, "pretrain"),
    "srgan_subpixel": ("srgan", {"upsample": "subpixel"}, True, "train"),
    "srgan_subpixel_g_pixel": ("srgan", {"upsample": "subpixel"}, False, "pretrain"),
})

# Seconds per step on this machine: fewer timed steps.
SLOW_SYSTEMS = ("pix2pix", "cyclegan", "srgan", "pix2pixhd")


class StepTimes(keras.callbacks.Callback):
    """Wall-clock time at the end of every train batch."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def timed_fit(model, dataset, steps):
    """Median seconds per step of `steps` fit steps after 3 warm-up steps."""
    times = StepTimes()
    model.fit(dataset, epochs=1, steps_per_epoch=steps + 3, verbose=0, shuffle=False, callbacks=[times])
    return float(np.median(np.diff(times.times[2:])))


def measure(row, precision, jit, steps):
    """(batch size, images/s)."""
    from kgan.perceptual import vgg_feature_model

    name, overrides, vgg, phase = ROWS[row]
    system = SYSTEMS[name]
    fields = {f.name for f in dataclasses.fields(system.Config)}
    if "content_loss" in fields:
        overrides = {"content_loss": "pixel", **overrides}
    config = system.Config(precision=precision, **overrides)
    steps = max(2, steps // 4) if name in SLOW_SYSTEMS else steps
    keras.mixed_precision.set_dtype_policy(precision)
    model = system.build(config)
    if vgg:
        model.feature_model = vgg_feature_model(config.vgg_layer, weights=None)
    model.set_phase(phase)
    system.compile(model, config, RunOptions(jit=jit), steps_per_epoch=1)
    step_time = timed_fit(model, tf.data.Dataset.from_tensors(system.synthetic_batch(config)).repeat(), steps)
    keras.backend.clear_session()
    return config.batch_size, config.batch_size / step_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=sorted(ROWS), choices=sorted(ROWS), help="rows to time")
    parser.add_argument("--jit", nargs="+", default=["off", "on"], choices=["off", "on"], help="XLA settings to time")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration")
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"], help="dtype policies")
    args = parser.parse_args()
    print(f"{'row':22} {'precision':15} {'jit':5} {'batch':>5} {'images/s':>9}")
    for row in args.rows:
        for precision in args.precisions:
            for jit in [j == "on" for j in args.jit]:
                batch, rate = measure(row, precision, jit, args.steps)
                print(f"{row:22} {precision:15} {str(jit):5} {batch:5d} {rate:9.2f}", flush=True)


if __name__ == "__main__":
    main()
