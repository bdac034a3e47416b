"""Train-step throughput of each system next to its PyTorch peer, in the same run.

    python benchmarks/train_step.py [--rows dcgan pix2pix_seed000 ...] [--steps 8] [--threads 1]
                                    [--precisions float32 mixed_bfloat16] [--jit off] [--onednn on]
                                    [--ops fused keras-adam]

Every row is one system at a seed size and, where a peer exists (benchmarks/peers.py), the
seed's own PyTorch training step with the same networks, batch, size and optimizer. For each
row and precision the peer and kgan alternate, each in its own process (so the peak RSS is
that row's alone), and the table prints:

- images/s of both (median step time after 2 warm-up steps, at most --steps timed steps or
  --budget seconds, whichever comes first, at least 2) and kgan / peer;
- GFLOP per step of both (kgan: the conv and matmul ops of the traced `train_step` graph,
  forward and backward, `flops.graph_flops`; the peer: `torch.utils.flop_counter` on one
  step), achieved GFLOP/s and its percent of this machine's peak (the best of TF's and
  PyTorch's large matmul at that dtype, measured at the start);
- peak RSS (MB) of each process, and above the process's RSS once its framework is loaded.

Precisions: float32 vs kgan `mixed_bfloat16` next to `torch.autocast("cpu", torch.bfloat16)`.
TF enables its oneDNN kernels by itself only on CPUs with AVX512-VNNI / BF16 / AMX; on others
(an AVX2-only CPU such as the AMD EPYC this was first measured on) it runs Eigen's, which
PyTorch (oneDNN everywhere) outruns 2-3x, so kgan sets TF_ENABLE_ONEDNN_OPTS=1 unless the
environment says otherwise (kgan/__init__.py): `--onednn off` measures TF's own fallback,
`on` / `default` kgan's.
Rows (see ROWS): pix2pix / CycleGAN with seed 000's networks (`unet_256_seed000`,
`resnet_9blocks_seed000`, `patch_seed000`), CycleGAN at 128x128; SRGAN's G-only pixel
step (64 -> 256: seed 001's upsample + conv, which kgan computes as the 2.25x cheaper
`NearestUpsampleConv2D`); StyleGAN2 main step only (R1 and path length off, style mixing
on); pix2pixHD at 512x256 and at 1024x512 (label2city_512p's size) without the VGG loss.
`srgan` (full step with VGG19 from random weights) and the other systems' seed defaults have
no peer: kgan's rows alone.
Without PyTorch the script says how to install it and prints kgan's rows alone.
"""
import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

INSTALL_TORCH = ('PyTorch peers skipped: torch is not installed (pip install -e ".[bench]"; on machines where '
                 'plain "torch" resolves to a CUDA build, first: pip install torch --index-url '
                 'https://download.pytorch.org/whl/cpu)')
SLOW_SYSTEMS = ("pix2pix", "cyclegan", "srgan", "pix2pixhd", "stylegan2")
WARMUP = 2
_NO_REGULARIZERS = dict(r1_gamma="0", pl_weight=0.0)


@dataclasses.dataclass(frozen=True)
class Row:
    system: str
    overrides: dict = dataclasses.field(default_factory=dict)
    vgg: bool = False  # the VGG19 content loss, from random weights (the same work, nothing to download)
    phase: str = "train"
    peer: str = None  # a name of peers.PEERS
    peer_kwargs: dict = dataclasses.field(default_factory=dict)


