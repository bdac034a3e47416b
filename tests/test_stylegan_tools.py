"""StyleGAN2 tools (issue 13): generate, style mixing, weight import, InterFaceGAN editing,
projection, face alignment, on a tiny randomly initialised generator."""
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kgan.errors import UsageError
from kgan.networks.stylegan2 import stylegan2_generator
from kgan.stylegan_tools import generator as sg
from kgan.stylegan_tools.mixing import mix_grid, mix_ws, style_rows

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
