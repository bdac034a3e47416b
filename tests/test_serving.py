"""Exported signatures never take the server down: every malformed request to every exported
system answers InvalidArgumentError saying what was expected, and valid requests give the
generator's outputs. Also: the cGAN export names its labels, and kgan.translate /
kgan.upscale output-path mistakes are one line, exit 2.

Each system runs in its own subprocess (`python tests/test_serving.py SYSTEM DIR`: build a
tiny seeded model, export it, send every request through the loaded `serving_default` and
through a TF1 session as TF Serving and `saved_model_cli run` do, one JSON line per request),
so an abort (before the checks: SIGABRT, exit 134, on a rank-3 image to pix2pix or SRGAN)
shows as a return code; all subprocesses run at once.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASS_NAMES = ("face", "nonface")
IMAGE_SHAPE = "images: expected uint8 (batch, height, width, 3); got shape] "
NOISE_SHAPE = "noise: expected float32 (batch, 100) with 1 <= batch <= 1024; got shape] "
LABELS_SHAPE = "labels: expected int32 (batch,) matching the noise batch; got shape, noise batch] "
LABELS_RANGE = "labels: expected class ids in [0, 2) (0 = face, 1 = nonface); got min, max] "
# A wrong dtype fails the loaded signature's own check; a session client (and TF Serving's
# REST decoding) converts the request to the signature's dtype, so there it is valid.
DTYPE_CASES = ("float32 images", "int64 labels")


def image_cases(max_side):
    """(name, inputs, expected message or None for a valid request)."""
    u8 = lambda *shape: np.zeros(shape, np.uint8)  # noqa: E731
    limit = f"with height and width at most {max_side} and at most {max_side}x{max_side} pixels per request"
    return [
        ("rank 3", {"images": u8(16, 16, 3)}, IMAGE_SHAPE + "[16 16 3]"),
        ("valid", {"images": np.random.default_rng(0).integers(0, 256, (2, 18, 26, 3), dtype=np.uint8)}, None),
        ("rank 5", {"images": u8(1, 1, 16, 16, 3)}, IMAGE_SHAPE + "[1 1 16 16 3]"),
        ("4 channels", {"images": u8(1, 16, 16, 4)}, IMAGE_SHAPE + "[1 16 16 4]"),
        ("1 channel", {"images": u8(1, 16, 16, 1)}, IMAGE_SHAPE + "[1 16 16 1]"),
        ("zero height", {"images": u8(1, 0, 16, 3)}, "with at least one image of at least 1x1; got shape] [1 0 16 3]"),
        ("empty batch", {"images": u8(0, 16, 16, 3)}, "with at least one image of at least 1x1; got shape] [0 16 16 3]"),
        ("too small: 3x2", {"images": np.random.default_rng(1).integers(0, 256, (1, 3, 2, 3), np.uint8)}, None),
        ("too large: side", {"images": u8(1, max_side + 1, 8, 3)}, f"{limit}; got shape] [1 {max_side + 1} 8 3]"),
        ("too large: batch", {"images": u8(2, max_side * 3 // 4, max_side * 3 // 4, 3)}, limit),
        ("float32 images", {"images": np.zeros([1, 16, 16, 3], np.float32)}, "uint8"),
    ]


def noise_cases(conditional):
    f32 = lambda *shape: np.zeros(shape, np.float32)  # noqa: E731
    labels = (lambda *values: {"labels": np.array(values, np.int32)}) if conditional else (lambda *values: {})
    noise = np.random.default_rng(0).normal(size=[3, 100]).astype(np.float32)
    cases = [
        ("noise rank 3", {"noise": f32(1, 1, 100), **labels(0)}, NOISE_SHAPE + "[1 1 100]"),
        ("valid", {"noise": noise, **labels(0, 1, 1)}, None),
        ("noise rank 1", {"noise": f32(100), **labels(0)}, NOISE_SHAPE + "[100]"),
        ("noise width 99", {"noise": f32(2, 99), **labels(0, 1)}, NOISE_SHAPE + "[2 99]"),
        ("empty batch", {"noise": f32(0, 100), **labels()}, NOISE_SHAPE + "[0 100]"),
        ("batch 1025", {"noise": f32(1025, 100), **labels(*[0] * 1025)}, NOISE_SHAPE + "[1025 100]"),
    ]
    if conditional:
        cases += [
            ("label 2 of 2", {"noise": f32(2, 100), **labels(0, 2)}, LABELS_RANGE + "[0] [2]"),
            ("label -1", {"noise": f32(2, 100), **labels(-1, 1)}, LABELS_RANGE + "[-1] [1]"),
            ("3 labels, 2 noise", {"noise": f32(2, 100), **labels(0, 1, 1)}, LABELS_SHAPE + "[3] [2]"),
            ("labels (2, 1)", {"noise": f32(2, 100), "labels": np.zeros([2, 1], np.int32)}, "[2 1]"),
            ("int64 labels", {"noise": f32(2, 100), "labels": np.zeros([2], np.int64)}, "int32"),
        ]
    return cases


def case_table(system):
    """{export suffix: [(case, inputs, expected message or None)]} of `system`."""
    if system in ("gan", "dcgan", "cgan"):
        return {"": noise_cases(system == "cgan")}
    cases = image_cases(2048 if system == "srgan" else 4096)
    return {"_AtoB": cases, "_BtoA": cases} if system == "cyclegan" else {"": cases}


def build(system):
    """The tiny seeded model of `system` and {export suffix: reference}, reference mapping a
    valid request to the expected "images" (computed from the in-memory generator)."""
    import keras
    import tensorflow as tf

    from kgan.models import GAN, SRGAN, CycleGAN, Pix2Pix
    from kgan.models.translation import smallest_input
    from kgan.networks import build_discriminator, build_generator, srgan_discriminator, srgan_generator
    from pipelines.images import to_uint8

    keras.utils.set_random_seed(0)

    def noise_reference(generator, conditional):
        def reference(inputs):
            images = generator([inputs["noise"], inputs["labels"]] if conditional else inputs["noise"], training=False)
            return images.numpy()
        return reference

    def translation_reference(generator, multiple, minimum):
        assert smallest_input(generator, multiple) == minimum

        def reference(inputs):
            images = inputs["images"]
            height, width = images.shape[1:3]
            padded = [max(-(-side // multiple) * multiple, minimum) for side in (height, width)]
            padded = np.pad(images, ((0, 0), (0, padded[0] - height), (0, padded[1] - width), (0, 0)), mode="edge")
            out = generator(padded.astype(np.float32) / 127.5 - 1, training=False)[:, :height, :width]
            return to_uint8(out).numpy()
        return reference

    if system in ("gan", "dcgan", "cgan"):
        classes = 2 if system == "cgan" else None
        if system == "gan":
            generator = build_generator("mlp", image_shape=(8, 8, 1), widths=(8, 8, 8))
            discriminator = build_discriminator("mlp", image_shape=(8, 8, 1), widths=(8, 8, 8))
        else:
            generator = build_generator("dcgan", image_size=16, base_width=8, num_classes=classes)
            discriminator = build_discriminator("dcgan", image_size=16, base_width=8, num_classes=classes)
        model = GAN(generator, discriminator, num_classes=classes, class_names=classes and CLASS_NAMES)
        return model, {"": noise_reference(generator, bool(classes))}
    if system == "pix2pix":
        generator = build_generator("unet_256", image_size=32, base_width=4)
        model = Pix2Pix(generator, build_discriminator("basic", base_width=4, input_channels=6), size_multiple=32)
        return model, {"": translation_reference(generator, 32, 32)}
    if system == "cyclegan":
        g_ab, g_ba = (build_generator("resnet_6blocks", base_width=4, name=f"g_{d}") for d in ("ab", "ba"))
        d_a, d_b = (build_discriminator("basic", base_width=4, name=f"d_{d}") for d in "ab")
        model = CycleGAN(g_ab, g_ba, d_a, d_b, image_shape=(16, 16, 3), size_multiple=4)
        return model, {"_AtoB": translation_reference(g_ab, 4, 8), "_BtoA": translation_reference(g_ba, 4, 8)}
    generator = srgan_generator(n_residual_blocks=1, width=8, upsample="subpixel")
    model = SRGAN(generator, srgan_discriminator(image_size=None, widths=(4,) * 8, dense_width=4))

    def reference(inputs):
        return to_uint8(generator(tf.constant(inputs["images"], tf.float32) / 127.5 - 1)).numpy()
    return model, {"": reference}


def callers(path):
    """{"signature": loaded serving_default, "session": a TF1 session over the same
    signature_def, fed by tensor name as TF Serving's Session::Run}: inputs -> outputs."""
    import tensorflow as tf

    signature = tf.saved_model.load(path).signatures["serving_default"]
    session = tf.compat.v1.Session(graph=tf.Graph())
    definition = tf.compat.v1.saved_model.loader.load(session, ["serve"], path).signature_def["serving_default"]

    def by_signature(inputs):
        return {k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in inputs.items()}).items()}

    def by_session(inputs):
        fetches = {k: v.name for k, v in definition.outputs.items()}
        return session.run(fetches, {definition.inputs[k].name: v for k, v in inputs.items()})

    return {"signature": by_signature, "session": by_session}


