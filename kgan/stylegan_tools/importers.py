"""Official StyleGAN2 generator weights into a kgan `StyleGAN2Generator` (its G_ema / Gs).

Every format is first renamed into the parameter names of stylegan2-ada-pytorch's
`training/networks.py` `Generator` (`mapping.fc0.weight`, `synthesis.b8.conv0.affine.bias`,
...; kgan's networks are a layer-for-layer port of it), then copied with the fixed layout
change (dense weight.T, conv OIHW -> HWIO, const CHW -> HWC). The configuration (resolution,
z / w dims, mapping layers, channel base and max, classes) is read off the shapes, so ADA-auto
checkpoints (2 mapping layers, channel multiplier 1) import as they are.

- NVlabs TF1 `.pkl` (stylegan2, stylegan2-ada TF): unpickled without TensorFlow, with a stub
  for `dnnlib.tflib.network.Network` as ADA's `legacy.py` does; its `variables` are renamed
  with `legacy.py`'s `convert_tf_generator` table (mod_bias + 1, Conv0_up / Skip kernels
  flipped, noise maps squeezed, dlatent_avg -> w_avg). Only numpy globals are allowed.
- stylegan2-ada-pytorch `.pkl` ({"G", "D", "G_ema", ...}): its persistent classes are not
  rebuilt from the source code the pickle carries (that would run it); a stub for
  `torch_utils.persistence._reconstruct_persistent_obj` keeps each module's pickled state
  and the parameters and buffers are collected from it. Needs PyTorch; only torch, numpy and
  collections globals are allowed.
- rosinality `.pt` (`g_ema`, `latent_avg`; also training checkpoints with `args`): torch.load
  with weights_only; names per rosinality's `convert_weight.py` (style.{i+1} -> mapping fc i,
  convs.{2i} / {2i+1} -> conv0 / conv1 of block 8 2^i, to_rgb1 / to_rgbs, noises.noise_i).
  Without `latent_avg` (a training checkpoint's g_ema) w_avg is the mean w of 10,000 z.
The 'skip' generator only (config-f and ADA configs; not the TF1 'orig' / 'resnet' G). The
discriminator is not imported.
"""
import argparse
import io
import math
import os
import pickle
import re

import numpy as np

from kgan.errors import UsageError

FORMATS = ("auto", "tf1", "ada", "rosinality")
W_AVG_SAMPLES = 10000
_NUMPY_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                  ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
                  ("numpy._core.multiarray", "scalar"), ("collections", "OrderedDict"), ("builtins", "set")}


class TFNetworkStub:
    """A `dnnlib.tflib.network.Network` as pickled: its state (version, name, static_kwargs,
    components, variables [(name, array)], build_module_src, ...) as attributes."""


class PersistentStub:
    """A `torch_utils.persistence` object as pickled: meta (class_name, module_src, state)."""

    def __init__(self, meta):
        self.meta = meta

    def named_tensors(self, prefix=""):
        """{name: numpy} of the parameters and buffers, as torch's named_parameters + buffers."""
        state = self.meta["state"]
        out = {}
        for group in ("_parameters", "_buffers"):
            for name, tensor in (state.get(group) or {}).items():
                if tensor is not None:
                    out[prefix + name] = tensor.detach().cpu().float().numpy()
        for name, module in (state.get("_modules") or {}).items():
            if isinstance(module, PersistentStub):
                out.update(module.named_tensors(f"{prefix}{name}."))
        return out


class _EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict (init kwargs, training_set_kwargs)."""


def _reconstruct_persistent_obj(meta):
    return PersistentStub(meta)


class _Unpickler(pickle.Unpickler):
    """Only numpy / collections / torch globals, plus the stubs; any other class named in the
    file is refused (a pickle runs what it names)."""

    def find_class(self, module, name):
        if (module, name) == ("dnnlib.tflib.network", "Network"):
            return TFNetworkStub
        if (module, name) == ("torch_utils.persistence", "_reconstruct_persistent_obj"):
            return _reconstruct_persistent_obj
        if (module, name) == ("dnnlib.util", "EasyDict"):
            return _EasyDict
        if module == "torch" or module.startswith("torch."):
            try:
                import torch  # noqa: F401
            except ImportError:
                raise UsageError('this is a PyTorch pickle (stylegan2-ada-pytorch): reading it needs PyTorch, '
                                 'pip install -e ".[torch]"') from None
            return super().find_class(module, name)
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise UsageError(f"the pickle names {module}.{name}, which is not part of a StyleGAN2 network pickle "
                         "(NVlabs TF1 or stylegan2-ada-pytorch); refusing to run it")


def read_pickle(path):
    """The object in an NVlabs network pickle, with the stubs above."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return _Unpickler(io.BytesIO(data)).load()
    except UsageError:
        raise
    except Exception as error:  # UnpicklingError, EOFError, ... for damaged files
        raise UsageError(f"cannot read {path!r} as a network pickle: {error}") from None


