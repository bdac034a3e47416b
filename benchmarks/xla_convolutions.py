"""Why `--jit` is slower than graph mode on a CPU: DCGAN's convolutions alone, graph vs XLA.

    python benchmarks/xla_convolutions.py [--batch 64] [--repeats 10]

Times DCGAN's four D convolutions and four G transposed convolutions (seed 002, 64x64,
kernel 4, stride 2), each as forward + input gradient + weight gradient and nothing else,
as a `tf.function` and as a `tf.function(jit_compile=True)`: median of --repeats calls after
two warm-up calls (the XLA compile). Graph mode runs TF's oneDNN kernels; XLA lowers the
same ops to its own CPU convolutions (the optimized HLO holds plain `convolution`
instructions, no oneDNN custom call). Compare the table's total ratio with the whole
step's (`benchmarks/train_step.py --rows dcgan --jit on` against `--jit off`).
"""
import argparse
import time

import numpy as np
import tensorflow as tf

# (name, transposed, input size, input channels, output channels)
DCGAN_LAYERS = (
    ("D conv 3->64 64->32", False, 64, 3, 64),
    ("D conv 64->128 32->16", False, 32, 64, 128),
    ("D conv 128->256 16->8", False, 16, 128, 256),
    ("D conv 256->512 8->4", False, 8, 256, 512),
    ("G tconv 512->256 4->8", True, 4, 512, 256),
    ("G tconv 256->128 8->16", True, 8, 256, 128),
    ("G tconv 128->64 16->32", True, 16, 128, 64),
    ("G tconv 64->3 32->64", True, 32, 64, 3),
)


def layer_step(transposed, batch, size, cin, cout):
    """(step, input, forward FLOPs): step(x) -> (dL/dx, dL/dw) of L = sum(conv(x, w)^2)."""
    x = tf.random.stateless_normal([batch, size, size, cin], [0, 1])
    if transposed:
        w = tf.Variable(tf.random.stateless_normal([4, 4, cout, cin], [0, 2]) * 0.02)
        out = [batch, 2 * size, 2 * size, cout]

        def conv(x):
            return tf.nn.conv2d_transpose(x, w, out, 2, "SAME")

        flops = 2 * batch * size**2 * 16 * cin * cout
    else:
        w = tf.Variable(tf.random.stateless_normal([4, 4, cin, cout], [0, 2]) * 0.02)

        def conv(x):
            return tf.nn.conv2d(x, w, 2, "SAME")

        flops = 2 * batch * (size // 2) ** 2 * 16 * cin * cout

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = conv(x)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x, w])

    return step, x, flops


def median_seconds(fn, x, repeats):
    for _ in range(2):
        [t.numpy() for t in fn(x)]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        [t.numpy() for t in fn(x)]
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="batch size (DCGAN's: 64)")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per layer and mode")
    args = parser.parse_args(argv)
    print(f"{'layer (fwd + dx + dw)':24} {'graph ms':>9} {'XLA ms':>9} {'XLA/graph':>9} {'graph GFLOP/s':>13} "
          f"{'XLA GFLOP/s':>11}")
    totals = np.zeros(2)
    for name, transposed, size, cin, cout in DCGAN_LAYERS:
        step, x, flops = layer_step(transposed, args.batch, size, cin, cout)
        seconds = np.array([median_seconds(tf.function(step, jit_compile=jit), x, args.repeats)
                            for jit in (False, True)])
        totals += seconds
        graph, xla = seconds
        print(f"{name:24} {graph * 1e3:9.2f} {xla * 1e3:9.2f} {xla / graph:9.2f} {3 * flops / graph / 1e9:13.0f} "
              f"{3 * flops / xla / 1e9:11.0f}")
    print(f"{'all eight':24} {totals[0] * 1e3:9.2f} {totals[1] * 1e3:9.2f} {totals[1] / totals[0]:9.2f}")


if __name__ == "__main__":
    main()
