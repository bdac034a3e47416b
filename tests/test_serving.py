"""Exported signatures never take the server down: every malformed request to every exported
system answers InvalidArgumentError saying what was expected, and valid requests give the
networks' outputs. Also: the cGAN export names its labels, and kgan.translate /
kgan.upscale output-path mistakes are one line, exit 2.

Each system is built tiny and seeded and exported once per module, here. ONE worker
subprocess (`python tests/test_serving.py MANIFEST`), started first, loads every export and
sends it every request, through the loaded `serving_default` and through a TF1 session fed
by tensor name as TF Serving's `Session::Run` and `saved_model_cli run` do, printing one
JSON line per request (valid outputs saved as .npy). An abort (before the checks: SIGABRT, exit 134, on a
rank-3 image to pix2pix or SRGAN) shows as a non-zero return code and missing lines.
"""
import functools
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

# the exports and the request worker are built once (module fixtures): on one xdist worker, not on both.
pytestmark = pytest.mark.xdist_group("serving")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASS_NAMES = ("face", "nonface")
NUM_LABELS = 4  # pix2pixHD label ids
Z_DIM, W_DIM, NUM_WS = 16, 16, 6  # the tiny StyleGAN2 at 16 x 16
LABELS_SHAPE = "labels: expected int32 (batch,) matching the {} batch; got shape, {} batch] "
# A wrong dtype fails the loaded signature's own check; a session client (and TF Serving's
# REST decoding) converts the request to the signature's dtype, so there it is valid.
DTYPE_CASES = ("float32 images", "int64 labels", "float32 labels")


def rng(seed):
    return np.random.default_rng(seed)


def zeros(dtype):
    return lambda *shape: np.zeros(shape, dtype)


