"""`python -m kgan.convert FORMAT SRC DST`: turn a PyTorch checkpoint of an upstream network
into the equivalent kgan network, exported as a SavedModel in the TF Serving layout
(DST/<next version>/) that `kgan.upscale`, `kgan.translate` and TF Serving load.

Formats:
  srgan-sgrvinod  sgrvinod/a-PyTorch-Tutorial-to-Super-Resolution's SRGAN `Generator`
                  (checkpoint_srgan.pth.tar, seed 000's srgan.pth.tar: its "generator") or
                  `SRResNet` (checkpoint_srresnet.pth.tar: its "model"), or their state
                  dicts. The export takes plain uint8 images: the ImageNet mean/std
                  normalization the network expects is applied inside, once; its tanh
                  output in [-1, 1] is mapped to uint8. For `kgan.upscale`.
  junyanz         junyanz/pytorch-CycleGAN-and-pix2pix `latest_net_G.pth` (CycleGAN's
                  latest_net_G_A.pth ...): resnet_9blocks / resnet_6blocks / unet_256 /
                  unet_128, instance or batch norm. For `kgan.translate`.
  pix2pixhd       NVIDIA/pix2pixHD `latest_net_G.pth` (GlobalGenerator or LocalEnhancer)
                  [+ --encoder latest_net_E.pth]. Exports "labels" int32 (B, H, W) [+
                  "instances" int32 (B, H, W)] [+ "real_images" uint8] -> "images" uint8;
                  with --label-nc 0 (photo input) "images" uint8 -> "images" uint8.

Widths, block counts, scale and norm are read off the checkpoint's shapes (--netG and
--norm, when given, must agree). Every key and shape is checked before anything is written.
Reading .pth files needs PyTorch: pip install -e ".[torch]".
"""
import argparse
import json
import os
import pickle
import re
import sys
import types

import numpy as np

from kgan.errors import UsageError

FORMATS = ("srgan-sgrvinod", "junyanz", "pix2pixhd")
JUNYANZ_GENERATORS = {"resnet_9blocks": 9, "resnet_6blocks": 6, "unet_256": 8, "unet_128": 7}
# Modules whose classes a pickled sgrvinod checkpoint names: its models.py, or a notebook.
STUBBED_MODULES = ("models", "__main__")


def _import_torch():
    try:
        import torch
    except ImportError:
        raise UsageError('reading PyTorch checkpoints needs PyTorch: pip install -e ".[torch]"') from None
    return torch


def _stub_pickle_module(torch):
    """A `pickle_module` for torch.load whose Unpickler turns every class of
    STUBBED_MODULES into an empty nn.Module subclass: the pickled sgrvinod model is rebuilt
    from its parameters and submodules without importing (running) the tutorial's code."""
    stubs = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module in STUBBED_MODULES:
                if (module, name) not in stubs:
                    stubs[module, name] = type(name, (torch.nn.Module,), {"__module__": module})
                return stubs[module, name]
            return super().find_class(module, name)

    return types.SimpleNamespace(__name__="kgan_stub_pickle", Unpickler=Unpickler, load=pickle.load)


def read_checkpoint(path, trust_pickle=False):
    """The object in the PyTorch file at `path`, read with torch.load(weights_only=True)
    (tensors and plain containers only), or, with trust_pickle, weights_only=False, which
    executes whatever the file's pickle names (needed for checkpoints holding whole model
    objects, as sgrvinod's training scripts write)."""
    if not os.path.isfile(path):
        raise UsageError(f"checkpoint {path!r} does not exist")
    torch = _import_torch()
    try:
        if trust_pickle:
            return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_stub_pickle_module(torch))
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # UnpicklingError, RuntimeError (zip), EOFError ... for damaged files
        pickled = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        if isinstance(error, pickle.UnpicklingError) and pickled:
            raise UsageError(
                f"{path!r} holds pickled Python objects ({pickled.group(1)}), not only tensors: unpickling it runs "
                "code named in the file; if you trust its source, add --trust-pickle (torch.load weights_only=False)"
            ) from None
        raise UsageError(f"cannot read {path!r} as a PyTorch checkpoint (truncated, or not a .pth file): "
                         f"{_first_line(error)}") from None


