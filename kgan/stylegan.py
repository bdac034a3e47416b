"""`python -m kgan.stylegan COMMAND`: seed 000's StyleGAN2 tools on a kgan StyleGAN2 generator.

  generate MODEL --seeds 0-15 --trunc 0.7   images, a grid and the W+ .npz of each seed
  mix MODEL --sources 1-4 --destinations 5-7 --styles coarse
                                            the StyleGAN style-mixing figure
  project MODEL TARGET.jpg [--w-plus]       align the face, optimize W (or W+) and the noise maps
  edit MODEL --classifier C.keras --seeds 0  InterFaceGAN: SVM boundary of an attribute, edit along it
  convert SRC DST.keras                     NVlabs TF1 / stylegan2-ada-pytorch .pkl or rosinality .pt
                                            -> a kgan generator

MODEL: a `train.py --arch stylegan2` run directory, a .keras generator (from `convert`), or an
upstream checkpoint (.pkl, .pt). Bad input ends in one line, exit status 2.
"""
import argparse
import os
import sys

import numpy as np

from kgan.errors import UsageError
from kgan.stylegan_tools.importers import FORMATS
from kgan.stylegan_tools.projector import DISTANCES

PROG = "python -m kgan.stylegan"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _write_png(path, image):
    from kgan.inference import write_image

    write_image(path, image)


def _tensorboard_images(logdir, tag, images, step=0):
    """uint8 images (N, H, W, C) as one TensorBoard image summary `tag` in logdir."""
    import tensorflow as tf

    with tf.summary.create_file_writer(logdir).as_default():
        tf.summary.image(tag, np.asarray(images), step=step, max_outputs=len(images))


def _latents(generator, spec, args):
    """W+ of --sources / --destinations: a seed list, or .npz / .npy files (comma-separated)."""
    from kgan.stylegan_tools.generator import load_ws, map_latents, parse_seeds, seed_latents

    if any(part.strip().endswith((".npz", ".npy")) for part in spec.split(",")):
        return np.concatenate([load_ws(part.strip(), generator) for part in spec.split(",")])
    return map_latents(generator, seed_latents(parse_seeds(spec), generator.z_dim), args.trunc,
                       args.trunc_cutoff, args.class_index)


def cmd_generate(args):
    from kgan.stylegan_tools.generator import (image_grid, load_generator, map_latents, parse_seeds, save_ws,
                                               seed_latents, synthesize)

    generator = load_generator(args.model)
    seeds = parse_seeds(args.seeds)
    ws = map_latents(generator, seed_latents(seeds, generator.z_dim), args.trunc, args.trunc_cutoff,
                     args.class_index)
    images = synthesize(generator, ws, args.noise_mode)
    for seed, w, image in zip(seeds, ws, images):
        _write_png(os.path.join(args.out, f"seed{seed:04d}.png"), image)
        save_ws(os.path.join(args.out, f"seed{seed:04d}.npz"), w[None], seed=seed, truncation_psi=args.trunc)
    _write_png(os.path.join(args.out, "grid.png"), image_grid(images, min(len(images), args.columns)))
    return f"wrote {len(seeds)} images, their W+ .npz and grid.png to {args.out}"


def cmd_mix(args):
    from kgan.stylegan_tools.generator import load_generator
    from kgan.stylegan_tools.mixing import mix_grid, style_rows

    generator = load_generator(args.model)
    sources, destinations = _latents(generator, args.sources, args), _latents(generator, args.destinations, args)
    written = []
    for spec in args.styles:
        rows = style_rows(spec, generator.num_ws)
        grid, _ = mix_grid(generator, sources, destinations, rows, args.noise_mode)
        name = spec.replace(":", "-") or "all"
        path = os.path.join(args.out, f"mix_{name}.png")
        _write_png(path, grid)
        if args.logdir:
            _tensorboard_images(args.logdir, f"mix/{spec} (rows {rows.start}:{rows.stop})", grid[None])
        written.append(f"{path} (rows {rows.start}:{rows.stop} of {generator.num_ws})")
    return "wrote " + ", ".join(written)


