"""The adversarial training core every system subclasses.

`AdversarialModel` is a `keras.Model` whose `compile()` takes the generator and
discriminator optimizers and the GAN loss, and whose subclasses implement `train_step`
with the alternating updates. It owns what every system needs to be correct under
`model.fit`, mixed precision and `tf.distribute`:

- `apply_gradients`: the per-replica mean loss is divided by the replica count (the
  optimizer all-reduce sums gradients, so the update equals one on the global batch) and
  scaled by the `LossScaleOptimizer` under "mixed_float16";
- `random_normal` / `random_uniform_int`: stateless draws keyed by (seed, step, salt) for
  the global batch, each replica taking its rows, so replicas draw different noise, a
  mirrored step equals the one-device step, and restoring the step restores the RNG;
- `step`: the train-step counter, saved in checkpoints;
- one `keras.metrics.Mean` tracker per loss term, declared by the subclass in `loss_names`.
"""
import keras
import tensorflow as tf

from kgan import rng
from kgan.losses import GANLoss


def _wrap_for_precision(optimizer):
    if keras.mixed_precision.dtype_policy().name == "mixed_float16" and not isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class AdversarialModel(keras.Model):
    """Base class: a generator, a discriminator, two optimizers, one GAN loss.

    The contract `train.py`, `kgan.evaluate`, `kgan.export`, the checkpoints and the
    TensorBoard logger rely on: `networks()` (graphs, checkpoints), `generator_variables()`
    / `discriminator_variables()` (what each optimizer updates), `checkpoint_items()`
    (everything a resumed run needs), `evaluation_generator()` (the network to evaluate and
    export), `serving_endpoints()` (TF Serving signatures), `sample_grid()`, and
    `set_phase()` with the names in `phases` (stretches of training with their own step)."""

    loss_names = ()
    phases = ("train",)

    def __init__(self, generator, discriminator, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.seed = int(seed)
        self.step = keras.Variable(
            0, dtype="int64", trainable=False, aggregation="only_first_replica", name="step"
        )
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        self.phase = self.phases[-1]
        self.built = True

    def compile(self, g_optimizer=None, d_optimizer=None, loss="bce", jit_compile=False, steps_per_execution=1,
                **kwargs):
        """g_optimizer, d_optimizer: keras optimizers; loss: a GANLoss or its mode name."""
        if kwargs or g_optimizer is None or d_optimizer is None:
            unexpected = f" (got {', '.join(sorted(kwargs))})" if kwargs else ""
            raise TypeError(f"{type(self).__name__}.compile takes g_optimizer and d_optimizer (one Keras optimizer "
                            f"for the generator, one for the discriminator), loss, jit_compile and "
                            f"steps_per_execution{unexpected}")
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

    def evaluation_generator(self):
        """The generator to evaluate and export (an EMA copy where a system keeps one)."""
        return self.generator

    def serving_endpoints(self):
        """{name suffix: `kgan.serving.Endpoint`} of the TF Serving signatures."""
        raise NotImplementedError(f"{type(self).__name__} declares no serving signature to export")

    def set_phase(self, name):
        """Switches the train step to phase `name` (one of `phases`); retraces when it changes."""
        if name not in self.phases:
            raise ValueError(f"{type(self).__name__} has no phase {name!r}; its phases: {', '.join(self.phases)}")
        if name != self.phase:
            self.train_function = None
        self.phase = name

    def real_images(self, batch):
        """uint8 (B, H, W, C): the real images of a training batch that the sample-quality
        metrics (`kgan.metrics`, `train.py --metrics`) compare generated images with."""
        raise NotImplementedError(f"{type(self).__name__} does not define its real images for metrics")

    def generated_images(self, batch, seed=0):
        """uint8 (B, H, W, C): what `evaluation_generator()` makes for a training batch
        (noise-to-image: from noise stateless in `seed`, with the batch's labels;
        image-to-image: the batch's sources translated), compared with `real_images`."""
        raise NotImplementedError(f"{type(self).__name__} does not define its generated images for metrics")

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

    @staticmethod
    def _replica():
        """(this replica's id, replicas in sync); (0, 1) outside a replicated step."""
        context = tf.distribute.get_replica_context()
        if context is None:
            return 0, 1
        return context.replica_id_in_sync_group, context.num_replicas_in_sync

    def step_seed(self, salt):
        """A [2] seed for tf.random.stateless_*, unique per (seed, step, salt), the same on
        every replica."""
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.convert_to_tensor(self.step.value)])
        return tf.random.experimental.stateless_fold_in(seed, salt)

    def stateless_seed(self, salt):
        """A [2] seed unique per (seed, step, replica, salt)."""
        return tf.random.experimental.stateless_fold_in(self.step_seed(salt), self._replica()[0])

    def _global_batch_draw(self, draw, shape, salt):
        """`draw(global shape, seed)` for the whole global batch, sliced to this replica's
        rows: shape[0] is the per-replica batch, so a step's random numbers are the same
        on one device as on several (the mirrored step equals the one-device step). A
        scalar (shape []) is one draw shared by every replica."""
        if isinstance(shape, (list, tuple)) and not shape:
            return draw(shape, self.step_seed(salt))
        replica, replicas = self._replica()
        shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
        batch = shape[0]
        values = draw(tf.concat([shape[:1] * replicas, shape[1:]], 0), self.step_seed(salt))
        return values[replica * batch : (replica + 1) * batch]

    def random_normal(self, shape, salt):
        """N(0, 1) float32 noise of `shape` (shape[0]: per-replica batch), different per
        step, replica and salt."""
        return self._global_batch_draw(rng.normal, shape, salt)

    def random_uniform_int(self, shape, maxval, salt):
        """Integers in [0, maxval), int32, of `shape` (shape[0]: per-replica batch),
        different per step, replica and salt."""
        return self._global_batch_draw(
            lambda s, seed: rng.uniform_int(s, seed, maxval), shape, salt)

    def finish_step(self, **losses):
        """Counts the step, updates the trackers, returns their results for `fit`."""
        self.step.assign_add(1)
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def checkpoint_items(self):
        """The objects a `tf.train.Checkpoint` of a training run holds."""
        return {**self.networks(), "g_optimizer": self.g_optimizer, "d_optimizer": self.d_optimizer, "step": self.step}
