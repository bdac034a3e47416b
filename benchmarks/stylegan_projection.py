"""Projection recovers images a generator made itself (issue 13's must-show).

    nice -n 10 python benchmarks/stylegan_projection.py --seeds 100,101 --steps 1000 [--model G] [--cli DIR]

For each seed: the image of z = RandomState(seed).randn (psi 1, const noise) is projected
into W and into W+ with the NVlabs schedule (`kgan.stylegan_tools.projector`, pixel distance);
prints one JSON line per run: PSNR of the projection, PSNR of the projected code rendered with
the generator's own noise maps instead of the optimized ones, PSNR of the w_avg image (the start),
mean per-row L2 distance of the projected W+ to the true one, the same for w_avg and for the
w of another z, the distance at the first and last step, and the seconds taken. Without
--model the generator is a randomly initialised tiny32 (seed 0). With --cli DIR the target
and the projections come from the user's commands, run in subprocesses with outputs in DIR:
`python -m kgan.stylegan generate MODEL --seeds S` and `... project MODEL DIR/seedS.png
--no-align --distance pixel [--w-plus]` (seconds then include each process's start-up).
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kgan.inference import read_image  # noqa: E402
from kgan.networks.stylegan2 import stylegan2_generator  # noqa: E402
from kgan.stylegan_tools import generator as sg  # noqa: E402
from kgan.stylegan_tools.projector import ProjectorConfig, project, psnr  # noqa: E402


def row_distance(a, b):
    return round(float(np.linalg.norm(a - b, axis=-1).mean()), 3)


def stylegan_cli(*argv):
    subprocess.run([sys.executable, "-m", "kgan.stylegan", *argv], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": ROOT})


def in_process_runs(g, seeds, steps):
    """(seed, w_plus, target, Projection-like (ws, image, distances), seconds) of each run."""
    for seed, target in zip(seeds, sg.synthesize(g, sg.map_latents(g, sg.seed_latents(seeds, g.z_dim)))):
        for w_plus in (False, True):
            began = time.time()
            result = project(g, target, ProjectorConfig(num_steps=steps, w_plus=w_plus), distance="pixel",
                             progress=False)
            yield seed, w_plus, target, (result.ws[0], result.image, result.distances), time.time() - began


def cli_runs(model, seeds, steps, out):
    """The same runs through `python -m kgan.stylegan generate` and `project`."""
    for seed in seeds:
        stylegan_cli("generate", model, "--seeds", str(seed), "--out", out)
        target = os.path.join(out, f"seed{seed:04d}.png")
        for w_plus in (False, True):
            began, folder = time.time(), os.path.join(out, f"seed{seed:04d}-{'wplus' if w_plus else 'w'}")
            stylegan_cli("project", model, target, "--no-align", "--distance", "pixel", "--steps", str(steps),
                         "--out", folder, *(["--w-plus"] if w_plus else []))
            space = "w_plus" if w_plus else "w"
            saved = np.load(os.path.join(folder, f"projected_{space}.npz"))
            image = read_image(os.path.join(folder, f"projected_{space}.png"))
            yield seed, w_plus, read_image(target), (saved["ws"][0], image, list(saved["distances"])), \
                time.time() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a MODEL for kgan.stylegan (default: random-init tiny32)")
    parser.add_argument("--seeds", default="100,101", help="seeds of the target images")
    parser.add_argument("--steps", type=int, default=1000, help="projection steps")
    parser.add_argument("--cli", metavar="DIR", help="run generate and project as the command-line tools, "
                        "writing to DIR (needs --model)")
    args = parser.parse_args()
    if args.cli and not args.model:
        parser.error("--cli needs --model")
    keras.utils.set_random_seed(0)
    g = sg.load_generator(args.model) if args.model else stylegan2_generator("tiny32")
    seeds = sg.parse_seeds(args.seeds)
    true_ws = dict(zip(seeds, sg.map_latents(g, sg.seed_latents(seeds, g.z_dim))))
    w_avg = np.broadcast_to(g.mapping.w_avg.numpy(), true_ws[seeds[0]].shape)
    other = sg.map_latents(g, sg.seed_latents([999], g.z_dim))[0]
    start = sg.synthesize(g, w_avg[None])[0]
    runs = (cli_runs(os.path.abspath(args.model), seeds, args.steps, os.path.abspath(args.cli)) if args.cli else
            in_process_runs(g, seeds, args.steps))
    for seed, w_plus, target, (ws, image, distances), seconds in runs:
        print(json.dumps(dict(seed=seed, space="W+" if w_plus else "W", steps=args.steps, seconds=round(seconds),
                              psnr=round(psnr(image, target), 2),
                              psnr_own_noise=round(psnr(sg.synthesize(g, ws[None])[0], target), 2),
                              psnr_w_avg_start=round(psnr(start, target), 2),
                              w_dist=row_distance(ws, true_ws[seed]), w_dist_w_avg=row_distance(w_avg, true_ws[seed]),
                              w_dist_other_z=row_distance(other, true_ws[seed]),
                              distance_first_last=[round(float(distances[0]), 4), round(float(distances[-1]), 4)])),
              flush=True)


if __name__ == "__main__":
    main()
