"""A StyleGAN2 generator for the tools, from wherever the user has one, and its basic uses:
z of a seed (NVlabs `generate.py`: RandomState(seed).randn(1, z_dim)), z -> W+ with
truncation, W+ -> uint8 images, W+ `.npz` files.

MODEL may be a `StyleGAN2Generator` (Python API), a `.keras` file (written by
`python -m kgan.stylegan convert`), a `train.py --arch stylegan2` run directory (its latest
checkpoint's G_ema), or an upstream checkpoint read on the fly (`.pkl` of NVlabs TF1 /
stylegan2-ada-pytorch, rosinality `.pt`; see `kgan.stylegan_tools.importers`). A SavedModel
is refused with a message: its signatures give images, not the mapping and synthesis
networks that mixing, projection and editing need.
"""
import os
import re

import keras
import numpy as np
import tensorflow as tf

from kgan.errors import UsageError
from kgan.networks.stylegan2 import NOISE_MODES, StyleGAN2Generator
from pipelines.images import to_uint8

UPSTREAM_SUFFIXES = (".pkl", ".pt", ".pth")


def load_generator(model):
    """A `StyleGAN2Generator` from `model`: the network itself, a `.keras` file, a run
    directory, or an upstream `.pkl` / `.pt` (see the module docstring)."""
    if isinstance(model, StyleGAN2Generator):
        return model
    path = os.fspath(model)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "options.json")):
            from kgan.evaluate import load_trained

            return load_trained(path, ("stylegan2",))[2].evaluation_generator()
        if os.path.exists(os.path.join(path, "saved_model.pb")) or any(d.isdigit() for d in os.listdir(path)):
            raise UsageError(f"{path!r} is a SavedModel: its signatures return images, but the StyleGAN tools need "
                             "the mapping and synthesis networks; pass the train.py run directory (--logdir) or a "
                             ".keras file from `python -m kgan.stylegan convert`")
        raise UsageError(f"{path!r} is neither a train.py run directory (no options.json) nor a SavedModel")
    if not os.path.isfile(path):
        raise UsageError(f"MODEL {path!r} does not exist: pass a run directory, a .keras file or a .pkl / .pt")
    if path.endswith(".keras"):
        network = keras.saving.load_model(path, compile=False)
        if not isinstance(network, StyleGAN2Generator):
            raise UsageError(f"{path!r} holds a {type(network).__name__}, not a StyleGAN2 generator")
        return network
    if path.endswith(UPSTREAM_SUFFIXES):
        from kgan.stylegan_tools.importers import import_generator

        return import_generator(path)[0]
    raise UsageError(f"MODEL {path!r}: unknown kind of file; pass a run directory, a .keras file or a .pkl / .pt")


def parse_seeds(text):
    """"0-3,7" -> [0, 1, 2, 3, 7] (NVlabs' `num_range`)."""
    seeds = []
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise UsageError(f"bad seed list {text!r}: use numbers and ranges, e.g. 0-15 or 1,5,9")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise UsageError(f"bad seed range {part.strip()!r}: the end is before the start")
        seeds.extend(range(first, last + 1))
    return seeds


def seed_latents(seeds, z_dim):
    """z (N, z_dim) float32, row i = RandomState(seeds[i]).randn(z_dim) (NVlabs generate.py)."""
    return np.stack([np.random.RandomState(seed).randn(z_dim) for seed in seeds]).astype(np.float32)


def check_class(generator, class_index):
    """The labels argument for `generator`: None for an unconditional one, else class_index,
    which must be given and in range."""
    if not generator.num_classes:
        if class_index is not None:
            raise UsageError("--class is for conditional generators; this one is unconditional")
        return None
    if class_index is None or not 0 <= class_index < generator.num_classes:
        raise UsageError(f"this generator is conditional: pass --class in 0..{generator.num_classes - 1}")
    return class_index


def map_latents(generator, z, truncation_psi=1.0, truncation_cutoff=None, class_index=None, batch_size=256):
    """W+ (N, num_ws, w_dim) float32 numpy of z (N, z_dim), with truncation toward w_avg."""
    labels = check_class(generator, class_index)
    out = []
    for start in range(0, len(z), batch_size):
        chunk = tf.convert_to_tensor(z[start:start + batch_size], tf.float32)
        chunk_labels = None if labels is None else tf.fill([len(chunk)], labels)
        out.append(generator.mapping(chunk, chunk_labels, truncation_psi=truncation_psi,
                                     truncation_cutoff=truncation_cutoff).numpy())
    return np.concatenate(out)


def check_ws(generator, ws, what="W+"):
    """ws as float32 (N, num_ws, w_dim); a W (N, w_dim) is broadcast to every row."""
    ws = np.asarray(ws, np.float32)
    if ws.ndim == 2:
        ws = np.repeat(ws[:, None], generator.num_ws, axis=1)
    if ws.ndim != 3 or ws.shape[1:] != (generator.num_ws, generator.w_dim):
        raise UsageError(f"{what} has shape {ws.shape}; this generator takes (N, {generator.num_ws}, "
                         f"{generator.w_dim}) or (N, {generator.w_dim})")
    return ws


def synthesize(generator, ws, noise_mode="const", batch_size=8, noise_seed=0):
    """uint8 images (N, S, S, C) of W+ (N, num_ws, w_dim). noise_mode "random" draws the
    noise from noise_seed (the same images every call)."""
    if noise_mode not in NOISE_MODES:
        raise UsageError(f"unknown noise mode {noise_mode!r}; choose one of {', '.join(NOISE_MODES)}")
    ws = check_ws(generator, ws)
    out = []
    for start in range(0, len(ws), batch_size):
        seed = tf.constant([noise_seed, start], tf.int32) if noise_mode == "random" else None
        images = generator.synthesis(tf.convert_to_tensor(ws[start:start + batch_size]), noise_mode=noise_mode,
                                     noise_seed=seed)
        out.append(to_uint8(images).numpy())
    return np.concatenate(out)


def save_ws(path, ws, **extra):
    """Writes W+ (N, num_ws, w_dim) as `ws` in an .npz (NVlabs projector's key 'w'; both
    are read back by `load_ws`), plus any extra arrays."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez(path, ws=np.asarray(ws, np.float32), **extra)


def load_ws(path, generator):
    """W+ (N, num_ws, w_dim) from an .npz (key `ws`, or NVlabs' `w`), .npy, broadcast from W."""
    if not os.path.isfile(path):
        raise UsageError(f"latent file {path!r} does not exist")
    try:
        data = np.load(path)
        if isinstance(data, np.lib.npyio.NpzFile):
            keys = [k for k in ("ws", "w") if k in data]
            if not keys:
                raise UsageError(f"{path!r} has no 'ws' (or 'w') array: it holds {sorted(data)}")
            data = data[keys[0]]
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path!r} as .npz / .npy: {error}") from None
    return check_ws(generator, data, f"{path!r}")


def image_grid(images, columns):
    """uint8 (N, H, W, C) -> (rows H, columns W, C), rows filled left to right, blanks black."""
    from kgan.callbacks import image_grid as tf_grid

    return tf_grid(tf.convert_to_tensor(images), columns)[0].numpy()
