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
    checkpoint keys and the config are Keras Adam's. amsgrad and sparse (IndexedSlices)
    gradients take Keras' own update.
    It matters where the weights are many and the batch small: a batch-1 pix2pix step (54.5M
    weights) ran 1.11-1.16x faster with it in four runs (README, Speed:
    benchmarks/train_step.py --ops fused keras-adam)."""

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
