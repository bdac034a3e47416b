"""Projection recovers images a generator made itself (issue 13's must-show).

    nice -n 10 python benchmarks/stylegan_projection.py --seeds 100,101 --steps 1000 [--model G.keras]

For each seed: the image of z = RandomState(seed).randn (psi 1, const noise) is projected
into W and into W+ with the NVlabs schedule (`kgan.stylegan_tools.projector`, pixel distance);
prints one JSON line per run: PSNR of the projection, PSNR of the w_avg image (the start),
mean per-row L2 distance of the projected W+ to the true one, the same for w_avg and for the
w of another z, the distance at the first and last step, and the seconds taken. Without
--model the generator is a randomly initialised tiny32 (seed 0).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kgan.networks.stylegan2 import stylegan2_generator  # noqa: E402
from kgan.stylegan_tools import generator as sg  # noqa: E402
from kgan.stylegan_tools.projector import ProjectorConfig, project, psnr  # noqa: E402


def row_distance(a, b):
    return round(float(np.linalg.norm(a - b, axis=-1).mean()), 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a MODEL for kgan.stylegan (default: random-init tiny32)")
    parser.add_argument("--seeds", default="100,101", help="seeds of the target images")
    parser.add_argument("--steps", type=int, default=1000, help="projection steps")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    g = sg.load_generator(args.model) if args.model else stylegan2_generator("tiny32")
    seeds = sg.parse_seeds(args.seeds)
    true_ws = sg.map_latents(g, sg.seed_latents(seeds, g.z_dim))
    w_avg = np.broadcast_to(g.mapping.w_avg.numpy(), true_ws[0].shape)
    other = sg.map_latents(g, sg.seed_latents([999], g.z_dim))[0]
    start = sg.synthesize(g, w_avg[None])[0]
    for seed, ws, target in zip(seeds, true_ws, sg.synthesize(g, true_ws)):
        for w_plus in (False, True):
            began = time.time()
            result = project(g, target, ProjectorConfig(num_steps=args.steps, w_plus=w_plus), distance="pixel",
                             progress=False)
            print(json.dumps(dict(seed=seed, space="W+" if w_plus else "W", steps=args.steps,
                                  seconds=round(time.time() - began), psnr=round(psnr(result.image, target), 2),
                                  psnr_w_avg_start=round(psnr(start, target), 2),
                                  w_dist=row_distance(result.ws[0], ws), w_dist_w_avg=row_distance(w_avg, ws),
                                  w_dist_other_z=row_distance(other, ws),
                                  distance_first_last=[round(result.distances[0], 4),
                                                       round(result.distances[-1], 4)])), flush=True)


if __name__ == "__main__":
    main()
