"""Export of generators as SavedModels in the TF Serving layout `<base>/<name>/<version>/`.

The serving functions come from the model (`model.serving_endpoints()`, `kgan.serving.Endpoint`),
so every system states its own signatures; TF Serving picks the highest numeric version.
Each export also serves its documented input shapes: signature "input_shapes" () -> {input
name: int32 (rank,), -1 where any size goes} ("serving_default" takes any shape and checks it,
`kgan.serving`). A conditional GAN's export also says which label means what:
`assets/labels.txt` (line k names label k) and the signature "class_names" () ->
{"class_names": string (num_classes,)}.
"""
import os
import tempfile

import keras
import tensorflow as tf

from kgan.errors import UsageError

LABELS_FILE = "labels.txt"


def next_version_directory(base, name):
    """`base/name/<1 + highest existing numeric version>` (1 for a new model)."""
    model_dir = os.path.join(base, name)
    versions = [int(d) for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    return os.path.join(model_dir, str(max(versions, default=0) + 1))


def _add_class_names(archive, class_names, folder):
    """Signature "class_names" over a lookup table read from FOLDER/labels.txt, which the
    SavedModel copies into its assets/."""
    if any("\n" in name for name in class_names):
        raise ValueError(f"class names must be single lines, got {list(class_names)}")
    path = os.path.join(folder, LABELS_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(name + "\n" for name in class_names))
    table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
        path, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE), "")
    archive.track(table)
    labels = tf.range(len(class_names), dtype=tf.int64)
    archive.add_endpoint("class_names", lambda: {"class_names": table.lookup(labels)}, input_signature=[])


def export_generator(model, base="saved_models", name="generator", class_names=None):
    """Writes each generator of `model` (CycleGAN: one per direction, named NAME_AtoB and
    NAME_BtoA) with its `serving_default` signature; returns the list of paths.
    class_names: what each label of a conditional GAN means (default: the model's own)."""
    if class_names is not None and not getattr(model, "num_classes", None):
        raise ValueError(f"class_names {list(class_names)} given for {model.name}, which takes no labels")
    try:
        endpoints = model.serving_endpoints() if class_names is None else model.serving_endpoints(class_names)
    except NotImplementedError as error:
        raise UsageError(f"{error}: drop --export") from None
    return export_endpoints(endpoints, base, name)


def export_endpoints(endpoints, base="saved_models", name="generator"):
    """Writes each {suffix: `kgan.serving.Endpoint`} as the SavedModel
    `base/NAME+suffix/<next version>` with the signatures "serving_default", "input_shapes"
    and, with class names, "class_names"; returns the list of paths."""
    paths = []
    for suffix, endpoint in endpoints.items():
        path = next_version_directory(base, name + suffix)
        archive = keras.export.ExportArchive()
        for network in endpoint.networks:
            archive.track(network)
        archive.add_endpoint("serving_default", endpoint.fn, input_signature=endpoint.input_signature)
        archive.add_endpoint("input_shapes", endpoint.input_shapes, input_signature=[])
        with tempfile.TemporaryDirectory() as folder:
            if endpoint.class_names:
                _add_class_names(archive, endpoint.class_names, folder)
            archive.write_out(path, verbose=False)
        paths.append(path)
    return paths