def cmd_project(args):
    import tensorflow as tf

    from kgan.align import align_face, center_crop_resize
    from kgan.inference import read_image
    from kgan.stylegan_tools.generator import image_grid, load_generator, save_ws
    from kgan.stylegan_tools.projector import ProjectorConfig, project, psnr

    generator = load_generator(args.model)
    if not os.path.isfile(args.target):
        raise UsageError(f"TARGET {args.target!r} does not exist: pass an image file")
    try:
        photo = read_image(args.target)
    except tf.errors.InvalidArgumentError:
        raise UsageError(f"TARGET {args.target!r} is not a readable image") from None
    size = generator.image_size
    if args.no_align:
        target, alignment = center_crop_resize(photo, size), {"eyes": "not aligned (centre crop)"}
    else:
        target, alignment = align_face(photo, size)
    config = ProjectorConfig(num_steps=args.steps, w_avg_samples=args.w_avg_samples, w_plus=args.w_plus)
    writer = tf.summary.create_file_writer(args.logdir) if args.logdir else None

    def log_frame(step, distance, image):
        if writer is not None:
            with writer.as_default():
                tf.summary.image("project/progress", image[None], step=step)

    result = project(generator, target, config, args.distance, args.vgg_weights, args.class_index, args.seed,
                     args.frames, callback=log_frame)
    if writer is not None:
        with writer.as_default():
            for step, distance in enumerate(result.distances):
                tf.summary.scalar("project/distance", distance, step=step)
            tf.summary.image("project/before_after", np.concatenate([target, result.image], axis=1)[None],
                             step=len(result.distances))
        writer.flush()
    space = "w_plus" if args.w_plus else "w"
    save_ws(os.path.join(args.out, f"projected_{space}.npz"), result.ws, distances=np.asarray(result.distances),
            **{f"noise/{name}": value for name, value in result.noise.items()})
    _write_png(os.path.join(args.out, "target.png"), target)
    _write_png(os.path.join(args.out, f"projected_{space}.png"), result.image)
    _write_png(os.path.join(args.out, f"before_after_{space}.png"), np.concatenate([target, result.image], axis=1))
    frames = np.stack([image for _, image in result.frames])
    _write_png(os.path.join(args.out, f"frames_{space}.png"), image_grid(frames, len(frames)))
    return (f"projected {args.target} ({alignment['eyes']} eyes) into {space.upper().replace('_PLUS', '+')} in "
            f"{args.steps} steps: distance {result.distances[0]:.4g} -> {result.distances[-1]:.4g}, PSNR "
            f"{psnr(result.image, target):.2f} dB; wrote {args.out}")


def _boundary(generator, args):
    """The edit direction: --boundary, or an SVM trained on --scores / --classifier scores."""
    from kgan.stylegan_tools.editing import score_images, train_boundary
    from kgan.stylegan_tools.generator import load_ws, map_latents

    if args.boundary:
        if not os.path.isfile(args.boundary):
            raise UsageError(f"boundary file {args.boundary!r} does not exist")
        return np.load(args.boundary).reshape(-1), f"boundary {args.boundary}"
    if args.scores:
        if not args.codes:
            raise UsageError("--scores needs --codes: the .npz / .npy W codes the scores belong to")
        codes = load_ws(args.codes, generator)[:, 0]
        scores = np.load(args.scores).reshape(-1)
    elif args.classifier:
        import keras

        from kgan.stylegan_tools.generator import synthesize

        if not os.path.isfile(args.classifier):
            raise UsageError(f"classifier {args.classifier!r} does not exist: pass a .keras model of images")
        classifier = keras.saving.load_model(args.classifier, compile=False)
        z = np.random.RandomState(args.sample_seed).randn(args.samples, generator.z_dim).astype(np.float32)
        ws = map_latents(generator, z, args.trunc, None, args.class_index)
        images = synthesize(generator, ws, args.noise_mode).astype(np.float32) / 127.5 - 1.0
        codes, scores = ws[:, 0], score_images(images, classifier, args.attribute)
    else:
        raise UsageError("pass --boundary B.npy, or --classifier C.keras, or --scores S.npy with --codes C.npz")
    boundary, report = train_boundary(codes, scores, args.chosen_ratio, seed=args.sample_seed)
    path = os.path.join(args.out, "boundary.npy")
    os.makedirs(args.out, exist_ok=True)
    np.save(path, boundary[None])
    accuracy = report.get("validation_accuracy")
    return boundary, (f"boundary from {len(codes)} codes ({report['train_per_side']} per side"
                      + (f", validation accuracy {accuracy:.3f}" if accuracy is not None else "") + f") -> {path}")


