"""Cutting images into S x S tiles and joining them back, in TF ops (seed 004's combo model
and its HD translation).

`cut_tiles` is a reshape and a transpose, (B, gh*S, gw*S, C) -> (B*gh*gw, S, S, C), tiles
in row-major order per image; `join_tiles` is its exact inverse. Seed 004's combo model
cuts each 2S x 2S crop into its 4 tiles (gh = gw = 2), runs G on all tiles of the batch at
once and joins them, so D judges the seams. `translate_tiled` does the same for a whole
image of any size with memory bounded by `tiles_per_call`.
"""
import tensorflow as tf

from kgan.models.translation import pad_to_multiple
from pipelines.images import to_uint8, to_unit_range


def cut_tiles(images, tile):
    """(B, gh * tile, gw * tile, C) -> (B * gh * gw, tile, tile, C): image b's tile (i, j) at
    index b * gh * gw + i * gw + j. H and W must be multiples of `tile`."""
    shape = tf.shape(images)
    channels = images.shape[-1]
    grid_h, grid_w = shape[1] // tile, shape[2] // tile
    x = tf.reshape(images, [shape[0], grid_h, tile, grid_w, tile, channels])
    x = tf.transpose(x, [0, 1, 3, 2, 4, 5])
    return tf.reshape(x, [shape[0] * grid_h * grid_w, tile, tile, channels])


def join_tiles(tiles, grid_h, grid_w):
    """(B * grid_h * grid_w, S, S, C) in `cut_tiles` order -> (B, grid_h * S, grid_w * S, C)."""
    shape = tf.shape(tiles)
    tile, channels = shape[1], tiles.shape[-1]
    x = tf.reshape(tiles, [-1, grid_h, grid_w, tile, tile, channels])
    x = tf.transpose(x, [0, 1, 3, 2, 4, 5])
    return tf.reshape(x, [-1, grid_h * tile, grid_w * tile, channels])


def combo(generator, images, tile, grid=2, training=True):
    """Seed 004's Combo: (B, grid*S, grid*S, C) -> G applied to each S x S tile, in one
    batch of B * grid**2 tiles, rejoined to (B, grid*S, grid*S, C')."""
    return join_tiles(generator(cut_tiles(images, tile), training=training), grid, grid)


def translate_tiled(generator, images, tile, tiles_per_call):
    """uint8 (B, H, W, C), any H and W -> uint8 (B, H, W, C'): padded to multiples of `tile`
    (last row and column repeated), cut into tiles, translated in groups of at most
    `tiles_per_call` tiles (a tf.map_fn, one group after another, so memory is bounded by
    the group, not the image), rejoined and cropped back."""
    shape = tf.shape(images)
    padded = pad_to_multiple(images, tile)
    grid_h, grid_w = tf.shape(padded)[1] // tile, tf.shape(padded)[2] // tile
    tiles = cut_tiles(padded, tile)
    count = tf.shape(tiles)[0]
    groups = -(-count // tiles_per_call)
    per_group = -(-count // groups)
    channels = images.shape[-1]
    tiles = tf.concat([tiles, tf.zeros([groups * per_group - count, tile, tile, channels], tiles.dtype)], 0)
    tiles = tf.reshape(tiles, [groups, per_group, tile, tile, channels])
    out = tf.map_fn(lambda group: to_uint8(generator(to_unit_range(group), training=False)), tiles,
                    fn_output_signature=tf.uint8, parallel_iterations=1)
    out = tf.reshape(out, [groups * per_group, tile, tile, out.shape[-1]])[:count]
    return join_tiles(out, grid_h, grid_w)[:, : shape[1], : shape[2]]


def seam_ratio(image, tile):
    """Seed 004's claim as a number: the mean absolute difference between neighbouring pixels
    across the tile borders (columns k*S - 1 | k*S and the same for rows) divided by the
    same statistic between neighbouring columns and rows inside the tiles. (H, W, C) any
    dtype -> float; 1 means the borders are as smooth as the inside, > 1 visible seams."""
    image = tf.cast(image, tf.float64)
    col_diffs = tf.abs(image[:, 1:] - image[:, :-1])
    row_diffs = tf.abs(image[1:] - image[:-1])
    col_border = tf.range(1, tf.shape(image)[1]) % tile == 0
    row_border = tf.range(1, tf.shape(image)[0]) % tile == 0
    border = tf.concat([tf.reshape(tf.boolean_mask(col_diffs, col_border, axis=1), [-1]),
                        tf.reshape(tf.boolean_mask(row_diffs, row_border, axis=0), [-1])], 0)
    inside = tf.concat([tf.reshape(tf.boolean_mask(col_diffs, ~col_border, axis=1), [-1]),
                        tf.reshape(tf.boolean_mask(row_diffs, ~row_border, axis=0), [-1])], 0)
    return float(tf.reduce_mean(border) / tf.reduce_mean(inside))
