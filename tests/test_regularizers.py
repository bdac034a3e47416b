"""R1 and path-length penalties against hand computations."""
import numpy as np
import tensorflow as tf

from kgan.losses import GANLoss
from kgan.regularizers import path_length_penalty, path_lengths, r1_penalty


def test_r1_penalty_of_a_tiny_discriminator_and_its_weight_gradient():
    """D(x) = a sum(v tanh(x)): grad_x D = a v (1 - tanh(x)^2), so R1 = a^2 sum(v^2 (1 -
    tanh^2)^2) per image, and d R1 / d a = 2 a sum(...) (double backpropagation)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 4, 2)).astype("float32")
    v = tf.constant(rng.standard_normal((4, 4, 2)), tf.float32)
    a = tf.Variable(1.5)

    def discriminator(images):
        return a * tf.reduce_sum(v * tf.tanh(images), axis=[1, 2, 3])[:, None]

    with tf.GradientTape() as tape:
        penalty = r1_penalty(discriminator, tf.constant(x))
        loss = tf.reduce_mean(penalty) * 10.0 / 2
    inner = (v.numpy() * (1 - np.tanh(x) ** 2)) ** 2
    np.testing.assert_allclose(penalty.numpy(), 1.5 ** 2 * inner.sum(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(loss, a).numpy(), 5.0 * 2 * 1.5 * inner.sum(axis=(1, 2, 3)).mean(),
                               rtol=1e-5)


def test_path_lengths_of_a_linear_synthesis():
    """images = a reshape(ws . A): J^T y = a A y / sqrt(HW), so the length is
    sqrt(mean over rows of the sum over w_dim of (a A y / sqrt(HW))^2)."""
    rng = np.random.default_rng(1)
    batch, num_ws, w_dim, height, width = 2, 3, 4, 2, 3
    projection = rng.standard_normal((num_ws, w_dim, height * width)).astype("float32")
    ws = rng.standard_normal((batch, num_ws, w_dim)).astype("float32")
    noise = rng.standard_normal((batch, height, width, 1)).astype("float32")
    a = tf.Variable(2.0)

    def synthesis(w):
        return a * tf.reshape(tf.einsum("bnd,ndp->bp", w, projection), [-1, height, width, 1])

    with tf.GradientTape() as tape:
        lengths = path_lengths(synthesis, tf.constant(ws), tf.constant(noise))
        total = tf.reduce_sum(lengths)
    grads = 2.0 * np.einsum("ndp,bp->bnd", projection, noise.reshape(batch, -1)) / np.sqrt(height * width)
    expected = np.sqrt((grads ** 2).sum(axis=2).mean(axis=1))
    np.testing.assert_allclose(lengths.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(total, a).numpy(), expected.sum() / 2.0, rtol=1e-5)


def test_path_length_penalty_moves_pl_mean_by_decay():
    penalty, new_mean = path_length_penalty(tf.constant([1.0, 3.0]), tf.constant(0.5), decay=0.01)
    assert np.isclose(new_mean.numpy(), 0.5 + 0.01 * (2.0 - 0.5))
    np.testing.assert_allclose(penalty.numpy(), (np.array([1.0, 3.0]) - 0.515) ** 2, rtol=1e-6)


def test_bce_gan_loss_is_the_non_saturating_logistic_loss():
    """GANLoss("bce") on logits = StyleGAN2's G softplus(-D(G(z))), D softplus(D(G(z))) +
    softplus(-D(x))."""
    real, fake = tf.constant([[0.3], [-2.0]]), tf.constant([[1.0], [-0.5]])
    d_real, d_fake = GANLoss("bce").discriminator(real, fake)
    np.testing.assert_allclose(d_real.numpy(), np.log1p(np.exp(-real.numpy())).mean(), rtol=1e-6)
    np.testing.assert_allclose(d_fake.numpy(), np.log1p(np.exp(fake.numpy())).mean(), rtol=1e-6)
    np.testing.assert_allclose(GANLoss("bce").generator(fake).numpy(), np.log1p(np.exp(-fake.numpy())).mean(),
                               rtol=1e-6)
