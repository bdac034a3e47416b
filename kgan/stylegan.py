"""`python -m kgan.stylegan COMMAND`: seed 000's StyleGAN2 tools on a kgan StyleGAN2 generator.

  generate MODEL --seeds 0-15 --trunc 0.7   images, a grid and the W+ .npz of each seed
  mix MODEL --sources 1-4 --destinations 5-7 --styles coarse
                                            the StyleGAN style-mixing figure
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
