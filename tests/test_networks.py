"""Builders of seed 002: shapes, parameter counts from the issue, initialization."""
import numpy as np
import pytest
import tensorflow as tf

from kgan.layers import ConditionalBatchNormalization, norm_layer
from kgan.networks import (
    build_discriminator,
    build_generator,
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_mlp_gan_matches_seed_parameter_counts_and_shapes():
    generator, discriminator = mlp_generator(), mlp_discriminator()
    assert generator.count_params() == 1_486_352
    assert discriminator.count_params() == 1_460_225
    images = generator(np.zeros((2, 100), np.float32))
    assert images.shape == (2, 28, 28, 1)
    assert discriminator(images).shape == (2, 1)


def test_dcgan_matches_seed_trainable_counts_and_states_moving_statistics():
    generator, discriminator = dcgan_generator(), dcgan_discriminator()
    assert trainable_count(generator) == 3_576_704
    assert trainable_count(discriminator) == 2_765_568
    # Keras also counts the batch-norm moving mean and variance.
    assert generator.count_params() == 3_576_704 + 2 * (512 + 256 + 128 + 64)
    assert discriminator.count_params() == 2_765_568 + 2 * (128 + 256 + 512)
    images = generator(np.zeros((2, 100), np.float32))
    assert images.shape == (2, 64, 64, 3)
    assert discriminator(images).shape == (2, 1)


def test_conditional_dcgan_concatenates_a_32_wide_label_embedding():
    generator = dcgan_generator(num_classes=5)
    discriminator = dcgan_discriminator(num_classes=5)
    assert generator.get_layer("noise_and_label").output.shape == (None, 132)
    assert discriminator.get_layer("features_and_label").output.shape == (None, 256 + 32)
    assert discriminator.get_layer("hidden").output.shape == (None, 100)
    labels = tf.constant([0, 4], tf.int32)
    images = generator([tf.zeros((2, 100)), labels])
    assert images.shape == (2, 64, 64, 3)
    assert discriminator([images, labels]).shape == (2, 1)
    # label embedding 5 x 32 and the noise part of the first transposed conv grow G.
    assert trainable_count(generator) == 3_576_704 + 5 * 32 + 32 * 512 * 16


def test_projection_discriminator_scores_psi_of_phi_plus_the_label_projection():
    """Miyato & Koyama 2018: D(x, y) = psi(phi(x)) + <embed(y), phi(x)>, phi = the seed's
    100-wide hidden layer of the image features alone."""
    concat = dcgan_discriminator(num_classes=5)
    projection = dcgan_discriminator(num_classes=5, conditioning="projection")
    # no 5 x 32 label embedding and no 32 label inputs of the hidden layer (32 x 100 weights); a 5 x 100 projection.
    assert trainable_count(projection) == trainable_count(concat) - 5 * 32 - 32 * 100 + 5 * 100
    images = tf.random.stateless_uniform((3, 64, 64, 3), [1, 2], -1.0, 1.0)
    labels = tf.constant([0, 4, 2], tf.int32)
    embedding = projection.get_layer("discriminator_label_projection").embeddings.numpy()
    embedding[:] = np.random.default_rng(0).normal(size=embedding.shape)
    projection.get_layer("discriminator_label_projection").embeddings.assign(embedding)
    phi = tf.keras.Model(projection.inputs, projection.get_layer("hidden_lrelu").output)([images, labels]).numpy()
    kernel, bias = (w.numpy() for w in projection.get_layer("score").weights)
    expected = phi @ kernel + bias + np.sum(embedding[labels.numpy()] * phi, axis=1, keepdims=True)
    np.testing.assert_allclose(projection([images, labels], training=False).numpy(), expected, rtol=1e-5, atol=1e-5)
    other = projection([images, tf.constant([1, 1, 1], tf.int32)], training=False).numpy()
    assert np.abs(other - expected).max() > 1e-3


def test_unknown_conditioning_is_refused():
    with pytest.raises(ValueError, match="unknown conditioning 'late'"):
        dcgan_discriminator(num_classes=2, conditioning="late")


def test_labels_change_the_conditional_generator_output():
    generator = dcgan_generator(image_size=32, base_width=8, num_classes=2)
    noise = tf.random.stateless_normal((1, 100), seed=[0, 0])
    a = generator([noise, tf.constant([0])]).numpy()
    b = generator([noise, tf.constant([1])]).numpy()
    assert np.abs(a - b).max() > 0.1 * np.abs(a).max()


def test_conditional_norm_generator_has_a_scale_and_offset_per_class():
    """--conditional-norm: each of G's batch norms (widths 32, 16, 8 at 32x32, base 8) loses
    its own gamma and beta (2 C) for a (10, C) gamma and beta; the moving statistics stay."""
    plain = dcgan_generator(image_size=32, base_width=8, num_classes=10)
    conditional = dcgan_generator(image_size=32, base_width=8, num_classes=10, conditional_norm=True)
    widths = (32, 16, 8)
    assert trainable_count(conditional) == trainable_count(plain) - 2 * sum(widths) + 2 * 10 * sum(widths)
    assert conditional.count_params() - trainable_count(conditional) == 2 * sum(widths)
    for i, width in enumerate(widths):
        layer = conditional.get_layer(f"up_{i}_norm")
        assert isinstance(layer, ConditionalBatchNormalization)
        assert layer.gamma.shape == layer.beta.shape == (10, width)
        assert layer.output.shape == (None, 4 * 2**i, 4 * 2**i, width)
    labels = tf.constant([0, 9], tf.int32)
    assert conditional([tf.zeros((2, 100)), labels]).shape == (2, 32, 32, 3)


def test_conditional_batch_norm_applies_each_rows_class_scale_and_offset():
    """Both halves of the batch hold the same features, one label per half: batch statistics,
    then gamma[label] and beta[label]."""
    features = tf.random.stateless_normal((4, 3, 3, 2), [3, 4]) * 2.0 + 1.0
    features = tf.concat([features, features], 0)
    labels = tf.constant([0] * 4 + [1] * 4, tf.int32)
    layer = ConditionalBatchNormalization(2)
    layer([features, labels])
    layer.gamma.assign([[1.0, 2.0], [-0.5, 3.0]])
    layer.beta.assign([[0.0, 0.1], [1.0, -2.0]])
    out = layer([features, labels], training=True).numpy()
    x = features.numpy()
    normalized = (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + 1e-5)
    gamma, beta = layer.gamma.numpy()[labels.numpy()], layer.beta.numpy()[labels.numpy()]
    np.testing.assert_allclose(out, normalized * gamma[:, None, None] + beta[:, None, None], atol=1e-4)
    assert np.abs(out[:4] - out[4:]).min() > 1e-3


def test_conditional_batch_norm_config_round_trip_and_sync_batch_uses_the_global_batch(mirrored):
    layer = ConditionalBatchNormalization(3, momentum=0.8, synchronized=True, name="cbn")
    again = ConditionalBatchNormalization.from_config(layer.get_config())
    assert again.get_config() == layer.get_config() and again.normalization.synchronized
    features = tf.random.stateless_normal((8, 2, 2, 4), [5, 6]) + tf.range(8, dtype=tf.float32)[:, None, None, None]
    labels = tf.range(8, dtype=tf.int32) % 3
    expected = ConditionalBatchNormalization(3)([features, labels], training=True).numpy()
    with mirrored.scope():
        synced = ConditionalBatchNormalization(3, synchronized=True)
        synced.build((features.shape, labels.shape))
    data = mirrored.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((features, labels)).batch(8))
    outputs = mirrored.run(lambda x, y: synced([x, y], training=True), args=next(iter(data)))
    np.testing.assert_allclose(np.concatenate([t.numpy() for t in mirrored.experimental_local_results(outputs)]),
                               expected, atol=1e-4)


