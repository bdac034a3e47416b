"""Evaluation commands for trained runs.

`python -m kgan.evaluate cgan --logdir RUN`: is a conditional generator really conditional?
A small CNN is trained on the run's real data (80% of it; the other 20% gives its
real-image accuracy), then it labels generated images of every class k; the command prints
how often it answers k, against the chance rate 1 / number of classes, and which class it
answers most often otherwise.

`python -m kgan.evaluate gan --logdir RUN`: does an unconditional generator (gan, dcgan)
make images of the run's classes (digits on mnist-sample)? The same classifier labels
generated images of the untrained generator and of every kept checkpoint; the command
prints its mean confidence (top softmax probability), the share of confident answers
(top probability >= 0.9) and the spread of the answers over the classes (entropy of the
predicted-class histogram, ln K when every class is predicted equally often), with the
held-out real images as the reference.

`python -m kgan.evaluate pix2pix --logdir RUN HELD_OUT`: mean L1 (on [-1, 1]) between the
target and (a) the trained generator's output, (b) the input itself, (c) an untrained
generator's output, over held-out pairs made from HELD_OUT the way the run made its own
(A|B files, or photos through edges + color hints), without random crops or flips.

`python -m kgan.evaluate pix2pixhd --logdir RUN`: L1 (on [-1, 1]) and PSNR of the run's
generator on held-out label maps (the sample's val tiles, a folder's val_* or
gtFine/val), against an untrained generator and two baselines (every pixel painted with
its class's mean training colour, or with a random training colour of its class), at the
run's size or --width/--height, and on the training maps.
"""
import argparse
import dataclasses
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from kgan.errors import UsageError
from kgan.metrics import add_fid_arguments, run_fid

SAMPLED_PIXELS_PER_IMAGE = 4096  # training pixels per image kept for pix2pixHD's "class sample" baseline


