"""TF edges + colour hints (pipelines.edges / pipelines.hints) vs OpenCV and seed 000.

Prints two tables:
1. per skimage photo, F1 / precision / recall (1-pixel tolerance) and the
   number of differing pixels of ``detect_edges`` vs seed 000's cv2
   ``detect_edges``, at the photo's size and at 256x256, for the default
   (cv2's tables) and the ``fast=True`` bilateral filter that
   ``pipelines.batches.edges2shoes_batches`` uses;
2. images/s at 256x256 for the seed's per-image Python preprocessing
   (``ShoesData.__getitem__`` minus file reading and torch conversion: cv2 edges,
   resize, normalize, numpy loop over 300 colour boxes, copied from the seed)
   and for the TF pipelines in ``tf.data`` (map + batch).

Run from the repository root: ``python benchmarks/edges_vs_opencv.py [--images N] [--threads T]``.
"""

import argparse
import os
import sys
import time

import cv2
import numpy as np
import tensorflow as tf
from skimage import data

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipelines.edges import detect_edges, edge_f1  # noqa: E402
from pipelines.hints import draw_color_hints  # noqa: E402

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "immunohistochemistry",
          "hubble_deep_field"]
IMAGE_SIZE = 256
BATCH = 32


# ---- seed 000, copied (cv2 + numpy; torch_snippets' resize is cv2.resize to IMAGE_SIZE^2) ----
def seed_detect_edges(img):
    img_gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    img_gray = cv2.bilateralFilter(img_gray, 5, 50, 50)
    img_gray_edges = cv2.Canny(img_gray, 45, 100)
    # invert black/white
    img_gray_edges = cv2.bitwise_not(img_gray_edges)
    img_edges = cv2.cvtColor(img_gray_edges, cv2.COLOR_GRAY2RGB)
    return img_edges


def resize(im, size):
    return cv2.resize(im, (size, size))


def normalize(x):
    return (x - 127.5) / 127.5


class SeedShoesPreprocessing:
    """Seed 000's ``ShoesData.__getitem__`` on an in-memory uint8 RGB image."""

    def __call__(self, im):
        edges = seed_detect_edges(im)
        im, edges = resize(im, IMAGE_SIZE), resize(edges, IMAGE_SIZE)
        im, edges = normalize(im), normalize(edges)
        self._draw_color_circles_on_src_img(edges, im)
        return edges, im

    def _draw_color_circles_on_src_img(self, img_src, img_target):
        non_white_coords = self._get_non_white_coordinates(img_target)
        for center_y, center_x in non_white_coords:
            self._draw_color_circle_on_src_img(img_src, img_target, center_y, center_x)

    def _get_non_white_coordinates(self, img):
        non_white_mask = np.sum(img, axis=-1) < 2.75
        non_white_y, non_white_x = np.nonzero(non_white_mask)
        # randomly sample non-white coordinates
        n_non_white = len(non_white_y)
        n_color_points = min(n_non_white, 300)
        idxs = np.random.choice(n_non_white, n_color_points, replace=False)
        non_white_coords = list(zip(non_white_y[idxs], non_white_x[idxs], strict=True))
        return non_white_coords

    def _draw_color_circle_on_src_img(self, img_src, img_target, center_y, center_x):
        assert img_src.shape == img_target.shape
        y0, y1, x0, x1 = self._get_color_point_bbox_coords(center_y, center_x)
        color = np.mean(img_target[y0:y1, x0:x1], axis=(0, 1))
        img_src[y0:y1, x0:x1] = color

    def _get_color_point_bbox_coords(self, center_y, center_x):
        radius = 2
        y0 = max(0, center_y - radius + 1)
        y1 = min(IMAGE_SIZE, center_y + radius)
        x0 = max(0, center_x - radius + 1)
        x1 = min(IMAGE_SIZE, center_x + radius)
        return y0, y1, x0, x1


# ---- TF pipelines ----
def tf_normalize(x):
    return tf.cast(x, tf.float32) / 127.5 - 1.0


def tf_prepare(index, image):
    """Per image: uint8 [H, W, 3] -> (hinted edges, target) float32 in [-1, 1]."""
    target = tf_normalize(image)
    seed = tf.stack([tf.constant(0, tf.int64), index])
    return draw_color_hints(tf_normalize(detect_edges(image)), target, seed), target


