"""README.md's code runs as written: every ```python block, pasted into a fresh process, and
the StyleGAN2 training and tools commands (```bash blocks of their sections); every other
command, of the ```bash blocks and the benchmark commands the prose cites, parses."""
import argparse
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        return f.read()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", readme(), flags=re.S)


def section(heading):
    """The README text under the line `heading` ("## X", "### Y") up to the next heading of
    its level or above; lines inside code fences are not headings."""
    lines = readme().splitlines()
    start = lines.index(heading) + 1
    level, fenced = len(heading.split()[0]), False
    for end in range(start, len(lines)):
        if lines[end].startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", lines[end]):
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])


def bash_commands(heading):
    """The commands of the ```bash blocks under `heading`: comment lines dropped, `\\`
    continuations joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section(heading), flags=re.S):
        commands += [line for line in block.replace("\\\n", " ").splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
    return commands


def test_the_readme_has_python_blocks():
    assert python_blocks()


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs_as_written(index, tmp_path):
    result = subprocess.run([sys.executable, "-c", python_blocks()[index]], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.exists(tmp_path / "losses.csv") or "losses.csv" not in python_blocks()[index]


# Runs each command as `python -m kgan.stylegan` does (runpy, then its sys.exit status), all in
# one process: a TensorFlow import costs ~9 s of CPU on the test machine, six would be ~55 s.
TOOLS_DRIVER = """
import runpy, shlex, sys
for command in sys.stdin.read().splitlines():
    argv = shlex.split(command, comments=True)
    assert argv[:3] == ["python3", "-m", "kgan.stylegan"], argv
    sys.argv = [argv[2], *argv[3:]]
    try:
        runpy.run_module("kgan.stylegan", run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        if exit.code:
            sys.exit(f"exit status {exit.code}: {command}")
"""


def test_readme_stylegan2_tools_commands_run_as_written(tmp_path):
    """README "StyleGAN2 tools": every command as written, in order, on the files it names,
    made here: an NVlabs TF1 pickle of a tiny 16x16 generator, the astronaut photo and a
    "smile" classifier (mean red). Only `project` gets the README's documented shortcut,
    --steps and --w-avg-samples appended (a later flag wins); no VGG16 weights are found, so
    it uses the pixel distance."""
    import keras
    from skimage.data import astronaut
    from test_stylegan_tools import ada_state, rosinality_state, write_tf1_pickle

    from kgan.inference import write_image

    commands = bash_commands("## StyleGAN2 tools")
    assert [shlex.split(c)[3] for c in commands] == ["convert", "generate", "mix", "project", "edit", "edit"]
    latent_avg = np.random.default_rng(1).normal(0, 1, 32).astype(np.float32)
    write_tf1_pickle(tmp_path / "stylegan2-ffhq-config-f.pkl", ada_state(rosinality_state(), latent_avg))
    write_image(str(tmp_path / "photo.jpg"), astronaut())
    images = keras.Input((16, 16, 3))
    keras.saving.save_model(keras.Model(images, keras.layers.GlobalAveragePooling2D()(images)[:, :1]),
                            str(tmp_path / "smile.keras"))
    script = "\n".join(c + " --steps 3 --w-avg-samples 100" if shlex.split(c)[3] == "project" else c
                       for c in commands)
    env = {k: v for k, v in os.environ.items() if k != "KGAN_VGG16_WEIGHTS"}
    env.update(PYTHONPATH=ROOT, KERAS_HOME=str(tmp_path / "keras_home"))
    result = subprocess.run([sys.executable, "-c", TOOLS_DRIVER], input=script, cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    done = [line for line in result.stderr.splitlines() if line.startswith(("converted", "wrote", "projected",
                                                                          "boundary"))]
    assert len(done) == len(commands), result.stderr[-3000:]
    assert "(pixel)" in result.stderr  # the projection's progress bar names its distance
    out = tmp_path / "out"
    assert len(list((out / "generate").glob("seed*.png"))) == 16 and (out / "generate" / "grid.png").exists()
    assert sorted(os.listdir(out / "mix")) == ["mix_coarse.png", "mix_fine.png", "mix_middle.png"]
    assert np.load(out / "project" / "projected_w_plus.npz")["ws"].shape == (1, 6, 32)
    assert (out / "project" / "before_after_w_plus.png").exists()
    assert np.load(out / "edit" / "boundary.npy").shape == (1, 32)
    assert len(list((out / "edit").glob("edit_seed*.png"))) == 4
    assert np.load(out / "edit" / "edit_code0.npz")["ws"].shape == (10, 6, 32)
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "runs" / "stylegan-tools"))


def test_readme_stylegan2_training_commands(tmp_path, monkeypatch):
    """README "### StyleGAN2", as written: the tiny32 command trains (with the documented
    `--steps 2` appended) and leaves a checkpoint the tools load; the paper256 and config-f
    commands (hours of GPU) resolve to the settings the README states and their folders feed
    batches at the config's resolution."""
    from kgan import cli
    from kgan.inference import write_image
    from kgan.stylegan_tools.generator import load_generator

    tiny, paper256, config_f = bash_commands("### StyleGAN2")
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for folder, count in (("faces256", 64), ("ffhq", 8)):
        for i in range(count):
            write_image(os.path.join(folder, f"{i}.png"), rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    assert cli.main(shlex.split(tiny, comments=True)[2:] + ["--steps", "2"]) == 0
    generator = load_generator("runs/stylegan2-sample")
    assert (generator.image_size, generator.num_ws) == (32, 8)
    for command, expected in ((paper256, dict(image_size=256, batch_size=64, lr=0.0025, gamma=1.0, ema_kimg=20.0)),
                              (config_f, dict(image_size=1024, batch_size=8, lr=0.002, gamma=0.0002 * 1024 ** 2 / 8,
                                              ema_kimg=10.0))):
        options = cli.parse_options(shlex.split(command, comments=True)[2:])
        assert {key: getattr(options.config, key) for key in expected} == pytest.approx(expected), command
        data = options.system.training_data(options.config)
        size = expected["image_size"]
        assert next(iter(data.dataset)).shape == (expected["batch_size"], size, size, 3)
    assert options.export is None and cli.parse_options(shlex.split(paper256, comments=True)[2:]).export is not None


# README commands that are not kgan's.
NOT_KGAN = ("python3 -m pip install", "saved_model_cli ", "docker run ", "curl ")


def all_bash_commands():
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme(), flags=re.S):
        commands += [line for line in block.replace("\\\n", " ").splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
    return commands


class Parsed(Exception):
    """Raised by the patched parse_args: the command line parsed; nothing else runs."""


ORIGINAL_PARSE_ARGS = argparse.ArgumentParser.parse_args


def parse_only(self, args=None, namespace=None):
    """`argparse.ArgumentParser.parse_args` that raises `Parsed` with the result: patched in,
    a tool stops right after parsing its command line."""
    raise Parsed(ORIGINAL_PARSE_ARGS(self, args, namespace))


def test_every_readme_command_parses_with_the_tool_it_names(tmp_path, monkeypatch):
    """Every kgan command of every ```bash block, as written, goes through its tool's own
    parser: `train.py` through `cli.parse_options` (flags, choices, the system's checks;
    --resume lines against a run directory made for them), each `python3 -m kgan.X` through
    X's argparse (parse_args stops the tool right after parsing). A renamed or removed flag,
    a wrong choice or a tool that does not exist fails here, whatever the command needs to run."""
    import importlib

    from kgan import cli

    monkeypatch.chdir(tmp_path)
    checked = 0
    for line in all_bash_commands():
        for command in (c.strip() for c in line.split("&&")):
            if command.startswith(NOT_KGAN) or command == "python3 -m pytest -q":
                continue
            argv = shlex.split(command, comments=True)
            if argv[:2] == ["python3", "train.py"]:
                if "--resume" in argv:
                    logdir = argv[argv.index("--logdir") + 1]
                    os.makedirs(logdir, exist_ok=True)
                    made = cli.parse_options(["--arch", "cgan", "--logdir", logdir])
                    cli.save_options(made, made.config, 100)
                try:
                    cli.parse_options(argv[2:])
                except SystemExit as exit:  # --help
                    assert exit.code == 0, command
            else:
                assert argv[:2] == ["python3", "-m"] and argv[2].startswith("kgan."), command
                monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
                with pytest.raises(Parsed):
                    importlib.import_module(argv[2]).main(argv[3:])
                monkeypatch.setattr(argparse.ArgumentParser, "parse_args", ORIGINAL_PARSE_ARGS)
            checked += 1
    assert checked >= 40


def test_every_inline_train_command_parses():
    """The full `train.py --arch ...` commands the README's prose cites for its numbers
    (outside code blocks) go through `cli.parse_options` as written."""
    from kgan import cli

    prose = re.sub(r"```.*?```", "", readme(), flags=re.S)
    commands = [c.split() for c in re.findall(r"`(?:python3? )?train\.py ([^`]*)`", prose)]
    commands = [argv for argv in commands if "--help" not in argv and "NAME" not in argv and len(argv) > 2]
    assert commands
    for argv in commands:
        cli.parse_options(argv)


def test_every_inline_benchmark_command_parses_with_its_script(monkeypatch):
    """The `python benchmarks/X.py ...` and `python -m benchmarks.X ...` commands the README's
    prose cites for its numbers go through the script's own argparse, as written: a renamed
    flag or a row that no longer exists fails here."""
    import runpy

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
    commands = [" ".join(c.split()) for c in re.findall(r"`(python3? (?:-m benchmarks\.|benchmarks/)[^`]*)`",
                                                         readme())]
    assert len(commands) >= 7
    for command in commands:
        argv = shlex.split(command)[1:]
        if argv[0] == "-m":
            argv = [os.path.join(ROOT, *argv[1].split(".")) + ".py"] + argv[2:]
        else:
            argv[0] = os.path.join(ROOT, argv[0])
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(Parsed):
            runpy.run_path(argv[0], run_name="__main__")