def image_cases(max_side):
    """[(case, inputs, expected message or None for a valid request)] of an images endpoint."""
    u8 = zeros(np.uint8)
    shape = "images: expected uint8 (batch, height, width, 3); got shape] "
    limit = f"with height and width at most {max_side} and at most {max_side}x{max_side} pixels per request"
    return [
        ("rank 3", {"images": u8(16, 16, 3)}, shape + "[16 16 3]"),
        ("valid", {"images": rng(0).integers(0, 256, (2, 18, 26, 3), dtype=np.uint8)}, None),
        ("rank 5", {"images": u8(1, 1, 16, 16, 3)}, shape + "[1 1 16 16 3]"),
        ("4 channels", {"images": u8(1, 16, 16, 4)}, shape + "[1 16 16 4]"),
        ("1 channel", {"images": u8(1, 16, 16, 1)}, shape + "[1 16 16 1]"),
        ("zero height", {"images": u8(1, 0, 16, 3)}, "with at least one image of at least 1x1; got shape] [1 0 16 3]"),
        ("empty batch", {"images": u8(0, 16, 16, 3)}, "with at least one image of at least 1x1; got shape] [0 16 16 3]"),
        ("below the multiple: 3x2", {"images": rng(1).integers(0, 256, (1, 3, 2, 3), np.uint8)}, None),
        ("too large: side", {"images": u8(1, max_side + 1, 8, 3)}, f"{limit}; got shape] [1 {max_side + 1} 8 3]"),
        ("too large: batch", {"images": u8(2, max_side * 3 // 4, max_side * 3 // 4, 3)}, limit),
        ("float32 images", {"images": np.zeros([1, 16, 16, 3], np.float32)}, "uint8"),
    ]


def noise_cases(conditional, name="noise", width=100, extra=lambda count: {}, legend=""):
    """Cases of a noise endpoint: NAME float32 (B, WIDTH) [+ labels (B,), whose names the
    error message gives as LEGEND] [+ `extra(B)`]."""
    f32 = zeros(np.float32)
    shape = f"{name}: expected float32 (batch, {width}) with 1 <= batch <= 1024; got shape] "
    labels = (lambda *values: {"labels": np.array(values, np.int32)}) if conditional else (lambda *values: {})

    def request(noise, *label_values):
        return {name: noise, **labels(*label_values), **extra(len(label_values) or len(noise))}

    cases = [
        ("noise rank 3", {**request(f32(1, width), 0), name: f32(1, 1, width)}, shape + f"[1 1 {width}]"),
        ("valid", request(rng(0).normal(size=[3, width]).astype(np.float32), 0, 1, 1), None),
        ("noise rank 1", {**request(f32(1, width), 0), name: f32(width)}, shape + f"[{width}]"),
        (f"noise width {width - 1}", request(f32(2, width - 1), 0, 1), shape + f"[2 {width - 1}]"),
        ("empty batch", {**request(f32(0, width)), **labels(), **extra(0)}, shape + f"[0 {width}]"),
        ("batch 1025", request(f32(1025, width), *[0] * 1025), shape + f"[1025 {width}]"),
    ]
    if conditional:
        cases += [
            ("label 2 of 2", request(f32(2, width), 0, 2),
             f"labels: expected class ids in [0, 2){legend}; got min, max] [0] [2]"),
            ("label -1", request(f32(2, width), -1, 1), "labels: expected class ids in [0, 2)"),
            ("3 labels, 2 noise", {**request(f32(2, width), 0, 1), **labels(0, 1, 1)},
             LABELS_SHAPE.format(name, name) + "[3] [2]"),
            ("labels (2, 1)", {**request(f32(2, width), 0, 1), "labels": np.zeros([2, 1], np.int32)}, "[2 1]"),
            ("int64 labels", {**request(f32(2, width), 0, 1), "labels": np.zeros([2], np.int64)}, "int32"),
        ]
    return cases


def stylegan2_cases():
    """z (B, 16) + labels + truncation_psi (B,); then the psi checks."""
    psi = lambda count: {"truncation_psi": np.linspace(0, 1, count).astype(np.float32)}  # noqa: E731
    f32 = zeros(np.float32)
    z = f32(2, Z_DIM)
    two = {"z": z, "labels": np.array([0, 1], np.int32)}
    psi_shape = "truncation_psi: expected float32 (batch,) matching the z batch; got shape"
    return noise_cases(True, "z", Z_DIM, psi) + [
        ("psi (2, 1)", {**two, "truncation_psi": f32(2, 1)}, psi_shape + "] [2 1]"),
        ("3 psi, 2 z", {**two, "truncation_psi": f32(3)}, psi_shape + ", z batch] [3] [2]"),
    ]


def wplus_cases():
    f32 = zeros(np.float32)
    shape = f"ws: expected float32 (batch, {NUM_WS}, {W_DIM}) with 1 <= batch <= 1024; got shape] "
    return [
        ("ws rank 2", {"ws": f32(2, W_DIM)}, shape + f"[2 {W_DIM}]"),
        ("valid", {"ws": rng(0).normal(size=[2, NUM_WS, W_DIM]).astype(np.float32)}, None),
        ("ws rank 4", {"ws": f32(1, 1, NUM_WS, W_DIM)}, shape + f"[1 1 {NUM_WS} {W_DIM}]"),
        ("5 ws", {"ws": f32(1, 5, W_DIM)}, shape + f"[1 5 {W_DIM}]"),
        ("empty batch", {"ws": f32(0, NUM_WS, W_DIM)}, shape + f"[0 {NUM_WS} {W_DIM}]"),
        ("batch 1025", {"ws": f32(1025, NUM_WS, W_DIM)}, shape + f"[1025 {NUM_WS} {W_DIM}]"),
    ]


def label_map_cases():
    """pix2pixHD "labels" int32 (B, H, W) + "instances" (B, H, W) + "real_images" (B, H, W, 3)."""
    i32, u8 = zeros(np.int32), zeros(np.uint8)

    def request(batch, height, width, seed=None):
        labels = i32(batch, height, width) if seed is None else rng(seed).integers(0, NUM_LABELS, (batch, height, width))
        return {"labels": np.asarray(labels, np.int32), "instances": np.asarray(labels * 10 + 1, np.int32),
                "real_images": u8(batch, height, width, 3) if seed is None else
                rng(seed).integers(0, 256, (batch, height, width, 3), dtype=np.uint8)}

    shape = "labels: expected int32 (batch, height, width); got shape] "
    limit = "with height and width at most 4096 and at most 4096x4096 pixels per request"
    ids = f"labels: expected class ids in [0, {NUM_LABELS}); got min, max] "
    instances = "instances: expected int32 (batch, height, width) of the labels size; got shape] "
    photos = "real_images: expected uint8 (batch, height, width, 3) of the labels size; got shape] "
    bad_ids = request(1, 8, 8)
    return [
        ("rank 4 labels", {**request(1, 8, 8), "labels": i32(1, 8, 8, 1)}, shape + "[1 8 8 1]"),
        ("valid", request(2, 18, 26, seed=0), None),
        ("rank 2 labels", {**request(1, 8, 8), "labels": i32(8, 8)}, shape + "[8 8]"),
        ("zero width", request(1, 8, 0), "with at least one image of at least 1x1; got shape] [1 8 0]"),
        ("empty batch", request(0, 8, 8), "with at least one image of at least 1x1; got shape] [0 8 8]"),
        ("below the multiple: 3x2", request(1, 3, 2, seed=1), None),
        ("too large: side", request(1, 4097, 2), f"{limit}; got shape] [1 4097 2]"),
        ("too large: batch", request(2, 3072, 3072), limit),
        (f"label id {NUM_LABELS}", {**bad_ids, "labels": bad_ids["labels"] + NUM_LABELS}, ids + f"[{NUM_LABELS}]"),
        ("label id -1", {**bad_ids, "labels": bad_ids["labels"] - 1}, ids + "[-1] [-1]"),
        ("instances of another size", {**request(1, 8, 8), "instances": i32(1, 8, 9)}, instances + "[1 8 9] [1 8 8]"),
        ("instances rank 4", {**request(1, 8, 8), "instances": i32(1, 8, 8, 1)}, instances + "[1 8 8 1] [1 8 8]"),
        ("real_images 1 channel", {**request(1, 8, 8), "real_images": u8(1, 8, 8, 1)}, photos + "[1 8 8 1] [1 8 8 3]"),
        ("float32 labels", {**request(1, 8, 8), "labels": np.zeros([1, 8, 8], np.float32)}, "int32"),
    ]


@functools.cache
def case_tables():
    """{export name: [(case, inputs, expected message or None)]} of every exported system."""
    images = image_cases(4096)
    return {"gan": noise_cases(False), "dcgan": noise_cases(False), "cgan": noise_cases(True, legend=" (0 = face, 1 = nonface)"),
            "pix2pix": images, "cyclegan_AtoB": images, "cyclegan_BtoA": images, "srgan": image_cases(2048),
            "stylegan2": stylegan2_cases(), "stylegan2_wplus": wplus_cases(), "pix2pixhd": label_map_cases()}


def build_and_export(folder):
    """Exports every system, tiny and seeded, into `folder`; returns {export name: (path,
    reference)}, reference mapping a valid request to the expected "images", computed from
    the in-memory networks independently of the serving code."""
    import keras
    import tensorflow as tf

    from kgan.export import export_endpoints, export_generator
    from kgan.models import GAN, SRGAN, CycleGAN, Pix2Pix
    from kgan.models.pix2pixhd import label_endpoint, label_input
    from kgan.models.stylegan2 import StyleGAN2
    from kgan.networks import build_discriminator, build_generator, srgan_discriminator, srgan_generator
    from kgan.networks.pix2pixhd import feature_encoder, local_enhancer
    from kgan.networks.stylegan2 import stylegan2_discriminator, stylegan2_generator
    from pipelines.images import to_uint8

    keras.utils.set_random_seed(0)

    def padded(images, multiple, minimum):
        """Edge-padded to the next multiple, at least `minimum`, as the exports do inside."""
        height, width = images.shape[1:3]
        sizes = [max(-(-side // multiple) * multiple, minimum) for side in (height, width)]
        pad = [(0, 0), (0, sizes[0] - height), (0, sizes[1] - width)] + [(0, 0)] * (images.ndim - 3)
        return np.pad(images, pad, mode="edge")

    def translated(generator, multiple, minimum):
        def reference(inputs):
            height, width = inputs["images"].shape[1:3]
            x = padded(inputs["images"], multiple, minimum).astype(np.float32) / 127.5 - 1
            return to_uint8(generator(x, training=False)[:, :height, :width]).numpy()
        return reference

    def noise(generator, conditional):
        def reference(inputs):
            return generator([inputs["noise"], inputs["labels"]] if conditional else inputs["noise"],
                             training=False).numpy()
        return reference

    exports = {}

    def export(model, name, references):
        """references: {export suffix: reference}, in the order of model.serving_endpoints()."""
        for path, (suffix, reference) in zip(export_generator(model, folder, name), references.items(), strict=True):
            exports[name + suffix] = (path, reference)

    mlp = dict(image_shape=(8, 8, 1), widths=(8, 8, 8))
    generator = build_generator("mlp", **mlp)
    export(GAN(generator, build_discriminator("mlp", **mlp)), "gan", {"": noise(generator, False)})
    for name, classes in (("dcgan", None), ("cgan", 2)):
        dcgan = dict(image_size=16, base_width=8, num_classes=classes)
        generator = build_generator("dcgan", **dcgan, conditional_norm=bool(classes))  # cgan: mnist-sample's G
        model = GAN(generator, build_discriminator("dcgan", **dcgan), num_classes=classes,
                    class_names=classes and CLASS_NAMES)
        export(model, name, {"": noise(generator, bool(classes))})
    generator = build_generator("unet_256", image_size=32, base_width=4)
    model = Pix2Pix(generator, build_discriminator("basic", base_width=4, input_channels=6), size_multiple=32)
    export(model, "pix2pix", {"": translated(generator, 32, 32)})
    g_ab, g_ba = (build_generator("resnet_6blocks", base_width=4, name=f"g_{d}") for d in ("ab", "ba"))
    d_a, d_b = (build_discriminator("basic", base_width=4, name=f"d_{d}") for d in "ab")
    model = CycleGAN(g_ab, g_ba, d_a, d_b, image_shape=(16, 16, 3), size_multiple=4)
    export(model, "cyclegan", {"_AtoB": translated(g_ab, 4, 8), "_BtoA": translated(g_ba, 4, 8)})
    upscaler = srgan_generator(n_residual_blocks=1, width=8, upsample="subpixel")
    export(SRGAN(upscaler, srgan_discriminator(image_size=None, widths=(4,) * 8, dense_width=4)), "srgan",
           {"": lambda inputs: to_uint8(upscaler(tf.constant(inputs["images"], tf.float32) / 127.5 - 1)).numpy()})

    tiny = dict(image_size=16, channel_base=128, channel_max=16, num_classes=2)
    model = StyleGAN2(stylegan2_generator(z_dim=Z_DIM, w_dim=W_DIM, mapping_layers=2, **tiny),
                      stylegan2_discriminator(**tiny))
    g = model.generator_ema
    assert g.num_ws == NUM_WS
    export(model, "stylegan2", {
        "": lambda inputs: to_uint8(g.synthesis(g.mapping(inputs["z"], inputs["labels"],
                                                          truncation_psi=inputs["truncation_psi"]),
                                                noise_mode="const")).numpy(),
        "_wplus": lambda inputs: to_uint8(g.synthesis(inputs["ws"], noise_mode="const")).numpy()})

    generator = local_enhancer(NUM_LABELS + 1 + 3, base_width=4, n_downsample_global=2, n_blocks_global=1,
                               n_blocks_local=1)
    encoder = feature_encoder(base_width=4, n_downsampling=2)

    def label_reference(inputs):  # multiple 8; the global trunk's 2-pixel bottleneck needs 16
        height, width = inputs["labels"].shape[1:3]
        instances = padded(inputs["instances"], 8, 16)
        x = label_input(padded(inputs["labels"], 8, 16), NUM_LABELS, instances)
        photos = padded(inputs["real_images"], 8, 16).astype(np.float32) / 127.5 - 1
        x = tf.concat([x, encoder([photos, instances], training=False)], -1)
        return to_uint8(generator(x, training=False)[:, :height, :width]).numpy()

    [path] = export_endpoints({"": label_endpoint(generator, NUM_LABELS, True, 8, encoder)}, folder, "pix2pixhd")
    exports["pix2pixhd"] = (path, label_reference)
    return exports


def callers(path, loaded):
    """{"signature": serving_default of `loaded` (the SavedModel at `path`), "session": a TF1
    session over the same signature_def, fed by tensor name as TF Serving's Session::Run}:
    inputs -> outputs."""
    import tensorflow as tf

    signature = loaded.signatures["serving_default"]
    session = tf.compat.v1.Session(graph=tf.Graph())
    definition = tf.compat.v1.saved_model.loader.load(session, ["serve"], path).signature_def["serving_default"]

    def by_signature(inputs):
        return {k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in inputs.items()}).items()}

    def by_session(inputs):
        fetches = {k: v.name for k, v in definition.outputs.items()}
        return session.run(fetches, {definition.inputs[k].name: v for k, v in inputs.items()})

    return {"signature": by_signature, "session": by_session}


def run_requests(manifest):
    """Worker: waits for MANIFEST ({export: path}: TF imports meanwhile), sends every case to
    every export by both callers, prints one JSON line per request (and one with each export's
    "input_shapes" [and "class_names"] signature outputs), saves valid outputs next to the
    manifest, and "done"."""
    import tensorflow as tf  # imported while the exports are written

    for _ in range(3000):
        if os.path.exists(manifest):
            break
        time.sleep(0.2)
    with open(manifest) as f:
        paths = json.load(f)
    folder = os.path.dirname(manifest)
    for export, cases in case_tables().items():
        loaded = tf.saved_model.load(paths[export])
        line = {"export": export, "input_shapes": {k: v.numpy().tolist()
                                                   for k, v in loaded.signatures["input_shapes"]().items()}}
        if "class_names" in loaded.signatures:
            line["class_names"] = [n.decode() for n in loaded.signatures["class_names"]()["class_names"].numpy()]
        print(json.dumps(line), flush=True)
        for caller, call in callers(paths[export], loaded).items():
            for case, inputs, expected in cases:
                line = {"export": export, "caller": caller, "case": case}
                try:
                    outputs = call(inputs)
                except Exception as error:  # noqa: BLE001 - the test asserts which type it is
                    line.update(error=type(error).__name__, message=" ".join(str(error).split()))
                else:
                    line.update(error=None, output=f"{export}-{caller}-{case}.npy")
                    np.save(os.path.join(folder, line["output"]), outputs["images"])
                    if "class_names" in outputs:
                        line["class_names"] = [name.decode() for name in outputs["class_names"]]
                print(json.dumps(line), flush=True)
    print(json.dumps({"done": True}), flush=True)


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    """The worker process, started first so that it imports TF while the exports are written,
    and the manifest path it waits for."""
    manifest = tmp_path_factory.mktemp("requests") / "manifest.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    process = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(manifest)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield process, manifest
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return build_and_export(str(tmp_path_factory.mktemp("exports")))


@pytest.fixture(scope="module")
def served(worker, exports):
    """(return code, {(export, caller, case): JSON line}, stderr, folder, finished) of the worker."""
    process, manifest = worker
    written = manifest.with_suffix(".tmp")
    written.write_text(json.dumps({name: path for name, (path, _) in exports.items()}))
    written.rename(manifest)
    out, err = process.communicate(timeout=600)
    lines = [json.loads(line) for line in out.splitlines()]
    results = {(x["export"], x["caller"], x["case"]): x for x in lines if "case" in x}
    results.update({x["export"]: x for x in lines if "input_shapes" in x})
    return process.returncode, results, err, manifest.parent, {"done": True} in lines


@pytest.mark.parametrize("export", list(case_tables()))
def test_every_malformed_request_answers_invalid_argument_and_the_process_survives(exports, served, export):
    returncode, results, stderr, folder, done = served
    _, reference = exports[export]
    tolerance = 1e-5 if export in ("gan", "dcgan", "cgan") else 1  # float images; uint8 levels
    for caller in ("signature", "session"):
        for case, inputs, expected in case_tables()[export]:
            assert (export, caller, case) in results, f"the worker died at {export} {caller} {case!r}: {stderr[-2000:]}"
            line = results[(export, caller, case)]
            if case in DTYPE_CASES and caller == "session":
                assert line["error"] is None, line
            elif expected is None:
                assert line["error"] is None, line
                images, wanted = np.load(folder / line["output"]), reference(inputs)
                assert images.shape == wanted.shape and np.abs(images.astype(np.float64) - wanted).max() <= tolerance
            else:
                assert line["error"] == "InvalidArgumentError" and expected in line["message"], line
    assert returncode == 0 and done, stderr[-2000:]


def test_cgan_export_names_its_labels(exports, served):
    path, _ = exports["cgan"]
    with open(os.path.join(path, "assets", "labels.txt"), encoding="utf-8") as f:
        assert f.read() == "face\nnonface\n"
    assert served[1]["cgan"]["class_names"] == list(CLASS_NAMES)
    assert not any("class_names" in served[1][name] for name in case_tables() if name != "cgan")
    valid = [served[1][("cgan", caller, "valid")] for caller in ("signature", "session")]
    assert all(line["class_names"] == ["face", "nonface", "nonface"] for line in valid)


def test_every_export_serves_its_documented_input_shapes(served):
    shapes = {name: served[1][name]["input_shapes"] for name in case_tables()}
    images = {"images": [-1, -1, -1, 3]}
    assert shapes == {"gan": {"noise": [-1, 100]}, "dcgan": {"noise": [-1, 100]},
                      "cgan": {"noise": [-1, 100], "labels": [-1]}, "pix2pix": images, "cyclegan_AtoB": images,
                      "cyclegan_BtoA": images, "srgan": images,
                      "stylegan2": {"z": [-1, Z_DIM], "labels": [-1], "truncation_psi": [-1]},
                      "stylegan2_wplus": {"ws": [-1, NUM_WS, W_DIM]},
                      "pix2pixhd": {"labels": [-1, -1, -1], "instances": [-1, -1, -1], "real_images": [-1, -1, -1, 3]}}


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
def cli_paths(exports, tmp_path_factory):
    """The pix2pix and SRGAN exports, a 20x24 image and a folder holding it."""
    import tensorflow as tf

    root = tmp_path_factory.mktemp("cli")
    (root / "photos").mkdir()
    tf.io.write_file(str(root / "photos" / "in.png"), tf.io.encode_png(np.full([20, 24, 3], 90, np.uint8)))
    return {"translator": exports["pix2pix"][0], "upscaler": exports["srgan"][0],
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
    run_requests(sys.argv[1])