def _first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def state_dict_of(obj, path, entries=()):
    """{name: float numpy array} from a state dict, an nn.Module, or a checkpoint dict whose
    first present key in `entries` holds one of those. Prefixes "module." (DataParallel)
    are stripped."""
    if isinstance(obj, dict):
        for entry in entries:
            if entry in obj:
                obj = obj[entry]
                break
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not obj or not all(hasattr(v, "shape") for v in obj.values()):
        wanted = f" or a dict with {' / '.join(repr(e) for e in entries)}" if entries else ""
        content = f"a dict of {sorted(map(str, obj))[:6]}" if isinstance(obj, dict) else type(obj).__name__
        nested = [(key, guess_format(v)) for key, v in obj.items() if isinstance(v, dict)] \
            if isinstance(obj, dict) else []
        hint = next((f"; its {key!r} looks like a {looks} checkpoint" for key, looks in nested if looks), "")
        raise UsageError(f"{path!r} holds {content}, not a state dict (a mapping of names to tensors{wanted}){hint}")
    state = {key: v.detach().cpu().float().numpy() if hasattr(v, "detach") else np.asarray(v)
             for key, v in obj.items()}
    return strip_prefix(state, "module.")


def strip_prefix(state, prefix):
    """`state` with `prefix` removed from its keys if every key has it."""
    if all(key.startswith(prefix) for key in state):
        return {key[len(prefix):]: v for key, v in state.items()}
    return state


def _count(state, pattern):
    """How many consecutive i from 0 make `pattern.format(i)` a key of `state`."""
    i = 0
    while pattern.format(i) in state:
        i += 1
    return i


def _indices(state, pattern):
    """Sorted integers i of the keys of `state` that fully match regex `pattern` (one group)."""
    return sorted(int(m.group(1)) for m in map(re.compile(pattern).fullmatch, state) if m)


def guess_format(state):
    """What a state dict looks like, for error messages ("junyanz unet", ...), or None."""
    if "conv_block1.conv_block.0.weight" in state or "net.conv_block1.conv_block.0.weight" in state:
        return "srgan-sgrvinod"
    if "model.model.0.weight" in state:
        return "junyanz unet"
    if "model1_1.1.weight" in state:
        return "pix2pixhd local enhancer"
    blocks = _indices(state, r"model\.(\d+)\.conv_block\.1\.weight")
    if blocks and blocks[0] == 10:
        return "junyanz resnet (or a pix2pixhd generator with 2 downsamplings)"
    if blocks:
        return "pix2pixhd global generator"
    if "model.0.weight" in state and "model.1.weight" not in state:
        return "discriminator (PatchGAN)"
    return None


def _require(state, key, src, what):
    """state[key].shape, or a one-line error that SRC is not a `what` checkpoint."""
    if key not in state:
        looks = guess_format(state)
        raise UsageError(f"{src!r} is not a {what} checkpoint: it has no key {key!r}"
                         + (f"; it looks like a {looks} checkpoint" if looks else ""))
    return state[key].shape


def _norm_of(state, module):
    """"batch" if the norm module at `module` stores affine weights, else "instance"."""
    return "batch" if f"{module}.weight" in state else "instance"


def _residual_block(torch_prefix, keras_prefix, second_conv=5):
    """junyanz / NVIDIA `ResnetBlock` (its conv_block Sequential) -> the layers of kgan
    `resnet.residual_block`; second_conv 6 when nn.Dropout follows the first conv."""
    return [(f"{torch_prefix}.conv_block.1", f"{keras_prefix}_conv_1"),
            (f"{torch_prefix}.conv_block.2", f"{keras_prefix}_conv_1_norm"),
            (f"{torch_prefix}.conv_block.{second_conv}", f"{keras_prefix}_conv_2"),
            (f"{torch_prefix}.conv_block.{second_conv + 1}", f"{keras_prefix}_conv_2_norm")]


def _load(network, state, modules, src, description):
    from kgan.networks.torch_compat import load_state_dict

    return load_state_dict(network, state, modules, f"{src!r} ({description})")


# ---- srgan-sgrvinod: models.py SRResNet / Generator ----

