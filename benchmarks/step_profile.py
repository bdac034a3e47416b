"""Where a benchmark row's train step spends its time: TF op types by total time.

    python benchmarks/step_profile.py --row cyclegan_seed000_128 [--precision mixed_bfloat16] [--steps 3] [--top 25]

Builds the row as `benchmarks/train_step.py` times it (same config, synthetic batch), runs
2 warm-up steps, then traces --steps steps with the TF profiler and reads the trace
(`.xplane.pb`) itself, so no profiler plugin is needed. Each TF op event of the executor's
threads is "name:Type"; the table sums their durations per type (kernels of TF's oneDNN
path show as `_MklNative...` / `_MklFused...` / `_FusedConv2D`, Eigen's under their plain
names) and prints each type's share of the summed op time, its count per step, and the
step's wall time. Ops of the two inter-op threads can overlap, so the summed op time may
exceed the wall time; the shares stay comparable between rows and precisions.
"""
import argparse
import collections
import glob
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from train_step import ROWS, build_row  # noqa: E402


def op_times(xplane_path):
    """{op type: (total seconds, count)} over the TF op events of a trace's host plane."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as f:
        space.ParseFromString(f.read())
    totals = collections.defaultdict(lambda: [0.0, 0])
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or "::" in name:
                    continue
                op_type = name.rsplit(":", 1)[1]
                totals[op_type][0] += event.duration_ps * 1e-12
                totals[op_type][1] += 1
    return {op: tuple(v) for op, v in totals.items()}


def profile_row(row, precision, steps, jit=False):
    """(op_times of `steps` traced steps, wall seconds per traced step) of a benchmark row."""
    import tensorflow as tf

    model, batch, _ = build_row(row, precision, jit)
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        wall = (time.perf_counter() - start) / steps
        tf.profiler.experimental.stop()
        path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[-1]
        return op_times(path), wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--row", required=True, choices=list(ROWS), help="a row of benchmarks/train_step.py")
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"],
                        help="Keras dtype policy")
    parser.add_argument("--steps", type=int, default=3, help="traced steps (after 2 warm-up steps)")
    parser.add_argument("--top", type=int, default=25, help="op types to print, by total time")
    args = parser.parse_args(argv)
    times, wall = profile_row(args.row, args.precision, args.steps)
    total = sum(seconds for seconds, _ in times.values())
    print(f"{args.row} {args.precision}: {wall:.3f} s per step (wall, traced), summed op time "
          f"{total / args.steps:.3f} s per step")
    print(f"{'op type':36} {'s/step':>8} {'share':>6} {'count/step':>10}")
    for op, (seconds, count) in sorted(times.items(), key=lambda item: -item[1][0])[:args.top]:
        print(f"{op:36} {seconds / args.steps:8.4f} {100 * seconds / total:5.1f}% {count / args.steps:10.1f}")


if __name__ == "__main__":
    main()
