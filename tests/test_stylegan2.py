"""StyleGAN2 training on a tiny config: lazy-regularization phases, EMA, resume, export, distribute."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.checkpoints import Checkpointer
from kgan.export import export_generator
from kgan.models.stylegan2 import StyleGAN2, stylegan2_optimizers
from kgan.networks.stylegan2 import stylegan2_discriminator, stylegan2_generator

TINY = dict(image_size=16, channel_base=128, channel_max=16)


def tiny_model(num_classes=None, g_optimizer=None, **kwargs):
    generator = stylegan2_generator(z_dim=16, w_dim=16, mapping_layers=2, num_classes=num_classes, **TINY)
    discriminator = stylegan2_discriminator(num_classes=num_classes, **TINY)
    model = StyleGAN2(generator, discriminator, **{"r1_gamma": 1.0, **kwargs})
    g_default, d_optimizer = stylegan2_optimizers(0.0025)
    model.compile(g_optimizer or g_default, d_optimizer, loss="bce")
    return model


def random_images(count=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, 16, 16, 3)).astype("float32")


def values(weights):
    return [np.array(w) for w in weights]


def changed(before, weights):
    return max(np.abs(a - b).max() for a, b in zip(before, values(weights)))


def test_optimizers_have_the_lazy_regularization_adjustment():
    """ADA: c = I / (I + 1), lr * c, betas ** c; G with the path-length interval 4, D with R1's 16."""
    g_optimizer, d_optimizer = stylegan2_optimizers(0.002, r1_interval=16, pl_interval=4)
    assert np.isclose(float(g_optimizer.learning_rate), 0.0016)
    assert np.isclose(float(d_optimizer.learning_rate), 0.002 * 16 / 17) and round(0.002 * 16 / 17, 7) == 0.0018824
    assert g_optimizer.beta_1 == d_optimizer.beta_1 == 0.0
    assert np.isclose(g_optimizer.beta_2, 0.99 ** 0.8) and np.isclose(d_optimizer.beta_2, 0.99 ** (16 / 17))
    assert g_optimizer.epsilon == 1e-8
    plain, _ = stylegan2_optimizers(0.002, pl_interval=None)
    assert np.isclose(float(plain.learning_rate), 0.002) and plain.beta_2 == 0.99


def test_each_phase_changes_only_what_it_should():
    """R1 updates D only; the path-length phase G (mapping included) and pl_mean, not D; the
    main phases their own network (and w_avg, which every non-mixing mapping pass moves)."""
    model = tiny_model()
    images = tf.constant(random_images())
    g, d, mapping = model.generator, model.discriminator, model.generator.mapping
    snapshot = (lambda: (values(g.trainable_weights), values(d.trainable_weights), float(model.pl_mean),
                         mapping.w_avg.numpy().copy(), values(model.generator_ema.weights)))

    before = snapshot()
    model.d_reg_phase(images)
    assert changed(before[1], d.trainable_weights) > 0
    assert changed(before[0], g.trainable_weights) == 0 and float(model.pl_mean) == before[2] == 0.0
    np.testing.assert_array_equal(mapping.w_avg.numpy(), before[3])
    assert (int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)) == (1, 0)
    assert float(model.trackers["r1_penalty"].result()) > 0

    before = snapshot()
    lengths = model.pl_lengths(8).numpy()
    model.g_reg_phase(images)
    assert lengths.shape == (4,)
    assert np.isclose(float(model.pl_mean), 0.01 * lengths.mean(), rtol=1e-4)
    assert changed(before[0], g.trainable_weights) > 0 and changed(before[0][:4], mapping.trainable_weights) > 0
    assert changed(before[1], d.trainable_weights) == 0
    assert (int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)) == (1, 1)

    before = snapshot()
    model.d_main_phase(images, None)
    assert changed(before[1], d.trainable_weights) > 0 and changed(before[0], g.trainable_weights) == 0
    assert np.abs(mapping.w_avg.numpy() - before[3]).max() > 0 and float(model.pl_mean) == before[2]
    before = snapshot()
    model.g_main_phase(8)
    assert changed(before[0], g.trainable_weights) > 0 and changed(before[1], d.trainable_weights) == 0
    assert changed(before[4], model.generator_ema.weights) == 0


def test_ema_update_rule():
    """G_ema <- G + beta (G_ema - G), beta = 0.5 ** (batch / (ema_kimg 1000)); with a ramp-up
    ema_nimg = min(ema_kimg 1000, step batch ramp-up) (0 at step 0: a copy); non-trainable
    weights (w_avg, noise maps) copied."""
    model = tiny_model(ema_kimg=10.0)
    g, ema = model.generator, model.generator_ema
    for weight in ema.trainable_weights:
        weight.assign(tf.zeros_like(weight))
    g.mapping.w_avg.assign(tf.fill([16], 3.0))
    model.update_ema(32)
    beta = 0.5 ** (32 / 10000)
    assert np.isclose(beta, 0.997784, atol=1e-6)
    for a, b in zip(ema.trainable_weights, g.trainable_weights):
        # float32 w + beta (0 - w) keeps ~eps / (1 - beta) = 3e-5 relative precision
        np.testing.assert_allclose(a.numpy(), (1 - beta) * b.numpy(), rtol=1e-4, atol=1e-8)
    np.testing.assert_array_equal(ema.mapping.w_avg.numpy(), np.full(16, 3.0))

    ramped = tiny_model(ema_kimg=10.0, ema_rampup=0.05)
    assert float(ramped.ema_beta(32)) == 0.0
    ramped.step.assign(100)
    assert np.isclose(float(ramped.ema_beta(32)), 0.5 ** (32 / min(10000, 100 * 32 * 0.05)))


