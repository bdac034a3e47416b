"""Adversarial losses shared by every system (junyanz `networks.GANLoss`) and the pixel L1
of the image-to-image systems.

A discriminator output is one tensor with the batch first (a score, a PatchGAN map, ...)
or a list of such tensors (multi-scale discriminators, pix2pixHD), whose losses are summed.
Every loss is computed in float32 and averaged over all elements, so under `tf.distribute`
it is the per-replica mean; `AdversarialModel.apply_gradients` divides by the replica count.
"""
import tensorflow as tf

GAN_MODES = ("bce", "lsgan", "hinge")


def l1(x, y):
    """Mean absolute difference of two image batches, in float32 whatever their dtype
    (pix2pix's L1 to the target, CycleGAN's cycle and identity terms, pix2pixHD's g_l1)."""
    return tf.reduce_mean(tf.abs(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)))


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


class GANLoss:
    """Hides the real/fake targets behind `discriminator(real, fake)` and `generator(fake)`.

    Discriminators output raw scores (logits). mode:
      "bce"    binary cross-entropy of sigmoid(score) (seeds 002 and 001 put the sigmoid
               in D and use BCELoss; seed 003 uses BCEWithLogitsLoss: the same function,
               computed here from logits so that a confident D cannot saturate float32 at
               p = 0 and stop the generator's gradient).
      "lsgan"  least squares on the score, targets 1 and 0 (seed 000 pix2pix, CycleGAN).
      "hinge"  hinge loss on the score.
    The generator loss is the non-saturating one (target "real") for bce and lsgan.
    """

    def __init__(self, mode="bce"):
        if mode not in GAN_MODES:
            raise ValueError(f"unknown GAN loss {mode!r}; choose one of {', '.join(GAN_MODES)}")
        self.mode = mode

    def _elementwise(self, output, target_is_real):
        x = tf.cast(output, tf.float32)
        if self.mode == "bce":
            return tf.nn.softplus(-x) if target_is_real else tf.nn.softplus(x)
        if self.mode == "lsgan":
            return tf.square(x - 1.0) if target_is_real else tf.square(x)
        return tf.nn.relu(1.0 - x) if target_is_real else tf.nn.relu(1.0 + x)

    def _loss(self, outputs, target_is_real):
        return tf.add_n(
            [tf.reduce_mean(self._elementwise(o, target_is_real)) for o in _as_list(outputs)]
        )

    def discriminator(self, real_outputs, fake_outputs):
        """Returns (loss on real, loss on fake), scalars; D minimizes their sum."""
        return self._loss(real_outputs, True), self._loss(fake_outputs, False)

    def generator(self, fake_outputs):
        """Returns the generator's adversarial loss, a scalar."""
        if self.mode == "hinge":
            return tf.add_n([-tf.reduce_mean(tf.cast(o, tf.float32)) for o in _as_list(fake_outputs)])
        return self._loss(fake_outputs, True)