def test_conditional_norm_needs_labels_and_batch_norm():
    with pytest.raises(ValueError, match="conditional_norm needs num_classes"):
        dcgan_generator(image_size=8, base_width=4, conditional_norm=True)
    with pytest.raises(ValueError, match="norm 'batch' or 'sync_batch'"):
        dcgan_generator(image_size=8, base_width=4, num_classes=2, norm="instance", conditional_norm=True)


@pytest.mark.parametrize("size", [8, 32, 128])
def test_dcgan_other_sizes(size):
    generator = dcgan_generator(image_size=size, base_width=4)
    discriminator = dcgan_discriminator(image_size=size, base_width=4)
    images = generator(np.zeros((1, 100), np.float32))
    assert images.shape == (1, size, size, 3)
    assert discriminator(images).shape == (1, 1)


def test_dcgan_rejects_sizes_that_are_not_powers_of_two():
    with pytest.raises(ValueError, match="power of two"):
        dcgan_generator(image_size=48)


def test_initialization_follows_seed_weights_init():
    generator = dcgan_generator()
    kernel = generator.get_layer("up_1").kernel.numpy()
    assert abs(kernel.mean()) < 1e-3
    assert kernel.std() == pytest.approx(0.02, rel=0.05)
    gamma = generator.get_layer("up_1_norm").gamma.numpy()
    assert gamma.mean() == pytest.approx(1.0, abs=0.01)
    assert 0.01 < gamma.std() < 0.03
    assert np.all(generator.get_layer("up_1_norm").beta.numpy() == 0)


def test_final_activations_stay_float32_under_mixed_precision():
    import keras

    keras.mixed_precision.set_dtype_policy("mixed_float16")
    generator, discriminator = dcgan_generator(image_size=16, base_width=4), dcgan_discriminator(image_size=16, base_width=4)
    images = generator(np.zeros((1, 100), np.float32))
    assert images.dtype == "float32"
    assert discriminator(images).dtype == "float32"
    assert generator.get_layer("up_0").compute_dtype == "float16"


def test_factories_are_string_keyed_and_reject_unknown_names():
    assert build_generator("mlp").count_params() == 1_486_352
    assert build_discriminator("dcgan", image_size=16, base_width=4).output_shape == (None, 1)
    with pytest.raises(ValueError, match="choose one of"):
        build_generator("resnet_99blocks")


def test_norm_switch():
    assert norm_layer("none") is None
    assert norm_layer("sync_batch").synchronized
    assert not norm_layer("batch").synchronized
    instance = norm_layer("instance")
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 8, 8, 4)).astype(np.float32)
    y = instance(x).numpy()
    assert np.allclose(y.mean(axis=(1, 2)), 0, atol=1e-4)
    with pytest.raises(ValueError):
        norm_layer("layer")