def convert_sgrvinod(args):
    """sgrvinod `SRResNet` keys (a `Generator` adds "net."): conv_block1 (9x9 conv, PReLU),
    residual_blocks.i.conv_block{1,2} (conv, BN[, PReLU]), conv_block2 (conv, BN),
    subpixel_convolutional_blocks.i (conv, pixel shuffle, PReLU), conv_block3 (9x9 conv)."""
    from kgan.models.srgan import upscale_endpoint
    from kgan.networks.srgan import srgan_generator
    from kgan.networks.torch_compat import pixel_shuffle_order

    state = state_dict_of(read_checkpoint(args.src, args.trust_pickle), args.src, ("generator", "model"))
    state = strip_prefix(state, "net.")
    width, channels = _require(state, "conv_block1.conv_block.0.weight", args.src, "srgan-sgrvinod")[:2]
    stages = _count(state, "subpixel_convolutional_blocks.{}.conv.weight")
    if not stages:
        _require(state, "subpixel_convolutional_blocks.0.conv.weight", args.src, "srgan-sgrvinod")
    blocks = _count(state, "residual_blocks.{}.conv_block1.conv_block.0.weight")
    options = {"scale": 2**stages, "n_residual_blocks": blocks,
               "width": int(width), "channels": int(channels), "variant": "sgrvinod"}
    generator = srgan_generator(**options)
    modules = [("conv_block1.conv_block.0", "head"), ("conv_block1.conv_block.1", "head_prelu")]
    for i in range(options["n_residual_blocks"]):
        block = f"residual_blocks.{i}"
        modules += [(f"{block}.conv_block1.conv_block.0", f"res_{i}_conv_0"),
                    (f"{block}.conv_block1.conv_block.1", f"res_{i}_norm_0"),
                    (f"{block}.conv_block1.conv_block.2", f"res_{i}_prelu"),
                    (f"{block}.conv_block2.conv_block.0", f"res_{i}_conv_1"),
                    (f"{block}.conv_block2.conv_block.1", f"res_{i}_norm_1")]
    modules += [("conv_block2.conv_block.0", "post_res"), ("conv_block2.conv_block.1", "post_res_norm")]
    for i in range(stages):
        block = f"subpixel_convolutional_blocks.{i}"
        modules += [(f"{block}.conv", f"up_{i}_conv", pixel_shuffle_order(4 * int(width))),
                    (f"{block}.prelu", f"up_{i}_prelu")]
    modules.append(("conv_block3.conv_block.0", "to_rgb"))
    description = (f"sgrvinod SRResNet x{options['scale']}, {options['n_residual_blocks']} blocks, "
                   f"{options['width']} channels")
    dropped = _load(generator, state, modules, args.src, description)
    record = {"builder": "kgan.networks.srgan.srgan_generator", "options": options, "input_normalization": "imagenet"}
    return upscale_endpoint(generator, "imagenet"), description, dropped, record


# ---- junyanz: models/networks.py ResnetGenerator / UnetGenerator ----

def _junyanz_resnet(state, n_blocks, norm, src):
    """ResnetGenerator.model: 1 stem conv, 2 norm; 4, 7 down convs (5, 8 norms); 10 ...
    blocks; then 2 transposed convs (+ norms) and the 7x7 conv, 3 apart."""
    from kgan.networks.resnet import resnet_generator

    width, channels = _require(state, "model.1.weight", src, "junyanz resnet")[:2]
    blocks = _indices(state, r"model\.(\d+)\.conv_block\.1\.weight")
    n_blocks = n_blocks or len(blocks)
    head = f"model.{10 + n_blocks + 7}.weight"
    if head in state and state[head].shape[0] != channels:
        raise UsageError(f"{src!r} maps {channels} to {state[head].shape[0]} channels: kgan's ResNet generator "
                         "has as many channels out as in")
    # use_dropout puts nn.Dropout after each block's first conv, moving the second to 6.
    second = 6 if getattr(state.get("model.10.conv_block.6.weight"), "ndim", 0) == 4 else 5
    options = {"variant": "junyanz", "n_blocks": n_blocks, "base_width": int(width),
               "norm": norm or _norm_of(state, "model.2"), "channels": int(channels)}
    modules = [("model.1", "stem"), ("model.2", "stem_norm"), ("model.4", "down_1"), ("model.5", "down_1_norm"),
               ("model.7", "down_2"), ("model.8", "down_2_norm")]
    for b in range(n_blocks):
        modules += _residual_block(f"model.{10 + b}", f"block_{b}", second)
    up = 10 + n_blocks
    modules += [(f"model.{up}", "up_1"), (f"model.{up + 1}", "up_1_norm"), (f"model.{up + 3}", "up_0"),
                (f"model.{up + 4}", "up_0_norm"), (f"model.{up + 7}", "head")]
    return resnet_generator(**options), modules, options, f"resnet_{n_blocks}blocks", 4


