"""Noise-to-image GANs of seed 002: MLP GAN, DCGAN and the conditional GAN."""
import tensorflow as tf

from kgan.models.base import AdversarialModel
from kgan.serving import Endpoint, checked_labels, checked_noise
from pipelines.images import to_uint8


def _name_each_label(class_names, num_classes):
    if len(class_names) != (num_classes or 0):
        raise ValueError(f"class_names {list(class_names)} must name each of the num_classes={num_classes} labels")
    return tuple(str(name) for name in class_names)


def mode_seeking_ratio(noise, images):
    """MSGAN's mode-seeking term (Mao et al. 2019, "Mode Seeking Generative Adversarial
    Networks for Diverse Image Synthesis"): mean|z1 - z2| / (mean|G(z1) - G(z2)| + 1e-5), the
    pairs being row i of the batch's first half and row i of its second half (row `batch // 2`
    of an odd batch is left out; a batch of one gives 0). Large when distinct noise gives
    near-equal images: G minimizing it is pushed to use its noise."""
    batch = tf.shape(noise)[0]
    half = batch // 2

    def mean_gap(x):
        x = tf.cast(x, tf.float32)
        gap = tf.abs(x[:half] - x[batch - half:])
        return tf.reduce_sum(gap) / tf.maximum(tf.cast(tf.size(gap), tf.float32), 1.0)

    return mean_gap(noise) / (mean_gap(images) + 1e-5)