def cmd_edit(args):
    from kgan.stylegan_tools.editing import edit_sequence
    from kgan.stylegan_tools.generator import image_grid, load_generator, parse_seeds, save_ws, synthesize

    generator = load_generator(args.model)
    boundary, described = _boundary(generator, args)
    if args.steps < 2:
        raise UsageError(f"--steps must be >= 2, got {args.steps}")
    codes = _latents(generator, args.code or args.seeds, args)
    names = ([f"code{i}" for i in range(len(codes))] if args.code else
             [f"seed{seed:04d}" for seed in parse_seeds(args.seeds)])
    for name, ws in zip(names, codes):
        sequence, distances = edit_sequence(ws, boundary, args.start, args.end, args.steps)
        images = synthesize(generator, sequence, args.noise_mode)
        strip = image_grid(images, len(images))
        _write_png(os.path.join(args.out, f"edit_{name}.png"), strip)
        save_ws(os.path.join(args.out, f"edit_{name}.npz"), sequence, distances=distances, boundary=boundary)
        if args.logdir:
            _tensorboard_images(args.logdir, f"edit/{name} ({args.start:+g} .. {args.end:+g})", strip[None])
    return f"{described}; wrote {len(codes)} edit sequence(s) of {args.steps} steps to {args.out}"


def cmd_convert(args):
    import keras

    from kgan.stylegan_tools.importers import import_generator

    if not args.dst.endswith(".keras"):
        raise UsageError(f"DST {args.dst!r} must end in .keras (a Keras model file)")
    generator, description = import_generator(args.src, args.format)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    keras.saving.save_model(generator, args.dst)
    return f"converted {args.src} ({description}) into {args.dst}"


def _add_model(parser):
    parser.add_argument("model", metavar="MODEL", help="train.py --arch stylegan2 run directory, a .keras generator "
                        "from `convert`, or an upstream .pkl / .pt checkpoint")


def _add_sampling(parser):
    parser.add_argument("--trunc", type=float, default=1.0, help="truncation psi (1: none; seed 000 uses 0.7)")
    parser.add_argument("--trunc-cutoff", type=int, default=None,
                        help="truncate only the first N W+ rows (default: all)")
    parser.add_argument("--class", dest="class_index", type=int, default=None,
                        help="class index for a conditional generator")
    parser.add_argument("--noise-mode", choices=("const", "random", "none"), default="const",
                        help="per-pixel noise: the stored maps (const, default), fresh random maps, or none")
    parser.add_argument("--out", default="stylegan_out", help="output folder (default stylegan_out)")


