"""StyleGAN2 tools (issue 13): generate, style mixing, weight import, InterFaceGAN editing,
projection, face alignment, on a tiny randomly initialised generator."""
import contextlib
import os
import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from kgan.errors import UsageError
from kgan.networks.stylegan2 import stylegan2_generator
from kgan.stylegan_tools import generator as sg
from kgan.stylegan_tools.mixing import mix_grid, mix_ws, style_rows

# the module fixtures (tiny G, upstream checkpoints) are built once: on one xdist worker.
pytestmark = pytest.mark.xdist_group("stylegan_tools")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(image_size=16, z_dim=32, w_dim=32, channel_base=256, channel_max=16, mapping_layers=2)


def tiny_generator(seed=0, **overrides):
    """A tiny G (16x16, num_ws 6) with random weights everywhere, noise strengths too."""
    keras.utils.set_random_seed(seed)
    g = stylegan2_generator(**{**TINY, **overrides})
    rng = np.random.default_rng(seed)
    for v in g.weights:
        if v.path.endswith(("noise_strength", "w_avg")) or "bias" in v.path:
            v.assign(rng.normal(0, 0.3, v.shape).astype(np.float32) + (1.0 if "affine/bias" in v.path else 0.0))
    return g


@pytest.fixture(scope="module")
def g():
    return tiny_generator()


def test_presets_scale_to_num_ws_and_slices_parse():
    assert [style_rows(p, 18) for p in ("coarse", "middle", "fine")] == [slice(0, 4), slice(4, 15), slice(15, 18)]
    assert [style_rows(p, 8) for p in ("coarse", "middle", "fine")] == [slice(0, 2), slice(2, 7), slice(7, 8)]
    assert style_rows("3:", 8) == slice(3, None) and style_rows(":", 8) == slice(None, None)
    with pytest.raises(UsageError, match="coarse, middle, fine"):
        style_rows("eyes", 8)


def test_mixing_empty_slice_is_identity_and_full_slice_is_the_other_image(g):
    ws = sg.map_latents(g, sg.seed_latents([1, 2], g.z_dim), truncation_psi=0.8)
    dst, src = ws[:1], ws[1:]
    images = sg.synthesize(g, ws)
    assert not np.array_equal(images[0], images[1])
    np.testing.assert_array_equal(sg.synthesize(g, mix_ws(dst, src, slice(0, 0))), images[:1])
    np.testing.assert_array_equal(sg.synthesize(g, mix_ws(dst, src, slice(None))), images[1:])
    assert style_rows("coarse", g.num_ws) == slice(0, 1)  # 6 rows at 16x16
    coarse = mix_ws(dst, src, style_rows("coarse", g.num_ws))
    np.testing.assert_array_equal(coarse[0, :1], src[0, :1])
    np.testing.assert_array_equal(coarse[0, 1:], dst[0, 1:])


def test_mix_grid_layout_sources_on_top_destinations_on_the_left(g):
    sources = sg.map_latents(g, sg.seed_latents([3, 4, 5], g.z_dim))
    destinations = sg.map_latents(g, sg.seed_latents([6, 7], g.z_dim))
    grid, mixed = mix_grid(g, sources, destinations, slice(None))
    s = g.image_size
    assert grid.shape == (3 * s, 4 * s, 3) and mixed.shape == (2, 3, s, s, 3)
    assert not grid[:s, :s].any()
    top, left = sg.synthesize(g, sources), sg.synthesize(g, destinations)
    for n in range(3):
        np.testing.assert_array_equal(grid[:s, (n + 1) * s:(n + 2) * s], top[n])
        np.testing.assert_array_equal(grid[2 * s:, (n + 1) * s:(n + 2) * s], top[n])  # all rows copied
    np.testing.assert_array_equal(grid[s:2 * s, :s], left[0])