def _unet_prefix(depth):
    """Module prefix of the depth-th nested UnetSkipConnectionBlock's Sequential (1: outermost)."""
    return "model.model." + "".join("1.model." if d == 2 else "3.model." for d in range(2, depth + 1))


def _junyanz_unet(state, num_downs, norm, src):
    """UnetGenerator: the outermost block is [down conv, submodule, ReLU, transposed conv,
    tanh]; inner ones [LeakyReLU, conv, norm, submodule, ReLU, transposed conv, norm];
    the innermost [LeakyReLU, conv, ReLU, transposed conv, norm]."""
    from kgan.networks.unet import unet_generator

    width, channels = _require(state, "model.model.0.weight", src, "junyanz unet")[:2]
    depth = 1
    while f"{_unet_prefix(depth + 1)}1.weight" in state:
        depth += 1
    num_downs = num_downs or depth
    head = state.get("model.model.3.weight")
    options = {"variant": "junyanz", "input_channels": int(channels),
               "output_channels": int(channels if head is None else head.shape[1]), "image_size": 2**num_downs,
               "base_width": int(width), "norm": norm or _norm_of(state, f"{_unet_prefix(2)}2"), "dropout": 0}
    modules = [("model.model.0", "down_1"), ("model.model.3", "head")]
    for d in range(2, num_downs + 1):
        p = _unet_prefix(d)
        modules.append((f"{p}1", f"down_{d}"))
        if d < num_downs:
            modules += [(f"{p}2", f"down_{d}_norm"), (f"{p}5", f"up_{d - 1}"), (f"{p}6", f"up_{d - 1}_norm")]
        else:
            modules += [(f"{p}3", f"up_{d - 1}"), (f"{p}4", f"up_{d - 1}_norm")]
    return unet_generator(**options), modules, options, f"unet_{2**num_downs}", 2**num_downs


def convert_junyanz(args):
    from kgan.models.translation import translation_endpoint

    state = state_dict_of(read_checkpoint(args.src, args.trust_pickle), args.src)
    unet = args.netG.startswith("unet") if args.netG else "model.model.0.weight" in state
    build = _junyanz_unet if unet else _junyanz_resnet
    generator, modules, options, name, multiple = build(state, JUNYANZ_GENERATORS.get(args.netG), args.norm, args.src)
    description = f"junyanz {name}, ngf {options['base_width']}, norm {options['norm']}"
    dropped = _load(generator, state, modules, args.src, description)
    record = {"builder": f"kgan.networks.{'unet.unet' if unet else 'resnet.resnet'}_generator", "netG": name,
              "options": options}
    return translation_endpoint(generator, multiple), description, dropped, record


# ---- pix2pixhd: models/networks.py GlobalGenerator / LocalEnhancer / Encoder ----

def _trunk_modules(n_down, n_blocks, trunk="global_trunk/"):
    """GlobalGenerator.model up to its last transposed conv (LocalEnhancer.model): 1 stem
    conv, 2 norm, down convs from 4 (3 apart), blocks, transposed convs (3 apart)."""
    modules = [("model.1", f"{trunk}stem"), ("model.2", f"{trunk}stem_norm")]
    for i in range(n_down):
        modules += [(f"model.{4 + 3 * i}", f"{trunk}down_{i}"), (f"model.{5 + 3 * i}", f"{trunk}down_{i}_norm")]
    for b in range(n_blocks):
        modules += _residual_block(f"model.{4 + 3 * n_down + b}", f"{trunk}block_{b}")
    for j in range(n_down):
        up, i = 4 + 3 * n_down + n_blocks + 3 * j, n_down - 1 - j
        modules += [(f"model.{up}", f"{trunk}up_{i}"), (f"model.{up + 1}", f"{trunk}up_{i}_norm")]
    return modules