def build_parser():
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog="\n".join(__doc__.splitlines()[2:]))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    generate = commands.add_parser("generate", help="images, a grid and W+ codes from seeds")
    _add_model(generate)
    generate.add_argument("--seeds", default="0-15", help="seeds, e.g. 0-15 or 1,5,9 (default 0-15)")
    generate.add_argument("--columns", type=int, default=8, help="images per grid row (default 8)")
    _add_sampling(generate)
    generate.set_defaults(run=cmd_generate)

    mix = commands.add_parser("mix", help="style-mixing grid: sources on top, destinations on the left")
    _add_model(mix)
    mix.add_argument("--sources", default="0-3", help="seeds, or .npz / .npy W+ files, comma-separated: the codes "
                     "whose style rows are copied (top row; default 0-3)")
    mix.add_argument("--destinations", default="4-6", help="seeds or W+ files: the codes that receive them (left "
                     "column; default 4-6)")
    mix.add_argument("--styles", nargs="+", default=["coarse", "middle", "fine"],
                     help="W+ rows to copy: coarse, middle, fine (seed 000's 0:4, 4:15, 15:18 scaled to the "
                     "generator's rows) or START:STOP; one grid each (default: the three presets)")
    mix.add_argument("--logdir", default=None, help="also write the grids to TensorBoard in this directory")
    _add_sampling(mix)
    mix.set_defaults(run=cmd_mix)

    proj = commands.add_parser("project", help="find the W / W+ code (and noise maps) of a photo (NVlabs projector)")
    _add_model(proj)
    proj.add_argument("target", help="the photo: its largest face is aligned (OpenCV Haar face + eyes) and "
                      "cropped to the generator's resolution")
    proj.add_argument("--w-plus", action="store_true", help="optimize one w per W+ row (seed 000, rosinality "
                      "--w_plus) instead of one w for all rows (NVlabs)")
    proj.add_argument("--steps", type=int, default=1000, help="optimization steps (default 1000, NVlabs)")
    proj.add_argument("--w-avg-samples", type=int, default=10000, help="z samples for the w mean and std "
                      "(default 10000)")
    proj.add_argument("--distance", choices=DISTANCES, default="auto", help="vgg: VGG16 LPIPS-style features "
                      "(needs the weights file); pixel: multi-scale pixel MSE; auto (default): vgg if its weights "
                      "are found, else pixel")
    proj.add_argument("--vgg-weights", default="imagenet", help="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 "
                      "(default: $KGAN_VGG16_WEIGHTS or the Keras cache)")
    proj.add_argument("--no-align", action="store_true", help="centre-crop instead of aligning a face")
    proj.add_argument("--frames", type=int, default=8, help="snapshots in the frame strip and TensorBoard "
                      "(default 8)")
    proj.add_argument("--seed", type=int, default=0, help="seed of the initial noise maps and latent noise")
    proj.add_argument("--class", dest="class_index", type=int, default=None,
                      help="class index for a conditional generator")
    proj.add_argument("--logdir", default=None, help="also write distance per step and progress images to "
                      "TensorBoard in this directory")
    proj.add_argument("--out", default="stylegan_out", help="output folder (default stylegan_out)")
    proj.set_defaults(run=cmd_project)

    edit = commands.add_parser("edit", help="InterFaceGAN: train a linear SVM boundary for an attribute, move codes "
                               "along its normal")
    _add_model(edit)
    source = edit.add_mutually_exclusive_group()
    source.add_argument("--boundary", help="a saved boundary .npy (w_dim,) to edit along (skips training)")
    source.add_argument("--classifier", help="a .keras model scoring images on [-1, 1] (e.g. an attribute CNN); "
                        "--samples codes are drawn, scored and the SVM trained on the top / bottom --chosen-ratio")
    source.add_argument("--scores", help="an .npy of attribute scores (N,) for the W codes in --codes")
    edit.add_argument("--codes", help="with --scores: .npz / .npy of the N scored W (or W+) codes")
    edit.add_argument("--attribute", type=int, default=0, help="the classifier output column to use (default 0)")
    edit.add_argument("--samples", type=int, default=2000, help="codes to draw for --classifier (default 2000; "
                      "InterFaceGAN uses 500,000)")
    edit.add_argument("--sample-seed", type=int, default=0, help="seed of the sampled codes and the SVM split")
    edit.add_argument("--chosen-ratio", type=float, default=0.02, help="top and bottom fraction used as positives "
                      "and negatives (default 0.02, InterFaceGAN)")
    edit.add_argument("--seeds", default="0", help="seeds of the codes to edit (default 0)")
    edit.add_argument("--code", help=".npz / .npy W or W+ codes to edit instead of --seeds (e.g. a projection)")
    edit.add_argument("--start", type=float, default=-3.0, help="first distance along the normal (default -3)")
    edit.add_argument("--end", type=float, default=3.0, help="last distance along the normal (default 3)")
    edit.add_argument("--steps", type=int, default=10, help="codes in each sequence (default 10)")
    edit.add_argument("--logdir", default=None, help="also write the sequences to TensorBoard in this directory")
    _add_sampling(edit)
    edit.set_defaults(run=cmd_edit)

    convert = commands.add_parser("convert", help="import official generator weights (G_ema / Gs) into kgan")
    convert.add_argument("src", help="NVlabs TF1 .pkl (no TensorFlow 1 needed), stylegan2-ada-pytorch .pkl or "
                         "rosinality .pt (both need PyTorch: pip install -e \".[torch]\")")
    convert.add_argument("dst", help="output .keras file: a MODEL for the other commands")
    convert.add_argument("--format", choices=FORMATS, default="auto",
                         help="checkpoint format (default auto: .pt/.pth rosinality, .pkl by its content)")
    convert.set_defaults(run=cmd_convert)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        message = args.run(args)
    except UsageError as error:
        print(f"stylegan: error: {error}", file=sys.stderr)
        return 2
    print(message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
