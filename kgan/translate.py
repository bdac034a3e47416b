"""`python -m kgan.translate MODEL INPUT OUTPUT`: apply an exported image-to-image
generator (pix2pix, or one direction of CycleGAN: saved_models/cyclegan_AtoB) to an image
file or a folder of images, at any size.

MODEL is a SavedModel folder written by `train.py --export` (saved_models/NAME/VERSION) or
its parent (the highest version is used). A folder INPUT is searched recursively and mirrored
into the OUTPUT folder; outputs are PNG unless OUTPUT names a .jpg file.
"""
import argparse
import sys

import numpy as np

from kgan.inference import convert_command, load_serving


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgan.translate", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="exported SavedModel folder (saved_models/NAME[/VERSION])")
    parser.add_argument("input", help="an image file or a folder of images (any size)")
    parser.add_argument("output", help="output image file, or folder (mirrors the input folder)")
    args = parser.parse_args(argv)

    def load():
        serving = load_serving(args.model, "a pix2pix or cyclegan run")
        return lambda image: serving(images=image[np.newaxis])["images"][0].numpy(), ""

    return convert_command("translate", "translated", args.input, args.output, load)


if __name__ == "__main__":
    sys.exit(main())