SEED000_TRANSLATION = dict(discriminator="patch_seed000")
PEER_ROWS = {
    "dcgan": Row("dcgan", peer="dcgan"),
    "pix2pix_seed000": Row("pix2pix", dict(generator="unet_256_seed000", **SEED000_TRANSLATION), peer="pix2pix"),
    "cyclegan_seed000_128": Row("cyclegan", dict(generator="resnet_9blocks_seed000", image_size=128,
                                                 **SEED000_TRANSLATION), peer="cyclegan", peer_kwargs=dict(size=128)),
    "srgan_g_pixel": Row("srgan", phase="pretrain", peer="srgan_g_pixel"),
    "stylegan2_tiny32": Row("stylegan2", dict(cfg="tiny32", **_NO_REGULARIZERS), peer="stylegan2",
                            peer_kwargs=dict(cfg="tiny32")),
    "stylegan2_tiny64": Row("stylegan2", dict(cfg="tiny64", **_NO_REGULARIZERS), peer="stylegan2",
                            peer_kwargs=dict(cfg="tiny64")),
    "stylegan2_paper256_b4": Row("stylegan2", dict(cfg="paper256", batch_size=4, **_NO_REGULARIZERS),
                                 peer="stylegan2", peer_kwargs=dict(cfg="paper256", batch=4)),
    "pix2pixhd_global_512": Row("pix2pixhd", dict(width=512, height=256, vgg_loss=False), peer="pix2pixhd_global"),
    "pix2pixhd_local_512": Row("pix2pixhd", dict(generator="local", ngf=32, width=512, height=256, vgg_loss=False)),
    "pix2pixhd_global_1024": Row("pix2pixhd", dict(width=1024, height=512, vgg_loss=False), peer="pix2pixhd_global",
                                 peer_kwargs=dict(width=1024, height=512)),
    "pix2pixhd_local_1024": Row("pix2pixhd", dict(generator="local", ngf=32, width=1024, height=512, vgg_loss=False)),
}
# The machinery's own check (tests/test_train_step_benchmark.py): a DCGAN step at batch 2.
TINY_ROWS = {"dcgan_b2": Row("dcgan", dict(batch_size=2), peer="dcgan", peer_kwargs=dict(batch=2))}
OTHER_ROWS = {
    "srgan": Row("srgan", vgg=True),
    "srgan_subpixel": Row("srgan", dict(upsample="subpixel"), vgg=True),
    "srgan_subpixel_g_pixel": Row("srgan", dict(upsample="subpixel"), phase="pretrain"),
    "gan": Row("gan"),
    "cgan": Row("cgan", dict(num_classes=2)),
    "pix2pix": Row("pix2pix"),
    "cyclegan": Row("cyclegan"),
    "siamese": Row("siamese"),
}
ROWS = {**PEER_ROWS, **OTHER_ROWS, **TINY_ROWS}


def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _Timer:
    """Step end times; asks to stop after `steps` timed steps or `budget` seconds (>= 2 steps)."""

    def __init__(self, steps, budget):
        self.steps, self.budget, self.times = steps, budget, []

    def tick(self):
        self.times.append(time.perf_counter())
        timed = len(self.times) - 1 - WARMUP
        elapsed = self.times[-1] - self.times[min(WARMUP, len(self.times) - 1)]
        return timed >= self.steps or (timed >= 2 and elapsed > self.budget)

    def median(self):
        import numpy as np

        return float(np.median(np.diff(self.times[WARMUP:])))


def timed_fit(model, dataset, steps, budget=float("inf")):
    """The `_Timer` of one `model.fit` on `dataset`: WARMUP steps, then `steps` timed steps (or
    `budget` seconds)."""
    import keras

    timer = _Timer(steps, budget)

    class Ticks(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            if timer.tick():
                self.model.stop_training = True

    model.fit(dataset, epochs=1, steps_per_epoch=WARMUP + 1 + steps, verbose=0, shuffle=False, callbacks=[Ticks()])
    return timer


# ---- children: one row, one implementation, one precision ----

def tf_threads(threads):
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _torch_threads(threads):
    if threads:
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)


def build_row(row, precision, jit):
    """(compiled model, synthetic batch, config) of a row, as the table times it."""
    import keras

    from kgan.cli import RunOptions
    from kgan.perceptual import vgg_feature_model
    from kgan.systems import SYSTEMS

    spec = ROWS[row]
    system = SYSTEMS[spec.system]
    fields = {f.name for f in dataclasses.fields(system.Config)}
    overrides = dict(spec.overrides)
    if "content_loss" in fields:
        overrides = {"content_loss": "pixel", **overrides}
    config = system.Config(precision=precision, **overrides)
    keras.mixed_precision.set_dtype_policy(precision)
    model = system.build(config)
    if spec.vgg:
        model.feature_model = vgg_feature_model(config.vgg_layer, weights=None)
    model.set_phase(spec.phase)
    system.compile(model, config, RunOptions(jit=jit), steps_per_epoch=1)
    return model, system.synthetic_batch(config), config


def kgan_child(row, precision, jit, steps, budget, count_flops, check_flops=False, threads=None, ops="fused"):
    import tensorflow as tf

    from flops import graph_flops, profiler_flops

    tf_threads(threads)
    if ops == "keras-adam":  # the same optimizer (config, variables) with Keras' own update ops
        import keras

        from kgan import optimizers

        optimizers.Adam.update_step = keras.optimizers.Adam.update_step
    base = current_rss_mb()
    model, batch, config = build_row(row, precision, jit)
    timer = timed_fit(model, tf.data.Dataset.from_tensors(batch).repeat(), steps, budget)
    result = dict(batch=config.batch_size, step_s=timer.median(), steps=len(timer.times) - 1 - WARMUP,
                  rss_mb=max_rss_mb(), base_mb=base)
    if count_flops:
        graph = tf.function(model.train_step).get_concrete_function(batch).graph
        result["flops"] = graph_flops(graph)
        result["fused_adam"] = any(op.type == "ResourceApplyAdam" for op in graph.get_operations())
        if check_flops:
            result["flops_unpruned"] = graph_flops(graph, prune=False)
            result["flops_profiler"] = profiler_flops(graph)
    return result


