"""`python -m kgan.upscale MODEL INPUT OUTPUT`: super-resolve an image file or a folder of
images, at any size, with an exported SRGAN generator (saved_models/srgan; seed 000's
"apply a trained SR generator to any photo").

Large images go through the generator in overlapping tiles (--tile low-resolution pixels,
--overlap shared between neighbours), and the tiles are blended with linear ramps across
each overlap, so memory stays bounded and no seam shows. MODEL is a SavedModel folder
written by `train.py --arch srgan --export` or its parent (the highest version is used).
"""
import argparse
import sys

import numpy as np
import tensorflow as tf
import tqdm

from kgan.errors import UsageError
from kgan.inference import convert_command, load_serving


def tile_starts(length, tile, overlap):
    """Starts of the tiles of `tile` pixels that cover [0, length) with neighbours sharing at
    least `overlap` pixels; the last tile ends flush with the image ([0] if it fits in one)."""
    if length <= tile:
        return [0]
    return list(range(0, length - tile, tile - overlap)) + [length - tile]


def blend_ramp(size, start, length, fade):
    """1-D blend weights (size,) of a tile at `start` in a line of `length` pixels: rising
    linearly over its first `fade` pixels unless it touches the start of the line, falling
    over its last `fade` unless it touches the end. Two tiles sharing exactly `fade` pixels
    get weights summing to 1 there; weights are > 0 everywhere, so any overlap normalizes."""
    weights = np.ones(size)
    ramp = np.arange(1, fade + 1) / (fade + 1)
    if fade and start > 0:
        weights[:fade] = np.minimum(weights[:fade], ramp)
    if fade and start + size < length:
        weights[-fade:] = np.minimum(weights[-fade:], ramp[::-1])
    return weights


def load_upscaler(path):
    """(upscale, scale) of the exported SR generator at `path`: upscale maps uint8 numpy
    (B, h, w, 3) -> (B, scale*h, scale*w, 3) through its serving_default signature."""
    serving = load_serving(path, "an srgan run (train.py --arch srgan --export)")

    def upscale(images):
        return serving(images=tf.constant(images))["images"].numpy()

    out = upscale(np.zeros([1, 8, 8, 3], np.uint8))
    if out.shape[1] % 8 or out.shape[1] != out.shape[2] or out.shape[1] < 16:
        raise UsageError(f"the model at {path!r} maps 8x8 images to {out.shape[1]}x{out.shape[2]}: "
                         "export an srgan run")
    return upscale, out.shape[1] // 8


def check_tiling(tile, overlap):
    """--tile >= 0 (0: whole images) and 0 <= --overlap <= tile / 2."""
    if tile < 0 or overlap < 0 or (tile and overlap > tile // 2):
        raise UsageError(f"--tile {tile} must be >= 0 and --overlap {overlap} between 0 and half the tile")


def upscale_image(upscale, image, scale, tile=128, overlap=16, batch_size=1, progress=False):
    """uint8 (H, W, 3) -> uint8 (scale*H, scale*W, 3) via `upscale` (uint8 (B, h, w, 3) ->
    (B, scale*h, scale*w, 3)) on overlapping tile x tile tiles (tile 0: the whole image at
    once), blended (`blend_ramp` over overlap*scale output pixels) and rounded."""
    check_tiling(tile, overlap)
    height, width = image.shape[:2]
    tile = tile or max(height, width)
    overlap = min(overlap, tile // 2)
    tile_h, tile_w, fade = min(tile, height), min(tile, width), overlap * scale
    corners = [(y, x) for y in tile_starts(height, tile, overlap) for x in tile_starts(width, tile, overlap)]
    total = np.zeros([scale * height, scale * width, 1])
    blended = np.zeros([scale * height, scale * width, image.shape[2]])
    bar = tqdm.tqdm(total=len(corners), unit="tile", leave=False, disable=not progress or len(corners) == 1)
    for first in range(0, len(corners), batch_size):
        group = corners[first:first + batch_size]
        outputs = np.asarray(upscale(np.stack([image[y:y + tile_h, x:x + tile_w] for y, x in group])))
        for (y, x), out in zip(group, outputs):
            weight = np.outer(blend_ramp(scale * tile_h, scale * y, scale * height, fade),
                              blend_ramp(scale * tile_w, scale * x, scale * width, fade))[..., None]
            blended[scale * y:scale * (y + tile_h), scale * x:scale * (x + tile_w)] += weight * out
            total[scale * y:scale * (y + tile_h), scale * x:scale * (x + tile_w)] += weight
        bar.update(len(group))
    bar.close()
    return np.clip(np.round(blended / total), 0, 255).astype(np.uint8)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgan.upscale", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="exported SRGAN SavedModel folder (saved_models/srgan[/VERSION])")
    parser.add_argument("input", help="an image file or a folder of images (any size)")
    parser.add_argument("output", help="output image file, or folder (mirrors the input folder)")
    parser.add_argument("--tile", type=int, default=128,
                        help="tile size in input pixels (memory grows with its square); 0: whole images")
    parser.add_argument("--overlap", type=int, default=16,
                        help="input pixels shared by neighbouring tiles, blended linearly (at most tile/2)")
    parser.add_argument("--batch-size", type=int, default=1, help="tiles per generator call")
    args = parser.parse_args(argv)

    def load():
        check_tiling(args.tile, args.overlap)
        if args.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
        upscale, scale = load_upscaler(args.model)
        return (lambda image: upscale_image(upscale, image, scale, args.tile, args.overlap, args.batch_size,
                                            progress=True), f" x{scale}")

    return convert_command("upscale", "upscaled", args.input, args.output, load)

if __name__ == "__main__":
    sys.exit(main())
