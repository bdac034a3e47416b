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
- one `keras.metrics.Mean` tracker per loss term, declared by the subclass in `loss_names`;
- `train_step` / `test_step` around the subclass's `adversarial_step(data, training)`: the
  same losses for `fit` and for `evaluate` / `fit(validation_data=...)`, where nothing is
  updated;
- the `.keras` format (`model.save`, `keras.models.load_model`, `ModelCheckpoint`): the
  constructor's arguments are recorded when the model is created, so `get_config` is those
  arguments (networks serialized as nested Keras objects) and `from_config` calls the
  constructor with them; the compile config (both optimizers, the loss) is saved too, so a
  loaded model continues `fit` with its optimizer state;
- first-batch checks in `fit` / `evaluate` (`check_batch`): images in [-1, 1], and a fixed
  batch size where the model needs one (`static_batch`);
- `prepare_batch`: with `--transforms device` the data's random per-image transform runs
  at the start of the compiled step, per replica, keyed by the step.
"""
import inspect

import keras
import numpy as np
import tensorflow as tf

from kgan import rng
from kgan.errors import UsageError
from kgan.losses import GANLoss


def _wrap_for_precision(optimizer):
    if keras.mixed_precision.dtype_policy().name == "mixed_float16" and not isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


# Images may exceed [-1, 1] by this much (resampling overshoot) before check_batch refuses them.
RANGE_TOLERANCE = 0.1


def _first_batch(x):
    """The first batch of `fit`'s data: a tf.data.Dataset's first element (from a separate
    iterator), arrays as they are, None (nothing to check) for generators and other inputs."""
    if isinstance(x, tf.data.Dataset):
        return next(iter(x.take(1)), None)
    leaves = tf.nest.flatten(x)
    if leaves and all(isinstance(leaf, (np.ndarray, tf.Tensor)) for leaf in leaves):
        return x
    return None


def _reducible(results):
    """The step's {name: scalar} as Keras' fit can reduce it: with several workers it takes
    strategy.reduce("MEAN", value, axis=0) of each, which needs an axis, so there each
    scalar becomes shape (1,) (the mean over the workers' replicas is a scalar again)."""
    strategy = tf.distribute.get_strategy()
    if not tf.distribute.has_strategy() or strategy.num_replicas_in_sync <= len(strategy.extended.worker_devices):
        return results
    return {name: tf.reshape(value, [1]) for name, value in results.items()}


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
    # True where the train step needs the batch size known when traced (CycleGAN's ImagePool).
    static_batch = False

    def __init_subclass__(cls, **kwargs):
        """Registers every model class for the `.keras` format ("kgan>ClassName")."""
        super().__init_subclass__(**kwargs)
        keras.saving.register_keras_serializable(package="kgan")(cls)

    def __new__(cls, *args, **kwargs):
        """Records the constructor's arguments (with defaults) for `get_config`."""
        instance = super().__new__(cls, *args, **kwargs)
        signature = inspect.signature(cls.__init__)
        try:
            bound = signature.bind(None, *args, **kwargs)
        except TypeError:
            return instance  # __init__ raises the error
        bound.apply_defaults()
        arguments = dict(list(bound.arguments.items())[1:])
        for name, parameter in signature.parameters.items():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                arguments.update(arguments.pop(name, {}))
        object.__setattr__(instance, "_constructor_arguments", arguments)
        return instance

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
        # `--transforms device`: transform(raw batch, draw) -> the batch `adversarial_step` takes.
        self.input_transform = None
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

    def get_config(self):
        """The constructor's arguments, networks and other Keras objects serialized (nested
        configs): what `from_config` rebuilds the model from."""
        arguments = {name: keras.saving.serialize_keras_object(value)
                     for name, value in self._constructor_arguments.items()}
        return {**super().get_config(), **arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**{name: keras.saving.deserialize_keras_object(value, custom_objects=custom_objects)
                      for name, value in config.items()})

    def get_compile_config(self):
        """compile()'s arguments, so `keras.models.load_model` compiles the loaded model (and
        then restores the optimizers' state)."""
        if not self.compiled:
            return {}
        return {"g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
                "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
                "loss": self.gan_loss.mode, "jit_compile": self.jit_compile,
                "steps_per_execution": self.steps_per_execution}

    def compile_from_config(self, config):
        self.compile(**{name: keras.saving.deserialize_keras_object(value) for name, value in config.items()})

    @property
    def completed_steps(self):
        """The train steps done, a Python int (`int(model.step)` fails on the distributed
        variable of a tf.distribute strategy)."""
        return int(tf.convert_to_tensor(self.step.value))

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
        return rng.step_seed(self.seed, tf.convert_to_tensor(self.step.value), salt)

    def stateless_seed(self, salt):
        """A [2] seed unique per (seed, step, replica, salt)."""
        return rng.fold_in(self.step_seed(salt), self._replica()[0])

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

    def prepare_batch(self, data):
        """The batch `adversarial_step` takes: `data`, or, with `input_transform` set (`--transforms
        device`), its transform of the raw uint8 batch `data`, run here at the start of the step
        on this replica's device. Its random integers are drawn per (seed, step) for the global
        batch, each replica taking its rows: the host placement's draws for batch `step`
        (`pipelines.batches.on_host`), and a mirrored step transforms what the one-device step does."""
        if self.input_transform is None:
            return data

        def draw(shape, maxval, salt):
            return self._global_batch_draw(lambda s, seed: rng.draws(seed)(s, maxval, salt), shape,
                                           rng.TRANSFORM_SALT)

        return self.input_transform(data, draw)

    def adversarial_step(self, data, training):
        """One step on a batch -> {name: scalar loss} for (some of) `loss_names`. training
        True: the networks in training mode and every update (optimizers, image pools, EMA);
        False: inference mode and nothing changes (`test_step`: `evaluate`, validation)."""
        raise NotImplementedError

    def train_step(self, data):
        self._check_static_batch(data)
        losses = self.adversarial_step(self.prepare_batch(data), training=True)
        self.step.assign_add(1)
        return _reducible(self.track(losses))

    def test_step(self, data):
        """The train step's losses on a held-out batch, without any update (only those the
        step computes in evaluation: StyleGAN2's lazy regularizers are training phases)."""
        self._check_static_batch(data)
        losses = self.adversarial_step(self.prepare_batch(data), training=False)
        return _reducible({name: value for name, value in self.track(losses).items() if name in losses})

    def track(self, losses):
        """Updates the trackers of `losses`; returns every tracker's result for `fit`."""
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def _check_static_batch(self, data):
        """At trace time (no cost in the step): a one-line error for batches of unknown size
        where the model needs a fixed one."""
        if self.static_batch and any(t.shape.rank and t.shape[0] is None for t in tf.nest.flatten(data)):
            raise UsageError(f"{type(self).__name__} needs batches of one fixed size (its image pools): batch the "
                             "data with drop_remainder=True")

    def check_batch(self, batch):
        """One-line UsageError unless every image of `batch` (its rank-4 tensors) is float in
        [-1, 1]. `fit` and `evaluate` run it once, eagerly, on their data's first batch."""
        for tensor in tf.nest.flatten(batch):
            values = np.asarray(tensor)
            if values.ndim != 4:
                continue
            if not np.issubdtype(values.dtype, np.floating):
                raise UsageError(f"{type(self).__name__} takes float images in [-1, 1], got {values.dtype} images: "
                                 "convert them with x / 127.5 - 1 (pipelines.images.to_unit_range)")
            low, high = float(values.min()), float(values.max())
            if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
                hint = ": convert 0..255 images with x / 127.5 - 1" if high > 2 else ""
                raise UsageError(f"{type(self).__name__} takes images in [-1, 1], got values in [{low:.4g}, "
                                 f"{high:.4g}]{hint}")

    def _check_first_batch(self, x):
        first = _first_batch(x)
        self.check_batch(None if first is None else self.prepare_batch(first))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras (3.15, TF trainer) builds an unbuilt model from a first batch; under a
        tf.distribute strategy it reads that batch from an extra iterator of the data and
        averages it across replicas with `strategy.reduce`, which under
        MultiWorkerMirroredStrategy takes no dict batch (pix2pix: "Attempt to convert a value
        ({'source': PerReplica...}) to a Tensor"). Every network here is built when the model
        is made, so no batch is read unless a layer is not built."""
        if iterator is not None and all(layer.built for layer in self._flatten_layers()):
            iterator = None
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def fit(self, x=None, *args, **kwargs):
        self._check_first_batch(x)
        self._check_first_batch(kwargs.get("validation_data"))
        return super().fit(x, *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        self._check_first_batch(x)
        return super().evaluate(x, *args, **kwargs)

    def checkpoint_items(self):
        """The objects a `tf.train.Checkpoint` of a training run holds."""
        return {**self.networks(), "g_optimizer": self.g_optimizer, "d_optimizer": self.d_optimizer, "step": self.step}
