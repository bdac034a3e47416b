"""FLOPs of a training step and this machine's peak, for benchmarks/train_step.py.

- `graph_flops(graph)`: FLOPs of the convolutions and matrix products of a traced TF graph
  that run (forward and backward ops, the bodies of nested functions included; ops no output
  depends on are pruned, as the runtime does), counted per op from its static shapes: 2 x
  multiply-adds. Element-wise ops, normalization and the optimizer
  update are left out (a few percent of a conv net's step).
- `layer_flops(model)`: the same count for one forward pass, per Keras layer (Conv2D,
  Conv2DTranspose, Dense, nested models) from the layers' configs and output shapes: the
  analytic count the graph count is checked against.
- `profiler_flops(graph)`: `tf.compat.v1.profiler`'s float_ops over the same op types, a
  second, independent check.
- `peak_gflops(dtype)`: a large matmul's GFLOP/s in TF (float32 or bfloat16).
"""
import time

import numpy as np

# Op types counted, and how: the output's multiply-adds per element come from the filter or the
# contracted axis.
CONV_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNative",
            "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter")
MATMUL_OPS = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
COUNTED_OPS = CONV_OPS + MATMUL_OPS


def _shape(tensor):
    shape = tensor.shape
    if shape.rank is None or not shape.is_fully_defined():
        raise ValueError(f"{tensor.name}: shape {shape} is not static; trace the step with a fixed batch")
    return [int(d) for d in shape]


def _filter_shape(op, index):
    """The filter's (kh, kw, in, out) shape: the op input itself, or the constant sizes
    input of a backprop-to-filter op (its output)."""
    if op.type.endswith("BackpropFilter"):
        return _shape(op.outputs[0])
    return _shape(op.inputs[index])


def op_flops(op):
    """2 x multiply-adds of one conv / matmul op (0 for other op types)."""
    if op.type in ("Conv2D", "DepthwiseConv2dNative"):
        kh, kw, cin, mult = _shape(op.inputs[1])
        out = np.prod(_shape(op.outputs[0]))
        return 2 * out * kh * kw * (cin if op.type == "Conv2D" else 1)
    if op.type in ("Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput",
                   "DepthwiseConv2dNativeBackpropFilter"):
        kh, kw, cin, cout = _filter_shape(op, 1)
        out_backprop = np.prod(_shape(op.inputs[2]))  # (N, Ho, Wo, cout or cin * mult)
        if op.type.startswith("Depthwise"):
            return 2 * out_backprop * kh * kw
        return 2 * out_backprop * kh * kw * cin
    if op.type == "MatMul":
        a = _shape(op.inputs[0])
        k = a[0] if op.get_attr("transpose_a") else a[1]
        return 2 * np.prod(_shape(op.outputs[0])) * k
    if op.type in MATMUL_OPS:
        a = _shape(op.inputs[0])
        adj = op.get_attr("adj_x")
        k = a[-2] if adj else a[-1]
        return 2 * np.prod(_shape(op.outputs[0])) * k
    return 0


def _function_graphs(op):
    """Graphs of the functions an op calls (PartitionedCall, If, While, ...)."""
    graphs = []
    for name, value in op.node_def.attr.items():
        names = [value.func.name] if value.HasField("func") else [f.name for f in value.list.func]
        for fname in names:
            if fname:
                graphs.append((name, op.graph._get_function(fname).graph))
    return graphs


def _live_ops(graph):
    """The ops the runtime executes: those the graph's outputs and control outputs (the
    variable updates) depend on. A gradient function emits both backprop convs of an op even
    when only one is needed (the filter gradient of D's convs in G's step, the input gradient
    of a first layer); the unused one is pruned before the step runs."""
    roots = [t.op for t in graph.outputs] + list(graph.control_outputs)
    if not roots:
        return graph.get_operations()
    live, stack = set(), list(roots)
    while stack:
        op = stack.pop()
        if op in live:
            continue
        live.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return [op for op in graph.get_operations() if op in live]


def graph_flops(graph, by_type=None, prune=True):
    """FLOPs of the counted ops of `graph` that run (`_live_ops`; prune False: all of them,
    as the profiler counts) and of the functions they call (of an If: the costlier branch).
    by_type: a dict to accumulate FLOPs per op type into."""
    total = 0
    for op in _live_ops(graph) if prune else graph.get_operations():
        flops = int(op_flops(op))
        if flops and by_type is not None:
            by_type[op.type] = by_type.get(op.type, 0) + flops
        total += flops
        branches = _function_graphs(op)
        if op.type in ("If", "StatelessIf", "Case", "StatelessCase"):
            costs = [graph_flops(g, prune=prune) for _, g in branches]
            total += max(costs, default=0)
        else:
            total += sum(graph_flops(g, by_type, prune) for _, g in branches)
    return total


def profiler_flops(graph):
    """tf.compat.v1.profiler float_ops of the counted op types in `graph` (top level only)."""
    import tensorflow as tf

    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["account_type_regexes"] = [f"^{name}$" for name in COUNTED_OPS]
    options["output"] = "none"
    return int(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)


def layer_flops(model):
    """2 x multiply-adds of one forward pass of `model`, layer by layer (Conv2D,
    Conv2DTranspose, Dense; nested models recursively), from each layer's kernel and output
    shape (its last call). Raises TypeError for any other layer with a kernel."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += layer_flops(layer)
            continue
        if not hasattr(layer, "kernel"):
            continue
        kernel = [int(d) for d in layer.kernel.shape]
        out = int(np.prod([d for d in layer.output.shape[1:]]))
        batch = 1
        if isinstance(layer, keras.layers.Conv2DTranspose):
            # Each input pixel scatters kh x kw x out_channels products (kernel kh, kw, O, I).
            inputs = int(np.prod(layer.input.shape[1:]))
            total += 2 * batch * inputs * kernel[0] * kernel[1] * kernel[2]
        elif isinstance(layer, keras.layers.Conv2D):
            total += 2 * batch * out * kernel[0] * kernel[1] * kernel[2]
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * batch * out * kernel[0]
        else:
            raise TypeError(f"no FLOP formula for layer {layer.name!r} ({type(layer).__name__})")
    return total


def peak_gflops(dtype, size=2048, repeats=5):
    """Best GFLOP/s of a (size x size) @ (size x size) matmul in TF, eager, `repeats` runs."""
    import tensorflow as tf

    a = tf.random.stateless_uniform((size, size), [0, 1], dtype=tf.float32)
    a = tf.cast(a, dtype)
    b = tf.cast(tf.random.stateless_uniform((size, size), [0, 2], dtype=tf.float32), dtype)
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y)[:1, :1], tf.float32)))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
