"""Inception-v3 embedding rate at 299x299 (issue 11): images/s of `kgan.metrics.embed`, the
feature pass of every FID/KID/PR evaluation, float32 vs mixed_bfloat16.

    python benchmarks/embedding.py [--images 10000] [--batch-size 50] [--precisions float32 mixed_bfloat16]

Each precision runs in its own process (the Keras dtype policy is process-wide), one after the
other, with seeded random Inception weights (the rate does not depend on the weight values;
nothing is downloaded). The images are the embedded colour photos at 64x64 (a DCGAN's output
size), cycled to --images and resized to 299 by the extractor as in an evaluation. Prints one
row per precision: images, seconds of the whole pass (the first batch's tracing included),
images/s, and the process's peak resident memory.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def child(precision, images, batch_size, size):
    """{"seconds", "images", "rss_mb"} of one embedding pass in the `precision` policy."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    from kgan.metrics import embed, inception_extractor
    from pipelines.sources import sample_photos_source

    keras.config.set_dtype_policy(precision)
    keras.utils.set_random_seed(0)
    extractor = inception_extractor(None)
    photos = sample_photos_source(size).dataset.map(lambda row: row["image"])
    batches = photos.cache().repeat().batch(batch_size)
    start = time.perf_counter()
    features = embed(batches, extractor, images, desc=precision)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "images": len(features),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000, help="images embedded per precision")
    parser.add_argument("--batch-size", type=int, default=50, help="images per Inception call (kgan.evaluate's default)")
    parser.add_argument("--size", type=int, default=64, help="side of the images before the resize to 299")
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=["float32", "mixed_bfloat16"], help="Keras dtype policies, one process each")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.images, args.batch_size, args.size)))
        return
    print("| precision | images | seconds | images/s | peak RSS MB |\n|---|---|---|---|---|")
    for precision in args.precisions:
        out = subprocess.run([sys.executable, __file__, "--child", precision, "--images", str(args.images),
                              "--batch-size", str(args.batch_size), "--size", str(args.size)],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(f"| {precision} | {result['images']} | {result['seconds']:.0f} | "
              f"{result['images'] / result['seconds']:.2f} | {result['rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
