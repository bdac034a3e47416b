"""Sample quality of `train.py --arch stylegan2` runs over their training: KID of G_ema
(psi 1, random noise, as stylegan2-ada's metrics) at each kept checkpoint, and of the untrained
generator of the same config and seed, against the run's training images (with --mirror, both
orientations).

    python benchmarks/stylegan2_quality.py RUN_DIR [RUN_DIR ...] [--num-gen 200] [--steps 100,400]

Features: Inception-v3 pool3 (`kgan.metrics.inception_extractor`), with --inception-weights
random (the default here: no weights file on this machine) seeded random weights, the same for
every run evaluated in one call, so the numbers rank the checkpoints against each other and
are not comparable to published FIDs. `--feature-size 75` (Inception's smallest input) runs
the random network on 75x75 instead of 299x299 resizes of the 32x32 samples, 16x fewer FLOPs.
A random network's features are tiny (pool3 values ~1e-4 here), where KID's kernel
(x.y / d + 1)^3 is ~1 for every pair and KID ~0 whatever the images: all features are divided
by one scalar, the root mean square of the real features. (FID is left out: with a few
hundred images its 2048-d covariances are singular, and their matrix square root takes
minutes on this CPU.)
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgan import cli, metrics  # noqa: E402
from pipelines.images import to_uint8  # noqa: E402


def real_features(config, extractor):
    """Inception features of the training images of `config` (faces, flipped too with --mirror)."""
    from pipelines.sources import SAMPLE_NAME, resolve_source, sample_faces_source

    source = sample_faces_source() if config.data == SAMPLE_NAME else resolve_source(config.data, config.data_dir)
    batches = [b for b in metrics.source_batches(source, config.image_size, 3, 50)]
    if config.mirror:
        batches += [tf.image.flip_left_right(b) for b in batches]
    return metrics.embed(batches, extractor, progress=False)


def generated_features(generator, extractor, count, batch_size=50, seed=123):
    """Features of `count` G_ema images from fixed z (numpy seed `seed`), psi 1, random noise."""
    rng = np.random.default_rng(seed)
    batches = []
    for start in range(0, count, batch_size):
        z = tf.constant(rng.standard_normal([min(batch_size, count - start), generator.z_dim]), tf.float32)
        ws = generator.mapping(z)
        batches.append(to_uint8(generator.synthesis(ws, noise_mode="random", noise_seed=[seed, start])))
    return metrics.embed(batches, extractor, progress=False)


def evaluate_run(logdir, extractor, num_gen, steps=None):
    """[(step, {"kid", "kid_std"})] for the untrained G (step 0) and each checkpoint."""
    system, config = cli.load_run(logdir)
    keras.utils.set_random_seed(config.seed)
    model = system.build(config)
    system.compile(model, config, cli.RunOptions(), 1)
    features = real_features(config, extractor)
    scale = float(np.sqrt(np.mean(np.square(features))))
    real = metrics.FeatureStatistics.of(features / scale)
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    state = tf.train.get_checkpoint_state(os.path.join(logdir, "checkpoints"))
    paths = list(state.all_model_checkpoint_paths) if state else []
    rows = []
    for path in [None, *paths]:
        if path is not None:
            checkpoint.restore(path).expect_partial()
        step = int(model.step)
        if path is not None and steps and step not in steps:
            continue
        fake = metrics.FeatureStatistics.of(generated_features(model.generator_ema, extractor, num_gen) / scale)
        result = metrics.compute_metrics(real, fake, ("kid",))
        rows.append((step, result))
        print(f"{logdir}\tstep {step}\tKID {result['kid'] * 1e3:.2f}e-3 +- {result['kid_std'] * 1e3:.2f}e-3",
              flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logdirs", nargs="+", help="train.py --arch stylegan2 run directories")
    parser.add_argument("--num-gen", type=int, default=200, help="generated images per evaluation")
    parser.add_argument("--steps", default=None, help="comma-separated checkpoint steps to evaluate (default all)")
    parser.add_argument("--inception-weights", default="random", help="Inception-v3 notop weights file, or random")
    parser.add_argument("--feature-size", type=int, default=metrics.INCEPTION_SIZE,
                        help="input side of the random-weight Inception (75 to 299)")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    if args.feature_size == metrics.INCEPTION_SIZE:
        weights = None if args.inception_weights == "random" else args.inception_weights
        extractor = metrics.inception_extractor(weights)
    else:
        if args.inception_weights != "random":
            parser.error("--feature-size other than 299 takes --inception-weights random")
        network = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                                 input_shape=(args.feature_size, args.feature_size, 3))
        extractor = metrics.FeatureExtractor(network, args.feature_size,
                                             keras.applications.inception_v3.preprocess_input)
    steps = {int(s) for s in args.steps.split(",")} if args.steps else None
    for logdir in args.logdirs:
        evaluate_run(logdir, extractor, args.num_gen, steps)


if __name__ == "__main__":
    main()
