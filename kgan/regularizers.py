"""Gradient penalties of StyleGAN2 (Karras et al. 2020, section 3.2 and appendix B; NVlabs
stylegan2-ada-pytorch `training/loss.py` `StyleGAN2Loss`, NVlabs/stylegan2 `training/loss.py`).

The non-saturating logistic losses that go with them are `kgan.losses.GANLoss("bce")` on
logits: G softplus(-D(G(z))), D softplus(D(G(z))) + softplus(-D(x)).

Each function is called inside the caller's outer `tf.GradientTape`, which records the inner
gradient computation, so the penalty can be differentiated again with respect to the network's
weights (double backpropagation). Everything is computed in float32.
"""
import math

import tensorflow as tf


def r1_penalty(discriminator_fn, real_images):
    """R1 (Mescheder et al. 2018): ||grad_x D(x)||^2 per real image, (B,) float32.

    discriminator_fn: images (B, H, W, C) -> logits (B, 1) (a conditional D closes over its
    labels). ADA: r1_grads = grad(sum(real_logits), real_img), penalty = sum over pixels and
    channels of r1_grads^2; the D loss term is penalty * gamma / 2 (times the lazy interval)."""
    real_images = tf.cast(real_images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(real_images)
        total = tf.reduce_sum(tf.cast(discriminator_fn(real_images), tf.float32))
    gradients = tape.gradient(total, real_images)
    return tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3])


def path_lengths(synthesis_fn, ws, noise):
    """Path lengths ||J_w^T y|| per sample, (B,) float32 (StyleGAN2 eq. 4).

    synthesis_fn: W+ (B, num_ws, w_dim) -> images (B, H, W, C); noise: N(0, 1) of the images'
    shape, divided here by sqrt(H W). ADA: pl_grads = grad(sum(images * noise), ws),
    lengths = sqrt(mean over the num_ws rows of the sum over w_dim of pl_grads^2)."""
    ws = tf.cast(ws, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(ws)
        images = tf.cast(synthesis_fn(ws), tf.float32)
        height, width = images.shape[1], images.shape[2]
        projected = tf.reduce_sum(images * tf.cast(noise, tf.float32)) / math.sqrt(height * width)
    gradients = tape.gradient(projected, ws)
    return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=2), axis=1))


def path_length_penalty(lengths, pl_mean, decay=0.01):
    """(penalty (B,), new pl_mean scalar): pl_mean moves toward the batch mean of `lengths`,
    new = pl_mean + decay (mean(lengths) - pl_mean), and penalty = (lengths - new)^2. As in
    both NVlabs implementations the penalty is differentiated through the new mean too; the
    caller stores tf.stop_gradient(new) and weights the penalty (pl_weight 2)."""
    lengths = tf.cast(lengths, tf.float32)
    pl_mean = tf.cast(pl_mean, tf.float32)
    new_mean = pl_mean + decay * (tf.reduce_mean(lengths) - pl_mean)
    return tf.square(lengths - new_mean), new_mean