def label_classifier(image_size, channels, num_classes, width=32):
    """Images (B, S, S, C) in [-1, 1] -> class logits (B, num_classes): 3 conv blocks."""
    images = keras.Input((image_size, image_size, channels))
    x = images
    for i in range(3):
        x = keras.layers.Conv2D(width * 2**i, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    return keras.Model(images, keras.layers.Dense(num_classes)(x), name="label_classifier")


def _run_of(logdir, systems):
    from kgan.cli import load_run

    system, config = load_run(logdir)
    if system.name not in systems:
        raise UsageError(f"the run in {logdir!r} is a {system.name}, not a {' or '.join(systems)} run")
    return system, config


def load_trained(logdir, systems):
    """(system, config, model with the latest checkpoint's networks) of the train.py run in
    `logdir`, which must be of one of `systems` (names); every network is restored."""
    system, config = _run_of(logdir, systems)
    model = system.build(config)
    restore_networks(logdir, model)
    return system, config, model


def restore_networks(logdir, model, path=None):
    """Loads every network of `model` (its `networks()`) from the checkpoint `path` (default:
    the latest in `logdir`); a checkpoint that lacks one is an error, not a silent partial
    restore."""
    path = path or tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints"))
    if path is None:
        raise UsageError(f"no checkpoint in {logdir!r}/checkpoints: train first")
    status = tf.train.Checkpoint(**model.networks()).restore(path)
    status.expect_partial()
    status.assert_existing_objects_matched()
    return model


def kept_checkpoints(logdir):
    """[(step, path)] of every checkpoint kept in `logdir`, oldest first (train.py numbers
    them by step)."""
    state = tf.train.get_checkpoint_state(os.path.join(logdir, "checkpoints"))
    paths = list(state.all_model_checkpoint_paths) if state else []
    if state and state.model_checkpoint_path not in paths:  # a state file without the list
        paths.append(state.model_checkpoint_path)
    if not paths:
        raise UsageError(f"no checkpoint in {logdir!r}/checkpoints: train first")
    return [(int(path.rsplit("-", 1)[-1]), path) for path in paths]


def real_data_classifier(options, epochs=30, seed=0, trained=None):
    """(classifier, held-out real accuracy, class names, held-out real images):
    `label_classifier` trained on 80% of the run's labelled data (`options.data` at the
    run's image size and channels), its accuracy measured on the other 20%. `trained`: a
    dict shared by several calls, so that runs on the same data, size and channels share
    one classifier."""
    key = (options.data, options.data_dir, options.image_size, options.channels, epochs, seed)
    if trained is not None and key in trained:
        return trained[key]
    from pipelines.images import standardize
    from pipelines.sources import resolve_source

    source = resolve_source(options.data, data_dir=options.data_dir, labelled=True)
    num_classes = len(source.class_names)
    if num_classes < 2:
        raise UsageError(f"{options.data!r} has no class labels to train the classifier on: evaluate a run on "
                         "labelled data (mnist-sample, sample, one subfolder per class)")
    examples = source.dataset.map(
        lambda e: (standardize(e["image"], options.image_size, options.channels), e["label"])
    ).batch(256)
    batches = list(examples.as_numpy_iterator())
    images = np.concatenate([x for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    order = np.random.default_rng(seed).permutation(len(images))
    split = int(0.8 * len(images))
    train, held_out = order[:split], order[split:]
    keras.utils.set_random_seed(seed)
    classifier = label_classifier(options.image_size, options.channels, num_classes)
    classifier.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics=["accuracy"])
    classifier.fit(images[train], labels[train], batch_size=32, epochs=epochs, verbose=0)
    real_accuracy = float(np.mean(np.argmax(classifier.predict(images[held_out], verbose=0), -1) == labels[held_out]))
    result = classifier, real_accuracy, source.class_names, images[held_out]
    if trained is not None:
        trained[key] = result
    return result


def conditional_accuracy(logdir, samples_per_class=500, epochs=30, seed=0, every_checkpoint=False, trained=None):
    """(real held-out accuracy, {step: per-class rows}, chance, class names) of the cgan run
    in `logdir`, for its latest checkpoint or, with every_checkpoint, each kept one. Row k
    is (share of label-k images classified as k, the class they are classified as most
    often otherwise, its share). `trained`: as `real_data_classifier`'s."""
    system, options = _run_of(logdir, ("cgan",))
    kept = kept_checkpoints(logdir)
    classifier, real_accuracy, names, _ = real_data_classifier(options, epochs, seed, trained)
    model = system.build(options)
    results = {}
    for step, path in kept if every_checkpoint else kept[-1:]:
        generator = restore_networks(logdir, model, path).evaluation_generator()
        rows = []
        for k in range(len(names)):
            noise = tf.random.stateless_normal([samples_per_class, options.latent_dim], [seed, k])
            fake = generator([noise, tf.fill([samples_per_class], k)], training=False)
            counts = np.bincount(np.argmax(classifier.predict(fake, verbose=0), -1), minlength=len(names))
            other = int(np.argmax(np.where(np.arange(len(names)) == k, -1, counts)))
            rows.append((float(counts[k] / samples_per_class), other, float(counts[other] / samples_per_class)))
        results[step] = rows
    return real_accuracy, results, 1.0 / len(names), names


def class_statistics(logits):
    """{"confidence", "confident", "spread", "classes"} of classifier logits (N, K): mean top
    softmax probability, share of images whose top probability is >= 0.9, entropy in nats
    of the predicted-class histogram (ln K: every class equally often; 0: one class), and
    the number of classes predicted for at least 1% of the images."""
    probabilities = tf.nn.softmax(logits).numpy()
    top = probabilities.max(-1)
    shares = np.bincount(probabilities.argmax(-1), minlength=probabilities.shape[-1]) / len(probabilities)
    present = shares[shares > 0]
    return {"confidence": float(top.mean()), "confident": float(np.mean(top >= 0.9)),
            "spread": float((present * np.log(1 / present)).sum()), "classes": int(np.sum(shares >= 0.01))}


def unconditional_quality(logdir, samples=1000, epochs=30, seed=0, trained=None):
    """(held-out real accuracy, class names, [(what, `class_statistics`)]) for the run's
    held-out real images, the
    run's untrained generator (its --seed's initial weights) and every kept checkpoint of
    the gan or dcgan run in `logdir`, each generator on the same `samples` noise vectors.
    `trained`: as `real_data_classifier`'s."""
    system, options = _run_of(logdir, ("gan", "dcgan"))
    kept = kept_checkpoints(logdir)
    classifier, real_accuracy, names, held_out = real_data_classifier(options, epochs, seed, trained)
    rows = [("real (held out)", class_statistics(classifier.predict(held_out, verbose=0)))]
    noise = tf.random.stateless_normal([samples, options.latent_dim], [seed, 0])
    keras.utils.set_random_seed(options.seed)
    model = system.build(options)

    def statistics():
        return class_statistics(classifier.predict(model.evaluation_generator()(noise, training=False), verbose=0))

    rows.append(("untrained", statistics()))
    for step, path in kept:
        restore_networks(logdir, model, path)
        rows.append((f"step {step}", statistics()))
    return real_accuracy, names, rows


def pix2pix_l1(logdir, held_out, seed=0):
    """(trained, input, untrained) mean L1 to the targets over the held-out pairs."""
    from pipelines.batches import edges2shoes_batches, paired_batches
    from pipelines.sources import ab_folder_source, folder_source

    system, options, trained = load_trained(logdir, ("pix2pix",))
    if options.data == "sample" or options.pairs == "edges":
        source = folder_source(held_out)
        batches = edges2shoes_batches(source, 1, options.image_size, seed=seed)
    else:
        source = ab_folder_source(held_out, options.direction)
        batches = paired_batches(source, 1, options.image_size, options.image_size, flip=False, seed=seed)
    pairs = list(batches.take(source.count))
    untrained = system.build(options)

    def l1(outputs):
        return float(np.mean([np.abs(o - p["target"].numpy()).mean() for o, p in zip(outputs, pairs)]))

    def generate(model):
        return [model.evaluation_generator()(p["source"], training=False).numpy() for p in pairs]

    return l1(generate(trained)), l1([p["source"].numpy() for p in pairs]), l1(generate(untrained))


def pix2pixhd_quality(logdir, width=None, height=None, seed=0):
    """{"held-out trained", "held-out untrained", "held-out nearest colour", "held-out class
    sample", "training trained": {"l1", "psnr"}}: the methods over the held-out label maps
    of the pix2pixhd run in `logdir` at width x height (default: the run's), and the trained
    generator over the training maps (no flips: how far it fits what it saw); outputs
    rounded to uint8 as exported; PSNR is the mean of the per-image values.
    "nearest colour" paints each pixel its class's mean training colour; "class sample" a
    colour drawn at random from its class's training pixels: where a generator lands that
    knows each pixel's class and samples the class's colours, as a GAN does, instead of
    averaging them (for a pixel drawn independently of the real one, E|x' - x| is at least
    E|m - x| for the median m). An --instance-feat run's generators see the encoder's
    features of the real image (NVIDIA's use_encoded_image), so its table adds "instance
    colour": each instance its mean colour in the real image, what per-instance features
    could tell at best, and "trained, grey-photo features": the generator given the
    encoder's features of a uniform grey photo instead (as "trained": G ignores them)."""
    from pipelines.batches import label_map_batches
    from pipelines.images import to_uint8

    system, config, trained = load_trained(logdir, ("pix2pixhd",))
    size = (height or config.height, width or config.width)
    keras.utils.set_random_seed(seed)
    untrained = system.build(dataclasses.replace(config, load_global=None))

    def batches(split):
        return label_map_batches(system.source(config, split), 1, size, flip=False, shuffle=False)

    sums = np.zeros((config.label_nc, 3))
    counts = np.zeros(config.label_nc)
    rng = np.random.default_rng(seed)
    kept_labels, kept_colours = [], []
    for batch in batches("train"):
        labels = batch["labels"].numpy().ravel()
        colours = batch["image"].numpy().reshape(-1, 3)
        sums += np.stack([np.bincount(labels, c, config.label_nc) for c in colours.T], 1)
        counts += np.bincount(labels, minlength=config.label_nc)
        kept = rng.choice(labels.size, min(labels.size, SAMPLED_PIXELS_PER_IMAGE), replace=False)
        kept_labels.append(labels[kept])
        kept_colours.append(colours[kept])
    palette = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
    kept_labels, kept_colours = np.concatenate(kept_labels), np.concatenate(kept_colours)
    pools = [kept_colours[kept_labels == c] for c in range(config.label_nc)]

    def generate(model, grey_photo=False):
        def run(batch):
            instances = batch.get("instances")
            x = model.label_input(batch["labels"], instances)
            photo = tf.zeros_like(batch["image"]) if grey_photo else batch["image"]
            return model.generator(model.generator_input(x, photo, instances), training=False)
        return run

    methods = {"trained": generate(trained), "untrained": generate(untrained),
               "nearest colour": lambda batch: tf.gather(palette, batch["labels"]),
               "class sample": class_colour_sampler(pools, palette, seed)}
    if config.instance_feat:
        methods["instance colour"] = instance_mean_colour
        methods["trained, grey-photo features"] = generate(trained, grey_photo=True)
    rows_of_split = {"val": {f"held-out {name}": method for name, method in methods.items()},
                     "train": {"training trained": methods["trained"]}}
    results = {}
    for split, rows in rows_of_split.items():
        results.update({row: {"l1": [], "psnr": []} for row in rows})
        for batch in batches(split):
            real = to_uint8(batch["image"]).numpy().astype(np.float64)
            for row, method in rows.items():
                output = to_uint8(method(batch)).numpy().astype(np.float64)
                results[row]["l1"].append(np.abs(output - real).mean() / 127.5)
                results[row]["psnr"].append(10 * np.log10(255.0**2 / max(np.mean((output - real) ** 2), 1e-10)))
    return {row: {k: float(np.mean(v)) for k, v in values.items()} for row, values in results.items()}


def class_colour_sampler(pools, palette, seed):
    """batch -> (B, H, W, 3): each pixel of batch["labels"] (B, H, W) a colour drawn at random
    from its class's training pixels (`pools[c]`: (N_c, 3)); a class without any takes its
    `palette` colour."""
    rng = np.random.default_rng(seed)

    def sample(batch):
        labels = batch["labels"].numpy()
        colours = np.asarray(palette, np.float32)[labels]
        for c in np.unique(labels):
            if len(pools[c]):
                where = labels == c
                colours[where] = pools[c][rng.integers(0, len(pools[c]), where.sum())]
        return tf.constant(colours)
    return sample


def instance_mean_colour(batch):
    """Each pixel of batch["image"] (B, H, W, 3) replaced by the mean over its instance of
    batch["instances"] (B, H, W) in the same image."""
    image, instances = batch["image"], batch["instances"]
    ids = tf.cast(instances, tf.int64) + tf.range(tf.shape(instances, out_type=tf.int64)[0])[:, None, None] * 2**32
    _, segments = tf.unique(tf.reshape(ids, [-1]))
    means = tf.math.unsorted_segment_mean(tf.reshape(image, [-1, 3]), segments, tf.reduce_max(segments) + 1)
    return tf.reshape(tf.gather(means, segments), tf.shape(image))


def rgb_to_y(image):
    """RGB float in [0, 255] (..., 3) -> Y (...,) in [16, 235], ITU-R BT.601 (MATLAB rgb2ycbcr)."""
    return 16.0 + image @ np.array([65.481, 128.553, 24.966]) / 255.0


def image_quality(output, reference, border):
    """{"psnr", "ssim", "psnr_y", "ssim_y"} of uint8 (H, W, 3) `output` against `reference`,
    without `border` pixels on each side (SSIM: 11x11 Gaussian window, sigma 1.5)."""
    crop = (slice(border, -border or None), slice(border, -border or None))
    output, reference = (np.asarray(x, np.float64)[crop] for x in (output, reference))

    def psnr(a, b):
        mse = np.mean((a - b) ** 2)
        return float(10 * np.log10(255.0**2 / mse)) if mse else float("inf")

    def ssim(a, b):
        a, b = (x if x.ndim == 3 else x[..., None] for x in (a, b))
        return float(tf.image.ssim(a, b, 255.0, filter_size=min(11, *a.shape[:2])))

    output_y, reference_y = rgb_to_y(output), rgb_to_y(reference)
    return {"psnr": psnr(output, reference), "ssim": ssim(output, reference),
            "psnr_y": psnr(output_y, reference_y), "ssim_y": ssim(output_y, reference_y)}


def superres_quality(upscale, hr_folder, scale, tile=128, overlap=16):
    """[(file name, {"model": quality, "bicubic": quality})] (`image_quality` dicts) for every
    image of hr_folder; `upscale`: uint8 (B, h, w, 3) -> (B, scale*h, scale*w, 3), applied
    in tiles (`kgan.upscale.upscale_image`)."""
    from kgan.inference import read_image
    from kgan.upscale import upscale_image
    from pipelines.sources import list_images
    from pipelines.transforms import mod_crop, resize

    files = list_images(hr_folder) if os.path.isdir(hr_folder) else []
    if not files:
        raise UsageError(f"no images found under {hr_folder!r}: pass a folder of HR images such as Set5")
    rows = []
    for path in files:
        high = np.asarray(mod_crop(read_image(path), scale))
        height, width = high.shape[:2]
        low = np.round(resize(high, [height // scale, width // scale]).numpy()).astype(np.uint8)
        bicubic = np.round(resize(low, [height, width]).numpy())
        upscaled = upscale_image(upscale, low, scale, tile, overlap)
        rows.append((os.path.relpath(path, hr_folder),
                     {"model": image_quality(upscaled, high, scale), "bicubic": image_quality(bicubic, high, scale)}))
    return rows


def print_superres_table(rows, scale):
    keys = ("psnr_y", "ssim_y", "psnr", "ssim")
    print(f"x{scale}, {scale}-pixel border cropped; PSNR in dB; Y = BT.601 luma, RGB = all three channels")
    print(f"{'image':24} {'method':8} {'PSNR Y':>8} {'SSIM Y':>8} {'PSNR RGB':>9} {'SSIM RGB':>9}")
    for name, results in rows + [("mean", {m: {k: np.mean([r[m][k] for _, r in rows]) for k in keys}
                                           for m in ("bicubic", "model")})]:
        for method in ("bicubic", "model"):
            q = results[method]
            print(f"{name:24} {method:8} {q['psnr_y']:8.2f} {q['ssim_y']:8.4f} {q['psnr']:9.2f} {q['ssim']:9.4f}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgan.evaluate", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cgan = commands.add_parser("cgan", help="label accuracy of a conditional generator's images")
    cgan.add_argument("--logdir", required=True, nargs="+", help="run directory of a train.py --arch cgan run "
                      "(several: scored in turn, runs on the same data sharing one classifier)")
    cgan.add_argument("--samples", type=int, default=500, help="generated images per class")
    cgan.add_argument("--epochs", type=int, default=30, help="classifier training epochs")
    cgan.add_argument("--every-checkpoint", action="store_true", help="score every kept checkpoint, not only the "
                      "latest")
    gan = commands.add_parser("gan", help="classifier confidence and class spread of an unconditional generator's "
                              "images, untrained and at every kept checkpoint")
    gan.add_argument("--logdir", required=True, nargs="+", help="run directory of a train.py --arch gan or dcgan "
                     "run on labelled data (mnist-sample, sample); several: scored in turn, runs on the same data "
                     "sharing one classifier")
    gan.add_argument("--samples", type=int, default=1000, help="generated images per generator")
    gan.add_argument("--epochs", type=int, default=30, help="classifier training epochs")
    pix2pix = commands.add_parser("pix2pix", help="held-out L1 of a pix2pix generator vs its input and untrained")
    pix2pix.add_argument("--logdir", required=True, help="run directory of a train.py --arch pix2pix run")
    pix2pix.add_argument("held_out", help="folder of held-out data in the run's layout (A|B files or photos)")
    hd = commands.add_parser("pix2pixhd", help="held-out L1/PSNR of a pix2pixHD generator vs untrained and "
                             "the nearest-colour and class-sample baselines")
    hd.add_argument("--logdir", required=True, help="run directory of a train.py --arch pix2pixhd run")
    hd.add_argument("--width", type=int, default=None, help="evaluation width (default: the run's)")
    hd.add_argument("--height", type=int, default=None, help="evaluation height (default: the run's)")
    sr = commands.add_parser("sr", help="PSNR/SSIM of an exported SR generator vs bicubic on an HR image folder")
    sr.add_argument("model", help="exported SRGAN SavedModel folder (saved_models/srgan[/VERSION])")
    sr.add_argument("hr_folder", help="folder of high-resolution images (e.g. Set5, Set14)")
    sr.add_argument("--scale", type=int, choices=(2, 4, 8), default=4, help="the model's upscaling factor")
    sr.add_argument("--tile", type=int, default=128, help="tile size in LR pixels for large images (0: whole)")
    sr.add_argument("--overlap", type=int, default=16, help="LR pixels shared by neighbouring tiles")
    add_fid_arguments(commands.add_parser("fid", help="FID, KID, precision/recall of an exported generator"))
    args = parser.parse_args(argv)
    try:
        if args.command == "fid":
            run_fid(args)
        elif args.command == "sr":
            from kgan.upscale import load_upscaler

            upscale, scale = load_upscaler(args.model)
            if scale != args.scale:
                raise UsageError(f"the model at {args.model!r} upscales x{scale}, not --scale {args.scale}")
            print_superres_table(superres_quality(upscale, args.hr_folder, scale, args.tile, args.overlap), scale)
        elif args.command == "pix2pixhd":
            for name, values in pix2pixhd_quality(args.logdir, args.width, args.height).items():
                print(f"{name}: L1 {values['l1']:.4f}, PSNR {values['psnr']:.2f} dB")
        elif args.command == "cgan":
            trained = {}
            for logdir in args.logdir:
                real, results, chance, names = conditional_accuracy(logdir, args.samples, args.epochs,
                                                                    every_checkpoint=args.every_checkpoint,
                                                                    trained=trained)
                print(f"{logdir}: classifier accuracy on held-out real images: {real:.3f} (chance {chance:.3f})")
                for step, rows in results.items():
                    print(f"step {step}:")
                    for name, (accuracy, other, share) in zip(names, rows):
                        otherwise = f" (most often otherwise {names[other]!r} {share:.3f})" if share else ""
                        print(f"generated with label {name!r}: classified as {name!r} {accuracy:.3f}{otherwise}")
                    print(f"mean over classes: {np.mean([row[0] for row in rows]):.3f}")
        elif args.command == "gan":
            trained = {}
            for logdir in args.logdir:
                real, names, rows = unconditional_quality(logdir, args.samples, args.epochs, trained=trained)
                print(f"{logdir}: classifier accuracy on held-out real images: {real:.3f}")
                print(f"classifier of the {len(names)} classes {', '.join(names)}; spread = entropy of the "
                      f"predicted classes (all equally often: {np.log(len(names)):.3f})")
                print(f"{'images':16} {'confidence':>10} {'confident':>9} {'spread':>6} {'classes':>7}")
                for what, q in rows:
                    print(f"{what:16} {q['confidence']:10.3f} {q['confident']:9.3f} {q['spread']:6.3f} "
                          f"{q['classes']:7d}")
        else:
            trained, identity, untrained = pix2pix_l1(args.logdir, args.held_out)
            print(f"held-out L1 to the targets: trained {trained:.4f}, input as output {identity:.4f}, "
                  f"untrained generator {untrained:.4f}")
    except UsageError as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
