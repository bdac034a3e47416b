"""benchmarks/train_step.py's machinery: FLOP counts against a hand count, the table, and one
child process on the tiny row (kgan's always; the PyTorch peer's when torch is installed)."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import flops  # noqa: E402
import train_step  # noqa: E402


def small_net():
    """(B, 8, 8, 3) -> conv 3x3 4 (stride 2, same) -> transposed conv 4x4 2 (stride 2) -> dense 5."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(inputs)
    x = keras.layers.Conv2DTranspose(2, 4, strides=2, padding="same")(x)
    return keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(x)))


# Multiply-adds per sample, by hand: conv 4x4x4 outputs x 3x3x3 taps; transposed conv 4x4x4
# inputs x 4x4x2 scatters; dense 8*8*2 inputs x 5.
CONV, TRANSPOSED, DENSE = 4 * 4 * 4 * 27, 4 * 4 * 4 * 32, 128 * 5


def test_layer_and_graph_flops_equal_the_hand_count():
    model = small_net()
    assert flops.layer_flops(model) == 2 * (CONV + TRANSPOSED + DENSE)
    graph = tf.function(model).get_concrete_function(tf.TensorSpec((3, 8, 8, 3))).graph
    by_type = {}
    assert flops.graph_flops(graph, by_type) == 3 * 2 * (CONV + TRANSPOSED + DENSE)
    assert by_type == {"Conv2D": 3 * 2 * CONV, "Conv2DBackpropInput": 3 * 2 * TRANSPOSED, "MatMul": 3 * 2 * DENSE}
    assert flops.profiler_flops(graph) == 3 * 2 * (CONV + TRANSPOSED + DENSE)


def test_a_training_step_counts_forward_and_both_backward_products():
    """Gradients to the weights of all three layers and to the inputs of the last two: 2 x
    forward for those, 1 x for the first layer's (its input gradient is emitted but pruned:
    nothing uses it)."""
    model = small_net()
    x = tf.zeros((3, 8, 8, 3))

    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x))
        return loss, tape.gradient(loss, model.trainable_variables)

    graph = tf.function(step).get_concrete_function(x).graph
    forward = 3 * 2 * (CONV + TRANSPOSED + DENSE)
    assert flops.graph_flops(graph) == 3 * forward - 3 * 2 * CONV


def test_format_row_prints_ratio_utilization_and_rss():
    peer = dict(batch=4, step_s=2.0, rss_mb=500.0, base_mb=300.0)
    kgan = dict(batch=4, step_s=1.0, rss_mb=900.0, base_mb=600.0)
    line = train_step.format_row("dcgan", "float32", peer, kgan, {"peer": 200e9, "kgan": 100e9}, peak=400.0)
    assert "2.00" in line and "4.00" in line and "2.00x" in line
    assert "200.0 / 100.0" in line and "100 (25%) / 100 (25%)" in line and "500 (200) / 900 (300)" in line
    alone = train_step.format_row("gan", "float32", None, kgan, {"kgan": 100e9}, peak=None)
    assert "- / 100" in alone and "- / 900 (300)" in alone
    slow = train_step.format_row("pix2pixhd", "float32", None, dict(kgan, batch=1, step_s=24.3), {}, peak=None)
    assert " 0.0412 " in slow


def _child(spec):
    process = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "train_step.py"), "--child",
                              json.dumps(spec)], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": ROOT})
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    assert process.returncode == 0 and len(lines) == 1, process.stderr[-2000:]
    return json.loads(lines[0][len("RESULT "):])


def test_kgan_child_times_the_tiny_row_and_counts_its_flops():
    result = _child(dict(kind="kgan", row="dcgan_b2", precision="float32", jit=False, steps=3, budget=60.0,
                         count_flops=True))
    assert result["batch"] == 2 and result["steps"] == 3 and result["step_s"] > 0
    assert result["rss_mb"] > result["base_mb"] > 0
    # DCGAN at 64x64: G ~0.21 and D ~0.21 GFLOP forward per image; the step is ~12 of those.
    assert 2 * 12 * 0.19e9 < result["flops"] < 2 * 12 * 0.23e9
    assert result["fused_adam"]


def test_ops_keras_adam_times_the_row_with_keras_update_ops():
    """The default (the fused update) is the test above's child."""
    result = _child(dict(kind="kgan", row="dcgan_b2", precision="float32", jit=False, steps=2, budget=60.0,
                         count_flops=True, ops="keras-adam"))
    assert not result["fused_adam"] and result["steps"] == 2
    assert 2 * 12 * 0.19e9 < result["flops"] < 2 * 12 * 0.23e9


def test_peer_child_runs_the_tiny_row_when_torch_is_installed():
    pytest.importorskip("torch", reason="the PyTorch peers need torch (pip install -e '.[bench]')")
    result = train_step.peer_child("dcgan_b2", "float32", steps=3, budget=60.0, count_flops=True, threads=1)
    assert result["batch"] == 2 and result["steps"] == 3 and result["step_s"] > 0
    assert 2 * 12 * 0.19e9 < result["flops"] < 2 * 14 * 0.23e9


def test_without_torch_the_table_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert not train_step.torch_available()
    assert 'pip install -e ".[bench]"' in train_step.INSTALL_TORCH
    assert np.isfinite(flops.peak_gflops(tf.float32, size=64, repeats=1))
