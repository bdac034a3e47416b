"""Train-step throughput (images/s) of each architecture at its seed size.

    python benchmarks/train_step.py [--archs gan dcgan cgan] [--steps 10]

SRGAN rows (seed 001, batch 1, 64 -> 256): `srgan` is the full step, D + G with the VGG19
block3_conv3 content loss (random VGG weights: the same work, nothing to download);
`srgan_g_pixel` is the G-only pixel-MSE pre-training step; `_subpixel` rows use
`--upsample subpixel`.

Prints a table for float32 vs mixed_bfloat16 and XLA off/on, with the seed's PyTorch rate
measured on the same 2-core machine where the issue gives one. Data is one synthetic batch
repeated, so only the step is timed; the rate is from the median step time after warm-up.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgan.archs import ARCHS, TrainingData  # noqa: E402
from kgan.cli import parse_options  # noqa: E402

# PyTorch 2.13 CPU, 2 threads, seed architecture and batch (issues #2, #4 and #5).
SEED_PYTORCH_IMAGES_PER_S = {"dcgan": 45.5, "pix2pix": 0.484, "cyclegan": 0.081, "srgan_g_pixel": 0.474}

# Row name -> (arch, extra train.py options, VGG content loss, G-only pixel pre-training step).
ROWS = {name: (name, [], False, False) for name in ARCHS if name != "srgan"}
ROWS.update({
    "srgan": ("srgan", [], True, False),
    "srgan_g_pixel": ("srgan", [], False, True),
    "srgan_subpixel": ("srgan", ["--upsample", "subpixel"], True, False),
    "srgan_subpixel_g_pixel": ("srgan", ["--upsample", "subpixel"], False, True),
})

# Seconds per step on this machine: fewer timed steps.
SLOW_ARCHS = ("pix2pix", "cyclegan", "srgan")


def synthetic_batches(arch, options):
    """One random batch of the arch's data kind, repeated."""
    shape = (options.batch_size, options.image_size, options.image_size, options.channels)
    images = tf.random.uniform(shape, -1, 1, seed=0)
    if arch.data_kind == "labelled":
        labels = tf.constant(np.arange(options.batch_size) % 2, tf.int32)
        return tf.data.Dataset.from_tensors((images, labels)).repeat()
    if arch.data_kind == "paired":
        return tf.data.Dataset.from_tensors({"source": images, "target": -images}).repeat()
    if arch.data_kind == "unpaired":
        return tf.data.Dataset.from_tensors({"a": images, "b": -images}).repeat()
    if arch.data_kind == "superres":
        low = tf.image.resize(images, [options.image_size // options.scale] * 2, antialias=True)
        return tf.data.Dataset.from_tensors({"lr": low, "hr": images}).repeat()
    return tf.data.Dataset.from_tensors(images).repeat()


class StepTimes(keras.callbacks.Callback):
    """Wall-clock time at the end of every train batch."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def measure(row, precision, jit, steps):
    """(batch size, images/s from the median step time after 3 warm-up steps)."""
    from kgan.perceptual import vgg_feature_model

    arch_name, extra, vgg, pretraining = ROWS[row]
    content = ["--content-loss", "pixel"] if arch_name == "srgan" else []
    options = parse_options(["--arch", arch_name, "--precision", precision, "--logdir", "/tmp/kgan-benchmark",
                             *content, *extra])
    steps = max(2, steps // 4) if arch_name in SLOW_ARCHS else steps
    arch = ARCHS[arch_name]
    keras.mixed_precision.set_dtype_policy(precision)
    model = arch.build(options, TrainingData(None, 0, (), 2 if arch.data_kind == "labelled" else None), 1)
    if vgg:
        model.feature_model = vgg_feature_model(options.vgg_layer, weights=None)
    if pretraining:
        model.pretraining = True
    model.compile(keras.optimizers.Adam(options.lr, beta_1=options.beta1),
                  keras.optimizers.Adam(options.lr, beta_1=options.beta1), jit_compile=jit)
    data = synthetic_batches(arch, options)
    times = StepTimes()
    model.fit(data, epochs=1, steps_per_epoch=steps + 3, verbose=0, shuffle=False, callbacks=[times])
    keras.backend.clear_session()
    step_time = float(np.median(np.diff(times.times[2:])))
    return options.batch_size, options.batch_size / step_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=sorted(ROWS), choices=sorted(ROWS), help="rows to time")
    parser.add_argument("--jit", nargs="+", default=["off", "on"], choices=["off", "on"], help="XLA settings to time")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration")
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"], help="dtype policies")
    args = parser.parse_args()
    print(f"{'arch':22} {'precision':15} {'jit':5} {'batch':>5} {'images/s':>9} {'vs seed PyTorch':>16}")
    for row in args.archs:
        for precision in args.precisions:
            for jit in [j == "on" for j in args.jit]:
                batch, rate = measure(row, precision, jit, args.steps)
                seed = SEED_PYTORCH_IMAGES_PER_S.get(row)
                ratio = f"{rate / seed:.2f}x" if seed else "-"
                print(f"{row:22} {precision:15} {str(jit):5} {batch:5d} {rate:9.2f} {ratio:>16}", flush=True)


if __name__ == "__main__":
    main()
