"""StyleGAN2 training (Karras et al. 2020; NVlabs stylegan2-ada-pytorch `training/loss.py`
`StyleGAN2Loss` and `training/training_loop.py`, without augmentation).

One `train_step` runs ADA's phases in its order: Gmain, Greg (every pl_interval steps), Dmain,
Dreg (every r1_interval steps), then the G_ema update. Each phase draws its own latents, and
each is a separate optimizer update; a regularization phase multiplies its penalty by its
interval (lazy regularization), and the Adam settings compensate (`stylegan2_optimizers`).
Whether a phase runs is decided in the traced step from `step % interval`, so `fit` traces one
function and a resumed run continues the schedule from the restored step.
"""
import keras
import tensorflow as tf

from kgan.models.base import AdversarialModel
from kgan.networks.stylegan2 import StyleGAN2Generator, mix_styles
from kgan.optimizers import Adam
from kgan.regularizers import path_length_penalty, path_lengths, r1_penalty
from kgan.serving import Endpoint, checked_labels, checked_noise, checked_per_sample
from pipelines.images import to_uint8


# The style-mixing draw: an integer in [0, 2^24) below prob * 2^24 (one draw for the whole
# global batch, as ADA's one torch.rand([]) per batch; integer draws agree under XLA).
_MIXING_BITS = 2**24


def auto_r1_gamma(image_size, batch_size):
    """ADA's `auto` R1 weight: 0.0002 image_size^2 / batch_size."""
    return 0.0002 * image_size ** 2 / batch_size


# stylegan2-ada-pytorch train.py `cfg_specs` (mb = global batch); the tiny configs use ADA's
# `auto` rules for their resolution and batch (gamma formula, lr 0.0025, ema_kimg mb * 10 / 32,
# ramp-up 0.05).
TRAINING_CONFIGS = {
    "stylegan2": dict(batch_size=32, learning_rate=0.002, r1_gamma=10.0, ema_kimg=10.0, ema_rampup=None),
    "paper256": dict(batch_size=64, learning_rate=0.0025, r1_gamma=1.0, ema_kimg=20.0, ema_rampup=None),
    "paper512": dict(batch_size=64, learning_rate=0.0025, r1_gamma=0.5, ema_kimg=20.0, ema_rampup=None),
    "paper1024": dict(batch_size=32, learning_rate=0.002, r1_gamma=2.0, ema_kimg=10.0, ema_rampup=None),
    "cifar": dict(batch_size=64, learning_rate=0.0025, r1_gamma=0.01, ema_kimg=500.0, ema_rampup=0.05,
                  pl_weight=0.0, style_mixing_prob=0.0),
    "tiny32": dict(batch_size=16, learning_rate=0.0025, r1_gamma=auto_r1_gamma(32, 16), ema_kimg=5.0,
                   ema_rampup=0.05),
    "tiny64": dict(batch_size=16, learning_rate=0.0025, r1_gamma=auto_r1_gamma(64, 16), ema_kimg=5.0,
                   ema_rampup=0.05),
}


def stylegan2_optimizers(learning_rate=0.002, r1_interval=16, pl_interval=4, betas=(0.0, 0.99), epsilon=1e-8):
    """(g_optimizer, d_optimizer): Adam with ADA's lazy-regularization adjustment, c = I / (I + 1)
    with I = pl_interval for G and r1_interval for D: lr * c, beta ** c (lr 0.002: G 0.0016,
    D 0.0018824). An interval of None or 0 means no lazy phase: c = 1."""

    def adam(interval):
        c = interval / (interval + 1) if interval else 1.0
        return Adam(learning_rate * c, beta_1=betas[0] ** c, beta_2=betas[1] ** c, epsilon=epsilon)

    return adam(pl_interval), adam(r1_interval)


def nan_to_num(gradient):
    """ADA's gradient clean-up: NaN -> 0, +-inf -> +-1e5."""
    gradient = tf.where(tf.math.is_nan(gradient), tf.zeros_like(gradient), gradient)
    return tf.where(tf.math.is_inf(gradient), tf.sign(gradient) * 1e5, gradient)


