"""Optimizers of the training steps."""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kgan")
class Adam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose update of each dense variable is TensorFlow's fused
    `ResourceApplyAdam` kernel: one pass over the variable and its two moments instead of
    Keras' eleven element-wise ops (one read and write of the tensor each).

    The rule is Keras' (Kingma & Ba 2015, Algorithm 1 with the "epsilon hat" of section 2:
    lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), var -= lr_t * m_t / (sqrt(v_t) + eps)),
    with the moments summed in the other order (beta_1 * m + (1 - beta_1) * g instead of
    m + (g - m) * (1 - beta_1)), so values agree to float32 rounding. The variables, their
    checkpoint keys and the config are Keras Adam's with a constant rate, whether the rate
    is constant or a schedule (so a run resumes under another schedule). amsgrad and sparse
    (IndexedSlices) gradients take Keras' own update.
    It matters where the weights are many and the batch small: a batch-1 pix2pix step (54.5M
    weights) ran 1.11-1.16x faster with it in four runs (README, Speed:
    benchmarks/train_step.py --ops fused keras-adam)."""

    def __init__(self, learning_rate=0.001, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(self._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            # Keras keeps a constant rate as variable 1 (after the iteration count) and a
            # schedule as no variable, so the slots' checkpoint keys (`_variables/N`) would
            # shift between the two and a run could not resume under another schedule
            # (`--epochs-decay` added or dropped). This variable holds that place; the
            # schedule alone sets the rate.
            with keras.name_scope(self.name, caller=self):
                self._schedule_placeholder = keras.Variable(
                    float(self._learning_rate(0)), name="learning_rate", dtype=keras.backend.floatx(),
                    trainable=False, aggregation="only_first_replica")  # tracked as it is set

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]), v=_handle(self._velocities[index]),
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype), beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))


def _handle(variable):
    """The resource handle of a Keras or tf.Variable (under tf.distribute's update, the
    current device's copy)."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


def layout_before_schedule_placeholder(optimizer):
    """`optimizer` as kgan's checkpoints laid it out before Adam's schedule placeholder (a
    scheduled Adam had no variable 1): a view of the same variables that a
    `tf.train.Checkpoint` restores those runs into. Anything else is returned as it is."""
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer
    placeholder = getattr(optimizer, "_schedule_placeholder", None)
    view = tf.Module()
    for name, child in optimizer._trackable_children().items():
        if name == "_schedule_placeholder":
            continue
        if name == "_variables":
            child = [variable for variable in child if variable is not placeholder]
        elif name == "inner_optimizer":  # a LossScaleOptimizer's
            child = layout_before_schedule_placeholder(child)
        setattr(view, name, child)
    return view
