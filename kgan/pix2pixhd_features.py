"""`python -m kgan.pix2pixhd_features RUN`: pix2pixHD's feature clusters (NVIDIA
encode_features.py) for a run trained with --instance-feat.

Every training image (in order, no flip, at the run's size) goes through the run's feature
encoder; each instance gives one pooled feature (the encoder averages over the instance)
and its size relative to 1/32 of the image, as NVIDIA's `encode_features`; instances
smaller than half of that are dropped (NVIDIA's `feat[:, -1] > 0.5`); per class (the label
under the instance's middle pixel: NVIDIA's `id // 1000` for Cityscapes ids) the pooled
features are clustered by k-means into --n-clusters centres (fewer when the class has fewer
instances). The centres go to RUN/features_clustered_NNN.npz; with --export DIR the run is
exported with them, and its signature takes "clusters" int32 (B, label_nc): the cluster
picked per class (NVIDIA samples one at random per instance; `kgan.synthesize --cluster`).
"""
import argparse
import os
import sys

import numpy as np

from kgan.errors import UsageError
from kgan.kmeans import kmeans

BLOCK_NUM = 32  # NVIDIA encode_features: size = pixels / (h * w // 32)
MIN_RELATIVE_SIZE = 0.5


def clusters_path(logdir, n_clusters):
    return os.path.join(logdir, f"features_clustered_{n_clusters:03d}.npz")


def instance_features(features, labels, instances):
    """One image's features (H, W, F), label ids and instance ids (H, W) -> [(label, mean
    feature (F,), size relative to H * W // 32)], one per instance id."""
    features, labels, instances = np.asarray(features), np.asarray(labels), np.asarray(instances)
    height, width = instances.shape
    records = []
    for instance in np.unique(instances):
        rows, cols = np.nonzero(instances == instance)
        middle = len(rows) // 2
        records.append((int(labels[rows[middle], cols[middle]]), features[rows, cols].mean(0),
                        len(rows) / (height * width // BLOCK_NUM)))
    return records


def cluster_centres(records, num_labels, n_clusters, seed=0):
    """[(label, feature, relative size)] -> centres (num_labels, n_clusters, F) float32: per
    class the k-means centres of the features of instances of relative size > 0.5, NaN rows
    where a class has fewer (all NaN for a class without instances)."""
    feature_count = len(records[0][1])
    centres = np.full((num_labels, n_clusters, feature_count), np.nan, np.float32)
    for label in range(num_labels):
        points = [f for lab, f, size in records if lab == label and size > MIN_RELATIVE_SIZE]
        if points:
            found, _ = kmeans(np.stack(points), n_clusters, seed=seed)
            centres[label, : len(found)] = found
    return centres


def encode_run(logdir, n_clusters=None, export=None):
    """Clusters the encoded training features of the run in `logdir`; returns (centres,
    path written, exported paths)."""
    import tensorflow as tf

    from kgan.evaluate import load_trained
    from kgan.export import export_generator
    from pipelines.batches import label_map_batches

    system, config, model = load_trained(logdir, ("pix2pixhd",))
    if model.encoder is None:
        raise UsageError(f"the run in {logdir!r} has no feature encoder: train it with --instance-feat")
    n_clusters = n_clusters or config.n_clusters
    source = system.source(config)
    batches = label_map_batches(source, 1, (config.height, config.width), flip=False, shuffle=False)
    records = []
    for batch in batches:
        features = model.encoder([batch["image"], batch["instances"]], training=False)
        records += instance_features(tf.cast(features[0], tf.float32).numpy(), batch["labels"][0].numpy(),
                                     batch["instances"][0].numpy())
    centres = cluster_centres(records, config.label_nc, n_clusters, seed=config.seed)
    path = clusters_path(logdir, n_clusters)
    np.savez(path, centres=centres)
    model.clusters = centres
    exported = export_generator(model, export, system.name) if export else []
    return centres, path, exported


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgan.pix2pixhd_features", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a train.py --arch pix2pixhd --instance-feat run directory")
    parser.add_argument("--n-clusters", type=int, default=None, help="clusters per class (default: the run's "
                        "--n-clusters, NVIDIA's 10)")
    parser.add_argument("--export", nargs="?", const="saved_models", default=None, metavar="DIR",
                        help="export the run with its clusters to DIR/pix2pixhd/VERSION (DIR defaults to saved_models)")
    args = parser.parse_args(argv)
    try:
        if args.n_clusters is not None and args.n_clusters < 1:
            raise UsageError(f"--n-clusters must be at least 1, got {args.n_clusters}")
        centres, path, exported = encode_run(args.run, args.n_clusters, args.export)
    except UsageError as error:
        print(f"pix2pixhd_features: error: {error}", file=sys.stderr)
        return 2
    classes = int((~np.isnan(centres[:, 0, 0])).sum())
    print(f"clustered the features of {classes} classes into {path}", file=sys.stderr)
    for exported_path in exported:
        print(f"exported {exported_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