def test_twenty_steps_equal_ten_then_restore_then_ten(tmp_path):
    """fit 20 steps = fit 10, checkpoint, (fit 10 more, restore the checkpoint), fit 10: every
    weight, G_ema, pl_mean and the optimizer slots agree. The lazy schedule counts optimizer
    updates: path length at steps 0, 4, 8, 12, 16, R1 at 0 and 16."""
    model = tiny_model()
    data = tf.data.Dataset.from_tensors(random_images()).repeat()
    model.fit(data, epochs=1, steps_per_epoch=10, verbose=0, shuffle=False)
    assert (int(model.step), int(model.g_optimizer.iterations), int(model.d_optimizer.iterations)) == (10, 13, 11)
    checkpointer = Checkpointer(model, str(tmp_path / "checkpoints"))
    checkpointer.save()

    def state():
        return values(model.generator.weights + model.discriminator.weights + model.generator_ema.weights
                      + model.g_optimizer.variables + model.d_optimizer.variables) + [float(model.pl_mean)]

    history = model.fit(data, epochs=1, steps_per_epoch=10, verbose=0, shuffle=False)
    assert (int(model.step), int(model.g_optimizer.iterations), int(model.d_optimizer.iterations)) == (20, 25, 22)
    assert all(np.isfinite(v[-1]) for v in history.history.values()) and len(history.history) == 7
    straight = state()
    assert all(np.isfinite(v).all() for v in straight)

    assert checkpointer.restore_latest() == 10
    assert int(model.g_optimizer.iterations) == 13
    model.fit(data, epochs=1, steps_per_epoch=10, verbose=0, shuffle=False)
    resumed = state()
    assert max(np.abs(a - b).max() for a, b in zip(straight, resumed)) < 1e-5
    assert straight[-1] > 0  # pl_mean moved


def test_conditional_step_and_missing_labels():
    model = tiny_model(num_classes=3)
    labels = tf.constant(np.arange(8) % 3, tf.int32)
    logs = model.train_step((tf.constant(random_images()), labels))
    assert all(np.isfinite(float(v)) for v in logs.values())
    with pytest.raises(ValueError, match="needs \\(images, labels\\)"):
        model.train_step(tf.constant(random_images()))


def test_sample_grid_and_serving_signatures(tmp_path):
    """Grid: the same fixed z at psi 1 then 0.7. Export: G_ema from z + per-sample psi, and from
    W+; psi 0 gives w_avg for every z, which the W+ signature renders identically."""
    model = tiny_model()
    model.generator_ema.mapping.w_avg.assign(tf.random.stateless_normal([16], [1, 1]))
    images, columns = model.sample_grid(count=16)
    assert images.shape == (32, 16, 16, 3) and images.dtype == tf.uint8 and columns == 8
    assert model.evaluation_generator() is model.generator_ema
    assert set(model.networks()) == {"generator", "discriminator", "generator_ema"}
    assert "pl_mean" in model.checkpoint_items()

    paths = export_generator(model, str(tmp_path), "stylegan2")
    assert [p.split("/")[-2:] for p in paths] == [["stylegan2", "1"], ["stylegan2_wplus", "1"]]
    from_z = tf.saved_model.load(paths[0]).signatures["serving_default"]
    from_ws = tf.saved_model.load(paths[1]).signatures["serving_default"]
    z = tf.random.stateless_normal([3, 16], [2, 2])
    average = from_z(z=z, truncation_psi=tf.zeros([3]))["images"].numpy()
    assert average.shape == (3, 16, 16, 3) and average.dtype == np.uint8
    np.testing.assert_array_equal(average[0], average[1])
    ws = tf.tile(model.generator_ema.mapping.w_avg.value[None, None], [1, model.generator.num_ws, 1])
    np.testing.assert_array_equal(from_ws(ws=ws)["images"].numpy()[0], average[0])
    samples = from_z(z=z, truncation_psi=tf.ones([3]))["images"].numpy()
    assert np.abs(samples[0].astype(int) - samples[1]).max() > 0


def test_mirrored_step_aggregates_pl_mean_and_keeps_replicas_equal(mirrored):
    """On 2 replicas (4 images each) pl_mean becomes 0.01 x the mean path length over both
    replicas' samples, w_avg and G_ema agree across replicas, and G_ema follows the EMA rule.
    G's learning rate is 0 so the lengths can be measured before the step."""
    with mirrored.scope():
        model = tiny_model(g_optimizer=keras.optimizers.Adam(0.0, beta_1=0.0, beta_2=0.99), ema_kimg=0.01)
        for weight in model.generator_ema.trainable_weights:
            weight.assign(tf.zeros_like(weight))
    images = next(iter(mirrored.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(random_images()).unbatch().batch(8))))
    lengths = mirrored.experimental_local_results(mirrored.run(model.pl_lengths, args=(4,)))
    assert [x.shape for x in lengths] == [(2,), (2,)]
    mirrored.run(model.train_step, args=(images,))
    assert (int(model.g_optimizer.iterations.numpy()), int(model.d_optimizer.iterations.numpy())) == (2, 2)
    pl_means = [float(v) for v in model.pl_mean.value.values]
    assert np.allclose(pl_means, 0.01 * np.mean(np.concatenate(lengths)), rtol=1e-4)
    w_avg = [v.numpy() for v in model.generator.mapping.w_avg.value.values]
    np.testing.assert_array_equal(w_avg[0], w_avg[1])
    beta = 0.5 ** (8 / 10)
    for ema, weight in zip(model.generator_ema.trainable_weights, model.generator.trainable_weights):
        copies = [v.numpy() for v in ema.value.values]
        np.testing.assert_array_equal(copies[0], copies[1])
        np.testing.assert_allclose(copies[0], (1 - beta) * weight.numpy(), rtol=1e-5, atol=1e-8)
