"""Where the data transforms run (`--transforms host|device`): what each costs the host.

    python benchmarks/transform_placement.py input [--batches 24]
    python benchmarks/transform_placement.py precision
    python benchmarks/transform_placement.py steps [--steps 12] [--precision mixed_bfloat16]

`input`: for each system's pipeline at its default sizes (pix2pix edges + hints at 256,
pix2pix A|B 286 -> 256, CycleGAN 286 -> 256, SRGAN 256 HR crops x4, pix2pixHD's label and
instance maps with the photo, the siamese GAN's 2S x 2S crops; batch 4), the process
CPU seconds (all tf.data threads) per image of iterating the dataset alone, after a warm-up
that fills its cache, with the transforms on the host and with them left to the device
(tf.data then only shuffles and batches the cached uint8 images); the inverse is
images/s per host core. The last column is the CPU time per image of the transform itself
in an XLA-compiled function, what the device pays instead.

`precision`: how far the arithmetic transforms would move in half precision: the max
difference, in gray levels, from float32 of the [-1, 1] scaling and of the bicubic LR (the
same matrix products as `bicubic_lr`) computed in bfloat16 and float16, on the sample photos;
and for the edges (bilateral filter then Canny's integer thresholds), the bilateral weighted
mean accumulated in each dtype (cv2's tables, rounded as its C++ path): the share of pixels
whose filtered gray level or edge label differs from float32, and the edge F1 against it.

`steps`: median train-step seconds of a small config of each system on the sample data,
host vs device transforms, in the given precision, with the finite last losses.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgan.cli import RunOptions  # noqa: E402
from kgan.models.base import AdversarialModel  # noqa: E402
from kgan.systems import SYSTEMS  # noqa: E402
from pipelines.batches import (edges2shoes_pipeline, on_host, paired_pipeline, superres_pipeline,  # noqa: E402
                               unpaired_pipeline)
from pipelines.sources import ImageSource, sample_photos_source  # noqa: E402

BATCH = 4


def _pairs():
    photos = np.stack([e["image"].numpy() for e in sample_photos_source(286).dataset])
    dataset = tf.data.Dataset.from_tensor_slices({"source": photos, "target": photos[:, :, ::-1]})
    return ImageSource("sample pairs", dataset, len(photos))


def _system_pipeline(name):
    """(raw batches, transform) of a system's own training data on the sample, its defaults."""
    data = SYSTEMS[name].training_data(SYSTEMS[name].Config(batch_size=BATCH, transforms="device"))
    return data.dataset, data.transform


PIPELINES = {
    "pix2pix edges + hints 256": lambda: edges2shoes_pipeline(sample_photos_source(), BATCH),
    "pix2pix A|B 286 -> 256": lambda: paired_pipeline(_pairs(), BATCH),
    "cyclegan 286 -> 256": lambda: unpaired_pipeline(sample_photos_source(), sample_photos_source(), BATCH)[:2],
    "srgan 256 crop, x4": lambda: superres_pipeline(sample_photos_source(), BATCH, 4, 256),
    "pix2pixhd 1024x512 + inst": lambda: _system_pipeline("pix2pixhd"),
    "siamese 2S crops": lambda: _system_pipeline("siamese"),
}


def cpu_per_image(dataset, batches):
    iterator = iter(dataset)
    for _ in range(8):  # fills the cache (8 photos) and the prefetch buffers
        next(iterator)
    start = time.process_time()
    for _ in range(batches):
        tf.nest.map_structure(lambda t: t.numpy(), next(iterator))
    return (time.process_time() - start) / (batches * BATCH)


def transform_cpu_per_image(raw, transform, batches):
    model = AdversarialModel(None, None)
    model.input_transform = transform
    run = tf.function(model.prepare_batch, jit_compile=True)
    batch = next(iter(raw))
    tf.nest.map_structure(lambda t: t.numpy(), run(batch))
    start = time.process_time()
    for _ in range(batches):
        tf.nest.map_structure(lambda t: t.numpy(), run(batch))
    return (time.process_time() - start) / (batches * BATCH)


def input_table(batches):
    print(f"{'pipeline (batch 4)':28} {'host ms/img':>11} {'img/s/core':>10} {'device: host ms/img':>19} "
          f"{'img/s/core':>10} {'transform on device ms/img':>26}")
    for name, make in PIPELINES.items():
        host = cpu_per_image(on_host(*make(), 0), batches)
        raw, transform = make()
        device = cpu_per_image(raw.prefetch(tf.data.AUTOTUNE), batches)
        on_device = transform_cpu_per_image(raw, transform, batches)
        print(f"{name:28} {1e3 * host:11.2f} {1 / host:10.0f} {1e3 * device:19.3f} {1 / device:10.0f} "
              f"{1e3 * on_device:26.2f}", flush=True)


