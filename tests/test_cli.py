"""train.py end to end: TensorBoard output, checkpoints and resume, TF Serving export,
one-line errors for bad input, and the face-crop preparation command."""
import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from kgan import cli, prepare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--image-size", "16", "--base-width", "8", "--batch-size", "16", "--log-every", "2"]


def run_train(argv):
    return cli.train(cli.parse_options(argv))


def plugin_tags(logdir):
    accumulator = EventAccumulator(logdir, size_guidance={"tensors": 0})
    accumulator.Reload()
    tags = {}
    for tag in accumulator.Tags()["tensors"]:
        tags.setdefault(accumulator.SummaryMetadata(tag).plugin_data.plugin_name, []).append(tag)
    return tags, accumulator


def test_dcgan_run_writes_scalars_images_graphs_checkpoint_and_serving_export(tmp_path):
    logdir, exports = str(tmp_path / "run"), str(tmp_path / "saved_models")
    model = run_train(["--arch", "dcgan", "--data", "sample", "--steps", "8", "--logdir", logdir,
                       "--export", exports, *TINY])
    assert int(model.step) == 8

    tags, accumulator = plugin_tags(logdir)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(tags["scalars"])
    assert tags["images"] == ["samples"]
    assert [e.step for e in accumulator.Tensors("g_loss")] == [2, 4, 6, 8]
    for network in ("generator", "discriminator"):
        graph = EventAccumulator(os.path.join(logdir, "graphs", network))
        graph.Reload()
        assert len(graph.Graph().node) > 10

    assert tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints")).endswith("ckpt-8")
    with open(os.path.join(logdir, "options.json")) as f:
        options = json.load(f)
    assert options["format"] == 2 and options["arch"] == "dcgan" and options["total_steps"] == 8
    assert options["config"]["image_size"] == 16 and options["run"]["steps"] == 8

    exported = os.path.join(exports, "dcgan", "1")
    serving = tf.saved_model.load(exported).signatures["serving_default"]
    noise = tf.random.stateless_normal([3, 100], [1, 2])
    outputs = serving(noise=noise)
    expected = model.generator(noise, training=False).numpy()
    np.testing.assert_allclose(outputs["images"].numpy(), expected, atol=1e-5)
    assert outputs["images_uint8"].dtype == tf.uint8 and outputs["images_uint8"].shape == (3, 16, 16, 3)
    shown = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--all", "--dir", exported],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "signature_def['serving_default']" in shown and "inputs['noise']" in shown
    assert "outputs['images_uint8']" in shown

    run_train(["--arch", "dcgan", "--data", "sample", "--steps", "8", "--logdir", logdir, "--resume",
               "--export", exports])
    assert os.path.isdir(os.path.join(exports, "dcgan", "2"))


def test_conditional_export_takes_labels(tmp_path):
    model = run_train(["--arch", "cgan", "--steps", "2", "--logdir", str(tmp_path / "run"),
                       "--export", str(tmp_path / "sm"), *TINY])
    serving = tf.saved_model.load(str(tmp_path / "sm" / "cgan" / "1")).signatures["serving_default"]
    noise, labels = tf.zeros([2, 100]), tf.constant([0, 1])
    images = serving(noise=noise, labels=labels)["images"].numpy()
    np.testing.assert_allclose(images, model.generator([noise, labels], training=False).numpy(), atol=1e-5)