def run_requests(system, folder):
    """Worker: exports `system` into `folder`, prints one JSON line per (export, caller, case)."""
    import tensorflow as tf

    from kgan.export import export_generator

    model, references = build(system)
    paths = export_generator(model, folder, system)
    if system == "cgan":
        loaded = tf.saved_model.load(paths[0])
        with open(os.path.join(paths[0], "assets", "labels.txt"), encoding="utf-8") as f:
            print(json.dumps({"labels.txt": f.read(),
                              "class_names": [n.decode() for n in loaded.signatures["class_names"]()["class_names"]
                                              .numpy()]}), flush=True)
    for path, (suffix, cases) in zip(paths, case_table(system).items()):
        reference = references[suffix]
        for caller, call in callers(path).items():
            for case, inputs, expected in cases:
                line = {"export": system + suffix, "caller": caller, "case": case}
                try:
                    outputs = call(inputs)
                except Exception as error:  # noqa: BLE001 - the test asserts which type it is
                    line.update(error=type(error).__name__, message=" ".join(str(error).split()))
                else:
                    if "labels" in inputs:
                        line["class_names"] = [name.decode() for name in outputs["class_names"]]
                    images, wanted = outputs["images"], reference(inputs)
                    line.update(error=None, shape=list(images.shape), max_difference=float(
                        np.abs(images.astype(np.float64) - wanted).max()) if images.shape == wanted.shape else None)
                print(json.dumps(line), flush=True)


