"""Colour hints on edge maps in pure TensorFlow ops (seed 000, Pix2Pix shoes).

Port of ``ShoesData._draw_color_circles_on_src_img``: up to 300 random
non-white pixels of the target photo are picked without replacement, and for
each one the mean target colour of the 3x3 box around it (``radius = 2`` in
the seed: rows ``y-1 .. y+1``, clipped at the image border) is painted onto
the edge image. The seed paints the boxes one after the other, so where boxes
overlap the last one wins; here all boxes are painted at once with the same
result (a max-pool over the paint order picks the last box covering a pixel).

Images are float32 in [-1, 1] (the seed's ``(x - 127.5) / 127.5``), shape
[H, W, 3] or [B, H, W, 3]. Randomness is stateless: the same ``seed`` (int
tensor of shape [2]) gives the same hints, so the functions work inside
``tf.data.Dataset.map`` (e.g. with ``seed = [base_seed, element_index]``).
They also compile under ``tf.function(jit_compile=True)``, but XLA on CPU turns
``top_k`` into a full sort (about 1 s per 32 images of 256x256) and draws other
random keys than the TF kernels, so keep hints out of XLA-compiled functions.
"""

import tensorflow as tf

# Seed rule: a pixel is white when R + G + B >= 2.75 in [-1, 1] scale.
WHITE_SUM = 2.75
# Seed's _get_color_point_bbox_coords(radius=2) spans 2 * radius - 1 = 3 pixels.
BOX = 3


def _to_batch(x):
    """[H, W, C] -> [1, H, W, C]; [B, H, W, C] unchanged. Returns (x, had_batch)."""
    x = tf.convert_to_tensor(x)
    if x.shape.rank == 3:
        return x[tf.newaxis], False
    if x.shape.rank == 4:
        return x, True
    raise ValueError(f"expected [H, W, 3] or [B, H, W, 3], got shape {x.shape}")


def _num_pixels(image):
    """H * W of a [B, H, W, C] tensor, as a Python int when the shape is static."""
    height, width = image.shape[1], image.shape[2]
    if height is not None and width is not None:
        return height * width
    return tf.shape(image)[1] * tf.shape(image)[2]


def sample_hint_positions(target, seed, max_hints=300):
    """Seed's ``_get_non_white_coordinates``: random non-white pixels, without replacement.

    target: float32 [H, W, 3] or [B, H, W, 3] in [-1, 1]. seed: int [2].
    Returns ``(positions, valid)``: int32 [..., K, 2] (y, x) in paint order and
    bool [..., K], K = min(max_hints, H * W); the first min(#non-white, max_hints)
    entries are valid, the rest are padding. Each image of a batch gets its own
    draw. Uses random keys per pixel and ``tf.math.top_k`` (a uniform sample).
    """
    target, had_batch = _to_batch(tf.convert_to_tensor(target, tf.float32))
    batch, width = tf.shape(target)[0], tf.shape(target)[2]
    num_pixels = _num_pixels(target)
    non_white = tf.reshape(tf.reduce_sum(target, axis=-1) < WHITE_SUM, [batch, -1])
    keys = tf.random.stateless_uniform(tf.shape(non_white), seed)
    keys = tf.where(non_white, keys, -1.0)
    k = min(max_hints, num_pixels) if isinstance(num_pixels, int) else tf.minimum(max_hints, num_pixels)
    top_keys, flat = tf.math.top_k(keys, k=k, sorted=True)
    positions = tf.stack([flat // width, flat % width], axis=-1)
    valid = top_keys >= 0.0
    if had_batch:
        return positions, valid
    return positions[0], valid[0]


def box_means(target, box=BOX):
    """Mean colour of the ``box`` x ``box`` window around each pixel, clipped at the border.

    target: float32 [H, W, 3] or [B, H, W, 3]. Returns the same shape. Equals the
    seed's ``np.mean(img_target[y0:y1, x0:x1], axis=(0, 1))`` for odd ``box``
    (SAME average pooling counts only pixels inside the image).
    """
    target, had_batch = _to_batch(tf.convert_to_tensor(target, tf.float32))
    means = tf.nn.avg_pool2d(target, ksize=box, strides=1, padding="SAME")
    return means if had_batch else means[0]


def draw_color_hints(edges, target, seed, max_hints=300, box=BOX):
    """Seed's ``_draw_color_circles_on_src_img``, vectorised over hints.

    edges: float32 [H, W, 3] or [B, H, W, 3] in [-1, 1] (normalised edge image).
    target: float32, same shape, in [-1, 1] (normalised photo). seed: int [2].
    max_hints: at most this many boxes (seed: 300). box: odd box side (seed: 3).
    Returns float32, same shape as ``edges``: ``edges`` with up to ``max_hints``
    boxes, each filled with the target's box mean at a random non-white pixel.
    """
    if box % 2 != 1:
        raise ValueError(f"box must be odd, got {box}")
    edges, had_batch = _to_batch(tf.convert_to_tensor(edges, tf.float32))
    target, _ = _to_batch(tf.convert_to_tensor(target, tf.float32))
    batch, height, width = tf.shape(edges)[0], tf.shape(edges)[1], tf.shape(edges)[2]
    positions, valid = sample_hint_positions(target, seed, max_hints)
    flat = positions[..., 0] * width + positions[..., 1]

    # Paint order 1..K at the hint centres (0 = no hint); a box-sized max-pool
    # then gives, per pixel, the last painted box covering it.
    order = tf.range(1, tf.shape(flat)[1] + 1, dtype=tf.float32)
    order = tf.where(valid, order[tf.newaxis], 0.0)
    batch_index = tf.broadcast_to(tf.range(batch)[:, tf.newaxis], tf.shape(flat))
    centres = tf.scatter_nd(tf.stack([batch_index, flat], axis=-1), order,
                            tf.stack([batch, height * width]))
    centres = tf.reshape(centres, [batch, height, width, 1])
    covering = tf.nn.max_pool2d(centres, ksize=box, strides=1, padding="SAME")
    covering = tf.cast(covering[..., 0], tf.int32)

    colours = tf.gather(tf.reshape(box_means(target, box), [batch, -1, 3]), flat, batch_dims=1)
    palette = tf.concat([tf.zeros_like(colours[:, :1]), colours], axis=1)
    painted = tf.gather(palette, covering, batch_dims=1)
    out = tf.where((covering > 0)[..., tf.newaxis], painted, edges)
    return out if had_batch else out[0]