def test_cgan_mode_seeking_and_conditional_norm_default_on_for_mnist_sample_only(tmp_path):
    """Resolved from --data into options.json; a run saved before the options reads them off."""
    from kgan.config import from_dict
    from kgan.systems.cgan import CGANConfig

    assert (CGANConfig(data="mnist-sample").mode_seeking, CGANConfig(data="mnist-sample").conditional_norm) == (0.3,
                                                                                                              True)
    assert (CGANConfig(data="sample").mode_seeking, CGANConfig(data="sample").conditional_norm) == (0.0, False)
    assert CGANConfig(data="mnist-sample", mode_seeking=0.0, conditional_norm=False).mode_seeking == 0.0
    old = from_dict(CGANConfig, {"data": "mnist-sample", "conditioning": "projection"})
    assert (old.mode_seeking, old.conditional_norm) == (0.0, False)
    logdir = str(tmp_path / "run")
    model = run_train(["--arch", "cgan", "--data", "mnist-sample", "--steps", "2", "--logdir", logdir, "--channels",
                       "1", *TINY])
    with open(os.path.join(logdir, "options.json")) as f:
        saved = json.load(f)["config"]
    assert (saved["mode_seeking"], saved["conditional_norm"]) == (0.3, True)
    assert model.mode_seeking == 0.3 and "mode_seeking" in model.loss_names
    assert type(model.generator.get_layer("up_0_norm")).__name__ == "ConditionalBatchNormalization"
    with pytest.raises(cli.UsageError, match="--conditional-norm needs batch norm in G"):
        cli.parse_options(["--arch", "cgan", "--conditional-norm", "--norm", "instance"])


def test_resume_continues_the_step_count_from_the_saved_weights(tmp_path):
    logdir = str(tmp_path / "run")
    first = run_train(["--arch", "gan", "--steps", "6", "--checkpoint-every", "3", "--logdir", logdir,
                       "--base-width", "8", "--batch-size", "16"])
    saved = [w.numpy() for w in first.generator.weights + first.discriminator.weights]
    saved_slots = [v.numpy() for v in first.g_optimizer.variables]

    restored = run_train(["--steps", "6", "--logdir", logdir, "--resume"])
    assert int(restored.step) == 6
    for a, b in zip(saved, restored.generator.weights + restored.discriminator.weights):
        np.testing.assert_array_equal(a, b.numpy())
    for a, b in zip(saved_slots, restored.g_optimizer.variables):
        np.testing.assert_array_equal(a, b.numpy())

    resumed = run_train(["--steps", "10", "--logdir", logdir, "--resume", "--log-every", "2"])
    assert int(resumed.step) == 10
    assert tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints")).endswith("ckpt-10")
    tags, accumulator = plugin_tags(logdir)
    assert max(e.step for e in accumulator.Tensors("g_loss")) == 10


def test_resume_under_another_learning_rate_schedule(tmp_path):
    """--epochs-decay added, then dropped, on --resume. Keras keeps a constant rate as an
    optimizer variable and a schedule as none, which shifted the slots' checkpoint keys: the
    resume called every checkpoint damaged (kgan.optimizers.Adam keeps both layouts equal)."""
    logdir = str(tmp_path / "run")
    first = run_train(["--arch", "gan", "--steps", "2", "--logdir", logdir, "--base-width", "8",
                       "--batch-size", "16"])
    constant_rate = float(first.g_optimizer.learning_rate)
    saved_slots = [v.numpy() for v in first.g_optimizer.variables]

    restored = run_train(["--resume", "--logdir", logdir, "--epochs", "1", "--epochs-decay", "1",
                          "--steps-per-epoch", "1"])  # 2 steps: already done
    assert int(restored.step) == 2
    for a, b in zip(saved_slots, restored.g_optimizer.variables, strict=True):
        np.testing.assert_array_equal(a, b.numpy())

    decayed = run_train(["--resume", "--logdir", logdir, "--epochs", "2", "--epochs-decay", "3",
                         "--steps-per-epoch", "1"])
    assert int(decayed.step) == 5
    assert float(decayed.g_optimizer.learning_rate) == 0.0  # epoch 5: 1 - (5 + 1 - 2) / 4

    constant = run_train(["--resume", "--logdir", logdir, "--epochs-decay", "0", "--steps", "7"])
    assert int(constant.step) == 7
    assert float(constant.g_optimizer.learning_rate) == pytest.approx(constant_rate)