def _pix2pixhd_generator(state, src):
    from kgan.networks.pix2pixhd import global_generator, local_enhancer

    width, channels = _require(state, "model.1.weight", src, "pix2pixhd generator")[:2]
    blocks = _indices(state, r"model\.(\d+)\.conv_block\.1\.weight")
    if not blocks:  # no ResnetBlock: name the first one of NVIDIA's default GlobalGenerator
        _require(state, "model.16.conv_block.1.weight", src, "pix2pixhd generator")
    n_down, n_blocks = (blocks[0] - 4) // 3, len(blocks)
    norm = _norm_of(state, "model.2")
    n_local = 0
    while f"model{n_local + 1}_1.1.weight" in state:
        n_local += 1
    modules = _trunk_modules(n_down, n_blocks)
    if not n_local:
        final = f"model.{4 + 6 * n_down + n_blocks + 1}"
        options = {"input_channels": int(channels), "output_channels": int(_require(
            state, f"{final}.weight", src, "pix2pixhd generator")[0]), "base_width": int(width),
            "n_downsampling": n_down, "n_blocks": n_blocks, "norm": norm}
        modules.append((final, "to_image"))
        return global_generator(**options), modules, options, "GlobalGenerator", 2**n_down
    base = int(state[f"model{n_local}_1.1.weight"].shape[0])
    n_blocks_local = _count(state, "model1_2.{}.conv_block.1.weight")
    final = f"model{n_local}_2.{n_blocks_local + 4}"
    options = {"input_channels": int(channels),
               "output_channels": int(_require(state, f"{final}.weight", src, "pix2pixhd local enhancer")[0]),
               "base_width": base, "n_downsample_global": n_down, "n_blocks_global": n_blocks,
               "n_local_enhancers": n_local, "n_blocks_local": n_blocks_local, "norm": norm}
    for n in range(1, n_local + 1):
        down, up, keras = f"model{n}_1", f"model{n}_2", f"local_{n}"
        modules += [(f"{down}.1", f"{keras}_stem"), (f"{down}.2", f"{keras}_stem_norm"), (f"{down}.4", f"{keras}_down"),
                    (f"{down}.5", f"{keras}_down_norm")]
        for b in range(n_blocks_local):
            modules += _residual_block(f"{up}.{b}", f"{keras}_block_{b}")
        modules += [(f"{up}.{n_blocks_local}", f"{keras}_up"), (f"{up}.{n_blocks_local + 1}", f"{keras}_up_norm")]
    modules.append((final, "to_image"))
    return local_enhancer(**options), modules, options, "LocalEnhancer", 2 ** (n_down + n_local)


def _pix2pixhd_encoder(state, src):
    """Encoder.model: 1 stem conv, 2 norm; n down convs then n transposed convs from 4,
    3 apart; the 7x7 conv after its reflection pad."""
    from kgan.networks.pix2pixhd import feature_encoder

    width, channels = _require(state, "model.1.weight", src, "pix2pixhd encoder")[:2]
    n_down = 0
    while f"model.{4 + 3 * (2 * n_down)}.weight" in state and f"model.{4 + 3 * (2 * n_down + 1)}.weight" in state:
        n_down += 1
    final = f"model.{4 + 6 * n_down + 1}"
    features = _require(state, f"{final}.weight", src, "pix2pixhd encoder")[0]
    options = {"input_channels": int(channels), "feature_channels": int(features), "base_width": int(width),
               "n_downsampling": n_down, "norm": _norm_of(state, "model.2")}
    modules = [("model.1", "stem"), ("model.2", "stem_norm")]
    for i in range(n_down):
        up = 4 + 3 * n_down + 3 * i
        modules += [(f"model.{4 + 3 * i}", f"down_{i}"), (f"model.{5 + 3 * i}", f"down_{i}_norm"),
                    (f"model.{up}", f"up_{n_down - 1 - i}"), (f"model.{up + 1}", f"up_{n_down - 1 - i}_norm")]
    modules.append((final, "to_features"))
    return feature_encoder(**options), modules, options, 2**n_down


