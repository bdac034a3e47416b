"""Input-pipeline throughput at 256x256 on this machine, from image files on disk.

    python benchmarks/data_pipelines.py [--images 64] [--batches 8]

(Not benchmarks/pipelines.py: that name would shadow the `pipelines` package for every
script run from this folder.)

Writes --images JPEGs made from scikit-image's bundled photos to a temporary folder, then
prints images/s for every batch builder of `pipelines.batches` (first pass: read, decode,
resize and cache; steady state: later passes) and for seed 000's per-image Python
`ShoesData` preprocessing (cv2 + numpy loops, from benchmarks/edges_vs_opencv.py) on the
same files, next to the edges + hints pipeline that replaces it.
"""
import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage import data  # noqa: E402

from edges_vs_opencv import SeedShoesPreprocessing  # noqa: E402
from pipelines.batches import (  # noqa: E402
    edges2shoes_batches,
    image_batches,
    paired_batches,
    superres_batches,
    unpaired_batches,
)
from pipelines.sources import ab_folder_source, folder_source  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry")
BATCH = 8


def write_files(root, count):
    """count photos as JPEGs in root/photos and as 512x256 A|B pairs in root/ab."""
    for folder in ("photos", "ab"):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    for i in range(count):
        photo = getattr(data, PHOTOS[i % len(PHOTOS)])()
        bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
        cv2.imwrite(os.path.join(root, "photos", f"{i:04d}.jpg"), bgr)
        square = cv2.resize(bgr, (256, 256), interpolation=cv2.INTER_AREA)
        cv2.imwrite(os.path.join(root, "ab", f"{i:04d}.jpg"), np.concatenate([255 - square, square], 1))


def rate(iterator, batches, images_per_batch):
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * images_per_batch / (time.perf_counter() - start)


def seed_shoes_rate(paths):
    prepare = SeedShoesPreprocessing()
    np.random.seed(0)
    start = time.perf_counter()
    for path in paths:
        prepare(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB))
    return len(paths) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64, help="image files to write and read")
    parser.add_argument("--batches", type=int, default=16, help="batches timed in the steady state")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="kgan-pipelines-")
    write_files(root, args.images)
    photos = lambda: folder_source(os.path.join(root, "photos"))  # noqa: E731
    first_pass = args.images // BATCH
    pipelines = {
        "image_batches (noise GANs)": lambda: image_batches(photos(), 256, 3, BATCH),
        "paired_batches (pix2pix A|B, 286->256 jitter)": lambda: paired_batches(
            ab_folder_source(os.path.join(root, "ab")), BATCH),
        "unpaired_batches (CycleGAN, A and B)": lambda: unpaired_batches(photos(), photos(), BATCH)[0],
        "edges2shoes_batches (edges + color hints)": lambda: edges2shoes_batches(photos(), BATCH),
        "superres_batches (HR crop 256, x4)": lambda: superres_batches(photos(), BATCH, scale=4, hr_crop=256),
        "superres_batches (seed 001 resize 256/64)": lambda: superres_batches(photos(), BATCH, scale=4),
    }
    print(f"{args.images} JPEG files, batch {BATCH}, 256x256 output, {os.cpu_count()} cores")
    print(f"{'pipeline':48} {'first pass img/s':>17} {'steady img/s':>13}")
    for name, build in pipelines.items():
        iterator = iter(build())
        per_batch = 2 * BATCH if name.startswith("unpaired") else BATCH
        first = rate(iterator, first_pass, per_batch)
        steady = rate(iterator, args.batches, per_batch)
        print(f"{name:48} {first:17.1f} {steady:13.1f}", flush=True)
    paths = sorted(os.path.join(root, "photos", f) for f in os.listdir(os.path.join(root, "photos")))
    print(f"{'seed 000 ShoesData per image (cv2 + numpy)':48} {seed_shoes_rate(paths):17.1f} {'-':>13}")


if __name__ == "__main__":
    main()