def test_seeds_truncation_and_latent_files(g, tmp_path):
    assert sg.parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    with pytest.raises(UsageError, match="seed"):
        sg.parse_seeds("3-1")
    z = sg.seed_latents([5], g.z_dim)
    np.testing.assert_array_equal(z[0], np.random.RandomState(5).randn(g.z_dim).astype(np.float32))
    ws0 = sg.map_latents(g, z, truncation_psi=0.0)
    np.testing.assert_allclose(ws0[0], np.broadcast_to(g.mapping.w_avg.numpy(), ws0[0].shape), atol=1e-6)
    sg.save_ws(tmp_path / "a.npz", ws0)
    np.save(tmp_path / "w.npy", ws0[:, 0])
    np.testing.assert_array_equal(sg.load_ws(str(tmp_path / "a.npz"), g), ws0)
    np.testing.assert_array_equal(sg.load_ws(str(tmp_path / "w.npy"), g), ws0)
    with pytest.raises(UsageError, match="takes"):
        sg.check_ws(g, np.zeros((1, 3, g.w_dim)))
    with pytest.raises(UsageError, match="--class is for conditional"):
        sg.map_latents(g, z, class_index=1)


def test_cli_generate_and_mix_write_files_and_tensorboard(g, tmp_path):
    model = str(tmp_path / "g.keras")
    keras.saving.save_model(g, model)
    out, logdir = tmp_path / "out", tmp_path / "tb"
    from kgan.stylegan import main

    assert main(["generate", model, "--seeds", "0-2", "--trunc", "0.7", "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["grid.png", "seed0000.npz", "seed0000.png", "seed0001.npz", "seed0001.png",
                                       "seed0002.npz", "seed0002.png"]
    assert np.load(out / "seed0001.npz")["ws"].shape == (1, g.num_ws, g.w_dim)
    sources = f"{out / 'seed0000.npz'},{out / 'seed0001.npz'}"
    assert main(["mix", model, "--sources", sources, "--destinations", "5-6", "--styles", "coarse", "2:4",
                 "--out", str(out), "--logdir", str(logdir)]) == 0
    assert (out / "mix_coarse.png").exists() and (out / "mix_2-4.png").exists()
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(logdir))


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    process = subprocess.run([sys.executable, "-m", "kgan.stylegan", "generate", str(tmp_path / "missing.keras")],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert process.returncode == 2
    lines = [line for line in process.stderr.splitlines() if line.startswith("stylegan")]  # not TF's own logs
    assert len(lines) == 1 and lines[0].startswith("stylegan: error: MODEL") and "does not exist" in lines[0]
    assert "Traceback" not in process.stderr


# ---- weight import: checkpoints written in each format, against a PyTorch reference ----

ROS = dict(size=16, style_dim=32, n_mlp=2, channels={4: 16, 8: 16, 16: 8})


def rosinality_state(seed=0):
    """A rosinality/stylegan2-pytorch `Generator(16, 32, n_mlp=2)` state dict with random
    weights everywhere (channels 16, 16, 8: its layout, tiny widths), as numpy."""
    rng = np.random.default_rng(seed)
    c, d = ROS["channels"], ROS["style_dim"]
    state = {}
    for i in range(ROS["n_mlp"]):
        state[f"style.{i + 1}.weight"], state[f"style.{i + 1}.bias"] = rng.normal(0, 100, (d, d)), rng.normal(0, 1, d)
    state["input.input"] = rng.normal(0, 1, (1, c[4], 4, 4))

    def styled(name, cin, cout):
        state.update({f"{name}.conv.weight": rng.normal(0, 1, (1, cout, cin, 3, 3)),
                      f"{name}.conv.modulation.weight": rng.normal(0, 1, (cin, d)),
                      f"{name}.conv.modulation.bias": 1 + rng.normal(0, 0.2, cin),
                      f"{name}.noise.weight": rng.normal(0, 0.3, 1), f"{name}.activate.bias": rng.normal(0, 0.3, cout)})

    def torgb(name, cin):
        state.update({f"{name}.conv.weight": rng.normal(0, 1, (1, 3, cin, 1, 1)),
                      f"{name}.conv.modulation.weight": rng.normal(0, 1, (cin, d)),
                      f"{name}.conv.modulation.bias": 1 + rng.normal(0, 0.2, cin),
                      f"{name}.bias": rng.normal(0, 0.3, (1, 3, 1, 1))})

    styled("conv1", c[4], c[4])
    torgb("to_rgb1", c[4])
    for i, res in enumerate((8, 16)):
        styled(f"convs.{2 * i}", c[res // 2], c[res])
        styled(f"convs.{2 * i + 1}", c[res], c[res])
        torgb(f"to_rgbs.{i}", c[res])
    for i in range(5):
        res = 2 ** ((i + 5) // 2)
        state[f"noises.noise_{i}"] = rng.normal(0, 1, (1, 1, res, res))
    return {k: v.astype(np.float32) for k, v in state.items()}


def rosinality_reference(state, latent):
    """rosinality model.py `Generator.forward(latent, input_is_latent=True,
    randomize_noise=False)`, the fused path, transcribed in PyTorch: latent W+ (B, 6, 32)
    -> images (B, 3, 16, 16)."""
    import torch
    import torch.nn.functional as F

    sd = {k: torch.from_numpy(v) for k, v in state.items()}
    kernel = torch.tensor([1.0, 3, 3, 1])
    kernel = kernel[None] * kernel[:, None]
    kernel = kernel / kernel.sum()

    def upfirdn(x, k, up, pad):  # upfirdn2d_native with down 1
        b, ch, h, w = x.shape
        x = x.view(b, ch, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).view(b, ch, h * up, w * up)
        x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
        return F.conv2d(x, torch.flip(k, [0, 1])[None, None].repeat(ch, 1, 1, 1), groups=ch)

    def modconv(x, name, style, demodulate=True, upsample=False):
        weight = sd[f"{name}.conv.weight"]
        _, cout, cin, k, _ = weight.shape
        b, _, h, w = x.shape
        style = F.linear(style, sd[f"{name}.conv.modulation.weight"] / np.sqrt(style.shape[1]),
                         sd[f"{name}.conv.modulation.bias"]).view(b, 1, cin, 1, 1)
        weight = weight / np.sqrt(cin * k * k) * style
        if demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(b, cout, 1, 1, 1)
        if upsample:
            weight = weight.transpose(1, 2).reshape(b * cin, cout, k, k)
            out = F.conv_transpose2d(x.view(1, b * cin, h, w), weight, stride=2, groups=b)
            return upfirdn(out.view(b, cout, *out.shape[2:]), kernel * 4, 1, (1, 1))
        out = F.conv2d(x.view(1, b * cin, h, w), weight.view(b * cout, cin, k, k), padding=k // 2, groups=b)
        return out.view(b, cout, h, w)

    def styled(x, name, style, noise, upsample=False):
        out = modconv(x, name, style, upsample=upsample) + sd[f"{name}.noise.weight"] * sd[f"noises.noise_{noise}"]
        return F.leaky_relu(out + sd[f"{name}.activate.bias"].view(1, -1, 1, 1), 0.2) * np.sqrt(2)

    def torgb(x, name, style, skip=None):
        out = modconv(x, name, style, demodulate=False) + sd[f"{name}.bias"]
        return out if skip is None else out + upfirdn(skip, kernel * 4, 2, (2, 1))

    latent = torch.from_numpy(latent)
    out = sd["input.input"].repeat(latent.shape[0], 1, 1, 1)
    out = styled(out, "conv1", latent[:, 0], 0)
    skip = torgb(out, "to_rgb1", latent[:, 1])
    for i in range(2):
        out = styled(out, f"convs.{2 * i}", latent[:, 1 + 2 * i], 1 + 2 * i, upsample=True)
        out = styled(out, f"convs.{2 * i + 1}", latent[:, 2 + 2 * i], 2 + 2 * i)
        skip = torgb(out, f"to_rgbs.{i}", latent[:, 3 + 2 * i], skip)
    return skip.numpy()


def rosinality_mapping(state, z):
    """rosinality `Generator.style`: PixelNorm, then EqualLinear(lr_mul 0.01) + fused lrelu."""
    x = z / np.sqrt(np.mean(z ** 2, axis=1, keepdims=True) + 1e-8)
    for i in range(ROS["n_mlp"]):
        x = x @ (state[f"style.{i + 1}.weight"] * 0.01 / np.sqrt(x.shape[1])).T + state[f"style.{i + 1}.bias"] * 0.01
        x = np.where(x >= 0, x, 0.2 * x) * np.sqrt(2)
    return x


def ada_state(ros, latent_avg):
    """The same weights under stylegan2-ada-pytorch `Generator` parameter / buffer names."""
    state = {"mapping.w_avg": latent_avg, "synthesis.b4.const": ros["input.input"][0]}
    for i in range(ROS["n_mlp"]):
        state[f"mapping.fc{i}.weight"], state[f"mapping.fc{i}.bias"] = ros[f"style.{i + 1}.weight"], \
            ros[f"style.{i + 1}.bias"]
    layers = [("conv1", "b4.conv1", 0, "to_rgb1", "b4.torgb")]
    layers += [(f"convs.{2 * i}", f"b{r}.conv0", 2 * i + 1, None, None) for i, r in enumerate((8, 16))]
    layers += [(f"convs.{2 * i + 1}", f"b{r}.conv1", 2 * i + 2, f"to_rgbs.{i}", f"b{r}.torgb")
               for i, r in enumerate((8, 16))]
    for src, dst, noise, rgb_src, rgb_dst in layers:
        dst = f"synthesis.{dst}"
        state.update({f"{dst}.weight": ros[f"{src}.conv.weight"][0], f"{dst}.bias": ros[f"{src}.activate.bias"],
                      f"{dst}.affine.weight": ros[f"{src}.conv.modulation.weight"],
                      f"{dst}.affine.bias": ros[f"{src}.conv.modulation.bias"],
                      f"{dst}.noise_strength": ros[f"{src}.noise.weight"][0],
                      f"{dst}.noise_const": ros[f"noises.noise_{noise}"][0, 0],
                      f"{dst}.resample_filter": np.ones((4, 4), np.float32)})
        if rgb_src:
            rgb = f"synthesis.{rgb_dst}"
            state.update({f"{rgb}.weight": ros[f"{rgb_src}.conv.weight"][0], f"{rgb}.bias": ros[f"{rgb_src}.bias"][0, :, 0, 0],
                          f"{rgb}.affine.weight": ros[f"{rgb_src}.conv.modulation.weight"],
                          f"{rgb}.affine.bias": ros[f"{rgb_src}.conv.modulation.bias"]})
    return state


def tf1_variables(ada):
    """{component: [(TF1 variable name, value)]} of an ADA state: legacy.py's
    convert_tf_generator table run backwards (HWIO, mod_bias - 1, Conv0_up flipped,
    noise (1, 1, H, W), const (1, C, 4, 4))."""
    mapping, synthesis, top = [], [], [("dlatent_avg", ada["mapping.w_avg"]), ("lod", np.float32(0))]
    for key, value in ada.items():
        parts = key.split(".")
        if parts[0] == "mapping" and parts[1].startswith("fc"):
            mapping.append((f"Dense{parts[1][2:]}/{parts[2]}", value.T if parts[2] == "weight" else value))
        if parts[0] != "synthesis" or key.endswith("resample_filter"):
            continue
        res = int(parts[1][1:])
        if parts[2] == "const":
            synthesis.append(("4x4/Const/const", value[None]))
            continue
        layer = {"conv0": "Conv0_up", "conv1": "Conv" if res == 4 else "Conv1", "torgb": "ToRGB"}[parts[2]]
        name, param = f"{res}x{res}/{layer}", ".".join(parts[3:])
        if param == "weight":
            kernel = value.transpose(2, 3, 1, 0)
            synthesis.append((f"{name}/weight", kernel[::-1, ::-1] if layer == "Conv0_up" else kernel))
        elif param == "affine.weight":
            synthesis.append((f"{name}/mod_weight", value.T))
        elif param == "affine.bias":
            synthesis.append((f"{name}/mod_bias", value - 1))
        elif param == "noise_const":
            index = 0 if res == 4 else 2 * int(np.log2(res)) - (5 if parts[2] == "conv0" else 4)
            synthesis.append((f"noise{index}", value[None, None]))
        else:
            synthesis.append((f"{name}/{param}", value))
    return top, mapping, synthesis


@contextlib.contextmanager
def fake_modules(module):
    """`module` (and its empty parent packages) importable while pickling names its globals."""
    parts = module.__name__.split(".")
    names = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    saved = {name: sys.modules.get(name) for name in names}
    sys.modules.update({name: types.ModuleType(name) for name in names[:-1]}, **{module.__name__: module})
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name)
            else:
                sys.modules[name] = previous


def write_tf1_pickle(path, ada):
    """An NVlabs TF1 network pickle (G, D, Gs) of dnnlib.tflib.network.Network objects, as
    their __getstate__ writes them (version 4, static_kwargs, components, variables)."""
    import pickle

    module = types.ModuleType("dnnlib.tflib.network")

    class Network:
        def __init__(self, name, variables, components=None, **static_kwargs):
            self.state = dict(version=4, name=name, static_kwargs=static_kwargs, components=components or {},
                              build_module_src="", build_func_name=name, variables=variables)

        def __getstate__(self):
            return self.state

    Network.__module__, Network.__qualname__ = "dnnlib.tflib.network", "Network"
    module.Network = Network
    top, mapping, synthesis = tf1_variables(ada)
    kwargs = dict(resolution=16, latent_size=32, dlatent_size=32, mapping_layers=2, fmap_base=128, fmap_max=16)
    gs = Network("G_main", top, {"mapping": Network("G_mapping", mapping), "synthesis": Network("G_synthesis",
                                                                                            synthesis)}, **kwargs)
    with fake_modules(module), open(path, "wb") as f:
        pickle.dump((Network("D_main", []), Network("G_main", []), gs), f)


def write_ada_pickle(path, ada):
    """A stylegan2-ada-pytorch network pickle: {"G", "D", "G_ema", "augment_pipe",
    "training_set_kwargs"} whose modules reduce, as torch_utils.persistence's do, to
    _reconstruct_persistent_obj(meta) with meta.state = the nn.Module __dict__ (here the
    _parameters / _buffers / _modules that matter), tensors pickled by torch."""
    import collections
    import pickle

    import torch

    module = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):
        raise AssertionError("only for pickling")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class Persistent:
        def __init__(self, class_name, parameters=(), buffers=(), modules=()):
            self.meta = dict(type="class", version=6, module_src="raise SystemExit('not to be run')",
                             class_name=class_name,
                             state=dict(training=False, _parameters=collections.OrderedDict(parameters),
                                        _buffers=collections.OrderedDict(buffers),
                                        _modules=collections.OrderedDict(modules), _init_kwargs={}))

        def __reduce__(self):
            return _reconstruct_persistent_obj, (self.meta,)

    def tree(prefix, class_name):
        children = sorted({k[len(prefix):].split(".")[0] for k in ada if k.startswith(prefix)
                           and "." in k[len(prefix):]})
        own = {k[len(prefix):]: torch.from_numpy(np.asarray(v)) for k, v in ada.items() if k.startswith(prefix)
               and "." not in k[len(prefix):]}
        buffers = {k: v for k, v in own.items() if k in ("w_avg", "noise_const", "resample_filter")}
        parameters = {k: torch.nn.Parameter(v, requires_grad=False) for k, v in own.items() if k not in buffers}
        return Persistent(class_name, parameters.items(), buffers.items(),
                          [(child, tree(f"{prefix}{child}.", "Layer")) for child in children])

    with fake_modules(module), open(path, "wb") as f:
        pickle.dump(dict(G=tree("", "Generator"), D=Persistent("Discriminator"), G_ema=tree("", "Generator"),
                         augment_pipe=None, training_set_kwargs=None), f)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """Checkpoints of one set of known weights in the three formats, plus the reference."""
    torch = pytest.importorskip("torch", reason="the PyTorch reference and .pt / ADA .pkl need torch (CI has none)")
    import argparse

    folder = tmp_path_factory.mktemp("upstream")
    ros = rosinality_state()
    rng = np.random.default_rng(1)
    latent_avg = rng.normal(0, 1, ROS["style_dim"]).astype(np.float32)
    torch.save({"g_ema": {k: torch.from_numpy(v) for k, v in ros.items()}, "latent_avg": torch.from_numpy(latent_avg),
                "args": argparse.Namespace(size=16, n_mlp=2)}, folder / "rosinality.pt")
    ada = ada_state(ros, latent_avg)
    write_ada_pickle(folder / "ada.pkl", ada)
    write_tf1_pickle(folder / "tf1.pkl", ada)
    z = rng.normal(0, 1, (3, ROS["style_dim"])).astype(np.float32)
    ws = rng.normal(0, 1, (3, 6, ROS["style_dim"])).astype(np.float32)
    return dict(folder=folder, ros=ros, latent_avg=latent_avg, z=z, ws=ws,
                images=rosinality_reference(ros, ws).transpose(0, 2, 3, 1))


@pytest.mark.parametrize("name", ["rosinality.pt", "ada.pkl", "tf1.pkl"])
def test_imported_generator_equals_the_pytorch_reference(upstream, name):
    from kgan.stylegan_tools.importers import import_generator

    g, description = import_generator(str(upstream["folder"] / name))
    assert description.startswith(name.split(".")[0])
    assert (g.image_size, g.z_dim, g.w_dim, g.num_ws, g.mapping.num_layers) == (16, 32, 32, 6, 2)
    images = g.synthesis(upstream["ws"], noise_mode="const").numpy()
    np.testing.assert_allclose(images, upstream["images"], atol=1e-4)
    w = g.mapping(upstream["z"]).numpy()[:, 0]
    np.testing.assert_allclose(w, rosinality_mapping(upstream["ros"], upstream["z"]), atol=1e-4, rtol=1e-5)
    np.testing.assert_array_equal(g.mapping.w_avg.numpy(), upstream["latent_avg"])


def test_convert_cli_writes_a_model_the_tools_load_and_refuses_foreign_pickles(upstream, tmp_path, capsys):
    import pickle

    from kgan.stylegan import main

    dst = tmp_path / "ffhq.keras"
    assert main(["convert", str(upstream["folder"] / "tf1.pkl"), str(dst)]) == 0
    g = sg.load_generator(str(dst))
    np.testing.assert_allclose(g.synthesis(upstream["ws"], noise_mode="const").numpy(), upstream["images"], atol=1e-4)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(os.system))
    assert main(["convert", str(evil), str(tmp_path / "x.keras")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("stylegan: error:") and "refusing to run it" in error[-1]
    assert not (tmp_path / "x.keras").exists()


# ---- projection and alignment ----

def test_projector_schedule_is_nvlabs():
    from kgan.stylegan_tools.projector import ProjectorConfig, latent_noise_scale, learning_rate

    c = ProjectorConfig()
    assert learning_rate(0, c) == 0 and learning_rate(25, c) == pytest.approx(0.05)  # ramp-up over 50 steps
    assert learning_rate(50, c) == pytest.approx(0.1) and learning_rate(750, c) == pytest.approx(0.1)
    assert learning_rate(875, c) == pytest.approx(0.05)  # half-way down the cosine
    assert latent_noise_scale(0, 2.0, c) == pytest.approx(0.1)
    assert latent_noise_scale(375, 2.0, c) == pytest.approx(0.1 * 0.25) and latent_noise_scale(750, 2.0, c) == 0


def test_noise_regularization_matches_a_hand_computation():
    from kgan.stylegan_tools.projector import noise_regularization

    rng = np.random.default_rng(0)
    maps = [rng.normal(size=(16, 16)).astype(np.float32), rng.normal(size=(4, 4)).astype(np.float32)]
    expected = 0.0
    for n in maps:
        while True:
            expected += np.mean(n * np.roll(n, 1, axis=1)) ** 2 + np.mean(n * np.roll(n, 1, axis=0)) ** 2
            if n.shape[0] <= 8:
                break
            n = n.reshape(n.shape[0] // 2, 2, n.shape[1] // 2, 2).mean(axis=(1, 3))
    assert float(noise_regularization([tf_constant(m) for m in maps])) == pytest.approx(expected, rel=1e-5)


def tf_constant(value):
    import tensorflow as tf

    return tf.constant(value)


@pytest.mark.parametrize("w_plus", [False, True])
def test_projection_approaches_a_generated_image_and_restores_the_noise(g, w_plus):
    from kgan.stylegan_tools.projector import ProjectorConfig, noise_layers, project, psnr

    ws = sg.map_latents(g, sg.seed_latents([11], g.z_dim))
    target = sg.synthesize(g, ws)[0]
    before = [layer.noise_const.numpy() for layer in noise_layers(g)]
    result = project(g, target, ProjectorConfig(num_steps=25, w_avg_samples=500, w_plus=w_plus), distance="pixel",
                     progress=False)
    assert result.ws.shape == (1, g.num_ws, g.w_dim) and len(result.frames) == 8 and len(result.noise) == 5
    assert (np.ptp(result.ws, axis=1).max() > 0) == w_plus  # W: one w on every row
    assert result.distances[-1] < 0.5 * result.distances[0]
    start = sg.synthesize(g, np.broadcast_to(g.mapping.w_avg.numpy(), ws.shape))[0]
    assert psnr(result.image, target) > psnr(start, target) + 1.5  # dB, after 25 of the 1000 steps
    for layer, original in zip(noise_layers(g), before):
        np.testing.assert_array_equal(layer.noise_const.numpy(), original)


def test_face_alignment_crops_the_astronaut_face():
    import cv2
    from skimage.data import astronaut

    from kgan.align import _cascade, align_face

    aligned, info = align_face(astronaut(), 128)
    assert aligned.shape == (128, 128, 3) and info["eyes"] == "cascade"
    faces = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        cv2.cvtColor(aligned, cv2.COLOR_RGB2GRAY), 1.1, 5)
    assert len(faces) == 1
    x, y, w, h = faces[0]
    assert abs(x + w / 2 - 64) < 8 and abs(y + h / 2 - 64) < 16 and w > 50  # centred, filling the crop
    with pytest.raises(UsageError, match="no frontal face"):
        align_face(np.full((64, 64, 3), 128, np.uint8), 16)


def test_cli_project_writes_code_images_strip_and_tensorboard(g, tmp_path):
    from skimage.data import astronaut

    from kgan.inference import write_image
    from kgan.stylegan import main

    model, photo, out = str(tmp_path / "g.keras"), str(tmp_path / "astronaut.png"), tmp_path / "out"
    keras.saving.save_model(g, model)
    write_image(photo, astronaut())
    assert main(["project", model, photo, "--w-plus", "--steps", "3", "--w-avg-samples", "100", "--frames", "3",
                 "--distance", "pixel", "--out", str(out), "--logdir", str(tmp_path / "tb")]) == 0
    saved = np.load(out / "projected_w_plus.npz")
    assert saved["ws"].shape == (1, g.num_ws, g.w_dim) and saved["distances"].shape == (3,)
    for name in ("target.png", "projected_w_plus.png", "before_after_w_plus.png", "frames_w_plus.png"):
        assert (out / name).exists()
    assert sg.load_ws(str(out / "projected_w_plus.npz"), g).shape == (1, g.num_ws, g.w_dim)
    assert os.listdir(tmp_path / "tb")


# ---- InterFaceGAN editing ----

def test_svm_boundary_recovers_a_planted_direction():
    from kgan.stylegan_tools.editing import train_boundary

    rng = np.random.default_rng(0)
    planted = rng.normal(size=32)
    planted /= np.linalg.norm(planted)
    codes = rng.normal(size=(5000, 32))
    scores = codes @ planted + rng.normal(0, 0.1, 5000)
    boundary, report = train_boundary(codes, scores)
    assert report["train_per_side"] == 70 and report["validation_accuracy"] == 1.0
    assert np.linalg.norm(boundary) == pytest.approx(1.0, abs=1e-6)
    assert float(boundary @ planted) >= 0.95


def test_edit_sequence_moves_every_row_along_the_normal():
    from kgan.stylegan_tools.editing import edit_sequence

    ws = np.random.default_rng(0).normal(size=(6, 32)).astype(np.float32)
    normal = np.eye(32, dtype=np.float32)[3]
    sequence, distances = edit_sequence(ws, normal, -3, 3, 10)
    assert sequence.shape == (10, 6, 32) and distances[0] == -3 and distances[-1] == 3
    np.testing.assert_allclose(sequence[:, :, 3] - ws[None, :, 3], np.repeat(distances[:, None], 6, 1), atol=1e-6)
    np.testing.assert_array_equal(np.delete(sequence, 3, axis=2), np.repeat(np.delete(ws, 3, axis=1)[None], 10, 0))


def test_cli_edit_trains_a_boundary_from_a_classifier_and_writes_sequences(g, tmp_path):
    from kgan.stylegan import main

    model, out = str(tmp_path / "g.keras"), tmp_path / "out"
    keras.saving.save_model(g, model)
    images = keras.Input((16, 16, 3))
    redness = keras.Model(images, keras.layers.GlobalAveragePooling2D()(images)[:, :1])  # mean red channel
    keras.saving.save_model(redness, str(tmp_path / "red.keras"))
    assert main(["edit", model, "--classifier", str(tmp_path / "red.keras"), "--samples", "300", "--chosen-ratio",
                 "0.1", "--seeds", "1-2", "--steps", "5", "--out", str(out), "--logdir", str(tmp_path / "tb")]) == 0
    boundary = np.load(out / "boundary.npy")
    assert boundary.shape == (1, g.w_dim) and np.linalg.norm(boundary) == pytest.approx(1, abs=1e-5)
    saved = np.load(out / "edit_seed0001.npz")
    assert saved["ws"].shape == (5, g.num_ws, g.w_dim) and (out / "edit_seed0002.png").exists()
    red = [sg.synthesize(g, saved["ws"][i:i + 1])[0][..., 0].mean() for i in (0, 4)]
    assert red[1] > red[0]  # +3 along the "redness" normal is redder than -3
    assert main(["edit", model, "--boundary", str(out / "boundary.npy"), "--steps", "3", "--out", str(out)]) == 0
    assert os.listdir(tmp_path / "tb")


def test_distances_vgg_needs_its_weights_file_and_auto_falls_back_to_pixels():
    from kgan.stylegan_tools.projector import make_distance, vgg16_lpips_features

    with pytest.raises(UsageError, match="VGG16 weights file /nowhere/vgg16.h5 does not exist.*--distance pixel"):
        make_distance("vgg", "/nowhere/vgg16.h5")
    assert make_distance("auto", "/nowhere/vgg16.h5")[0] == "pixel"
    features = vgg16_lpips_features(weights=None)  # random VGG16: shapes and normalization only
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    f = features(images).numpy()
    sizes = [32 * 32 * 64, 16 * 16 * 128, 8 * 8 * 256, 4 * 4 * 512, 2 * 2 * 512]
    assert f.shape == (2, sum(sizes))
    offsets = np.cumsum([0] + sizes)
    for start, stop in zip(offsets[:-1], offsets[1:]):  # unit channel norm / sqrt(H W): each layer has norm 1
        np.testing.assert_allclose(np.linalg.norm(f[:, start:stop], axis=1), 1.0, rtol=1e-3)
