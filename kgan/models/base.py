"""The adversarial training core every system subclasses.

`AdversarialModel` is a `keras.Model` whose `compile()` takes the generator and
discriminator optimizers and the GAN loss, and whose subclasses implement `train_step`
with the alternating updates. It owns what every system needs to be correct under
`model.fit`, mixed precision and `tf.distribute`:

- `apply_gradients`: the per-replica mean loss is divided by the replica count (the
  optimizer all-reduce sums gradients, so the update equals one on the global batch) and
  scaled by the `LossScaleOptimizer` under "mixed_float16";
- `random_normal` / `random_uniform_int`: stateless draws keyed by (seed, step, replica,
  salt), so every replica draws different noise, and restoring the step restores the RNG;
- `step`: the train-step counter, saved in checkpoints;
- one `keras.metrics.Mean` tracker per loss term, declared by the subclass in `loss_names`.
"""
import keras
import tensorflow as tf

from kgan.losses import GANLoss


def _wrap_for_precision(optimizer):
    if keras.mixed_precision.dtype_policy().name == "mixed_float16" and not isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class AdversarialModel(keras.Model):
    """Base class: a generator, a discriminator, two optimizers, one GAN loss."""

    loss_names = ()

    def __init__(self, generator, discriminator, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.seed = int(seed)
        self.step = keras.Variable(
            0, dtype="int64", trainable=False, aggregation="only_first_replica", name="step"
        )
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        self.built = True

    def compile(self, g_optimizer, d_optimizer, loss="bce", jit_compile=False, steps_per_execution=1):
        """g_optimizer, d_optimizer: keras optimizers; loss: a GANLoss or its mode name."""
        super().compile(optimizer=None, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        self.g_optimizer = _wrap_for_precision(g_optimizer)
        self.d_optimizer = _wrap_for_precision(d_optimizer)
        self.gan_loss = loss if isinstance(loss, GANLoss) else GANLoss(loss)
        self.build_optimizers()

    def networks(self):
        """{name: keras.Model} of every network (TensorBoard graphs, checkpoints)."""
        return {"generator": self.generator, "discriminator": self.discriminator}

    def generator_variables(self):
        """What g_optimizer updates (CycleGAN: both generators)."""
        return self.generator.trainable_variables

    def discriminator_variables(self):
        """What d_optimizer updates (CycleGAN: both discriminators)."""
        return self.discriminator.trainable_variables

    def build_optimizers(self):
        """Creates the optimizer slots: done in `compile()` (under the strategy scope),
        because slots created lazily inside a replicated step fail under MirroredStrategy."""
        self.g_optimizer.build(self.generator_variables())
        self.d_optimizer.build(self.discriminator_variables())

    def sample_scalars(self, batch):
        """{name: scalar} measured on the fixed sample batch with each sample grid (SRGAN:
        validation PSNR); none by default."""
        return {}

    def sample_grid(self, batch):
        """(uint8 images (N, H, W, C), columns) for TensorBoard's sample grid; `batch` is a
        fixed batch of the training data (unused by noise-to-image models)."""
        raise NotImplementedError

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def apply_gradients(self, optimizer, tape, loss, variables):
        """One optimizer update of `variables` from the per-replica mean `loss`."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        factor = optimizer.scale_loss(tf.constant(1.0 / replicas, loss.dtype))
        gradients = tape.gradient(loss, variables, output_gradients=factor)
        optimizer.apply_gradients(zip(gradients, variables))

    def stateless_seed(self, salt):
        """A [2] seed for tf.random.stateless_*, unique per (seed, step, replica, salt)."""
        replica = tf.distribute.get_replica_context()
        replica_id = 0 if replica is None else replica.replica_id_in_sync_group
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.convert_to_tensor(self.step.value)])
        seed = tf.random.experimental.stateless_fold_in(seed, replica_id)
        return tf.random.experimental.stateless_fold_in(seed, salt)

    def random_normal(self, shape, salt):
        """N(0, 1) float32 noise of `shape`, different per step, replica and salt."""
        return tf.random.stateless_normal(shape, self.stateless_seed(salt))

    def random_uniform_int(self, shape, maxval, salt):
        """Integers in [0, maxval), int32, different per step, replica and salt."""
        return tf.random.stateless_uniform(shape, self.stateless_seed(salt), maxval=maxval, dtype=tf.int32)

    def finish_step(self, **losses):
        """Counts the step, updates the trackers, returns their results for `fit`."""
        self.step.assign_add(1)
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def checkpoint_items(self):
        """The objects a `tf.train.Checkpoint` of a training run holds."""
        return {**self.networks(), "g_optimizer": self.g_optimizer, "d_optimizer": self.d_optimizer, "step": self.step}
