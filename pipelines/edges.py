"""Edge maps in pure TensorFlow ops (seed 000, Pix2Pix shoes: ``detect_edges``).

The seed computes, with OpenCV on a uint8 RGB photo::

    gray  = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    gray  = cv2.bilateralFilter(gray, 5, 50, 50)
    edges = cv2.Canny(gray, 45, 100)
    edges = cv2.cvtColor(cv2.bitwise_not(edges), cv2.COLOR_GRAY2RGB)

Every step is reproduced here with TF ops only (shifted slices, table
gathers, and a ``tf.while_loop`` on bit-packed masks for the hysteresis), so
the functions run inside ``tf.data.Dataset.map`` and inside
``tf.function(jit_compile=True)`` (XLA is several times faster on CPU: wrap
``detect_edges`` with it before mapping). Integer arithmetic follows OpenCV's
fixed-point code, so gray and Canny are bit-exact with the pinned
opencv-python-headless; the bilateral filter uses cv2's tables and differs by
one gray level on a few pixels, or with ``fast=True`` computes its weights
with ``tf.exp`` in float32 and differs on a few more (``bilateral_filter``).
"""

import math

import numpy as np
import tensorflow as tf

# cv2 RGB2GRAY on 8-bit: Q15 fixed point of 0.299 / 0.587 / 0.114, rounded.
_GRAY_WEIGHTS = (9798, 19235, 3735)
_GRAY_SHIFT = 15
# cv2.Canny: tan(22.5 deg) in Q15 (CANNY_SHIFT = 15, TG22 = 13573).
_CANNY_SHIFT = 15
_TG22 = int(0.4142135623730950488016887242097 * (1 << _CANNY_SHIFT) + 0.5)
# Slack for float64 round-off before truncation in the IPP-style bilateral filter.
_IPP_EPS = 1e-7
# The same for the float32 accumulation of bilateral_filter(fast=True).
_FAST_EPS = 1e-5
# Hysteresis works on masks packed into int32 words of this many pixels.
_WORD = 32


def _to_batch(x, inner_rank):
    """Adds a batch axis if ``x`` has rank ``inner_rank``; returns (x, had_batch)."""
    x = tf.convert_to_tensor(x)
    rank = x.shape.rank
    if rank == inner_rank:
        return x[tf.newaxis], False
    if rank == inner_rank + 1:
        return x, True
    raise ValueError(f"expected rank {inner_rank} or {inner_rank + 1}, got shape {x.shape}")


def _to_uint8_levels(x):
    """uint8 -> int32 as is; floats are rounded and saturated to 0..255 (int32)."""
    if x.dtype == tf.uint8:
        return tf.cast(x, tf.int32)
    x = tf.clip_by_value(tf.round(tf.cast(x, tf.float32)), 0.0, 255.0)
    return tf.cast(x, tf.int32)


def _shift(padded, pad, dy, dx, height, width):
    """Window of ``padded`` [B, H+2p, W+2p] displaced by (dy, dx): [B, H, W]."""
    return padded[:, pad + dy:pad + dy + height, pad + dx:pad + dx + width]


def rgb_to_gray(image):
    """RGB -> gray like ``cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)`` (seed 000, step 1).

    image: [H, W, 3] or [B, H, W, 3]; uint8, or float in [0, 1].
    Returns uint8 [H, W] or [B, H, W]: round(0.299 R + 0.587 G + 0.114 B) in
    Q15 fixed point, (9798 R + 19235 G + 3735 B + 2^14) >> 15, bit-exact with
    opencv-python-headless 4.14 on all 2^24 colours (older OpenCV 4.x used Q14
    weights, within 1 level of this).
    """
    image = tf.convert_to_tensor(image)
    if image.dtype != tf.uint8:
        image = tf.round(tf.clip_by_value(tf.cast(image, tf.float32), 0.0, 1.0) * 255.0)
    rgb = tf.cast(image, tf.int32)
    acc = (rgb[..., 0] * _GRAY_WEIGHTS[0] + rgb[..., 1] * _GRAY_WEIGHTS[1]
           + rgb[..., 2] * _GRAY_WEIGHTS[2] + (1 << (_GRAY_SHIFT - 1)))
    return tf.cast(tf.bitwise.right_shift(acc, _GRAY_SHIFT), tf.uint8)


