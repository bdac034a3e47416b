"""Learning-rate schedules."""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kgan")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """junyanz's `--lr_policy linear`: the initial rate for `constant_epochs` epochs, then
    a linear decay over `decay_epochs` epochs, changed once per epoch. In 0-based epoch e
    the rate is initial * (1 - max(0, e + 1 - constant_epochs) / (decay_epochs + 1)), so the
    last epoch runs at initial / (decay_epochs + 1) and the next would be 0.
    It is a function of the optimizer's step, which checkpoints restore."""

    def __init__(self, initial_learning_rate, steps_per_epoch, constant_epochs, decay_epochs):
        self.initial_learning_rate = float(initial_learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.constant_epochs = int(constant_epochs)
        self.decay_epochs = int(decay_epochs)

    def __call__(self, step):
        epoch = tf.cast(step // self.steps_per_epoch, tf.float32)
        decayed = tf.maximum(0.0, epoch + 1.0 - self.constant_epochs) / (self.decay_epochs + 1.0)
        return self.initial_learning_rate * tf.maximum(0.0, 1.0 - decayed)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "steps_per_epoch": self.steps_per_epoch,
            "constant_epochs": self.constant_epochs,
            "decay_epochs": self.decay_epochs,
        }