class StyleGAN2(AdversarialModel):
    """StyleGAN2 with lazy R1, path-length regularization, style mixing and an EMA generator.

    `fit` data: images (B, S, S, C) in [-1, 1], (images, labels) or {"images", "labels"} with
    labels (B,) int for a conditional generator (fake labels are drawn uniformly).
    Losses: `compile(..., loss="bce")`, the non-saturating logistic loss. Regularizers: R1
    gamma / 2 ||grad D(x)||^2 every r1_interval steps; path length every pl_interval steps on
    batch / pl_batch_shrink samples, penalty (length - pl_mean)^2 * pl_weight, pl_mean an EMA
    (decay pl_decay); r1_gamma 0 or pl_weight 0 turns one off. Style mixing: with probability
    style_mixing_prob the W+ rows from a cutoff uniform in [1, num_ws) come from a second z
    (w_avg is updated by every other mapping pass, as ADA). G_ema (`generator_ema`) follows G
    with beta = 0.5 ** (global batch / ema_nimg), ema_nimg = ema_kimg 1000, or
    min(ema_nimg, images seen * ema_rampup) with a ramp-up; its non-trainable weights (w_avg,
    noise maps) are copied. Sample grids, evaluation and export use G_ema. Gradients go through
    ADA's nan_to_num, except under mixed_float16, whose LossScaleOptimizer skips non-finite steps.
    pl_mean and w_avg are mean-aggregated across replicas under tf.distribute."""

    loss_names = ("g_loss", "d_loss", "d_real", "d_fake", "r1_penalty", "pl_penalty", "pl_mean")

    def __init__(self, generator, discriminator, r1_gamma=10.0, r1_interval=16, pl_weight=2.0, pl_interval=4,
                 pl_batch_shrink=2, pl_decay=0.01, style_mixing_prob=0.9, ema_kimg=10.0, ema_rampup=None, seed=0,
                 **kwargs):
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        if not isinstance(generator, StyleGAN2Generator):
            raise TypeError(f"StyleGAN2 needs a StyleGAN2Generator, got {type(generator).__name__}")
        self.r1_gamma, self.r1_interval = float(r1_gamma), int(r1_interval)
        self.pl_weight, self.pl_interval = float(pl_weight), int(pl_interval)
        self.pl_batch_shrink, self.pl_decay = int(pl_batch_shrink), float(pl_decay)
        self.style_mixing_prob = float(style_mixing_prob)
        self.ema_kimg, self.ema_rampup = float(ema_kimg), ema_rampup
        self.num_classes = generator.num_classes
        self.generator_ema = StyleGAN2Generator.from_config({**generator.get_config(), "name": "generator_ema"})
        self.generator_ema.set_weights(generator.get_weights())
        self.pl_mean = keras.Variable(0.0, dtype="float32", trainable=False, aggregation="mean", name="pl_mean")

    # -- contract of the core ------------------------------------------------------------
    def networks(self):
        return {**super().networks(), "generator_ema": self.generator_ema}

    def checkpoint_items(self):
        return {**super().checkpoint_items(), "pl_mean": self.pl_mean}

    def evaluation_generator(self):
        """The generator to evaluate and export: G_ema."""
        return self.generator_ema

    def call(self, inputs, training=False):
        return self.generator_ema(inputs, training=training)

    def apply_gradients(self, optimizer, tape, loss, variables):
        """The base class's update with ADA's nan_to_num on the gradients (not under a
        LossScaleOptimizer, which must see non-finite gradients to skip the step); variables
        the loss does not reach (D's output bias in R1) are left out, as torch's Adam skips
        parameters without a gradient."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        factor = optimizer.scale_loss(tf.constant(1.0 / replicas, loss.dtype))
        gradients = tape.gradient(loss, variables, output_gradients=factor)
        scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        pairs = [(g if scaled else nan_to_num(g), v) for g, v in zip(gradients, variables) if g is not None]
        optimizer.apply_gradients(pairs)

    # -- generator and discriminator passes --------------------------------------------
    def _unpack(self, data):
        if isinstance(data, dict):
            images, labels = data["images"], data.get("labels")
        elif isinstance(data, (tuple, list)):
            images, labels = data[0], data[1]
        else:
            images, labels = data, None
        if self.num_classes and labels is None:
            raise ValueError("a conditional StyleGAN2 needs (images, labels) batches")
        return images, labels

    def _latents(self, batch, salt):
        """(z (batch, z_dim), uniform fake labels (batch,) or None)."""
        z = self.random_normal([batch, self.generator.z_dim], salt)
        labels = self.random_uniform_int([batch], self.num_classes, salt + 1) if self.num_classes else None
        return z, labels

    def styles(self, z, labels, salt, training=True):
        """ADA `run_G` up to the synthesis: W+ of z (updating w_avg in training), style-mixed
        with probability style_mixing_prob with the W+ of a second z (not updating w_avg)."""
        mapping, num_ws = self.generator.mapping, self.generator.num_ws
        ws = mapping(z, labels)
        if training:
            mapping.update_w_avg(ws)
        if self.style_mixing_prob <= 0:
            return ws
        cutoff = self.random_uniform_int([], num_ws - 1, salt + 2) + 1
        mixing = self.random_uniform_int([], _MIXING_BITS, salt + 3) < round(self.style_mixing_prob * _MIXING_BITS)
        other = mapping(self.random_normal(tf.shape(z), salt + 4), labels)
        return mix_styles(ws, other, tf.where(mixing, cutoff, num_ws))

    def synthesize(self, ws, salt):
        """G's synthesis of W+ with this step's per-pixel noise, drawn for the global batch
        (each replica its rows, layer i with salt 1000 + 100 salt + i)."""
        def noise(shape, index):
            return self.random_normal(shape, 1000 + 100 * salt + index)

        return self.generator.synthesis(ws, noise_seed=noise)

    def _discriminate(self, images, labels, training=True):
        return self.discriminator(images if labels is None else [images, labels], training=training)

    # -- the four phases ------------------------------------------------------------------
    def g_main_phase(self, batch, training=True):
        """Gmain: softplus(-D(G(z))) -> G update (in training). Returns the loss."""
        z, labels = self._latents(batch, salt=0)
        with tf.GradientTape() as tape:
            fake = self.synthesize(self.styles(z, labels, salt=0, training=training), salt=0)
            g_loss = self.gan_loss.generator(self._discriminate(fake, labels, training))
        if training:
            self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator_variables())
        return g_loss

    def pl_lengths(self, batch):
        """Path lengths (batch // pl_batch_shrink,) of G on this step's Greg latents, W+ noise
        and image-space noise (ADA: gen_z[:batch // pl_batch_shrink], style-mixed)."""
        batch = tf.maximum(batch // self.pl_batch_shrink, 1)
        z, labels = self._latents(batch, salt=10)
        size, channels = self.generator.image_size, self.generator.output_shape[-1]
        noise = self.random_normal([batch, size, size, channels], salt=16)
        ws = self.styles(z, labels, salt=10)
        return path_lengths(lambda w: self.synthesize(w, salt=10), ws, noise)

    def g_reg_phase(self, images):
        """Greg: path-length penalty times pl_weight and pl_interval -> G update and pl_mean;
        tracks "pl_penalty"."""
        with tf.GradientTape() as tape:
            lengths = self.pl_lengths(tf.shape(images)[0])
            penalty, pl_mean = path_length_penalty(lengths, self.pl_mean, self.pl_decay)
            loss = tf.reduce_mean(penalty) * (self.pl_weight * self.pl_interval)
        self.pl_mean.assign(tf.stop_gradient(pl_mean))
        self.apply_gradients(self.g_optimizer, tape, loss, self.generator_variables())
        self.trackers["pl_penalty"].update_state(tf.reduce_mean(penalty))

    def d_main_phase(self, images, labels, training=True):
        """Dmain: softplus(D(G(z))) + softplus(-D(x)) -> D update (in training). Returns
        (d_real, d_fake)."""
        z, fake_labels = self._latents(tf.shape(images)[0], salt=20)
        fake = self.synthesize(self.styles(z, fake_labels, salt=20, training=training), salt=20)
        with tf.GradientTape() as tape:
            d_real, d_fake = self.gan_loss.discriminator(self._discriminate(images, labels, training),
                                                         self._discriminate(fake, fake_labels, training))
            d_loss = d_real + d_fake
        if training:
            self.apply_gradients(self.d_optimizer, tape, d_loss, self.discriminator_variables())
        return d_real, d_fake

    def d_reg_phase(self, images, labels=None):
        """Dreg: R1 gamma / 2 ||grad D(x)||^2 times r1_interval -> D update; tracks "r1_penalty"."""
        with tf.GradientTape() as tape:
            penalty = r1_penalty(lambda x: self._discriminate(x, labels), images)
            loss = tf.reduce_mean(penalty) * (self.r1_gamma / 2 * self.r1_interval)
        self.apply_gradients(self.d_optimizer, tape, loss, self.discriminator_variables())
        self.trackers["r1_penalty"].update_state(tf.reduce_mean(penalty))

    def _every(self, interval, phase, *tensors):
        """Runs phase(*tensors) on steps that are multiples of `interval`, inside the traced step.
        A tf.cond whose branch applies an optimizer update cannot run in a MirroredStrategy
        replica context (the update synchronizes through merge_call), so there the cond runs
        in cross-replica context around a per-replica call, as Keras' LossScaleOptimizer does."""

        def due():
            return tf.equal(tf.convert_to_tensor(self.step.value) % interval, 0)

        if tf.__internal__.distribute.strategy_supports_no_merge_call():
            tf.cond(due(), lambda: phase(*tensors), lambda: None)
            return

        def cross_replica(distribution, *per_replica):
            tf.cond(due(), lambda: distribution.extended.call_for_each_replica(phase, args=per_replica),
                    lambda: None)

        tf.distribute.get_replica_context().merge_call(cross_replica, args=tensors)

    def ema_beta(self, global_batch):
        """0.5 ** (global_batch / max(ema_nimg, 1e-8)) at the current step (ADA training_loop)."""
        global_batch = tf.cast(global_batch, tf.float32)
        ema_nimg = tf.constant(self.ema_kimg * 1000.0)
        if self.ema_rampup is not None:
            seen = tf.cast(tf.convert_to_tensor(self.step.value), tf.float32) * global_batch
            ema_nimg = tf.minimum(ema_nimg, seen * self.ema_rampup)
        return tf.pow(0.5, global_batch / tf.maximum(ema_nimg, 1e-8))

    def update_ema(self, global_batch):
        """G_ema <- lerp(G, G_ema, beta) for the trainable weights, copies of the others."""
        beta = self.ema_beta(global_batch)
        pairs = list(zip(self.generator_ema.trainable_weights, self.generator.trainable_weights))
        copies = list(zip(self.generator_ema.non_trainable_weights, self.generator.non_trainable_weights))

        def update(distribution):
            for ema, weight in pairs:
                distribution.extended.update(ema.value, lambda e, w: e.assign(w + beta * (e - w)),
                                             args=(weight.value,), group=False)
            for ema, weight in copies:
                distribution.extended.update(ema.value, lambda e, w: e.assign(w), args=(weight.value,), group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(update, tf.distribute.get_strategy())

    def adversarial_step(self, data, training):
        """The four phases and the G_ema update; evaluation: Gmain's and Dmain's losses only."""
        images, labels = self._unpack(data)
        batch = tf.shape(images)[0]
        g_loss = self.g_main_phase(batch, training)
        if self.pl_weight and training:
            self._every(self.pl_interval, self.g_reg_phase, images)
        d_real, d_fake = self.d_main_phase(images, labels, training)
        if self.r1_gamma and training:
            self._every(self.r1_interval, self.d_reg_phase, *([images] if labels is None else [images, labels]))
        if training:
            self.update_ema(batch * tf.distribute.get_strategy().num_replicas_in_sync)
        return dict(g_loss=g_loss, d_loss=d_real + d_fake, d_real=d_real, d_fake=d_fake,
                    pl_mean=tf.convert_to_tensor(self.pl_mean.value))

    # -- sampling and export ---------------------------------------------------------------
    def sample_inputs(self, count, seed=0):
        """Fixed (z (count, z_dim), labels cycling through the classes or None)."""
        z = tf.random.stateless_normal([count, self.generator.z_dim], [seed, 0])
        labels = tf.range(count, dtype=tf.int32) % self.num_classes if self.num_classes else None
        return z, labels

    def real_images(self, batch):
        return to_uint8(self._unpack(batch)[0])

    def generated_images(self, batch, seed=0):
        """G_ema at psi 1 with random noise (stylegan2-ada's metrics), z stateless in `seed`."""
        images, labels = self._unpack(batch)
        g = self.generator_ema
        z = tf.random.stateless_normal([tf.shape(images)[0], g.z_dim], [seed, 1])
        ws = g.mapping(z, labels, truncation_psi=1.0)
        return to_uint8(g.synthesis(ws, noise_mode="random", noise_seed=[seed, 2]))

    def sample_grid(self, batch=None, count=32, psis=(1.0, 0.7)):
        """G_ema on `count` fixed z with const noise, once per truncation psi (rows of 8: the
        count / 8 rows at psi 1, then the same z at 0.7)."""
        z, labels = self.sample_inputs(count, self.seed)
        g = self.generator_ema
        images = [g.synthesis(g.mapping(z, labels, truncation_psi=psi), noise_mode="const") for psi in psis]
        return to_uint8(tf.concat(images, axis=0)), 8

    def serving_endpoints(self):
        """TF Serving endpoints of G_ema with const noise, each -> {"images": uint8 (B, S, S, C)}:
        "": z (B, z_dim) float32 [+ labels (B,) int32 in [0, num_classes)] + truncation_psi
        (B,) float32; "_wplus": W+ "ws" (B, num_ws, w_dim) float32 (projection and editing);
        B from 1 to MAX_NOISE_BATCH, malformed requests answer InvalidArgumentError."""
        g, num_classes = self.generator_ema, self.num_classes
        z_spec = tf.TensorSpec([None, g.z_dim], tf.float32, name="z")
        psi_spec = tf.TensorSpec([None], tf.float32, name="truncation_psi")
        ws_spec = tf.TensorSpec([None, g.num_ws, g.w_dim], tf.float32, name="ws")
        label_specs = (tf.TensorSpec([None], tf.int32, name="labels"),) if num_classes else ()

        def from_ws(ws):
            ws = checked_noise(ws, (g.num_ws, g.w_dim), name="ws")
            return {"images": to_uint8(g.synthesis(ws, noise_mode="const"))}

        def from_z(z, *labels_and_psi):
            z = checked_noise(z, g.z_dim, name="z")
            batch = tf.shape(z)[0]
            *labels, psi = labels_and_psi
            labels = [checked_labels(x, batch, num_classes, "z") for x in labels]
            psi = checked_per_sample(psi, batch, "truncation_psi", "float32", "z")
            return {"images": to_uint8(g.synthesis(g.mapping(z, *labels, truncation_psi=psi), noise_mode="const"))}

        return {"": Endpoint((g,), from_z, (z_spec, *label_specs, psi_spec)),
                "_wplus": Endpoint((g,), from_ws, (ws_spec,))}
