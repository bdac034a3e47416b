"""Where a train_step.py row's step time goes: the TF profiler trace of one step, by op type.

    python benchmarks/profile_step.py ROW [--precision float32] [--threads 1] [--logdir DIR]

Builds the row as benchmarks/train_step.py does, runs 3 warm-up steps, traces one step with
`tf.profiler.experimental` (the trace stays in --logdir for TensorBoard's profile plugin)
and prints the op types by their share of the step's device self-time (the profiler's
framework_op_stats), with the FLOPs of the conv / matmul types from the traced graph.
"""
import argparse
import csv
import glob
import io
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from train_step import ROWS, build_row, tf_threads  # noqa: E402


def op_type_times(xspace_path):
    """{op type: self-time in microseconds} of the host ops in one trace."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin

    data, ok = _pywrap_profiler_plugin.xspace_to_tools_data([xspace_path], "framework_op_stats", {"tqx": "out:csv"})
    if not ok:
        raise RuntimeError(f"the profiler could not read {xspace_path}")
    data = data.decode() if isinstance(data, bytes) else data
    times = {}
    for record in csv.DictReader(io.StringIO(data)):
        if record.get("Host/device", "Host") not in ("Host", "Device") or record.get("Type") in (None, "IDLE"):
            continue
        times[record["Type"]] = times.get(record["Type"], 0.0) + float(record["Total self-time (us)"])
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", choices=list(ROWS))
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--threads", type=int)
    parser.add_argument("--logdir", default=None, help="where the trace is written (default: a temporary folder)")
    parser.add_argument("--top", type=int, default=15, help="op types printed")
    args = parser.parse_args()
    tf_threads(args.threads)
    import tensorflow as tf

    from flops import graph_flops

    model, batch, _ = build_row(args.row, args.precision, jit=False)
    dataset = iter(tf.data.Dataset.from_tensors(batch).repeat())
    model.make_train_function()
    for _ in range(3):
        model.train_function(dataset)
    logdir = args.logdir or tempfile.mkdtemp(prefix="kgan_profile_")
    tf.profiler.experimental.start(logdir)
    with tf.profiler.experimental.Trace("train", step_num=0, _r=1):
        model.train_function(dataset)
    tf.profiler.experimental.stop()
    xspace = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))[-1]
    times = op_type_times(xspace)
    by_type = {}
    graph_flops(tf.function(model.train_step).get_concrete_function(batch).graph, by_type)
    total = sum(times.values())
    print(f"{args.row} {args.precision}: {total / 1e6:.2f} s of op self-time in the traced step; trace: {logdir}")
    print(f"{'op type':32} {'time %':>7} {'ms':>9} {'GFLOP':>8} {'GFLOP/s':>8}")
    for name, us in sorted(times.items(), key=lambda item: -item[1])[:args.top]:
        gflop = by_type.get(name, 0) / 1e9
        flops = f"{gflop:8.1f} {gflop / (us / 1e6):8.1f}" if gflop else ""
        print(f"{name:32} {100 * us / total:7.1f} {us / 1e3:9.1f} {flops}")
    print(json.dumps({"row": args.row, "precision": args.precision, "op_self_time_us": times}))


if __name__ == "__main__":
    main()
