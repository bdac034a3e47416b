"""`python -m kgan.stylize MODEL INPUT OUTPUT`: translate an image file or a folder of images
of any size (seed 004's HD images) with an exported siamese GAN (saved_models/siamese).

Each image is sent to the exported translator in blocks aligned to its S x S tiles, at most
--batch-size tiles each (so memory is bounded by the batch, not the image), and the blocks'
translations are put back together; the translator pads the last row and column of tiles
(repeating the image's edge) and crops back, so the output has the input's size and equals
the translation of the whole image at once. A progress bar counts the tiles.
"""
import argparse
import sys

import numpy as np
import tensorflow as tf
import tqdm

from kgan.errors import UsageError
from kgan.inference import convert_command, load_serving

# Longest block side sent in one request (the exported signature's own limit is larger).
MAX_BLOCK_SIDE = 4096


def load_stylizer(path):
    """(translate, S) of the exported siamese GAN at `path`: translate maps uint8 numpy
    (1, h, w, 3) -> (1, h, w, 3) through its serving_default signature."""
    wanted = "a siamese run (train.py --arch siamese --export)"
    serving = load_serving(path, wanted)
    if "tile_size" not in serving.structured_outputs:
        raise UsageError(f"{path!r} does not translate by tiles (no 'tile_size' output): export {wanted}")

    def translate(images):
        return serving(images=tf.constant(images))["images"].numpy()

    tile = int(serving(images=tf.zeros([1, 1, 1, 3], tf.uint8))["tile_size"][0])
    return translate, tile


def block_layout(height, width, tile, batch_size):
    """(block height, block width) in pixels: multiples of `tile` holding at most batch_size
    tiles, as wide as the image allows (at most MAX_BLOCK_SIDE)."""
    cols = max(1, min(-(-width // tile), batch_size, MAX_BLOCK_SIDE // tile))
    rows = max(1, min(batch_size // cols, MAX_BLOCK_SIDE // tile))
    return rows * tile, cols * tile


def stylize_image(translate, image, tile, batch_size=64, progress=False):
    """uint8 (H, W, 3) -> uint8 (H, W, 3), translated block by block (`block_layout`)."""
    height, width = image.shape[:2]
    block_h, block_w = block_layout(height, width, tile, batch_size)
    out = np.empty_like(image)
    blocks = [(y, x) for y in range(0, height, block_h) for x in range(0, width, block_w)]
    bar = tqdm.tqdm(total=-(-height // tile) * -(-width // tile), unit="tile", leave=False,
                    disable=not progress or len(blocks) == 1)
    for y, x in blocks:
        block = image[y:y + block_h, x:x + block_w]
        out[y:y + block_h, x:x + block_w] = translate(block[np.newaxis])[0]
        bar.update(-(-block.shape[0] // tile) * -(-block.shape[1] // tile))
    bar.close()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgan.stylize", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="exported siamese SavedModel folder (saved_models/siamese[/VERSION])")
    parser.add_argument("input", help="an image file or a folder of images (any size)")
    parser.add_argument("output", help="output image file, or folder (mirrors the input folder)")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="tiles per request to the translator (memory grows with it; default 64)")
    args = parser.parse_args(argv)

    def load():
        if args.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
        translate, tile = load_stylizer(args.model)
        return lambda image: stylize_image(translate, image, tile, args.batch_size, progress=True), ""

    return convert_command("stylize", "stylized", args.input, args.output, load)


if __name__ == "__main__":
    sys.exit(main())