def test_resume_reads_scheduled_checkpoints_written_before_the_placeholder(tmp_path):
    """Checkpoints of an --epochs-decay run written before kgan's Adam kept a placeholder for
    the rate (Keras Adam's layout: a schedule, no variable 1) still resume."""
    logdir = str(tmp_path / "run")
    first = run_train(["--arch", "gan", "--logdir", logdir, "--base-width", "8", "--batch-size", "16",
                       "--epochs", "1", "--epochs-decay", "1", "--steps-per-epoch", "1"])
    items = dict(first.checkpoint_items())
    for name in ("g_optimizer", "d_optimizer"):
        ours = items[name]
        before = keras.optimizers.Adam(ours._learning_rate, beta_1=ours.beta_1)
        before.build(ours._trainable_variables)
        assert len(before.variables) == len(ours.variables) - 1
        for old, new in zip(before.variables, [v for i, v in enumerate(ours.variables) if i != 1], strict=True):
            old.assign(new)
        items[name] = before
    directory = os.path.join(logdir, "checkpoints")
    shutil.rmtree(directory)
    tf.train.CheckpointManager(tf.train.Checkpoint(**items), directory, 3).save(checkpoint_number=2)

    restored = run_train(["--resume", "--logdir", logdir])  # 2 steps: already done
    assert int(restored.step) == 2
    for a, b in zip(first.g_optimizer.variables, restored.g_optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(run_train(["--resume", "--logdir", logdir, "--epochs", "2"]).step) == 3


def signal_after_checkpoint(command, checkpoints, after, signum=signal.SIGINT, cwd=ROOT):
    """Starts `command`, sends it `signum` (SIGINT: Ctrl-C) once a checkpoint of a step > `after`
    exists; returns (exit status, stderr lines: tqdm redraws with \\r). stderr is read all along,
    as a terminal would, so that a full pipe never blocks the run's progress-bar writes."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: process.stderr.read(4096), "")), daemon=True)
    reader.start()
    deadline = time.time() + 300
    while int((tf.train.latest_checkpoint(checkpoints) or "-0").rsplit("-", 1)[1]) <= after:
        assert time.time() < deadline and process.poll() is None, "".join(chunks)[-2000:]
        time.sleep(0.1)
    process.send_signal(signum)
    process.wait(timeout=300)
    reader.join(timeout=60)
    return process.returncode, [line.strip() for line in re.split(r"[\r\n]", "".join(chunks)) if line.strip()]


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    logdir = str(tmp_path / "run")
    command = [sys.executable, os.path.join(ROOT, "train.py"), "--arch", "gan", "--steps", "100000",
               "--checkpoint-every", "5", "--logdir", logdir, "--base-width", "8", "--batch-size", "16"]
    checkpoints = os.path.join(logdir, "checkpoints")
    signal_after_checkpoint(command, checkpoints, 9, signal.SIGKILL)
    latest = tf.train.latest_checkpoint(checkpoints)
    saved_step = int(latest.rsplit("-", 1)[1])
    assert saved_step >= 10
    resumed = run_train(["--steps", str(saved_step + 3), "--logdir", logdir, "--resume"])
    assert int(resumed.step) == saved_step + 3


def test_a_ctrl_c_inside_keras_bare_except_still_stops_and_saves(tmp_path, monkeypatch, capsys):
    """The Ctrl-C that was lost (issue 10): SIGINT arrives while Keras' `pythonify_logs` waits
    for a step's losses in `convert_to_numpy`, inside its bare `except: pass`. A
    KeyboardInterrupt raised there was swallowed and the run went on; the run must stop at
    the end of that step and save."""
    from keras.src import backend

    convert, raised = backend.convert_to_numpy, []

    def convert_and_press_ctrl_c(value):
        if not raised:
            raised.append(True)
            signal.raise_signal(signal.SIGINT)  # its handler runs inside this call
        return convert(value)

    monkeypatch.setattr(backend, "convert_to_numpy", convert_and_press_ctrl_c)
    logdir = str(tmp_path / "run")
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        run_train(["--arch", "gan", "--steps", "200", "--checkpoint-every", "100", "--logdir", logdir, *TINY])
    assert raised and signal.getsignal(signal.SIGINT) is previous
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("interrupted at step ")]
    assert tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints")).endswith("ckpt-1"), line


def test_a_second_ctrl_c_stops_at_once_and_the_handler_is_restored():
    from kgan.callbacks import StopOnInterrupt

    previous = signal.getsignal(signal.SIGINT)
    with StopOnInterrupt():
        signal.raise_signal(signal.SIGINT)  # recorded: the run ends after its step
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous


def test_ctrl_c_saves_and_its_resume_line_runs_as_printed(tmp_path):
    """Ctrl-C saves a checkpoint of the step it stopped at and prints the command to continue;
    that command, run as printed (in the folder train.py is in), continues from that step."""
    logdir = str(tmp_path / "run")
    checkpoints = os.path.join(logdir, "checkpoints")
    command = [sys.executable, "train.py", "--arch", "gan", "--steps", "100000", "--checkpoint-every", "5",
               "--logdir", logdir, "--base-width", "8", "--batch-size", "16"]
    code, err = signal_after_checkpoint(command, checkpoints, 0)
    assert code == 130 and not any(line.startswith("Traceback") for line in err), err[-5:]
    (line,) = [line for line in err if line.startswith("interrupted at step ")]
    step, saved, suggested = re.fullmatch(r"interrupted at step (\d+): saved (\S+); continue with (.+)", line).groups()
    assert saved == tf.train.latest_checkpoint(checkpoints) and saved.endswith(f"ckpt-{step}")
    assert suggested == f"python train.py --resume --logdir {logdir}"
    program, *arguments = shlex.split(suggested)
    assert program == "python"
    code, err = signal_after_checkpoint([sys.executable, *arguments], checkpoints, int(step))
    assert code == 130 and any(f"steps {step} -> 100000" in line for line in err), err[-5:]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--arch", "stylegan9"], "invalid choice: 'stylegan9'"),
        (["--data", "/no/such/folder"], "does not exist"),
        (["--data", "{empty}"], "no images"),
        (["--data", "{unreadable}", "--batch-size", "1"], "every file failed to decode (truncated, empty or not an image)"),
        (["--batch-size", "1000"], "larger than the 200 examples"),
        (["--logdir", "{file}/run"], "cannot write to --logdir"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--resume", "--logdir", "{empty}"], "not a kgan run directory"),
        (["--data", "not_a_dataset"], "unknown data"),
        (["--arch", "pix2pix", "--generator", "global"], "invalid choice: 'global'"),
        (["--arch", "pix2pix", "--discriminator", "mlp"], "invalid choice: 'mlp'"),
        (["--arch", "dcgan", "--l1-weight", "10"],
         "--l1-weight is an option of --arch pix2pix, pix2pixhd, not of --arch dcgan"),
        (["--arch", "dcgan", "--image-size", "30"], "--image-size must be a power of two >= 8, got 30"),
        (["--arch", "pix2pix", "--image-size", "30"], "--image-size of the U-Net generators must be a power of two"),
        (["--arch", "cyclegan", "--image-size", "16"], "too small for the basic discriminator"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    (tmp_path / "unreadable").mkdir()
    for name in ("a.png", "b.jpg"):
        (tmp_path / "unreadable" / name).write_bytes(b"not an image")
    argv = [a.format(empty=tmp_path / "empty", file=tmp_path / "file", unreadable=tmp_path / "unreadable")
            for a in argv]
    if "--logdir" not in argv:
        argv += ["--logdir", str(tmp_path / "run")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("train.py: error:") and message in err[0], err


def test_train_py_bad_input_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--data", str(tmp_path / "nope")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("train.py: error: data folder")


def test_second_run_in_the_same_logdir_needs_resume(tmp_path, capsys):
    logdir = str(tmp_path / "run")
    run_train(["--arch", "gan", "--steps", "1", "--logdir", logdir, "--base-width", "8", "--batch-size", "8"])
    assert cli.main(["--arch", "gan", "--steps", "2", "--logdir", logdir]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert cli.main(["--arch", "dcgan", "--resume", "--logdir", logdir]) == 2
    assert "differs from the resumed run's gan" in capsys.readouterr().err


def test_prepare_faces_crops_the_astronauts_face_and_keeps_class_folders(tmp_path):
    from skimage import data

    (tmp_path / "src" / "females").mkdir(parents=True)
    (tmp_path / "src" / "males").mkdir()
    cv2.imwrite(str(tmp_path / "src" / "females" / "astronaut.jpg"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "src" / "males" / "coffee.jpg"), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR))
    assert prepare.main(["faces", str(tmp_path / "src"), str(tmp_path / "dst")]) == 0
    crop = cv2.imread(str(tmp_path / "dst" / "females" / "astronaut.png"))
    assert 80 < crop.shape[0] < 300 and crop.shape[0] == crop.shape[1]
    assert not (tmp_path / "dst" / "males").exists()
    assert prepare.main(["faces", str(tmp_path / "missing"), str(tmp_path / "dst")]) == 2


def test_evaluate_cgan_reports_accuracies_and_refuses_unconditional_runs(tmp_path, capsys):
    from kgan import evaluate

    run = str(tmp_path / "cgan")
    run_train(["--arch", "cgan", "--steps", "2", "--logdir", run, "--checkpoint-every", "1", *TINY])
    trained = {}
    real, results, chance, names = evaluate.conditional_accuracy(run, samples_per_class=16, epochs=3,
                                                                 every_checkpoint=True, trained=trained)
    assert names == ("face", "nonface") and chance == 0.5
    assert 0.5 < real <= 1.0  # faces vs non-faces is learnable in 3 epochs
    assert list(results) == [1, 2]
    for rows in results.values():
        assert [other for _, other, _ in rows] == [1, 0]  # with 2 classes "otherwise" is the other one
        assert all(accuracy + share == pytest.approx(1.0) for accuracy, _, share in rows)
    latest = evaluate.conditional_accuracy(run, samples_per_class=16, epochs=3, trained=trained)
    assert list(latest[1]) == [2] and latest[1][2] == results[2] and len(trained) == 1  # one classifier
    assert evaluate.main(["cgan", "--logdir", run, "--samples", "8", "--epochs", "1", "--every-checkpoint"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{run}: classifier accuracy on held-out real images: ")
    assert out[0].endswith("(chance 0.500)")
    assert [out[1], out[5]] == ["step 1:", "step 2:"] and out[4].startswith("mean over classes: ")
    for line in out[2:4] + out[6:8]:
        match = re.fullmatch(r"generated with label '(\w+)': classified as '\1' (\d\.\d{3})"
                             r"( \(most often otherwise '\w+' \d\.\d{3}\))?", line)
        assert match, line
        assert (match[3] is None) == (match[2] == "1.000")  # "otherwise" only when some are

    gan_run = str(tmp_path / "gan")
    run_train(["--arch", "gan", "--steps", "1", "--logdir", gan_run, "--base-width", "8", "--batch-size", "8"])
    assert evaluate.main(["cgan", "--logdir", gan_run]) == 2
    assert "not a cgan run" in capsys.readouterr().err


def test_class_statistics_by_hand():
    from kgan.evaluate import class_statistics

    logits = np.log([[0.95, 0.05, 0.0 + 1e-9], [0.5, 0.25, 0.25], [0.0 + 1e-9, 0.02, 0.98], [0.96, 0.02, 0.02]])
    q = class_statistics(logits)
    assert q["confidence"] == pytest.approx((0.95 + 0.5 + 0.98 + 0.96) / 4)
    assert q["confident"] == 0.75 and q["classes"] == 2
    assert q["spread"] == pytest.approx(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))  # classes 0, 0, 2, 0
    assert class_statistics(np.zeros((5, 10)))["spread"] == 0.0  # ties: all class 0


def test_evaluate_gan_scores_the_untrained_and_every_kept_generator(tmp_path, capsys, monkeypatch):
    from kgan import evaluate

    run = str(tmp_path / "gan")
    run_train(["--arch", "gan", "--data", "sample", "--steps", "2", "--checkpoint-every", "1", "--logdir", run,
               "--base-width", "8", "--batch-size", "8"])
    built, classifier = [], evaluate.label_classifier
    monkeypatch.setattr(evaluate, "label_classifier", lambda *a: built.append(a) or classifier(*a))
    assert evaluate.main(["gan", "--logdir", run, run, "--samples", "16", "--epochs", "1"]) == 0
    assert built == [(28, 1, 2)]  # one classifier for both runs
    out = capsys.readouterr().out.splitlines()
    assert out[7:] == out[:7]
    out = out[:7]
    assert out[0].startswith(f"{run}: classifier accuracy on held-out real images: ")
    assert "classes face, nonface" in out[1] and "0.693" in out[1]  # ln 2
    assert [line.split()[0] for line in out[3:]] == ["real", "untrained", "step", "step"]
    assert [line.split()[1] for line in out[5:]] == ["1", "2"]
    for line in out[3:]:
        confidence, confident, spread, classes = line.rsplit(None, 4)[1:]
        assert 0.5 <= float(confidence) <= 1 and 0 <= float(confident) <= 1
        assert 0 <= float(spread) <= 0.694 and 1 <= int(classes) <= 2

    cgan_run = str(tmp_path / "cgan")
    run_train(["--arch", "cgan", "--steps", "1", "--logdir", cgan_run, *TINY])
    assert evaluate.main(["gan", "--logdir", cgan_run]) == 2
    assert "not a gan or dcgan run" in capsys.readouterr().err


def test_training_goes_on_past_unreadable_files_and_reports_them(tmp_path, capsys):
    from PIL import Image

    data = tmp_path / "faces"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(data / f"{i}.png")
    (data / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    model = run_train(["--arch", "dcgan", "--data", str(data), "--steps", "4", "--logdir", str(tmp_path / "run"),
                       "--image-size", "8", "--base-width", "4", "--batch-size", "4"])
    assert int(model.step) == 4
    assert "skipped 1 unreadable file(s)" in capsys.readouterr().err


IMAGE2IMAGE = ["--image-size", "32", "--base-width", "8", "--log-every", "1"]


def test_pix2pix_on_ab_files_writes_rows_and_exports_an_any_size_translator(tmp_path):
    from PIL import Image

    folder = tmp_path / "facades"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (36, 72, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
    logdir, exports = str(tmp_path / "run"), str(tmp_path / "sm")
    model = run_train(["--arch", "pix2pix", "--data", str(folder), "--direction", "BtoA", "--steps", "3",
                       "--logdir", logdir, "--export", exports, *IMAGE2IMAGE])
    tags, accumulator = plugin_tags(logdir)
    assert {"g_gan", "g_l1", "d_real", "d_fake"} <= set(tags["scalars"])
    grid = tf.io.decode_png(tf.make_ndarray(accumulator.Tensors("samples")[-1].tensor_proto)[2])
    assert grid.shape == (32, 3 * 32, 3)  # one row: source | fake | target (batch 1)
    assert model.size_multiple == 32
    serving = tf.saved_model.load(os.path.join(exports, "pix2pix", "1")).signatures["serving_default"]
    assert serving(images=tf.zeros([1, 45, 61, 3], tf.uint8))["images"].shape == (1, 45, 61, 3)


def test_cyclegan_sample_run_decays_the_learning_rate_and_exports_both_directions(tmp_path):
    logdir, exports = str(tmp_path / "run"), str(tmp_path / "sm")
    model = run_train(["--arch", "cyclegan", "--data", "sample", "--generator", "resnet_6blocks", "--batch-size", "2",
                       "--steps", "2", "--epochs", "1", "--epochs-decay", "2", "--steps-per-epoch", "1",
                       "--logdir", logdir, "--export", exports, *IMAGE2IMAGE])
    # junyanz linear policy, one step per epoch: steps 0 and 1 ran at 2e-4 and 2e-4 * 2/3;
    # the rate for the next step (epoch 2) is 2e-4 * 1/3
    assert float(model.g_optimizer.learning_rate) == pytest.approx(2e-4 / 3)
    assert sorted(os.listdir(os.path.join(logdir, "graphs"))) == [
        "discriminator_a", "discriminator_b", "generator_ab", "generator_ba"]
    assert sorted(os.listdir(exports)) == ["cyclegan_AtoB", "cyclegan_BtoA"]
    tags, _ = plugin_tags(logdir)
    assert {"cycle_a", "cycle_b", "idt_a", "idt_b", "g_gan_ab", "d_a"} <= set(tags["scalars"])


def test_cyclegan_folder_without_trainb_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "data" / "trainA").mkdir(parents=True)
    assert cli.main(["--arch", "cyclegan", "--data", str(tmp_path / "data"), "--logdir", str(tmp_path / "run")]) == 2
    assert "missing trainB/" in capsys.readouterr().err


def test_translate_cli_files_and_folders_at_any_size(tmp_path, capsys):
    from PIL import Image

    from kgan import translate

    run_train(["--arch", "pix2pix", "--steps", "1", "--logdir", str(tmp_path / "run"),
               "--export", str(tmp_path / "sm"), *IMAGE2IMAGE])
    photos = tmp_path / "in" / "sub"
    photos.mkdir(parents=True)
    Image.fromarray(np.zeros((45, 61, 3), np.uint8)).save(photos / "a.jpg")
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "in" / "b.png")
    model = str(tmp_path / "sm" / "pix2pix")
    assert translate.main([model, str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    assert Image.open(tmp_path / "out" / "sub" / "a.png").size == (61, 45)
    assert Image.open(tmp_path / "out" / "b.png").size == (20, 20)
    assert translate.main([model + "/1", str(photos / "a.jpg"), str(tmp_path / "one.jpg")]) == 0
    assert Image.open(tmp_path / "one.jpg").size == (61, 45)
    capsys.readouterr()
    assert translate.main([str(tmp_path / "nothing"), str(photos), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("translate: error: no SavedModel")


def test_evaluate_pix2pix_compares_with_input_and_untrained(tmp_path, capsys):
    from PIL import Image
    from skimage import data as photos

    from kgan import evaluate

    held_out = tmp_path / "held_out"
    held_out.mkdir()
    for name in ("hubble_deep_field", "coins"):
        Image.fromarray(getattr(photos, name)()).save(held_out / f"{name}.png")
    run = str(tmp_path / "run")
    run_train(["--arch", "pix2pix", "--steps", "2", "--logdir", run, *IMAGE2IMAGE])
    trained, identity, untrained = evaluate.pix2pix_l1(run, str(held_out))
    assert 0 < trained < 2 and 0 < identity < 2 and 0 < untrained < 2
    assert trained != untrained
    assert evaluate.main(["pix2pix", "--logdir", run, str(held_out)]) == 0
    assert "held-out L1 to the targets: trained" in capsys.readouterr().out
    assert evaluate.main(["cgan", "--logdir", run]) == 2
    assert "not a cgan run" in capsys.readouterr().err


def test_bare_resume_continues_to_the_runs_end_with_its_own_run_options(tmp_path):
    """The line Ctrl-C prints (`python train.py --resume --logdir DIR`) continues the run to its
    own --steps with its own --checkpoint-every; --epochs extends it."""
    logdir = str(tmp_path / "run")
    command = [sys.executable, os.path.join(ROOT, "train.py")]
    first = subprocess.run(command + ["--arch", "gan", "--steps", "6", "--checkpoint-every", "2", "--logdir", logdir,
                                      "--base-width", "8", "--batch-size", "16"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    checkpoints = os.path.join(logdir, "checkpoints")
    for stale in ("ckpt-6.index", "ckpt-6.data-00000-of-00001"):
        os.remove(os.path.join(checkpoints, stale))
    with open(os.path.join(checkpoints, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "ckpt-4"\nall_model_checkpoint_paths: "ckpt-4"\n')
    resumed = subprocess.run(command + ["--resume", "--logdir", logdir], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "steps 4 -> 6" in resumed.stderr
    assert tf.train.latest_checkpoint(checkpoints).endswith("ckpt-6")
    model = run_train(["--resume", "--logdir", logdir, "--epochs", "1", "--steps-per-epoch", "9"])
    assert int(model.step) == 9
    with open(os.path.join(logdir, "options.json")) as f:
        saved = json.load(f)
    assert saved["run"]["checkpoint_every"] == 2 and saved["total_steps"] == 9


def test_resume_reads_the_options_file_of_earlier_versions(tmp_path):
    """options.json before format 2 was the flat argparse namespace."""
    logdir = tmp_path / "run"
    run_train(["--arch", "dcgan", "--steps", "2", "--logdir", str(logdir), *TINY])
    with open(logdir / "options.json") as f:
        saved = json.load(f)
    flat = {**saved["config"], **saved["run"], "arch": "dcgan", "generator": None, "l1_weight": 100.0,
            "resume": False, "export": None}
    with open(logdir / "options.json", "w") as f:
        json.dump(flat, f)
    model = run_train(["--resume", "--logdir", str(logdir), "--steps", "3"])
    assert int(model.step) == 3 and model.generator.output_shape == (None, 16, 16, 3)


def test_cgan_runs_saved_before_the_conditioning_option_load_as_the_seeds_concat(tmp_path):
    """--conditioning projection is the default; an options.json without the field is a
    run of the seed's concatenating D and must restore as one."""
    from kgan.systems.cgan import CGANConfig

    assert CGANConfig().conditioning == "projection"
    with open(tmp_path / "options.json", "w") as f:
        json.dump({"format": 2, "arch": "cgan", "config": {"image_size": 32}, "run": {}, "total_steps": 8}, f)
    system, config = cli.load_run(str(tmp_path))
    assert system.name == "cgan" and config.conditioning == "concat" and config.image_size == 32
    assert system.build(dataclasses.replace(config, num_classes=2)).discriminator.get_layer("features_and_label")


@pytest.mark.parametrize(
    "tool,argv,message",
    [
        ("translate", ["{nope}", "{image}", "{tmp}/out.png"], "no SavedModel at"),
        ("translate", ["{empty}", "{nope}", "{tmp}/out.png"], "does not exist: pass an image file or a folder"),
        ("translate", ["{empty}", "{image}", "{tmp}/newdir/out.png"], "create it, or end OUTPUT with '/'"),
        ("translate", ["{empty}", "{empty}", "{tmp}/out"], "no images found under"),
        ("translate", ["{empty}", "{folder}", "{image}"], "is a file: pass a folder"),
        ("upscale", ["{nope}", "{image}", "{tmp}/out.png"], "no SavedModel at"),
        ("upscale", ["{empty}", "{image}", "{tmp}/out.png", "--tile", "-1"], "--tile -1 must be >= 0"),
        ("upscale", ["{empty}", "{image}", "{tmp}/out.png", "--batch-size", "0"], "--batch-size must be at least 1"),
        ("stylize", ["{nope}", "{image}", "{tmp}/out.png"], "no SavedModel at"),
        ("stylize", ["{empty}", "{image}", "{tmp}/out.png", "--batch-size", "0"], "--batch-size must be at least 1"),
        ("synthesize", ["{nope}", "{image}", "{tmp}/out.png"], "no SavedModel at"),
        ("evaluate", ["cgan", "--logdir", "{empty}"], "not a kgan run directory"),
        ("stylegan", ["generate", "{nope}", "--out", "{tmp}/g"], "does not exist: pass a run directory"),
        ("stylegan", ["generate", "{empty}", "--out", "{tmp}/g"], "neither a train.py run directory"),
        ("pix2pixhd_features", ["{empty}"], "not a kgan run directory"),
        ("convert", ["junyanz", "{nope}", "{tmp}/g.keras"], "does not exist"),
    ],
)
def test_tools_bad_input_is_one_line_and_exit_status_2(tool, argv, message, tmp_path, capsys):
    """The other command-line tools' user mistakes (issue 10.5): exit 2, one stderr line."""
    import importlib

    (tmp_path / "empty").mkdir()
    (tmp_path / "folder").mkdir()
    cv2.imwrite(str(tmp_path / "folder" / "a.png"), np.zeros([8, 8, 3], np.uint8))
    paths = dict(tmp=tmp_path, nope=tmp_path / "nope", empty=tmp_path / "empty", folder=tmp_path / "folder",
                 image=tmp_path / "folder" / "a.png")
    main = importlib.import_module(f"kgan.{tool}").main
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ": error: " in err[0] and message in err[0], err