STEP_CONFIGS = {  # system: (what the table calls the config, its options)
    "pix2pix": ("64 px, batch 4", dict(image_size=64, base_width=16, batch_size=4, generator="unet_256")),
    "srgan": ("64 px, batch 4", dict(image_size=64, base_width=16, batch_size=4, residual_blocks=2,
                                     content_loss="pixel")),
    "cyclegan": ("64 px, batch 2", dict(image_size=64, base_width=8, batch_size=2, generator="resnet_6blocks")),
    "pix2pixhd": ("128x64, batch 2", dict(width=128, height=64, ngf=16, ndf=16, n_downsample_global=3,
                                          n_blocks_global=3, num_d=2, batch_size=2, vgg_loss=False)),
    "siamese": ("32 px tiles, batch 2", dict(tile_size=32, generator="resnet_6blocks", base_width=8, batch_size=2)),
}


def step_table(steps, precision, configs=STEP_CONFIGS):
    from train_step import timed_fit

    print(f"{'system (' + precision + ')':32} {'host s/step':>11} {'device s/step':>13}  last losses finite")
    for name, (label, overrides) in configs.items():
        system, times, finite = SYSTEMS[name], {}, {}
        for transforms in ("host", "device"):
            keras.mixed_precision.set_dtype_policy(precision)
            keras.utils.set_random_seed(0)
            config = system.Config(precision=precision, transforms=transforms, **overrides)
            data = system.training_data(config)
            model = system.build(config)
            system.compile(model, config, RunOptions(), steps_per_epoch=1)
            model.input_transform = data.transform
            times[transforms] = timed_fit(model, data.dataset, steps).median()
            finite[transforms] = all(np.isfinite(float(t.result())) for t in model.trackers.values())
            keras.backend.clear_session()
        print(f"{name + ' ' + label:32} "
              f"{times['host']:11.3f} {times['device']:13.3f}  host {finite['host']}, device {finite['device']}",
              flush=True)


def precision_table():
    from pipelines.edges import _bilateral_mean_tables, canny, edge_f1, rgb_to_gray
    from pipelines.transforms import _bicubic_weights

    hr = tf.stack([e["image"] for e in sample_photos_source().dataset])
    rows, columns = _bicubic_weights(256, 64), _bicubic_weights(256, 64)

    def scaled(dtype):
        return (tf.cast(hr, dtype) - 127.5) * tf.constant(1 / 127.5, dtype)

    def lr(dtype):
        out = tf.einsum("ph,bhwc->bpwc", tf.constant(rows, dtype), tf.cast(hr, dtype))
        return tf.einsum("qw,bpwc->bpqc", tf.constant(columns, dtype), out)

    print(f"{'transform':28} {'bfloat16: max |diff| gray levels':>32} {'float16':>8}")
    for name, fn, scale in (("[-1, 1] scaling", scaled, 127.5), ("bicubic LR 256 -> 64", lr, 1.0)):
        reference = fn(tf.float32)
        diffs = [float(tf.reduce_max(tf.abs(tf.cast(fn(dtype), tf.float32) - reference))) * scale
                 for dtype in (tf.bfloat16, tf.float16)]
        print(f"{name:28} {diffs[0]:32.3f} {diffs[1]:8.3f}")

    def edges(dtype):
        levels = tf.cast(rgb_to_gray(hr), tf.int32)
        mean, _ = _bilateral_mean_tables(levels, 5, 50.0, 50.0, dtype)
        gray = tf.cast(tf.clip_by_value(tf.round(tf.cast(mean, tf.float32)), 0, 255), tf.uint8)
        return gray.numpy(), canny(gray).numpy() > 0

    gray32, edges32 = edges(tf.float32)
    print(f"\n{'edges of ' + str(len(edges32)) + ' photos':28} {'gray differs':>13} {'edge label differs':>19} "
          f"{'edge F1':>8} {'max |diff| gray':>16}")
    for dtype in (tf.bfloat16, tf.float16):
        gray, edge = edges(dtype)
        f1 = np.mean([edge_f1(a, b, tolerance=0)[0] for a, b in zip(edge, edges32)])
        print(f"{dtype.name:28} {np.mean(gray != gray32):13.2%} {np.mean(edge != edges32):19.2%} "
              f"{f1:8.3f} {np.abs(gray.astype(int) - gray32).max():16d}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=("input", "precision", "steps"))
    parser.add_argument("--batches", type=int, default=24, help="timed batches per pipeline")
    parser.add_argument("--steps", type=int, default=12, help="timed train steps per placement")
    parser.add_argument("--precision", default="mixed_bfloat16", choices=("float32", "mixed_float16",
                                                                          "mixed_bfloat16"))
    args = parser.parse_args()
    if args.table == "input":
        input_table(args.batches)
    elif args.table == "precision":
        precision_table()
    else:
        step_table(args.steps, args.precision)


if __name__ == "__main__":
    main()