def _bilateral_taps(d, sigma_color, sigma_space, dtype):
    """cv2's bilateral tables, one per tap of the circular window.

    Returns (radius, taps) with taps a list of ((dy, dx), lut): lut[|dI|] =
    space_weight * color_weight[|dI|] (256 entries, products of cv2's float32
    tables computed in ``dtype``, as the per-pixel product would be).
    """
    radius = max(d // 2, 1) if d > 0 else max(int(round(sigma_space * 1.5)), 1)
    color_coeff = -0.5 / (sigma_color * sigma_color)
    space_coeff = -0.5 / (sigma_space * sigma_space)
    color = np.exp(np.arange(256, dtype=np.float64) ** 2 * color_coeff).astype(np.float32)
    taps = []
    for i in range(-radius, radius + 1):
        for j in range(-radius, radius + 1):
            r = np.sqrt(float(i * i + j * j))
            if r <= radius:
                space = np.float32(np.exp(r * r * space_coeff))
                taps.append(((i, j), dtype(space) * color.astype(dtype)))
    return radius, taps


def _bilateral_mean_tables(levels, d, sigma_color, sigma_space, dtype):
    """Weighted means with weights gathered from cv2's tables, accumulated in ``dtype``."""
    radius, taps = _bilateral_taps(d, sigma_color, sigma_space, dtype.as_numpy_dtype)
    height, width = tf.shape(levels)[1], tf.shape(levels)[2]
    padded = tf.pad(levels, [[0, 0], [radius, radius], [radius, radius]], mode="REFLECT")
    num = tf.zeros(tf.shape(levels), dtype)
    den = tf.zeros(tf.shape(levels), dtype)
    for (dy, dx), lut in taps:
        neighbor = _shift(padded, radius, dy, dx, height, width)
        weight = tf.gather(tf.constant(lut), tf.abs(neighbor - levels))
        num += tf.cast(neighbor, dtype) * weight
        den += weight
    return num / den, radius


def _bilateral_mean_fast(levels, d, sigma_color, sigma_space):
    """Weighted means in float32 with weights from ``tf.exp`` (no gathers)."""
    radius, taps = _bilateral_taps(d, sigma_color, sigma_space, np.float32)
    color_coeff = -0.5 / (sigma_color * sigma_color)
    height, width = tf.shape(levels)[1], tf.shape(levels)[2]
    padded = tf.cast(tf.pad(levels, [[0, 0], [radius, radius], [radius, radius]], mode="REFLECT"), tf.float32)
    center = _shift(padded, radius, 0, 0, height, width)
    num, den = center, tf.ones_like(center)
    for (dy, dx), lut in taps:
        if (dy, dx) == (0, 0):
            continue
        neighbor = _shift(padded, radius, dy, dx, height, width)
        weight = tf.exp(float(np.log(lut[0])) + color_coeff * tf.square(neighbor - center))
        num += neighbor * weight
        den += weight
    return num / den, radius


def bilateral_filter(gray, d=5, sigma_color=50.0, sigma_space=50.0, rounding="ipp", fast=False):
    """``cv2.bilateralFilter(gray, d, sigma_color, sigma_space)`` on 8-bit gray (seed 000, step 2).

    gray: [H, W] or [B, H, W]; uint8, or float levels 0..255 (rounded, saturated).
    Returns uint8 of the same shape. As in cv2: circular window of radius d // 2
    (13 taps for d=5), BORDER_REFLECT_101 padding, weights
    exp(-r^2 / 2 sigma_space^2) * exp(-|dI|^2 / 2 sigma_color^2) from cv2's
    float32 tables. Needs H, W > d // 2. ``rounding`` picks the cv2 code path:

    - "ipp" (default): the Intel IPP path that the x86 opencv-python wheels use
      by default: the weighted mean is truncated, except in the ``d // 2``
      leftmost and rightmost columns where it is rounded. Accumulated in float64;
      differs from cv2 by one level on 0.003-0.2% of pixels (IPP's round-off).
    - "nearest": OpenCV's own C++ path (``cv2.ipp.setUseIPP(False)``, or builds
      without IPP): float32 accumulation, rounded half to even; differs from
      cv2 on at most a few pixels per photo (float32 summation order).

    fast=True trades exactness for speed (about 1.5x under XLA): float32
    accumulation and weights from ``tf.exp`` instead of table gathers; still
    within one level of cv2, on 0.002-0.8% of pixels.
    """
    if rounding not in ("ipp", "nearest"):
        raise ValueError(f"rounding must be 'ipp' or 'nearest', got {rounding!r}")
    gray, had_batch = _to_batch(gray, 2)
    levels = _to_uint8_levels(gray)
    if fast:
        mean, radius = _bilateral_mean_fast(levels, d, float(sigma_color), float(sigma_space))
        eps = _FAST_EPS
    else:
        dtype = tf.float64 if rounding == "ipp" else tf.float32
        mean, radius = _bilateral_mean_tables(levels, d, float(sigma_color), float(sigma_space), dtype)
        eps = _IPP_EPS
    out = tf.round(mean)
    if rounding == "ipp":
        width = tf.shape(levels)[2]
        columns = tf.range(width)
        border = (columns < radius) | (columns >= width - radius)
        out = tf.where(border, out, tf.floor(mean + eps))
    out = tf.cast(out, tf.uint8)
    return out if had_batch else out[0]


def _pack_bits(mask):
    """bool [B, H, W] -> int32 [B, ceil(W / 32), H]: bit j of word (b, w, y) is pixel (y, 32 w + j).

    Packs along the rows (a reduction over the minor axis, fast under XLA), then
    transposes so that the word-wise ops run along the columns, vectorised over the rows.
    """
    batch, height, width = tf.shape(mask)[0], tf.shape(mask)[1], tf.shape(mask)[2]
    mask = tf.pad(mask, [[0, 0], [0, 0], [0, (-width) % _WORD]])
    bits = tf.reshape(tf.cast(mask, tf.int32), [batch, height, -1, _WORD])
    words = tf.reduce_sum(bits * tf.bitwise.left_shift(1, tf.range(_WORD)), axis=-1)
    return tf.transpose(words, [0, 2, 1])


def _unpack_bits(words, width):
    """Inverse of ``_pack_bits``: int32 [B, ceil(W / 32), H] -> bool [B, H, W]."""
    words = tf.transpose(words, [0, 2, 1])[..., tf.newaxis]
    bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(words, tf.range(_WORD)), 1)
    batch, height = tf.shape(words)[0], tf.shape(words)[1]
    return tf.reshape(bits, [batch, height, -1])[:, :, :width] > 0