# ---- TF1: legacy.py convert_tf_generator ----

def _tf_params(network, prefix=""):
    params = {prefix + name: np.asarray(value) for name, value in network.variables}
    for name, component in network.components.items():
        params.update(_tf_params(component, f"{prefix}{name}/"))
    return params


def tf1_to_ada(gs, source):
    """ADA state of a TF1 Gs stub: legacy.py's table, inverted per key."""
    if getattr(gs, "version", 0) < 4:
        raise UsageError(f"{source!r} is a TF network pickle older than version 4 (StyleGAN1?): not importable")
    kwargs = getattr(gs, "static_kwargs", None) or {}
    if kwargs.get("architecture", "skip") != "skip" or kwargs.get("structure", "fixed") not in ("fixed", "auto"):
        raise UsageError(f"{source!r} is a {kwargs.get('architecture')!r} generator; kgan imports the 'skip' "
                         "generator of config-e/f and the ADA configs")
    tf = _tf_params(gs)
    if any(re.fullmatch(r"ToRGB_lod\d+/.*", name) for name in tf):
        raise UsageError(f"{source!r} is an 'orig' (ToRGB_lod) generator; kgan imports the 'skip' generator")
    state = {}
    for name, value in tf.items():
        if name == "lod" or name.endswith("/lod"):  # progressive-growing level, unused by 'skip' G
            continue
        if name == "dlatent_avg":
            state["mapping.w_avg"] = value
            continue
        if m := re.fullmatch(r"mapping/Dense(\d+)/(weight|bias)", name):
            state[f"mapping.fc{m[1]}.{m[2]}"] = value.T if m[2] == "weight" else value
        elif m := re.fullmatch(r"mapping/LabelEmbed/(weight|bias)", name):
            state[f"mapping.embed.{m[1]}"] = value.T if m[1] == "weight" else value
        elif name == "synthesis/4x4/Const/const":
            state["synthesis.b4.const"] = value[0]
        elif m := re.fullmatch(r"synthesis/noise(\d+)", name):
            index = int(m[1])
            res = 2 ** ((index + 5) // 2)
            layer = "conv1" if res == 4 or index % 2 == 0 else "conv0"
            state[f"synthesis.b{res}.{layer}.noise_const"] = value[0, 0]
        elif m := re.fullmatch(r"synthesis/(\d+)x\d+/(Conv|Conv0_up|Conv1|ToRGB)/(\w+)", name):
            res, layer, param = m[1], {"Conv": "conv1", "Conv0_up": "conv0", "Conv1": "conv1",
                                       "ToRGB": "torgb"}[m[2]], m[3]
            key = f"synthesis.b{res}.{layer}"
            if param == "weight":
                kernel = value[::-1, ::-1] if m[2] == "Conv0_up" else value
                state[f"{key}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
            elif param == "mod_weight":
                state[f"{key}.affine.weight"] = value.T
            elif param == "mod_bias":
                state[f"{key}.affine.bias"] = value + 1
            elif param in ("bias", "noise_strength"):
                state[f"{key}.{param}"] = value
            else:
                raise UsageError(f"{source!r}: unknown TF1 variable {name!r}")
        else:
            raise UsageError(f"{source!r}: unknown TF1 variable {name!r} (not a StyleGAN2 'skip' generator)")
    return state


# ---- rosinality: model.py Generator, convert_weight.py names ----

def rosinality_to_ada(state, latent_avg):
    """ADA state of a rosinality g_ema state dict (+ latent_avg or None)."""
    out = {}
    if latent_avg is not None:
        out["mapping.w_avg"] = np.asarray(latent_avg).reshape(-1)

    def styled(src, dst, noise):
        out[f"{dst}.weight"] = state.pop(f"{src}.conv.weight")[0]
        out[f"{dst}.affine.weight"] = state.pop(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = state.pop(f"{src}.conv.modulation.bias")
        out[f"{dst}.noise_strength"] = state.pop(f"{src}.noise.weight").reshape(())
        out[f"{dst}.bias"] = state.pop(f"{src}.activate.bias")
        out[f"{dst}.noise_const"] = state.pop(f"noises.noise_{noise}")[0, 0]

    def torgb(src, dst):
        out[f"{dst}.weight"] = state.pop(f"{src}.conv.weight")[0]
        out[f"{dst}.affine.weight"] = state.pop(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = state.pop(f"{src}.conv.modulation.bias")
        out[f"{dst}.bias"] = state.pop(f"{src}.bias").reshape(-1)
        state.pop(f"{src}.upsample.kernel", None)

    state = dict(state)
    i = 0
    while f"style.{i + 1}.weight" in state:
        out[f"mapping.fc{i}.weight"] = state.pop(f"style.{i + 1}.weight")
        out[f"mapping.fc{i}.bias"] = state.pop(f"style.{i + 1}.bias")
        i += 1
    out["synthesis.b4.const"] = state.pop("input.input")[0]
    styled("conv1", "synthesis.b4.conv1", 0)
    torgb("to_rgb1", "synthesis.b4.torgb")
    block = 0
    while f"convs.{2 * block}.conv.weight" in state:
        res = 8 * 2 ** block
        styled(f"convs.{2 * block}", f"synthesis.b{res}.conv0", 2 * block + 1)
        styled(f"convs.{2 * block + 1}", f"synthesis.b{res}.conv1", 2 * block + 2)
        state.pop(f"convs.{2 * block}.conv.blur.kernel", None)
        torgb(f"to_rgbs.{block}", f"synthesis.b{res}.torgb")
        block += 1
    if state:
        raise KeyError(sorted(state)[0])
    return out


# ---- ADA names -> kgan ----

def _resolutions(state):
    return sorted(int(m[1]) for m in map(re.compile(r"synthesis\.b(\d+)\.torgb\.weight").fullmatch, state) if m)


def generator_options(state, source):
    """StyleGAN2Generator keyword arguments read off an ADA state's shapes."""
    layers = 0
    while f"mapping.fc{layers}.weight" in state:
        layers += 1
    resolutions = _resolutions(state)
    if not layers or not resolutions or "synthesis.b4.const" not in state:
        raise UsageError(f"{source!r} holds no StyleGAN2 generator (no mapping.fc0 / synthesis.b4 weights)")
    embed = state.get("mapping.embed.weight")
    embed_features = 0 if embed is None else embed.shape[0]
    w_dim = state[f"mapping.fc{layers - 1}.weight"].shape[0]
    if layers > 1 and state["mapping.fc0.weight"].shape[0] != w_dim:
        raise UsageError(f"{source!r}: mapping layers of {state['mapping.fc0.weight'].shape[0]} features, not "
                         f"w_dim {w_dim}: kgan's mapping network has layer_features = w_dim")
    if embed is not None and embed_features != w_dim:
        raise UsageError(f"{source!r}: a label embedding of {embed_features} features, not w_dim {w_dim}")
    channels = {res: state[f"synthesis.b{res}.torgb.weight"].shape[1] for res in resolutions}
    image_size, channel_max = resolutions[-1], max(channels.values())
    narrower = [channels[res] * res for res in resolutions if channels[res] < channel_max]
    channel_base = narrower[0] if narrower else channel_max * image_size
    if resolutions != [2 ** i for i in range(2, int(math.log2(image_size)) + 1)] or any(
            min(channel_base // res, channel_max) != c for res, c in channels.items()):
        raise UsageError(f"{source!r}: channels per resolution {channels} do not follow min(base / res, max)")
    return dict(image_size=image_size, z_dim=state["mapping.fc0.weight"].shape[1] - embed_features, w_dim=w_dim,
                num_classes=None if embed is None else embed.shape[1],
                channels=state[f"synthesis.b{image_size}.torgb.weight"].shape[0], channel_base=channel_base,
                channel_max=channel_max, mapping_layers=layers)


def _targets(generator):
    """{ADA name: (kgan variable, numpy ADA layout -> kgan layout)}."""
    def t(a):
        return a.T

    def hwio(a):
        return a.transpose(2, 3, 1, 0)

    same = None
    mapping, targets = generator.mapping, {}
    for i, fc in enumerate(mapping.fcs):
        targets[f"mapping.fc{i}.weight"], targets[f"mapping.fc{i}.bias"] = (fc.kernel, t), (fc.bias, same)
    if mapping.embed is not None:
        targets["mapping.embed.weight"], targets["mapping.embed.bias"] = (mapping.embed.kernel, t), \
            (mapping.embed.bias, same)
    targets["mapping.w_avg"] = (mapping.w_avg, same)
    for block in generator.synthesis.blocks:
        prefix = f"synthesis.b{block.resolution}"
        if block.conv0 is None:
            targets[f"{prefix}.const"] = (block.const, lambda a: a.transpose(1, 2, 0))
        for name in ("conv0", "conv1", "torgb"):
            layer = getattr(block, name)
            if layer is None:
                continue
            key = f"{prefix}.{name}"
            targets.update({f"{key}.weight": (layer.kernel, hwio), f"{key}.bias": (layer.bias, same),
                            f"{key}.affine.weight": (layer.affine.kernel, t),
                            f"{key}.affine.bias": (layer.affine.bias, same)})
            if name != "torgb":
                targets[f"{key}.noise_const"] = (layer.noise_const, same)
                targets[f"{key}.noise_strength"] = (layer.noise_strength, same)
    return targets


def ada_to_generator(state, source, w_avg_samples=W_AVG_SAMPLES):
    """A StyleGAN2Generator holding an ADA-named generator state (resample_filter buffers
    ignored). Every key and shape is checked before a weight is written. Without
    mapping.w_avg, w_avg is the mean w of `w_avg_samples` z ~ N(0, I) (RandomState(123))."""
    from kgan.networks.stylegan2 import stylegan2_generator

    state = {k: v for k, v in state.items() if not k.endswith("resample_filter")}
    options = generator_options(state, source)
    generator = stylegan2_generator(**options)
    targets = _targets(generator)
    unknown = sorted(set(state) - set(targets))
    if unknown:
        raise UsageError(f"{source!r} has weight {unknown[0]!r} that a kgan StyleGAN2 'skip' generator has no place "
                         f"for" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    missing = sorted(set(targets) - set(state) - {"mapping.w_avg"})
    if missing:
        raise UsageError(f"{source!r} lacks weight {missing[0]!r}")
    converted = {}
    for key, value in state.items():
        variable, to_kgan = targets[key]
        value = np.asarray(value, np.float32)
        value = np.array(to_kgan(value) if to_kgan else value, np.float32, order="C")
        if tuple(value.shape) != tuple(variable.shape):
            raise UsageError(f"{source!r}: weight {key!r} has shape {np.shape(state[key])}, which does not fit "
                             f"{tuple(variable.shape)} (kgan layout)")
        converted[key] = value
    for key, value in converted.items():
        targets[key][0].assign(value)
    if "mapping.w_avg" not in state:
        z = np.random.RandomState(123).randn(w_avg_samples, generator.z_dim).astype(np.float32)
        labels = None if not generator.num_classes else np.arange(w_avg_samples) % generator.num_classes
        ws = generator.mapping(z, labels)[:, 0]
        generator.mapping.w_avg.assign(np.mean(ws, axis=0))
    return generator, options


def detect_format(path, data):
    if isinstance(data, tuple) and data and all(isinstance(n, TFNetworkStub) for n in data):
        return "tf1"
    if isinstance(data, dict) and isinstance(data.get("G_ema"), PersistentStub):
        return "ada"
    raise UsageError(f"{path!r} is neither an NVlabs TF1 pickle (G, D, Gs) nor a stylegan2-ada-pytorch pickle "
                     "({'G', 'D', 'G_ema', ...})")


def read_rosinality(path):
    """(state, latent_avg or None) of a rosinality checkpoint (torch.load, weights_only, with
    argparse.Namespace allowed for the `args` of training checkpoints)."""
    from kgan.convert import _import_torch

    torch = _import_torch()
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # UnpicklingError, RuntimeError ... for damaged or foreign files
        raise UsageError(f"cannot read {path!r} as a rosinality checkpoint: {str(error).splitlines()[0]}") from None
    if not isinstance(data, dict) or "g_ema" not in data:
        raise UsageError(f"{path!r} has no 'g_ema': it is not a rosinality/stylegan2-pytorch checkpoint")
    state = {k: v.detach().cpu().float().numpy() for k, v in data["g_ema"].items()}
    latent = data.get("latent_avg")
    return state, None if latent is None else latent.detach().cpu().float().numpy()


def import_generator(path, fmt="auto"):
    """(StyleGAN2Generator, description) of an upstream checkpoint: fmt "tf1", "ada",
    "rosinality" or "auto" (.pt / .pth: rosinality; .pkl: TF1 or ADA by content)."""
    if not os.path.isfile(path):
        raise UsageError(f"checkpoint {path!r} does not exist")
    if fmt == "auto":
        fmt = "rosinality" if path.endswith((".pt", ".pth")) else "pickle"
    if fmt == "rosinality":
        state, latent_avg = read_rosinality(path)
        try:
            state = rosinality_to_ada(state, latent_avg)
        except KeyError as error:
            raise UsageError(f"{path!r} is not a rosinality StyleGAN2 generator: unexpected or missing key "
                             f"{error.args[0]!r}") from None
    else:
        data = read_pickle(path)
        found = detect_format(path, data)
        if fmt not in ("pickle", found):
            raise UsageError(f"{path!r} is a {found} pickle, not {fmt}")
        fmt = found
        state = tf1_to_ada(data[2], path) if fmt == "tf1" else data["G_ema"].named_tensors()
    generator, options = ada_to_generator(state, path)
    return generator, f"{fmt} generator {options}"
