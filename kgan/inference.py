"""What the file-conversion tools (`kgan.translate`, `kgan.upscale`, `kgan.stylize`) share:
loading an exported image model, planning file or folder jobs, reading and writing images,
and their command body (`convert_command`)."""
import os
import sys

import numpy as np
import tensorflow as tf
import tqdm

from kgan.errors import UsageError
from pipelines.images import decode_image
from pipelines.sources import list_images


def load_signature(path, name="serving_default"):
    """Signature `name` of the SavedModel at `path` or at its highest numeric version
    ("input_shapes": the documented input shapes, `kgan.export`)."""
    if os.path.isdir(path) and not os.path.exists(os.path.join(path, "saved_model.pb")):
        versions = [int(d) for d in os.listdir(path) if d.isdigit()]
        if versions:
            path = os.path.join(path, str(max(versions)))
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise UsageError(f"no SavedModel at {path!r}: pass a folder written by train.py --export")
    return tf.saved_model.load(path).signatures[name]


def load_serving(path, wanted):
    """`load_signature(path)`, which must map "images" uint8 to images. `wanted` names the
    runs that export such a model."""
    serving = load_signature(path)
    inputs = serving.structured_input_signature[1]
    if list(inputs) != ["images"] or inputs["images"].dtype != tf.uint8:
        raise UsageError(f"{path!r} is not an image-to-image model (its inputs are {list(inputs)}): export {wanted}")
    return serving


def plan(source, output):
    """[(input file, output file)] for a file or a folder INPUT; a folder is searched
    recursively and mirrored into the OUTPUT folder as PNGs. OUTPUT is a folder (made if
    missing) for a folder INPUT, or when it exists as one or ends with "/"; otherwise a file
    whose folder must exist."""
    if os.path.isdir(source):
        files = list_images(source)
        if not files:
            raise UsageError(f"no images found under {source!r}")
        if os.path.exists(output) and not os.path.isdir(output):
            raise UsageError(f"output {output!r} is a file: pass a folder for the folder of images {source!r}")
        return [(f, os.path.splitext(os.path.join(output, os.path.relpath(f, source)))[0] + ".png") for f in files]
    if not os.path.isfile(source):
        raise UsageError(f"input {source!r} does not exist: pass an image file or a folder of images")
    if os.path.isdir(output) or output.endswith(("/", os.sep)):
        return [(source, os.path.join(output, os.path.splitext(os.path.basename(source))[0] + ".png"))]
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UsageError(f"the folder of output {output!r} does not exist: create it, or end OUTPUT with '/' to "
                         "write into a new folder")
    return [(source, output)]


def read_image(path):
    """Any common format -> uint8 (H, W, 3); raises tf.errors.InvalidArgumentError if unreadable."""
    return decode_image(tf.io.read_file(path)).numpy()


def write_image(path, image):
    """uint8 (H, W, 3) -> PNG, or JPEG (quality 95) when `path` ends in .jpg/.jpeg, making
    its folder if missing; raises UsageError if it cannot be written."""
    image = np.asarray(image, np.uint8)
    encoded = tf.io.encode_jpeg(image, quality=95) if path.lower().endswith((".jpg", ".jpeg")) else tf.io.encode_png(image)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(encoded.numpy())
    except OSError as error:
        raise UsageError(f"cannot write {path!r}: {error.strerror or error}: pass a writable output file or folder")


def convert_files(jobs, convert, tool):
    """Writes convert(image) (uint8 (H, W, 3) -> uint8 array) of each job's input file to its
    output file, with a progress bar over several files. Unreadable files are skipped with
    one line each on stderr ("TOOL: skipped ..."); returns how many were skipped."""
    skipped = 0
    for source, target in tqdm.tqdm(jobs, unit="image", disable=len(jobs) == 1):
        try:
            image = read_image(source)
        except tf.errors.InvalidArgumentError:
            skipped += 1
            print(f"{tool}: skipped {source}: not a readable image", file=sys.stderr)
            continue
        write_image(target, convert(image))
    return skipped


def convert_command(tool, verb, source, output, load):
    """The body of a conversion tool's main(): plans the jobs from `source` to `output`
    (checking both paths before the slow model load), then `load()` -> (convert, note)
    checks the tool's options and loads the model, then every file is converted. Prints
    "VERB N image(s)NOTE into OUTPUT" and returns 0, or 1 when unreadable files were
    skipped; a UsageError is one line "TOOL: error: ..." and status 2."""
    try:
        jobs = plan(source, output)
        convert, note = load()
        skipped = convert_files(jobs, convert, tool)
    except UsageError as error:
        print(f"{tool}: error: {error}", file=sys.stderr)
        return 2
    print(f"{verb} {len(jobs) - skipped} image(s){note} into {output}", file=sys.stderr)
    return 1 if skipped else 0