def _dilate3x3(words):
    """8-neighbour binary dilation of a ``_pack_bits`` mask by shifted ORs (zero outside):
    bit shifts with carries between neighbouring words along a row, slices across rows."""
    zero = tf.zeros_like(words[:, :1])
    previous = tf.concat([zero, words[:, :-1]], 1)
    following = tf.concat([words[:, 1:], zero], 1)
    from_left = tf.bitwise.bitwise_or(tf.bitwise.left_shift(words, 1),
                                      tf.bitwise.bitwise_and(tf.bitwise.right_shift(previous, _WORD - 1), 1))
    from_right = tf.bitwise.bitwise_or(tf.bitwise.bitwise_and(tf.bitwise.right_shift(words, 1), 0x7FFFFFFF),
                                       tf.bitwise.left_shift(following, _WORD - 1))
    rows = tf.bitwise.bitwise_or(tf.bitwise.bitwise_or(words, from_left), from_right)
    zero = tf.zeros_like(rows[:, :, :1])
    from_above = tf.concat([zero, rows[:, :, :-1]], 2)
    from_below = tf.concat([rows[:, :, 1:], zero], 2)
    return tf.bitwise.bitwise_or(tf.bitwise.bitwise_or(rows, from_above), from_below)


def _hysteresis(strong, weak):
    """Grows ``strong`` 8-connectedly inside ``weak`` until it stops changing.

    strong, weak: bool [B, H, W] (strong implies weak). Returns bool [B, H, W].
    A ``tf.while_loop`` of one dilation and one convergence test per step, on
    masks packed 32 pixels to an int32 word (``_pack_bits``).
    """
    width = tf.shape(strong)[2]
    weak = _pack_bits(weak)

    def cond(edges, grown):
        return tf.reduce_any(tf.not_equal(edges, grown))

    def body(_, grown):
        return grown, tf.bitwise.bitwise_and(_dilate3x3(grown), weak)

    _, edges = tf.while_loop(cond, body, body(None, _pack_bits(strong)))
    return _unpack_bits(edges, width)


