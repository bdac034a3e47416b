"""Does the input pipeline keep up with training? pix2pix at 256x256, batch 1.

    python benchmarks/input_wait.py [--steps 30]

For each pipeline (edges + color hints from photo files, the heaviest; pix2pix A|B files),
times `fit` train steps fed by the real pipeline and by one batch repeated from memory.
The difference of the median step times is the time lost to input, including the CPU
the pipeline takes from training on a 2-core machine; the table gives it as a share of
the real step.
"""
import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data_pipelines import write_files  # noqa: E402
from train_step import timed_fit  # noqa: E402

from kgan.cli import RunOptions  # noqa: E402
from kgan.systems import SYSTEMS  # noqa: E402
from pipelines.batches import edges2shoes_batches, paired_batches  # noqa: E402
from pipelines.sources import ab_folder_source, folder_source  # noqa: E402


def median_step(dataset, steps):
    system = SYSTEMS["pix2pix"]
    config = system.Config()
    model = system.build(config)
    system.compile(model, config, RunOptions(), steps_per_epoch=1)
    return timed_fit(model, dataset, steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    parser.add_argument("--images", type=int, default=16, help="image files written for the pipelines")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="kgan-input-wait-")
    write_files(root, args.images)
    pipelines = {
        "edges + hints from photo files": edges2shoes_batches(folder_source(os.path.join(root, "photos")), 1),
        "A|B files, 286 -> 256 jitter": paired_batches(ab_folder_source(os.path.join(root, "ab")), 1),
    }
    print(f"{'pipeline':32} {'real step s':>12} {'memory step s':>14} {'input share':>12}")
    for name, dataset in pipelines.items():
        real = median_step(dataset, args.steps)
        memory = median_step(dataset.take(1).cache().repeat(), args.steps)
        print(f"{name:32} {real:12.3f} {memory:14.3f} {max(0.0, real - memory) / real:12.1%}", flush=True)


if __name__ == "__main__":
    main()
