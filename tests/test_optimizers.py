"""kgan.optimizers.Adam: Keras Adam's rule through TF's fused ResourceApplyAdam kernel."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.optimizers import Adam

SHAPES = [(3, 3, 4, 8), (8,), (8, 5), (5,)]


def network():
    """A conv and a dense layer: the weights of SHAPES (created as a model's are, so that a
    strategy mirrors them)."""
    return keras.Sequential([keras.Input((6, 6, 4)), keras.layers.Conv2D(8, 3), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(5)])


def run_steps(optimizer_class, strategy=None, steps=4, **kwargs):
    """The variables after `steps` updates with fixed random gradients; the graph of one step."""
    rng = np.random.default_rng(0)
    initial = [rng.normal(size=s).astype("float32") for s in SHAPES]
    gradients = [[tf.constant(rng.normal(size=s).astype("float32")) for s in SHAPES] for _ in range(steps)]
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        variables = network().trainable_variables
        for variable, value in zip(variables, initial):
            variable.assign(value)
        optimizer = optimizer_class(1e-2, beta_1=0.5, beta_2=0.99, epsilon=1e-7, **kwargs)
        optimizer.build(variables)

    @tf.function
    def step(grads):  # each replica's share: the replicas' gradients are summed
        share = strategy.experimental_distribute_values_from_function(
            lambda context: [g / strategy.num_replicas_in_sync for g in grads])
        strategy.run(lambda g: optimizer.apply(g, variables), args=(share,))

    for grads in gradients:
        step(grads)
    ops = {op.type for op in step.get_concrete_function(gradients[0]).graph.get_operations()}
    return [v.numpy() for v in variables], initial, ops, optimizer


def test_fused_update_equals_keras_adam_to_float32_rounding_and_uses_the_fused_kernel():
    keras_values, initial, keras_ops, _ = run_steps(keras.optimizers.Adam)
    fused_values, _, fused_ops, optimizer = run_steps(Adam)
    for k, f, x in zip(keras_values, fused_values, initial):
        assert np.abs(k - x).max() > 1e-2  # the steps moved the weights
        np.testing.assert_allclose(f, k, rtol=0, atol=1e-6)
    assert "ResourceApplyAdam" in fused_ops and "ResourceApplyAdam" not in keras_ops
    assert int(optimizer.iterations) == 4


def test_fused_update_under_a_mirrored_strategy_equals_one_device(mirrored):
    single, _, _, _ = run_steps(Adam)
    replicated, _, _, _ = run_steps(Adam, mirrored)
    for a, b in zip(single, replicated):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)


def test_amsgrad_takes_keras_update():
    keras_values, _, _, _ = run_steps(keras.optimizers.Adam, amsgrad=True)
    values, _, ops, _ = run_steps(Adam, amsgrad=True)
    assert "ResourceApplyAdam" not in ops
    for k, v in zip(keras_values, values):
        np.testing.assert_array_equal(v, k)


def test_config_and_serialization_round_trip():
    optimizer = Adam(3e-4, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is Adam
    assert restored.get_config() == optimizer.get_config()
    assert optimizer.get_config() == {**keras.optimizers.Adam(3e-4, beta_1=0.0, beta_2=0.99,
                                                              epsilon=1e-8).get_config(), "name": "adam"}


@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_a_layer_trains_with_it_in_either_precision(dtype):
    keras.mixed_precision.set_dtype_policy(dtype)
    try:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(Adam(0.05), "mse")
        x = np.random.default_rng(1).normal(size=(256, 4)).astype("float32")
        y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
        history = model.fit(x, y, epochs=30, batch_size=64, verbose=0).history["loss"]
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert history[-1] < 0.02 * history[0]


def test_a_schedule_keeps_the_variable_layout_of_a_constant_rate():
    """Variable 1 is the rate in both (a placeholder under a schedule), so the slots'
    checkpoint keys (`_variables/N`) do not depend on --epochs-decay."""
    from kgan.schedules import LinearDecay

    variables = network().trainable_variables
    layouts = []
    for rate in (2e-4, LinearDecay(2e-4, steps_per_epoch=1, constant_epochs=1, decay_epochs=1)):
        optimizer = Adam(rate)
        optimizer.build(variables)
        layouts.append([(v.name, tuple(v.shape)) for v in optimizer.variables])
    assert layouts[0] == layouts[1]
    assert layouts[0][:2] == [("iteration", ()), ("learning_rate", ())]
    assert layouts[0][2][0].endswith("kernel_momentum") and layouts[0][2][1] == SHAPES[0]