SYSTEMS = ("gan", "dcgan", "cgan", "pix2pix", "cyclegan", "srgan")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """{system: (return code, [JSON lines], stderr)} of all workers, run at once."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    folder = tmp_path_factory.mktemp("exports")
    workers = {s: subprocess.Popen([sys.executable, os.path.abspath(__file__), s, str(folder)], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in SYSTEMS}
    results = {}
    for system, worker in workers.items():
        out, err = worker.communicate(timeout=600)
        results[system] = (worker.returncode, [json.loads(line) for line in out.splitlines()], err)
    return results


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_malformed_request_answers_invalid_argument_and_the_process_survives(served, system):
    returncode, lines, stderr = served[system]
    assert returncode == 0, stderr[-2000:]
    results = {(line["export"], line["caller"], line["case"]): line for line in lines if "case" in line}
    tolerance = 1e-5 if system in ("gan", "dcgan", "cgan") else 1  # float images; uint8 levels
    for suffix, cases in case_table(system).items():
        for caller in ("signature", "session"):
            for case, inputs, expected in cases:
                line = results[(system + suffix, caller, case)]
                if case in DTYPE_CASES and caller == "session":
                    assert line["error"] is None, line
                elif expected is None:
                    assert line["error"] is None and line["max_difference"] is not None, line
                    assert line["max_difference"] <= tolerance, line
                else:
                    assert line["error"] == "InvalidArgumentError" and expected in line["message"], line


def test_cgan_export_names_its_labels(served):
    returncode, lines, stderr = served["cgan"]
    assert returncode == 0, stderr[-2000:]
    names = next(line for line in lines if "labels.txt" in line)
    assert names["labels.txt"] == "face\nnonface\n" and names["class_names"] == list(CLASS_NAMES)
    valid = [line for line in lines if line.get("case") == "valid"]
    assert len(valid) == 2 and all(line["class_names"] == ["face", "nonface", "nonface"] for line in valid)


def test_class_names_must_name_each_label_and_the_export_may_override_them():
    from kgan.export import export_generator
    from kgan.models import GAN
    from kgan.networks import build_discriminator, build_generator

    def cgan(class_names):
        common = dict(image_size=16, base_width=4, num_classes=2)
        return GAN(build_generator("dcgan", **common), build_discriminator("dcgan", **common), num_classes=2,
                   class_names=class_names)

    with pytest.raises(ValueError, match="must name each of the num_classes=2 labels"):
        cgan(["face"])
    model = cgan(CLASS_NAMES)
    assert model.serving_endpoints()[""].class_names == CLASS_NAMES
    assert model.serving_endpoints(["cat", "dog"])[""].class_names == ("cat", "dog")
    assert cgan(None).serving_endpoints()[""].class_names == ("0", "1")
    unconditional = GAN(build_generator("mlp", image_shape=(8, 8, 1), widths=(8, 8, 8)),
                        build_discriminator("mlp", image_shape=(8, 8, 1), widths=(8, 8, 8)))
    with pytest.raises(ValueError, match="which takes no labels"):
        export_generator(unconditional, "unused", class_names=CLASS_NAMES)


@pytest.fixture(scope="module")
def cli_paths(tmp_path_factory):
    """Tiny pix2pix and SRGAN exports, a 20x24 image and a folder holding it."""
    import tensorflow as tf

    from kgan.export import export_generator
    from kgan.models import SRGAN, Pix2Pix
    from kgan.networks import build_discriminator, build_generator, srgan_discriminator, srgan_generator

    root = tmp_path_factory.mktemp("cli")
    pix2pix = Pix2Pix(build_generator("resnet_6blocks", base_width=4), build_discriminator("basic", base_width=4),
                      size_multiple=4)
    srgan = SRGAN(srgan_generator(n_residual_blocks=1, width=8, upsample="subpixel"),
                  srgan_discriminator(image_size=None, widths=(4,) * 8, dense_width=4))
    (root / "photos").mkdir()
    tf.io.write_file(str(root / "photos" / "in.png"), tf.io.encode_png(np.full([20, 24, 3], 90, np.uint8)))
    return {"translator": export_generator(pix2pix, str(root), "pix2pix")[0],
            "upscaler": export_generator(srgan, str(root), "srgan")[0],
            "image": str(root / "photos" / "in.png"), "folder": str(root / "photos"), "root": str(root)}


@pytest.mark.parametrize("tool", ["translate", "upscale"])
@pytest.mark.parametrize(
    "input_, output, message, written",
    [
        ("{image}", "{root}/new_{tool}/", None, "new_{tool}/in.png"),
        ("{folder}", "{root}/mirror_{tool}", None, "mirror_{tool}/in.png"),
        ("{image}", "{root}/missing/out.png", "the folder of output '{root}/missing/out.png' does not exist", None),
        ("{folder}", "{image}", "output '{image}' is a file: pass a folder", None),
        ("{folder}", "{image}/sub", "cannot write '{image}/sub/in.png': Not a directory", None),
        ("{image}", "/proc/kgan_out.png", "cannot write '/proc/kgan_out.png'", None),
    ],
)
def test_output_path_mistakes_are_one_line_exit_2(cli_paths, capsys, tool, input_, output, message, written):
    from kgan import translate, upscale

    paths = dict(cli_paths, tool=tool)
    model = paths["translator" if tool == "translate" else "upscaler"]
    main = translate.main if tool == "translate" else upscale.main
    code = main([model, input_.format(**paths), output.format(**paths)])
    err = capsys.readouterr().err.strip()
    if message is None:
        assert code == 0, err
        assert os.path.isfile(os.path.join(paths["root"], written.format(**paths)))
    else:
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith(f"{tool}: error: "), err
        assert message.format(**paths) in err


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    run_requests(*sys.argv[1:])
