"""pix2pix (seed 000 shoes from edges + color hints; seed 003 junyanz pix2pix)."""
import tensorflow as tf

from kgan.losses import l1
from kgan.models.base import AdversarialModel
from kgan.models.translation import translation_endpoint
from pipelines.images import to_uint8


class Pix2Pix(AdversarialModel):
    """Conditional GAN for paired translation. `fit` data: {"source", "target"} float32
    (B, H, W, C) in [-1, 1] (or a (source, target) tuple).

    As junyanz `Pix2PixModel.optimize_parameters`: fake = G(source); D on
    concat(source, target) -> real and concat(source, detached fake) -> fake, loss halved;
    then G on the updated D: GAN loss toward real + l1_weight * |target - fake| (100 in both
    seeds). The GAN loss is LSGAN in seed 000 and BCE (on logits) in seed 003.
    `size_multiple`: what input sizes the generator takes (U-Net 256: 256; ResNet: 4)."""

    loss_names = ("d_loss", "d_real", "d_fake", "g_loss", "g_gan", "g_l1")

    def __init__(self, generator, discriminator, l1_weight=100.0, size_multiple=256, seed=0, **kwargs):
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.l1_weight = float(l1_weight)
        self.size_multiple = int(size_multiple)

    @staticmethod
    def _unpack(data):
        return (data["source"], data["target"]) if isinstance(data, dict) else (data[0], data[1])

    def adversarial_step(self, data, training):
        source, target = self._unpack(data)
        with tf.GradientTape() as g_tape:
            fake = self.generator(source, training=training)

        with tf.GradientTape() as d_tape:
            real_out = self.discriminator(tf.concat([source, target], -1), training=training)
            fake_out = self.discriminator(tf.concat([source, tf.stop_gradient(fake)], -1), training=training)
            d_real, d_fake = self.gan_loss.discriminator(real_out, fake_out)
            d_loss = 0.5 * (d_real + d_fake)
        if training:
            self.apply_gradients(self.d_optimizer, d_tape, d_loss, self.discriminator_variables())

        with g_tape:
            g_gan = self.gan_loss.generator(self.discriminator(tf.concat([source, fake], -1), training=training))
            g_l1 = l1(target, fake)
            g_loss = g_gan + self.l1_weight * g_l1
        if training:
            self.apply_gradients(self.g_optimizer, g_tape, g_loss, self.generator_variables())

        return dict(d_loss=d_loss, d_real=d_real, d_fake=d_fake, g_loss=g_loss, g_gan=g_gan, g_l1=g_l1)

    def real_images(self, batch):
        return to_uint8(self._unpack(batch)[1])

    def generated_images(self, batch, seed=0):
        return to_uint8(self.evaluation_generator()(self._unpack(batch)[0], training=False))

    def sample_grid(self, batch, count=4):
        """Rows source | fake | target for the first `count` examples of a fixed batch."""
        source, target = self._unpack(batch)
        source, target = source[:count], target[:count]
        fake = self.generator(source, training=False)
        rows = tf.stack([to_uint8(source), to_uint8(fake), to_uint8(target)], axis=1)
        return tf.reshape(rows, [-1, *rows.shape[2:]]), 3

    def serving_endpoints(self):
        """{"": source -> translated image}, uint8 of any size."""
        return {"": translation_endpoint(self.generator, self.size_multiple)}
