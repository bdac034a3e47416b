"""Style mixing (Karras et al. 2019, Fig. 3; seed 000): the W+ rows of a slice come from a
source code, the others from a destination code.

Seed 000's presets, for 18 rows (1024x1024): coarse 0:4 (4x4 - 8x8: pose, face shape),
middle 4:15 (eyes, nose, hair), fine 15:18 (colour, background); for other num_ws the
bounds are scaled, round(b num_ws / 18) (e.g. 8 rows at 32x32: 0:2, 2:7, 7:8).
"""
import re

import numpy as np

from kgan.errors import UsageError
from kgan.stylegan_tools.generator import check_ws, image_grid, synthesize

PRESET_ROWS = 18
PRESETS = {"coarse": (0, 4), "middle": (4, 15), "fine": (15, 18)}


def style_rows(spec, num_ws):
    """slice of W+ rows for a preset name (scaled to num_ws) or "START:STOP" (Python slice
    syntax, either end optional, "" or ":" for all rows; "0:0" is empty)."""
    if spec in PRESETS:
        start, stop = (round(bound * num_ws / PRESET_ROWS) for bound in PRESETS[spec])
        return slice(start, stop)
    match = re.fullmatch(r"\s*(-?\d*)\s*:\s*(-?\d*)\s*", spec)
    if not match:
        raise UsageError(f"bad style rows {spec!r}: use {', '.join(PRESETS)} or START:STOP, e.g. 0:4")
    start, stop = (int(v) if v else None for v in match.groups())
    return slice(start, stop)


def mix_ws(destination, source, rows):
    """W+ (N, num_ws, w_dim): destination with the `rows` slice copied from source (both
    (N, num_ws, w_dim), or source (1, ...) broadcast). An empty slice returns destination."""
    mixed = np.array(destination, np.float32, copy=True)
    mixed[:, rows] = np.broadcast_to(source, mixed.shape)[:, rows]
    return mixed


def mix_grid(generator, source_ws, destination_ws, rows, noise_mode="const"):
    """The StyleGAN mixing figure, uint8 ((1 + D) S, (1 + N) S, C) for N sources and D
    destinations: sources in the top row, destinations in the left column (top left
    blank), cell (d, n) = destination d with the `rows` of source n. Returns (grid,
    mixed images (D, N, S, S, C))."""
    source_ws = check_ws(generator, source_ws, "source W+")
    destination_ws = check_ws(generator, destination_ws, "destination W+")
    sources = synthesize(generator, source_ws, noise_mode)
    destinations = synthesize(generator, destination_ws, noise_mode)
    mixed = np.stack([synthesize(generator, mix_ws(np.repeat(d[None], len(source_ws), 0), source_ws, rows),
                                 noise_mode) for d in destination_ws])
    size = sources.shape[1:]
    top = np.concatenate([np.zeros((1, *size), np.uint8), sources])
    body = [np.concatenate([destinations[i:i + 1], mixed[i]]) for i in range(len(destinations))]
    cells = np.concatenate([top, *body])
    return image_grid(cells, len(source_ws) + 1), mixed
