"""GANLoss: values for every mode, lists of outputs (multi-scale D)."""
import math

import numpy as np
import pytest
import tensorflow as tf

from kgan.losses import GANLoss


def test_bce_from_probabilities():
    loss = GANLoss("bce")
    real, fake = loss.discriminator(tf.fill([4, 1], 0.5), tf.fill([4, 1], 0.5))
    assert float(real) == pytest.approx(math.log(2), rel=1e-5)
    assert float(fake) == pytest.approx(math.log(2), rel=1e-5)
    assert float(loss.generator(tf.fill([4, 1], 0.9))) == pytest.approx(-math.log(0.9), rel=1e-5)


def test_bce_logits_equals_bce_on_sigmoid():
    x = tf.constant(np.linspace(-4, 4, 12, dtype=np.float32).reshape(3, 2, 2, 1))
    a = GANLoss("bce_logits").discriminator(x, -x)
    b = GANLoss("bce").discriminator(tf.sigmoid(x), tf.sigmoid(-x))
    assert np.allclose([float(a[0]), float(a[1])], [float(b[0]), float(b[1])], rtol=1e-4)


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