def canny(gray, low_threshold=45, high_threshold=100):
    """``cv2.Canny(gray, low, high)`` with aperture 3 and L2gradient=False (seed 000, step 3).

    gray: [H, W] or [B, H, W]; uint8, or float levels 0..255 (rounded, saturated).
    Returns uint8 {0, 255} of the same shape, 255 on edges. Same integer steps as
    cv2: 3x3 Sobel with BORDER_REPLICATE, |dx| + |dy| magnitude (zero outside the
    image), non-maximum suppression over 4 directions using the Q15 tan(22.5 deg)
    sector test and cv2's strict/non-strict neighbour comparisons, thresholds
    ``mag > floor(low)`` / ``mag > floor(high)``, then hysteresis (8-connected).
    """
    gray, had_batch = _to_batch(gray, 2)
    levels = _to_uint8_levels(gray)
    low, high = sorted((math.floor(low_threshold), math.floor(high_threshold)))
    height, width = tf.shape(levels)[1], tf.shape(levels)[2]

    src = tf.pad(levels, [[0, 0], [1, 1], [1, 1]], mode="SYMMETRIC")

    def px(oy, ox):
        return _shift(src, 1, oy, ox, height, width)

    dx = (px(-1, 1) + 2 * px(0, 1) + px(1, 1)) - (px(-1, -1) + 2 * px(0, -1) + px(1, -1))
    dy = (px(1, -1) + 2 * px(1, 0) + px(1, 1)) - (px(-1, -1) + 2 * px(-1, 0) + px(-1, 1))
    mag = tf.abs(dx) + tf.abs(dy)

    mag_pad = tf.pad(mag, [[0, 0], [1, 1], [1, 1]])

    def nb(oy, ox):
        return _shift(mag_pad, 1, oy, ox, height, width)

    ax = tf.abs(dx)
    ay = tf.abs(dy) * (1 << _CANNY_SHIFT)
    tg22x = ax * _TG22
    tg67x = tg22x + ax * (1 << (_CANNY_SHIFT + 1))
    horizontal = (mag > nb(0, -1)) & (mag >= nb(0, 1))
    vertical = (mag > nb(-1, 0)) & (mag >= nb(1, 0))
    same_sign = tf.bitwise.bitwise_xor(dx, dy) >= 0
    diagonal = tf.where(same_sign,
                        (mag > nb(-1, -1)) & (mag > nb(1, 1)),
                        (mag > nb(-1, 1)) & (mag > nb(1, -1)))
    is_max = tf.where(ay < tg22x, horizontal, tf.where(ay > tg67x, vertical, diagonal))

    edges = _hysteresis(is_max & (mag > high), is_max & (mag > low))
    edges = tf.cast(edges, tf.uint8) * 255
    return edges if had_batch else edges[0]


def detect_edges(image, rounding="ipp", fast=False):
    """Seed's ``detect_edges``: black edges on white, 3 channels.

    image: RGB [H, W, 3] or [B, H, W, 3]; uint8, or float in [0, 1].
    rounding: bilateral-filter code path of cv2 to follow ("ipp" or "nearest"),
    fast: float32 bilateral filter with ``tf.exp`` weights (see ``bilateral_filter``).
    Returns uint8 of the same shape, 0 on edges and 255 elsewhere:
    ``255 - canny(bilateral_filter(rgb_to_gray(image), 5, 50, 50), 45, 100)``
    repeated over 3 channels. Pure TF: works in ``tf.data.Dataset.map`` and
    under ``tf.function(jit_compile=True)`` (the hysteresis is a ``tf.while_loop``).
    """
    gray = bilateral_filter(rgb_to_gray(image), 5, 50.0, 50.0, rounding=rounding, fast=fast)
    inverted = 255 - canny(gray, 45, 100)
    return tf.stack([inverted, inverted, inverted], axis=-1)


def edge_f1(ours, reference, tolerance=1):
    """(F1, precision, recall) of two bool edge maps (H, W): an edge pixel matches when
    the other map has an edge within `tolerance` pixels (a (2t+1)^2 window)."""
    window = 2 * tolerance + 1

    def near(edges):
        x = tf.cast(tf.convert_to_tensor(edges), tf.float32)[tf.newaxis, :, :, tf.newaxis]
        return tf.nn.max_pool2d(x, window, 1, "SAME")[0, :, :, 0].numpy() > 0

    ours, reference = np.asarray(ours, bool), np.asarray(reference, bool)
    precision = (ours & near(reference)).sum() / max(ours.sum(), 1)
    recall = (reference & near(ours)).sum() / max(reference.sum(), 1)
    return 2 * precision * recall / max(precision + recall, 1e-12), precision, recall