xla_edges = tf.function(lambda images: tf_normalize(detect_edges(images)), jit_compile=True)
xla_fast_edges = tf.function(lambda images: tf_normalize(detect_edges(images, fast=True)), jit_compile=True)


@tf.function(jit_compile=True)
def xla_edges_and_hints(index, images):
    """Per batch, one XLA call (as edges2shoes_batches): uint8 images -> (hinted edges, target)."""
    target = tf_normalize(images)
    seed = tf.stack([tf.constant(1, tf.int64), index])
    return draw_color_hints(tf_normalize(detect_edges(images, fast=True)), target, seed), target


def dataset_pipelines(images, threads):
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    options.threading.max_intra_op_parallelism = 1
    base = tf.data.Dataset.from_tensor_slices(images).with_options(options)
    return {
        "TF graph: map(edges+hints) per image, batch": base.enumerate().map(tf_prepare).batch(BATCH),
        "TF: batch, map(XLA fast edges + hints)": base.batch(BATCH).enumerate().map(xla_edges_and_hints),
        "TF: batch, map(XLA edges) [edges only]": base.batch(BATCH).map(xla_edges),
        "TF: batch, map(XLA fast edges) [edges only]": base.batch(BATCH).map(xla_fast_edges),
    }


def photo(name):
    image = getattr(data, name)()
    return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image


def accuracy_table():
    print(f"cv2 {cv2.__version__} (IPP {'on' if cv2.ipp.useIPP() else 'off'}); "
          "TF detect_edges() default rounding='ipp', tables / fast=True\n")
    print(f"{'photo':22s} {'size':>9s} {'cv2 edge px':>11s} {'F1':>7s} {'prec':>7s} {'recall':>7s} {'diff px':>7s}"
          f" {'fast F1':>7s} {'diff px':>7s}")
    for name in PHOTOS:
        full = photo(name)
        for image in (full, resize(full, IMAGE_SIZE)):
            ref = seed_detect_edges(image)[..., 0] == 0
            ours = detect_edges(image).numpy()[..., 0] == 0
            fast = detect_edges(image, fast=True).numpy()[..., 0] == 0
            f1, precision, recall = edge_f1(ours, ref)
            size = f"{image.shape[0]}x{image.shape[1]}"
            print(f"{name:22s} {size:>9s} {ref.sum():11d} {f1:7.4f} {precision:7.4f} {recall:7.4f} "
                  f"{(ours != ref).sum():7d} {edge_f1(fast, ref)[0]:7.4f} {(fast != ref).sum():7d}")


def images_per_second(run, count, repeats=3):
    """Best of `repeats` runs (the first also pays for page faults and warm caches)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def speed_table(num_images, threads):
    photos = [resize(photo(name), IMAGE_SIZE) for name in PHOTOS]
    images = np.stack([photos[i % len(photos)] for i in range(num_images)])
    seed_prep = SeedShoesPreprocessing()
    np.random.seed(0)

    rows = [
        ("seed 000 ShoesData preprocessing (cv2 + numpy loop)",
         images_per_second(lambda: [seed_prep(image) for image in images], num_images)),
        ("seed 000 detect_edges only (cv2)",
         images_per_second(lambda: [seed_detect_edges(image) for image in images], num_images)),
    ]
    for label, dataset in dataset_pipelines(images, threads).items():
        for _ in dataset.take(1):  # trace / compile once
            pass
        rows.append((label, images_per_second(lambda d=dataset: [None for _ in d], num_images)))

    print(f"\n{num_images} images of {IMAGE_SIZE}x{IMAGE_SIZE}, batch {BATCH}, {threads} thread(s), best of 3\n")
    print(f"{'pipeline':55s} {'images/s':>9s}")
    for label, rate in rows:
        print(f"{label:55s} {rate:9.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256, help="images per speed run")
    parser.add_argument("--threads", type=int, default=1, help="TF / tf.data / cv2 threads")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    cv2.setNumThreads(args.threads)
    accuracy_table()
    speed_table(args.images, args.threads)


if __name__ == "__main__":
    main()
