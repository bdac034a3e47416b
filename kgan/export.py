"""Export of generators as SavedModels in the TF Serving layout `<base>/<name>/<version>/`.

The serving function comes from the model (`model.serving_endpoint()`), so every system
states its own signature; TF Serving picks the highest numeric version.
"""
import os

import keras


def next_version_directory(base, name):
    """`base/name/<1 + highest existing numeric version>` (1 for a new model)."""
    model_dir = os.path.join(base, name)
    versions = [int(d) for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    return os.path.join(model_dir, str(max(versions, default=0) + 1))


def export_generator(model, base="saved_models", name="generator"):
    """Writes the generator of `model` with its `serving_default` signature; returns the path."""
    path = next_version_directory(base, name)
    fn, input_signature = model.serving_endpoint()
    archive = keras.export.ExportArchive()
    archive.track(model.generator)
    archive.add_endpoint("serving_default", fn, input_signature=input_signature)
    archive.write_out(path, verbose=False)
    return path