def peer_child(row, precision, steps, budget, count_flops, threads=None):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    _torch_threads(threads)

    from peers import PEERS

    base = current_rss_mb()
    spec = ROWS[row]
    torch.manual_seed(0)
    step, batch = PEERS[spec.peer](precision, **spec.peer_kwargs)
    timer = _Timer(steps, budget)
    timer.times.append(time.perf_counter())
    while True:
        step()
        if timer.tick():
            break
    result = dict(batch=batch, step_s=timer.median(), steps=len(timer.times) - 1 - WARMUP, rss_mb=max_rss_mb(),
                  base_mb=base, threads=torch.get_num_threads())
    if count_flops:
        counter = FlopCounterMode(display=False)
        with counter:
            step()
        result["flops"] = counter.get_total_flops()
    return result


def peak_child(size, torch_too, threads=None):
    import tensorflow as tf

    from flops import peak_gflops

    tf_threads(threads)

    result = {"tf_float32": peak_gflops(tf.float32, size), "tf_bfloat16": peak_gflops(tf.bfloat16, size)}
    if torch_too:
        import torch

        _torch_threads(threads)
        # bfloat16 at 512 once: on CPUs without AVX512-BF16 / AMX PyTorch's bf16 matmul is a
        # fallback kernel (0.3 GFLOP/s at 1024 here), minutes at 2048.
        for name, dtype, n, repeats in (("float32", torch.float32, size, 5), ("bfloat16", torch.bfloat16, 512, 1)):
            a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
            a @ b
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                a @ b
                best = min(best, time.perf_counter() - start)
            result[f"torch_{name}"] = 2 * n**3 / best / 1e9
    return result


def run_child(spec, onednn="default"):
    """Runs one child in a fresh process; its result dict (or {"error": last stderr line}).
    onednn "on" / "off": TF_ENABLE_ONEDNN_OPTS=1 / 0 in its environment."""
    command = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    env = dict(os.environ)
    if onednn != "default":
        env["TF_ENABLE_ONEDNN_OPTS"] = "1" if onednn == "on" else "0"
    process = subprocess.run(command, capture_output=True, text=True, env=env)
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    return {"error": lines[-1] if lines else f"exit {process.returncode}"}


def child_main(spec):
    kind = spec.pop("kind")
    result = {"kgan": kgan_child, "peer": peer_child, "peak": peak_child}[kind](**spec)
    print("RESULT " + json.dumps(result), flush=True)


# ---- the table ----

def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


HEADER = (f"{'row':22} {'precision':14} {'batch':>5} | {'peer img/s':>10} {'kgan img/s':>10} {'kgan/peer':>9} | "
          f"{'GFLOP/step':>15} | {'GFLOP/s (% of peak)':>25} | {'peak RSS MB (model)':>23}")
HEADER_NOTE = "    GFLOP/step, GFLOP/s and RSS: peer / kgan"


def _pair(peer, kgan, fmt):
    return f"{'-' if peer is None else fmt(peer)} / {'-' if kgan is None else fmt(kgan)}"


def format_row(row, precision, peer, kgan, flops, peak):
    """One table line from the children's results; flops: {"peer": .., "kgan": ..} per step."""
    def rate(result):
        return None if result is None else result["batch"] / result["step_s"]

    def achieved(result, key):
        if result is None or flops.get(key) is None:
            return None
        gflops = flops[key] / result["step_s"] / 1e9
        return f"{gflops:.0f} ({100 * gflops / peak:.0f}%)" if peak else f"{gflops:.0f}"

    def shown(value):  # slow rows (< 1 image/s) keep three significant digits
        return "-" if value is None else f"{value:.2f}" if value >= 1 else f"{value:.3g}"

    peer_rate, kgan_rate = rate(peer), rate(kgan)
    ratio = f"{kgan_rate / peer_rate:.2f}x" if peer_rate and kgan_rate else "-"
    batch = (kgan or peer)["batch"]
    gflop = _pair(flops.get("peer"), flops.get("kgan"), lambda f: f"{f / 1e9:.1f}")
    speed = f"{achieved(peer, 'peer') or '-'} / {achieved(kgan, 'kgan') or '-'}"
    rss = _pair(peer, kgan, lambda r: f"{r['rss_mb']:.0f} ({r['rss_mb'] - r['base_mb']:.0f})")
    return (f"{row:22} {precision:14} {batch:5d} | {shown(peer_rate):>10} {shown(kgan_rate):>10} {ratio:>9} | "
            f"{gflop:>15} | {speed:>25} | {rss:>23}")


