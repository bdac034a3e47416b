"""`python -m kgan.synthesize MODEL LABELS OUTPUT`: photos from label maps with an exported
pix2pixHD (train.py --arch pix2pixhd --export, kgan.pix2pixhd_features --export, or
kgan.convert pix2pixhd), at any size (padded inside to the generator's multiple).

LABELS is a label-id PNG (8 or 16 bit, one channel: Cityscapes `*_gtFine_labelIds.png`) or
a folder of them, mirrored into the OUTPUT folder. A model with instance edges needs
--instances: the instance-id PNG, or the folder holding them (matched by file stem, the
Cityscapes suffixes dropped). A model with feature clusters takes --cluster K (centre K of
every class) or random (one per class and image, from --seed).
"""
import argparse
import os
import sys

import numpy as np
import tensorflow as tf
from PIL import Image

from kgan.errors import UsageError
from kgan.inference import load_signature, plan, write_image
from pipelines.sources import file_stem, list_images


def read_ids(path):
    """A one-channel 8- or 16-bit PNG -> its values, int32 (H, W) (PIL: decode_png with
    dtype uint16 would scale 8-bit values by 257)."""
    try:
        with Image.open(path) as image:
            ids = np.asarray(image)
    except OSError:
        raise UsageError(f"{path} is not a readable PNG of ids") from None
    if ids.ndim != 2:
        raise UsageError(f"{path} has {ids.shape[-1]} channels: label and instance maps are one-channel id PNGs")
    return ids.astype(np.int32)


def instance_files(instances, jobs):
    """{label file: instance file} for `jobs`; `instances` is a file (one job) or a folder."""
    if os.path.isfile(instances):
        if len(jobs) != 1:
            raise UsageError("--instances is one file but LABELS is a folder: pass the folder of instance maps")
        return {jobs[0][0]: instances}
    if not os.path.isdir(instances):
        raise UsageError(f"--instances {instances!r} does not exist: pass an instance-id PNG or a folder of them")
    by_stem = {file_stem(path): path for path in list_images(instances)}
    missing = [source for source, _ in jobs if file_stem(source) not in by_stem]
    if missing:
        raise UsageError(f"no instance map for {missing[0]} in {instances!r} (matched by file stem)")
    return {source: by_stem[file_stem(source)] for source, _ in jobs}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgan.synthesize", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="exported pix2pixHD SavedModel folder (saved_models/pix2pixhd[/VERSION])")
    parser.add_argument("labels", help="a label-id PNG or a folder of them")
    parser.add_argument("output", help="output image file, or folder (mirrors the input folder)")
    parser.add_argument("--instances", help="the instance-id PNG or folder (models with instance edges)")
    parser.add_argument("--cluster", default="random", help="feature cluster per class: an index or random "
                        "(models exported with clusters; default random)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --cluster random (default 0)")
    args = parser.parse_args(argv)
    try:
        serving = load_signature(args.model)
        inputs = serving.structured_input_signature[1]
        if "labels" not in inputs:
            raise UsageError(f"{args.model!r} is not a pix2pixHD model (its inputs are {list(inputs)}): export a "
                             "train.py --arch pix2pixhd run")
        if "real_images" in inputs:
            raise UsageError(f"{args.model!r} takes real images for its encoder: cluster its features with "
                             "python -m kgan.pix2pixhd_features RUN --export")
        if "instances" in inputs and not args.instances:
            raise UsageError(f"{args.model!r} uses instance edges: pass --instances")
        if args.cluster != "random" and not args.cluster.isdigit():
            raise UsageError(f"--cluster must be an index or random, got {args.cluster!r}")
        jobs = plan(args.labels, args.output)
        pairs = instance_files(args.instances, jobs) if "instances" in inputs else {}
        rng = np.random.default_rng(args.seed)
        if "clusters" in inputs:
            count = int(load_signature(args.model, "input_shapes")()["clusters"][1])
        for source, target in jobs:
            request = {"labels": read_ids(source)[None]}
            if pairs:
                request["instances"] = read_ids(pairs[source])[None]
                if request["instances"].shape != request["labels"].shape:
                    raise UsageError(f"{pairs[source]} is {request['instances'].shape[1:]} but {source} is "
                                     f"{request['labels'].shape[1:]}: the maps must have the same size")
            if "clusters" in inputs:
                request["clusters"] = (rng.integers(0, 2**16, (1, count)) if args.cluster == "random"
                                       else np.full((1, count), int(args.cluster))).astype(np.int32)
            try:
                image = serving(**{k: tf.constant(v, tf.int32) for k, v in request.items()})["images"][0]
            except tf.errors.InvalidArgumentError as error:
                raise UsageError(f"{source}: {error.message.splitlines()[0]}") from None
            write_image(target, image.numpy())
    except UsageError as error:
        print(f"synthesize: error: {error}", file=sys.stderr)
        return 2
    print(f"synthesized {len(jobs)} image(s) into {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
