"""GANLoss: values for every mode, lists of outputs (multi-scale D)."""
import math

import numpy as np
import pytest
import tensorflow as tf

from kgan.losses import GANLoss


def test_bce_is_the_seeds_bceloss_on_sigmoid_scores():
    x = tf.constant(np.linspace(-4, 4, 12, dtype=np.float32).reshape(3, 2, 2, 1))
    real, fake = GANLoss("bce").discriminator(x, -x)
    p = tf.sigmoid(x).numpy()
    assert float(real) == pytest.approx(float(np.mean(-np.log(p))), rel=1e-5)
    assert float(fake) == pytest.approx(float(np.mean(-np.log(p))), rel=1e-5)
    assert float(GANLoss("bce").generator(tf.zeros([4, 1]))) == pytest.approx(math.log(2), rel=1e-5)


def test_bce_keeps_the_generator_gradient_when_the_discriminator_is_confident():
    scores = tf.Variable([[-40.0], [-90.0]])  # sigmoid underflows to ~0 in float32
    with tf.GradientTape() as tape:
        loss = GANLoss("bce").generator(scores)
    gradient = tape.gradient(loss, scores).numpy()
    assert np.all(np.isfinite(gradient)) and np.all(gradient < -0.4)


def test_lsgan_and_hinge():
    x = tf.constant([[0.5], [1.5]])
    real, fake = GANLoss("lsgan").discriminator(x, x)
    assert float(real) == pytest.approx((0.25 + 0.25) / 2)
    assert float(fake) == pytest.approx((0.25 + 2.25) / 2)
    real, fake = GANLoss("hinge").discriminator(x, x)
    assert float(real) == pytest.approx(0.25)
    assert float(fake) == pytest.approx((1.5 + 2.5) / 2)
    assert float(GANLoss("hinge").generator(x)) == pytest.approx(-1.0)


def test_lists_of_outputs_are_summed_and_computed_in_float32():
    loss = GANLoss("lsgan")
    outputs = [tf.zeros([2, 8, 8, 1], tf.float16), tf.zeros([2, 4, 4, 1], tf.bfloat16)]
    value = loss.generator(outputs)
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx(2.0)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        GANLoss("wasserstein-gp")
