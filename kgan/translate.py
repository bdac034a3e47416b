"""`python -m kgan.translate MODEL INPUT OUTPUT`: apply an exported image-to-image
generator (pix2pix, or one direction of CycleGAN: saved_models/cyclegan_AtoB) to an image
file or a folder of images, at any size.

MODEL is a SavedModel folder written by `train.py --export` (saved_models/NAME/VERSION) or
its parent (the highest version is used). A folder INPUT is searched recursively and mirrored
into the OUTPUT folder; outputs are PNG unless OUTPUT names a .jpg file.
"""
import argparse
import os
import sys

import tensorflow as tf
import tqdm

from kgan.errors import UsageError
from pipelines.images import decode_image
from pipelines.sources import list_images


def load_serving(path):
    """serving_default of the SavedModel at `path` or at its highest numeric version."""
    if os.path.isdir(path) and not os.path.exists(os.path.join(path, "saved_model.pb")):
        versions = [int(d) for d in os.listdir(path) if d.isdigit()]
        if versions:
            path = os.path.join(path, str(max(versions)))
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise UsageError(f"no SavedModel at {path!r}: pass a folder written by train.py --export")
    serving = tf.saved_model.load(path).signatures["serving_default"]
    inputs = serving.structured_input_signature[1]
    if list(inputs) != ["images"] or inputs["images"].dtype != tf.uint8:
        raise UsageError(f"{path!r} is not an image-to-image model (its inputs are {list(inputs)}): "
                         "export a pix2pix or cyclegan run")
    return serving


def translate_file(serving, source, target):
    image = decode_image(tf.io.read_file(source))
    out = serving(images=image[tf.newaxis])["images"][0]
    encoded = tf.io.encode_jpeg(out, quality=95) if target.lower().endswith((".jpg", ".jpeg")) else tf.io.encode_png(out)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    tf.io.write_file(target, encoded)


def plan(source, output):
    """[(input file, output file)] for a file or a folder INPUT."""
    if os.path.isdir(source):
        files = list_images(source)
        if not files:
            raise UsageError(f"no images found under {source!r}")
        return [(f, os.path.splitext(os.path.join(output, os.path.relpath(f, source)))[0] + ".png") for f in files]
    if not os.path.isfile(source):
        raise UsageError(f"input {source!r} does not exist: pass an image file or a folder of images")
    if os.path.isdir(output):
        output = os.path.join(output, os.path.splitext(os.path.basename(source))[0] + ".png")
    return [(source, output)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgan.translate", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="exported SavedModel folder (saved_models/NAME[/VERSION])")
    parser.add_argument("input", help="an image file or a folder of images (any size)")
    parser.add_argument("output", help="output image file, or folder (mirrors the input folder)")
    args = parser.parse_args(argv)
    failed = 0
    try:
        serving = load_serving(args.model)
        jobs = plan(args.input, args.output)
        for source, target in tqdm.tqdm(jobs, unit="image", disable=len(jobs) == 1):
            try:
                translate_file(serving, source, target)
            except tf.errors.InvalidArgumentError:
                failed += 1
                print(f"translate: skipped {source}: not a readable image", file=sys.stderr)
    except UsageError as error:
        print(f"translate: error: {error}", file=sys.stderr)
        return 2
    print(f"translated {len(jobs) - failed} image(s) into {args.output}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
