"""Colour hints on edge maps in pure TensorFlow ops (seed 000, Pix2Pix shoes).

Port of ``ShoesData._draw_color_circles_on_src_img``: up to 300 random
non-white pixels of the target photo are picked without replacement, and for
each one the mean target colour of the 3x3 box around it (``radius = 2`` in
the seed: rows ``y-1 .. y+1``, clipped at the image border) is painted onto
the edge image. The seed paints the boxes one after the other, so where boxes
overlap the last one wins; here all boxes are painted at once with the same
result.

Sampling: each image gets a pseudo-random permutation of its pixel indices, a
seeded bijective integer hash (``hint_order``), the same in TF kernels and
under XLA. The hints are the first ``max_hints`` non-white pixels in that
order: a sample without replacement, in random order, like the seed's
``np.random.choice(..., replace=False)`` (uniform as far as tests/test_hints.py
can tell). Only the start of the order is enumerated unless too few of its
pixels are non-white, so no sort or top-k over all pixels is needed.

Images are float32 in [-1, 1] (the seed's ``(x - 127.5) / 127.5``), shape
[H, W, 3] or [B, H, W, 3]. ``seed`` is an int tensor of shape [2]: the same
seed gives the same hints, so the functions work inside
``tf.data.Dataset.map`` (e.g. with ``seed = [base_seed, element_index]``).
Everything compiles under ``tf.function(jit_compile=True)`` (gathers, scatters
and cumulative sums: no top-k, which XLA on CPU turns into a full sort).
"""

import tensorflow as tf

# Seed rule: a pixel is white when R + G + B >= 2.75 in [-1, 1] scale.
WHITE_SUM = 2.75
# Seed's _get_color_point_bbox_coords(radius=2) spans 2 * radius - 1 = 3 pixels.
BOX = 3
# sample_hint_positions first looks at this many pixels of the order per hint
# (16 x 300 of 65536 at 256x256: enough unless less than about 7% of the photo is
# non-white; then it looks at all of them).
CANDIDATES_PER_HINT = 16
# Odd multipliers of the permutation rounds (from 32-bit integer hashes).
_MULTIPLIERS = (0x045D9F3B, 0x2C1B3C6D, 0x297A2D39, 0x119DE1F3)


def _to_batch(x):
    """[H, W, C] -> [1, H, W, C]; [B, H, W, C] unchanged. Returns (x, had_batch)."""
    x = tf.convert_to_tensor(x)
    if x.shape.rank == 3:
        return x[tf.newaxis], False
    if x.shape.rank == 4:
        return x, True
    raise ValueError(f"expected [H, W, 3] or [B, H, W, 3], got shape {x.shape}")


def _uint32(x):
    """Cast to uint32: the hash arithmetic wraps modulo 2^32."""
    return tf.cast(x, tf.uint32)


def _mix(x):
    """32-bit integer hash (xor-shift / multiply), uint32 -> uint32."""
    for multiplier in _MULTIPLIERS[:2]:
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, _uint32(16)))
        x = x * _uint32(multiplier)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, _uint32(16)))


def _order_bits(num_pixels):
    """m with 2^(m-1) < H * W <= 2^m (at least 1): the permutation's domain is [0, 2^m)."""
    if isinstance(num_pixels, int):
        return max(1, (num_pixels - 1).bit_length())
    bits = tf.math.log(tf.cast(num_pixels, tf.float64)) / tf.math.log(tf.constant(2.0, tf.float64))
    bits = tf.cast(tf.math.ceil(bits), tf.int32)
    # Exact whatever the rounding of the logarithm.
    bits = tf.where(tf.bitwise.left_shift(1, bits) < num_pixels, bits + 1, bits)
    bits = tf.where((bits > 1) & (tf.bitwise.left_shift(1, tf.maximum(bits - 1, 0)) >= num_pixels), bits - 1, bits)
    return tf.maximum(1, bits)


def _num_pixels(image):
    """H * W of a [B, H, W, C] tensor, as a Python int when the shape is static."""
    height, width = image.shape[1], image.shape[2]
    if height is not None and width is not None:
        return height * width
    return tf.shape(image)[1] * tf.shape(image)[2]


