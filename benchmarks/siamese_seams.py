"""Seed 004's claim measured: tiles translated by a G trained through the combo model join
without visible edges; trained on single S x S crops, they do not.

    python benchmarks/siamese_seams.py --steps 1500 --seeds 0 1 2 --out runs/seams

For each seed, two runs of `train.py --arch siamese` on the embedded sample with the same
options, data and steps, one with --combo and one with --no-combo; then each run's
whole-image translator (its export function) translates the 7 sample photos at full size
(HD: up to 1411 x 1411, in S x S tiles) and `kgan.models.tiles.seam_ratio` compares the pixel
differences across tile borders with those inside tiles (1 = seamless). Prints one row per
run (ratio per photo and their mean) and the photos' own ratio; writes the translations as
PNGs under OUT/<run>/ to look at.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from kgan import cli  # noqa: E402
from kgan.inference import write_image  # noqa: E402
from kgan.models.tiles import seam_ratio  # noqa: E402
from pipelines.sources import STYLE_SAMPLE_PHOTOS, style_sample_sources  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="runs/seams")
    parser.add_argument("--options", nargs=argparse.REMAINDER, default=[],
                        help="train.py options of both runs (default below)")
    args = parser.parse_args(argv)
    options = args.options or ["--tile-size", "32", "--base-width", "16", "--batch-size", "8", "--train-scale", "0.5"]
    photos = [e["image"].numpy() for e in style_sample_sources()[0].dataset]
    tile = int(options[options.index("--tile-size") + 1]) if "--tile-size" in options else 64
    print("photos' own ratio:", " ".join(f"{seam_ratio(p, tile):.3f}" for p in photos))
    print("run                 " + " ".join(f"{n[:9]:>9}" for n in STYLE_SAMPLE_PHOTOS) + "      mean")
    for seed in args.seeds:
        for combo in ("--combo", "--no-combo"):
            name = f"seed{seed}{combo[1:]}"
            logdir = os.path.join(args.out, name)
            model = cli.train(cli.parse_options(["--arch", "siamese", "--data", "sample", "--steps", str(args.steps),
                                                 "--steps-per-epoch", "100", "--seed", str(seed), combo,
                                                 "--logdir", logdir, *options]))
            _, serve, _ = model.serving_endpoints()[""]
            ratios = []
            for photo_name, photo in zip(STYLE_SAMPLE_PHOTOS, photos):
                out = serve(photo[np.newaxis])["images"][0].numpy()
                write_image(os.path.join(logdir, f"{photo_name}.png"), out)
                ratios.append(seam_ratio(out, tile))
            print(f"{name:<20}" + " ".join(f"{r:9.3f}" for r in ratios) + f" {np.mean(ratios):9.3f}", flush=True)


if __name__ == "__main__":
    main()
