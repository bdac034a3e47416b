"""Data preparation commands: `python -m kgan.prepare faces SRC DST`.

faces: seed 002's Haar-cascade face crop. Every image below SRC (recursively) is searched
with OpenCV's `haarcascade_frontalface_default.xml` (scaleFactor 1.3, minNeighbors 5, as
the seed); the largest face is written to the same relative path under DST, so class
subfolders (`females/`, `males/`) are kept for the conditional GAN. Images without a face
are counted and skipped.
"""
import argparse
import os
import sys

import cv2
import tqdm

from kgan.errors import UsageError
from pipelines.sources import list_images


def largest_face(image_bgr, cascade):
    """(x, y, w, h) of the largest detected frontal face, or None."""
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    faces = cascade.detectMultiScale(gray, 1.3, 5)
    if len(faces) == 0:
        return None
    return max(faces, key=lambda f: f[2] * f[3])


def crop_faces(source, destination):
    """Crops faces from every image below `source` into `destination`; returns
    (written, without_face, unreadable) counts."""
    paths = list_images(source)
    if not paths:
        raise UsageError(f"no images found under {source!r}: pass the folder holding the photos")
    cascade = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml"))
    written = without_face = unreadable = 0
    for path in tqdm.tqdm(paths, unit="image"):
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            unreadable += 1
            continue
        face = largest_face(image, cascade)
        if face is None:
            without_face += 1
            continue
        x, y, w, h = face
        target = os.path.join(destination, os.path.relpath(path, source))
        target = os.path.splitext(target)[0] + ".png"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        cv2.imwrite(target, image[y : y + h, x : x + w])
        written += 1
    return written, without_face, unreadable


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgan.prepare", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    faces = commands.add_parser("faces", help="crop the largest frontal face of every image (seed 002)")
    faces.add_argument("source", help="folder of photos (searched recursively; class subfolders kept)")
    faces.add_argument("destination", help="output folder for the face crops (PNG)")
    args = parser.parse_args(argv)
    try:
        if not os.path.isdir(args.source):
            raise UsageError(f"source folder {args.source!r} does not exist")
        written, without_face, unreadable = crop_faces(args.source, args.destination)
    except UsageError as error:
        print(f"prepare: error: {error}", file=sys.stderr)
        return 2
    print(f"{written} faces written to {args.destination}; {without_face} images without a face, "
          f"{unreadable} unreadable", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