def hint_order(target, seed, count=None):
    """Each image's random pixel order, start: the first ``count`` entries (default all).

    target: float32 [H, W, 3] or [B, H, W, 3] in [-1, 1]. seed: int [2], or [B, 2]: one
    per image, whose order then does not depend on the image's place in the batch (a
    replica's shard draws what the whole batch would).
    Returns int32 [..., min(count, 2^m)] with 2^m the power of two >= H * W: entry
    j is the flat index (y * W + x) of the j-th pixel of a random permutation of
    [0, 2^m), or -1 where that pixel is white (the seed's ``np.sum(img, -1) >= 2.75``)
    or beyond H * W. The permutation is 4 rounds of xor-key, odd multiply and
    xor-shift on m bits, keyed by the seed and the image's index in the batch (or by its own seed).
    """
    target, had_batch = _to_batch(tf.convert_to_tensor(target, tf.float32))
    batch = tf.shape(target)[0]
    num_pixels = _num_pixels(target)
    bits = _order_bits(num_pixels)
    mask = tf.bitwise.left_shift(_uint32(1), _uint32(bits)) - 1
    shift = _uint32((bits + 1) // 2)
    size = 2**bits if isinstance(bits, int) else tf.bitwise.left_shift(1, bits)
    count = size if count is None else (min(count, size) if isinstance(size, int) else tf.minimum(count, size))

    seed = tf.cast(seed, tf.int64)
    state = _uint32(0)
    for part in (seed[..., 0], seed[..., 0] // 2**32, seed[..., 1], seed[..., 1] // 2**32):
        state = _mix(tf.bitwise.bitwise_xor(state, _uint32(tf.bitwise.bitwise_and(part, 0xFFFFFFFF))))
    key = _mix(state if seed.shape.rank == 2 else tf.bitwise.bitwise_xor(state, _uint32(tf.range(batch))))
    key = key[:, tf.newaxis]
    index = _uint32(tf.range(count))[tf.newaxis]
    for multiplier in _MULTIPLIERS:
        index = tf.bitwise.bitwise_and(tf.bitwise.bitwise_xor(index, key) * _uint32(multiplier), mask)
        index = tf.bitwise.bitwise_xor(index, tf.bitwise.right_shift(index, shift))
        key = _mix(key)
    flat = tf.cast(index, tf.int32)

    # R + G + B as np.sum does it, without a reduction (slow under XLA on CPU).
    non_white = tf.reshape(target[..., 0] + target[..., 1] + target[..., 2] < WHITE_SUM, [batch, -1])
    inside = flat < num_pixels
    non_white = tf.gather(non_white, tf.where(inside, flat, 0), batch_dims=1) & inside
    order = tf.where(non_white, flat, -1)
    return order if had_batch else order[0]


def _first_valid(order, k):
    """The first k entries >= 0 of each row of ``order`` [B, N] (k <= N), -1 padded: [B, k]."""
    valid = order >= 0
    rank = tf.math.cumsum(tf.cast(valid, tf.int32), axis=1)
    slot = tf.where(valid & (rank <= k), rank - 1, k)
    images = tf.broadcast_to(tf.range(tf.shape(order)[0])[:, tf.newaxis], tf.shape(order))
    chosen = tf.fill(tf.stack([tf.shape(order)[0], k + 1]), -1)
    return tf.tensor_scatter_nd_update(chosen, tf.stack([images, slot], axis=-1), order)[:, :k]


def sample_hint_positions(target, seed, max_hints=300):
    """Seed's ``_get_non_white_coordinates``: random non-white pixels, without replacement.

    target: float32 [H, W, 3] or [B, H, W, 3] in [-1, 1]. seed: int [2] or [B, 2] (``hint_order``).
    Returns ``(positions, valid)``: int32 [..., K, 2] (y, x) in paint order and
    bool [..., K], K = min(max_hints, H * W); the first min(#non-white, max_hints)
    entries are valid, the rest are padding. Each image of a batch gets its own
    draw: the first non-white pixels of its ``hint_order``. Looks at the first
    ``CANDIDATES_PER_HINT * max_hints`` pixels of the order, and at all of them
    if that is too few for some image of the batch.
    """
    target, had_batch = _to_batch(tf.convert_to_tensor(target, tf.float32))
    num_pixels = _num_pixels(target)
    k = min(max_hints, num_pixels) if isinstance(num_pixels, int) else tf.minimum(max_hints, num_pixels)
    start = hint_order(target, seed, CANDIDATES_PER_HINT * max_hints)
    enough = tf.reduce_all(tf.reduce_sum(tf.cast(start >= 0, tf.int32), axis=1) >= k)
    bits = _order_bits(num_pixels)
    enough |= tf.shape(start)[1] >= (2**bits if isinstance(bits, int) else tf.bitwise.left_shift(1, bits))
    flat = tf.cond(enough, lambda: _first_valid(start, k), lambda: _first_valid(hint_order(target, seed), k))
    width = tf.shape(target)[2]
    positions, valid = tf.stack([flat // width, flat % width], axis=-1), flat >= 0
    return (positions, valid) if had_batch else (positions[0], valid[0])


def _box(target, positions, valid, box):
    """Flat indices [B, K, box^2] of the boxes around ``positions`` (H * W outside the image
    or for padding hints) and the mean target colour of each box [B, K, 3]."""
    height, width = tf.shape(target)[1], tf.shape(target)[2]
    offsets = tf.range(box) - box // 2
    rows = positions[..., :1] + tf.repeat(offsets, box)
    cols = positions[..., 1:] + tf.tile(offsets, [box])
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width) & valid[..., tf.newaxis]
    flat = tf.where(inside, rows * width + cols, height * width)
    pixels = tf.concat([tf.reshape(target, [tf.shape(target)[0], -1, 3]), tf.zeros_like(target[:, :1, 0])], axis=1)
    colours = tf.gather(pixels, flat, batch_dims=1)
    count = tf.reduce_sum(tf.cast(inside, tf.float32), axis=-1, keepdims=True)
    return flat, tf.reduce_sum(colours, axis=2) / tf.maximum(count, 1.0)


def hint_colours(target, positions, valid, box=BOX):
    """Seed's ``np.mean(img_target[y0:y1, x0:x1], axis=(0, 1))``: the mean target colour of
    the ``box`` x ``box`` window around each position, clipped at the image border.

    target: float32 [H, W, 3] or [B, H, W, 3]. positions, valid: from ``sample_hint_positions``.
    Returns float32 [..., K, 3] (0 for padding hints).
    """
    target, had_batch = _to_batch(tf.convert_to_tensor(target, tf.float32))
    if not had_batch:
        positions, valid = positions[tf.newaxis], valid[tf.newaxis]
    colours = _box(target, positions, valid, box)[1]
    return colours if had_batch else colours[0]


def paint_hints(edges, target, positions, valid, box=BOX):
    """Seed's loop of ``_draw_color_circle_on_src_img``: paints the box of every valid
    position with its ``hint_colours``, in order (the last box wins where boxes overlap).

    edges, target: float32 [H, W, 3] or [B, H, W, 3]. positions, valid: from
    ``sample_hint_positions``. Returns float32 like ``edges``. All boxes at once: a
    scatter-max of the paint order gives, per pixel, the last box covering it,
    and only that box writes the pixel. Compiles under XLA.
    """
    if box % 2 != 1:
        raise ValueError(f"box must be odd, got {box}")
    edges, had_batch = _to_batch(tf.convert_to_tensor(edges, tf.float32))
    target, _ = _to_batch(tf.convert_to_tensor(target, tf.float32))
    if not had_batch:
        positions, valid = positions[tf.newaxis], valid[tf.newaxis]
    batch, height, width = tf.shape(edges)[0], tf.shape(edges)[1], tf.shape(edges)[2]
    flat, colours = _box(target, positions, valid, box)
    # Pixel H * W is a spare slot for the writes to drop.
    order = tf.range(1, tf.shape(flat)[1] + 1)[tf.newaxis, :, tf.newaxis] + tf.zeros_like(flat)
    images = tf.broadcast_to(tf.range(batch)[:, tf.newaxis, tf.newaxis], tf.shape(flat))
    index = tf.stack([images, flat], axis=-1)
    last = tf.tensor_scatter_nd_max(tf.zeros([batch, height * width + 1], tf.int32), index, order)
    index = tf.stack([images, tf.where(tf.gather_nd(last, index) == order, flat, height * width)], axis=-1)
    updates = tf.broadcast_to(colours[:, :, tf.newaxis], tf.concat([tf.shape(flat), [3]], axis=0))
    pixels = tf.concat([tf.reshape(edges, [batch, -1, 3]), tf.zeros_like(edges[:, :1, 0])], axis=1)
    out = tf.reshape(tf.tensor_scatter_nd_update(pixels, index, updates)[:, :-1], tf.shape(edges))
    return out if had_batch else out[0]


def draw_color_hints(edges, target, seed, max_hints=300, box=BOX):
    """Seed's ``_draw_color_circles_on_src_img``, vectorised over hints.

    edges: float32 [H, W, 3] or [B, H, W, 3] in [-1, 1] (normalised edge image).
    target: float32, same shape, in [-1, 1] (normalised photo). seed: int [2] or [B, 2].
    max_hints: at most this many boxes (seed: 300). box: odd box side (seed: 3).
    Returns float32, same shape as ``edges``: ``edges`` with up to ``max_hints``
    boxes, each filled with the target's box mean at a random non-white pixel
    (the positions of ``sample_hint_positions``, painted in its order).
    """
    positions, valid = sample_hint_positions(target, seed, max_hints)
    return paint_hints(edges, target, positions, valid, box)