def convert_pix2pixhd(args):
    from kgan.models.pix2pixhd import label_endpoint
    from kgan.models.translation import translation_endpoint

    state = state_dict_of(read_checkpoint(args.src, args.trust_pickle), args.src)
    generator, modules, options, name, multiple = _pix2pixhd_generator(state, args.src)
    use_instances = not args.no_instance
    encoder = features = None
    if args.encoder:
        encoder_state = state_dict_of(read_checkpoint(args.encoder, args.trust_pickle), args.encoder)
        encoder, encoder_modules, encoder_options, encoder_multiple = _pix2pixhd_encoder(encoder_state, args.encoder)
        features = encoder_options["feature_channels"]
        multiple = max(multiple, encoder_multiple)
    if args.label_nc == 0 and (use_instances or encoder is not None):
        raise UsageError("--label-nc 0 (photos in) is supported with --no-instance and without --encoder only")
    wanted = (args.label_nc or 3) + use_instances + (features or 0)
    if options["input_channels"] != wanted:
        raise UsageError(
            f"the generator in {args.src!r} takes {options['input_channels']} input channels, not --label-nc "
            f"{args.label_nc}{' + 1 instance edge map' if use_instances else ''}"
            f"{f' + {features} encoder features' if features else ''} = {wanted}: pass the --label-nc, "
            "--no-instance and --encoder it was trained with")
    description = f"pix2pixhd {name}, ngf {options['base_width']}, {options['input_channels']} input channels"
    dropped = _load(generator, state, modules, args.src, description)
    builder = "local_enhancer" if name == "LocalEnhancer" else "global_generator"
    record = {"builder": f"kgan.networks.pix2pixhd.{builder}",
              "options": options, "label_nc": args.label_nc, "instances": use_instances}
    if encoder is not None:
        dropped += _load(encoder, encoder_state, encoder_modules, args.encoder, f"pix2pixhd encoder, {encoder_options}")
        record["encoder"] = {"builder": "kgan.networks.pix2pixhd.feature_encoder", "options": encoder_options}
    if args.label_nc == 0:
        return translation_endpoint(generator, multiple), description, dropped, record
    return label_endpoint(generator, args.label_nc, use_instances, multiple, encoder), description, dropped, record


CONVERTERS = {"srgan-sgrvinod": convert_sgrvinod, "junyanz": convert_junyanz, "pix2pixhd": convert_pix2pixhd}


def convert(args):
    """Reads args.src as args.format, writes the SavedModel; returns (path, description,
    dropped keys). The conversion record goes to PATH/assets.extra/kgan_convert.json."""
    from kgan.export import export_endpoints

    endpoint, description, dropped, record = CONVERTERS[args.format](args)
    base, name = os.path.split(os.path.normpath(args.dst))
    [path] = export_endpoints({"": endpoint}, base or ".", name)
    record = {"format": args.format, "source": os.path.abspath(args.src), **record, "dropped_keys": dropped}
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with open(os.path.join(path, "assets.extra", "kgan_convert.json"), "w") as f:
        json.dump(record, f, indent=2)
    return path, description, dropped


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m kgan.convert", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[4:]))
    parser.add_argument("format", choices=FORMATS, help="which upstream network the checkpoint holds")
    parser.add_argument("src", help="the PyTorch checkpoint (.pth, .pth.tar)")
    parser.add_argument("dst", help="SavedModel folder (saved_models/NAME); the next version is written inside")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="read checkpoints that pickle whole Python objects (sgrvinod's); this runs code from "
                             "the file: only for files from a source you trust")
    parser.add_argument("--netG", choices=sorted(JUNYANZ_GENERATORS), help="junyanz: the generator (default: read off "
                        "the checkpoint)")
    parser.add_argument("--norm", choices=("instance", "batch"), help="junyanz: the norm (default: read off the "
                        "checkpoint: affine weights mean batch)")
    parser.add_argument("--label-nc", type=int, default=35,
                        help="pix2pixhd: label classes, one-hot (NVIDIA --label_nc; 0: photos in); default 35")
    parser.add_argument("--no-instance", action="store_true", help="pix2pixhd: no instance edge map input "
                        "(NVIDIA --no_instance)")
    parser.add_argument("--encoder", help="pix2pixhd: the feature encoder latest_net_E.pth (NVIDIA --instance_feat; "
                        "the export then encodes its real_images input)")
    return parser


def check_options(args):
    """Options of one format given for another, or out of range: UsageError."""
    if args.format != "junyanz" and (args.netG or args.norm):
        raise UsageError("--netG and --norm are for the junyanz format")
    if args.format != "pix2pixhd" and (args.encoder or args.no_instance or args.label_nc != 35):
        raise UsageError("--label-nc, --no-instance and --encoder are for the pix2pixhd format")
    if args.label_nc < 0:
        raise UsageError(f"--label-nc must be >= 0, got {args.label_nc}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        check_options(args)
        path, description, dropped = convert(args)
    except UsageError as error:
        print(f"convert: error: {error}", file=sys.stderr)
        return 2
    if dropped:
        print(f"convert: dropped {len(dropped)} instance-norm running statistics keys (running_mean, running_var, "
              "num_batches_tracked of a checkpoint from PyTorch < 0.4, which InstanceNorm2d never uses), as junyanz's "
              "loader does", file=sys.stderr)
    print(f"converted {args.src} ({description}) into {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