def paired_labels(labels):
    """labels with the batch's second half repeating the first half's (row batch - half + i
    takes row i's label), the pairs `mode_seeking_ratio` compares."""
    batch = tf.shape(labels)[0]
    return tf.concat([labels[:batch - batch // 2], labels[:batch // 2]], 0)


class GAN(AdversarialModel):
    """Unconditional (num_classes=None) or label-conditional GAN.

    `fit` data: images (B, H, W, C) in [-1, 1]; or (images, labels (B,) int) for the
    conditional GAN; or a dict with "images", optional "labels" and optional "noise"
    (B, latent_dim) to supply the latent vectors instead of drawing them.
    class_names: what each label means (`ImageSource.class_names`), written into the export.
    Each step, as seed 002: D on real (target 1) and detached fake (target 0) with fresh
    noise (and random labels), then G with new noise against target 1.
    mode_seeking lambda > 0 (MSGAN, Mao et al. 2019): in G's step the second half of the
    batch takes the first half's labels with its own noise, and G minimizes
    g_loss = adversarial + lambda * `mode_seeking_ratio` (logged as "mode_seeking", without
    lambda). Under a distribution strategy the pairs and the ratio are per replica (each
    replica pairs the rows of its own batch).
    """

    base_loss_names = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(self, generator, discriminator, latent_dim=100, num_classes=None, class_names=None, mode_seeking=0.0,
                 seed=0, **kwargs):
        self.mode_seeking = float(mode_seeking)
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.latent_dim = int(latent_dim)
        self.num_classes = num_classes
        self.class_names = None if class_names is None else _name_each_label(class_names, num_classes)

    @property
    def loss_names(self):
        return self.base_loss_names + (("mode_seeking",) if self.mode_seeking else ())

    def _unpack(self, data):
        if isinstance(data, dict):
            return data["images"], data.get("labels"), data.get("noise")
        if isinstance(data, (tuple, list)):
            return data[0], data[1], None
        return data, None, None

    def _latents(self, batch, noise, salt):
        """(noise, labels) for the generator; labels None when unconditional."""
        if noise is None:
            noise = self.random_normal([batch, self.latent_dim], salt)
        labels = self.random_uniform_int([batch], self.num_classes, salt + 1) if self.num_classes else None
        return noise, labels

    def _g_inputs(self, noise, labels):
        return noise if labels is None else [noise, labels]

    def _d_inputs(self, images, labels):
        return images if labels is None else [images, labels]

    def adversarial_step(self, data, training):
        images, labels, noise = self._unpack(data)
        if self.num_classes and labels is None:
            raise ValueError("a conditional GAN needs (images, labels) batches")
        batch = tf.shape(images)[0]

        noise_d, labels_d = self._latents(batch, noise, salt=0)
        fake = self.generator(self._g_inputs(noise_d, labels_d), training=training)  # detached: outside the tape
        with tf.GradientTape() as tape:
            real_out = self.discriminator(self._d_inputs(images, labels), training=training)
            fake_out = self.discriminator(self._d_inputs(fake, labels_d), training=training)
            d_real, d_fake = self.gan_loss.discriminator(real_out, fake_out)
            d_loss = d_real + d_fake
        if training:
            self.apply_gradients(self.d_optimizer, tape, d_loss, self.discriminator.trainable_variables)

        noise_g, labels_g = self._latents(batch, noise, salt=2)
        if self.mode_seeking and labels_g is not None:
            labels_g = paired_labels(labels_g)
        losses = {}
        with tf.GradientTape() as tape:
            fake = self.generator(self._g_inputs(noise_g, labels_g), training=training)
            g_loss = self.gan_loss.generator(self.discriminator(self._d_inputs(fake, labels_g), training=training))
            if self.mode_seeking:
                losses["mode_seeking"] = mode_seeking_ratio(noise_g, fake)
                g_loss = g_loss + self.mode_seeking * losses["mode_seeking"]
        if training:
            self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)

        return dict(d_loss=d_loss, g_loss=g_loss, d_real=d_real, d_fake=d_fake, **losses)

    def real_images(self, batch):
        return to_uint8(self._unpack(batch)[0])

    def generated_images(self, batch, seed=0):
        images, labels, _ = self._unpack(batch)
        noise = tf.random.stateless_normal([tf.shape(images)[0], self.latent_dim], [seed, 1])
        return to_uint8(self.evaluation_generator()(self._g_inputs(noise, labels), training=False))

    def sample_grid(self, batch=None, count=64):
        """64 samples from fixed inputs (`sample_inputs(count, self.seed)`), 8 per row."""
        images = self.generator(self.sample_inputs(count, self.seed), training=False)
        return to_uint8(images), 8

    def sample_inputs(self, count, seed=0):
        """Fixed generator inputs for sample grids: noise, and labels in equal consecutive
        runs per class (seed 002: 32 of class 0, then 32 of class 1)."""
        noise = tf.random.stateless_normal([count, self.latent_dim], [seed, 0])
        if not self.num_classes:
            return noise
        return [noise, tf.range(count, dtype=tf.int32) * self.num_classes // count]

    def serving_endpoints(self, class_names=None):
        """{"": Endpoint} for TF Serving: noise (B, latent_dim) float32 [and labels (B,) int32,
        label k meaning class_names[k] (default self.class_names, else "0", "1", ...)] ->
        {"images": float32 (B, H, W, C) in [-1, 1], "images_uint8": uint8 (B, H, W, C)
        [, "class_names": string (B,), each label's name]}, B from 1 to MAX_NOISE_BATCH;
        malformed requests answer InvalidArgumentError."""
        generator, latent_dim = self.generator, self.latent_dim

        def outputs(images):
            images = tf.cast(images, tf.float32)
            return {"images": images, "images_uint8": to_uint8(images)}

        noise_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="noise")
        if not self.num_classes:
            fn = lambda noise: outputs(generator(checked_noise(noise, latent_dim), training=False))  # noqa: E731
            return {"": Endpoint((generator,), fn, (noise_spec,))}
        names = _name_each_label(class_names or self.class_names or [str(k) for k in range(self.num_classes)],
                                 self.num_classes)

        def fn(noise, labels):
            noise = checked_noise(noise, latent_dim)
            labels = checked_labels(labels, tf.shape(noise)[0], names)
            return {**outputs(generator([noise, labels], training=False)), "class_names": tf.gather(names, labels)}

        label_spec = tf.TensorSpec([None], tf.int32, name="labels")
        return {"": Endpoint((generator,), fn, (noise_spec, label_spec), names)}
