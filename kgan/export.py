"""Export of generators as SavedModels in the TF Serving layout `<base>/<name>/<version>/`.

The serving functions come from the model (`model.serving_endpoints()`), so every system
states its own signatures; TF Serving picks the highest numeric version.
"""
import os

import keras

from kgan.errors import UsageError


def next_version_directory(base, name):
    """`base/name/<1 + highest existing numeric version>` (1 for a new model)."""
    model_dir = os.path.join(base, name)
    versions = [int(d) for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    return os.path.join(model_dir, str(max(versions, default=0) + 1))


def export_generator(model, base="saved_models", name="generator"):
    """Writes each generator of `model` (CycleGAN: one per direction, named NAME_AtoB and
    NAME_BtoA) with its `serving_default` signature; returns the list of paths."""
    try:
        endpoints = model.serving_endpoints()
    except NotImplementedError as error:
        raise UsageError(f"{error}: drop --export") from None
    return export_endpoints(endpoints, base, name)


def export_endpoints(endpoints, base="saved_models", name="generator"):
    """Writes each {suffix: (network or list of networks, function, input signature)}
    endpoint as the `serving_default` signature of the SavedModel
    `base/NAME+suffix/<next version>`; returns the list of paths."""
    paths = []
    for suffix, (network, fn, input_signature) in endpoints.items():
        path = next_version_directory(base, name + suffix)
        archive = keras.export.ExportArchive()
        for tracked in network if isinstance(network, (list, tuple)) else [network]:
            archive.track(tracked)
        archive.add_endpoint("serving_default", fn, input_signature=input_signature)
        archive.write_out(path, verbose=False)
        paths.append(path)
    return paths