def succeeded(label, precision, name, result, flops):
    """A child's result, or None after printing why it failed; its FLOP count goes to flops[name]."""
    if "error" in result:
        print(f"{label:22} {precision:14} {name} failed: {result['error']}", flush=True)
        return None
    if "flops" in result:
        flops[name] = result["flops"]
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=list(PEER_ROWS), choices=list(ROWS), help="rows to time")
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=["float32", "mixed_bfloat16"], help="dtype policies (peer: bf16 autocast)")
    parser.add_argument("--peer-precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=["float32", "mixed_bfloat16"], help="precisions the peers run at (PyTorch's bf16 "
                        "autocast needs AVX512-BF16 or AMX to be fast on a CPU)")
    parser.add_argument("--jit", choices=["off", "on"], default="off", help="kgan with XLA (peers: eager)")
    parser.add_argument("--ops", nargs="+", default=["fused"], choices=["fused", "keras-adam"],
                        help="kgan's Adam update: TF's fused ResourceApplyAdam kernel (kgan.optimizers.Adam) or "
                        "Keras' element-wise ops (keras-adam); both: each row once with each, alternating (a "
                        "before/after in one run)")
    parser.add_argument("--steps", type=int, default=8, help="at most this many timed steps per row")
    parser.add_argument("--budget", type=float, default=20.0, help="... or this many seconds of timed steps")
    parser.add_argument("--peak-size", type=int, default=2048, help="side of the matmul timed for the peak")
    parser.add_argument("--threads", type=int, help="threads of both frameworks (TF intra- and inter-op, torch "
                        "set_num_threads); default: each framework's own (one per core)")
    parser.add_argument("--onednn", choices=["default", "on", "off"], default="default",
                        help="TF's oneDNN kernels (TF_ENABLE_ONEDNN_OPTS; default: kgan's, on): TF turns them on by itself "
                        "only on CPUs with AVX512-VNNI / BF16 / AMX; on an AVX2-only CPU 'off' made the DCGAN step "
                        "3.2x slower")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(json.loads(args.child))

    with_torch = torch_available()
    if not with_torch:
        print(INSTALL_TORCH)
    print(f"load average at start: {load()}; threads: {args.threads or 'framework default'}; "
          f"TF oneDNN: {args.onednn}")
    peak = run_child(dict(kind="peak", size=args.peak_size, torch_too=with_torch, threads=args.threads), args.onednn)
    if "error" in peak:
        sys.exit(f"train_step: the peak matmul failed: {peak['error']}")
    peaks = {p: max(v for k, v in peak.items() if k.endswith(p.replace("mixed_", ""))) for p in args.precisions}
    print("peak matmul GFLOP/s (%d^2): " % args.peak_size + ", ".join(f"{k} {v:.0f}" for k, v in peak.items()))
    print(HEADER)
    print(HEADER_NOTE)
    for row in args.rows:
        spec = ROWS[row]
        flops = {}
        for i, precision in enumerate(args.precisions):
            common = dict(row=row, precision=precision, steps=args.steps, budget=args.budget, count_flops=i == 0,
                          threads=args.threads)
            peer = None
            if spec.peer and with_torch and precision in args.peer_precisions:
                peer = succeeded(row, precision, "peer", run_child(dict(kind="peer", **common)), flops)
            for ops in args.ops:
                kgan = run_child(dict(kind="kgan", jit=args.jit == "on", ops=ops,
                                      check_flops=i == 0 and row == args.rows[0] and ops == args.ops[0],
                                      **common), args.onednn)
                if "flops_profiler" in kgan:
                    print(f"FLOP count check ({row}): all conv/matmul ops of the step graph "
                          f"{kgan['flops_unpruned']:,}, tf.compat.v1.profiler {kgan['flops_profiler']:,} (its "
                          f"Conv2DBackpropInput count is output size / stride^2, more than a 'valid' transposed conv "
                          f"does); the ops that run (unused backprops pruned) {kgan['flops']:,}", flush=True)
                label = row if ops == "fused" else f"{row} {ops}"
                kgan = succeeded(label, precision, "kgan", kgan, flops)
                if peer or kgan:
                    print(format_row(label, precision, peer, kgan, flops, peaks[precision]), flush=True)
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
