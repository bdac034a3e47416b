"""kgan.layers.BatchNormalization: Keras' batch norm with TF's fused kernel in training mode."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.layers import BatchNormalization, norm_layer


def pair(shape, **kwargs):
    """(Keras' layer, kgan's layer) built on `shape` with the same non-trivial weights."""
    layers = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, **kwargs), BatchNormalization(
        momentum=0.9, epsilon=1e-5, **kwargs)
    rng = np.random.default_rng(0)
    for layer in layers:
        layer.build(shape)
    for weights in zip(*(layer.weights for layer in layers)):
        value = rng.normal(1.0, 0.3, weights[0].shape).astype("float32")
        for weight in weights:
            weight.assign(np.abs(value))
    return layers


def step(layer, x, training=True, jit=False):
    """(output, d sum(output * x) / d (x, trainable weights), op types of the graph)."""

    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = tf.reduce_sum(tf.cast(y, "float32") * x)
        return y, tape.gradient(loss, [x] + layer.trainable_variables)

    function = tf.function(run, jit_compile=jit)
    ops = {op.type for op in function.get_concrete_function(x).graph.get_operations()}
    y, grads = function(x)
    return y, grads, ops


def assert_close(a, b, rtol):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert np.abs(a - b).max() <= rtol * max(1.0, np.abs(b).max()), (np.abs(a - b).max(), np.abs(b).max())


@pytest.mark.parametrize("shape,kwargs", [((8, 6, 5, 16), {}), ((1, 1, 1, 4), {}),
                                          ((4, 3, 3, 8), dict(center=False, scale=False))])
def test_training_step_equals_keras_batch_norm_and_runs_the_fused_kernel(shape, kwargs):
    reference, fused = pair(shape, **kwargs)
    x = tf.constant(np.random.default_rng(1).normal(2.0, 3.0, shape).astype("float32"))
    y_ref, grads_ref, ops_ref = step(reference, x)
    y, grads, ops = step(fused, x)
    assert "FusedBatchNormV3" in ops and "FusedBatchNormGradV3" in ops and "FusedBatchNormV3" not in ops_ref
    assert_close(y, y_ref, 1e-4)  # (x - mean) rounding, times 1 / sqrt(epsilon) = 316 where var is 0
    for g, g_ref in zip(grads, grads_ref):
        assert_close(g, g_ref, 1e-4)
    for name in ("moving_mean", "moving_variance"):
        assert_close(getattr(fused, name).numpy(), getattr(reference, name).numpy(), 1e-6)
    assert np.isfinite(fused.moving_variance.numpy()).all()


def test_under_xla_and_mixed_bfloat16_it_still_equals_keras():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        reference, fused = pair((4, 8, 8, 8))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    x = tf.constant(np.random.default_rng(2).normal(size=(4, 8, 8, 8)).astype("float32"))
    y_ref, grads_ref, _ = step(reference, x, jit=True)
    y, grads, _ = step(fused, x, jit=True)
    assert y.dtype == y_ref.dtype == tf.bfloat16
    assert_close(y, y_ref, 1e-2)
    for g, g_ref in zip(grads, grads_ref):
        assert_close(g, g_ref, 2e-2)
    assert_close(fused.moving_variance.numpy(), reference.moving_variance.numpy(), 1e-5)


def test_inference_and_synchronized_statistics_take_keras_call():
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 4, 4, 3)).astype("float32"))
    reference, fused = pair(x.shape)
    y_ref, _, _ = step(reference, x, training=False)
    y, _, ops = step(fused, x, training=False)
    assert "FusedBatchNormV3" not in ops
    np.testing.assert_array_equal(y.numpy(), y_ref.numpy())
    _, _, ops = step(BatchNormalization(synchronized=True), x)
    assert "FusedBatchNormV3" not in ops


def test_norm_layer_builds_it_and_it_serializes():
    layer = norm_layer("batch", name="bn")
    assert type(layer) is BatchNormalization and not layer.synchronized
    assert norm_layer("sync_batch").synchronized
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is BatchNormalization and restored.get_config() == layer.get_config()
