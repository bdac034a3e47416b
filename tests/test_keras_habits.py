"""What a Keras user does with any kgan model (issue 10, item 4), for every system model at a
tiny config: `model.save("m.keras")` / `keras.models.load_model` / `ModelCheckpoint("ck.keras")`
round trips (equal generator outputs, optimizer state restored, `fit` continues with the
restored compile config); `evaluate` and `fit(validation_data=...)` report the losses without
changing a weight; bad first batches (uint8 or 0..255 images, CycleGAN without
drop_remainder) end in one line."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import cli
from kgan.errors import UsageError
from kgan.models.pix2pixhd import Pix2PixHD
from kgan.models.stylegan2 import StyleGAN2, stylegan2_optimizers
from kgan.networks.pix2pixhd import feature_encoder, local_enhancer, multiscale_discriminator
from kgan.networks.stylegan2 import StyleGAN2Generator, stylegan2_discriminator, stylegan2_generator
from kgan.systems import SYSTEMS, TrainingData

# every case of the `trained` fixture is built once: on one xdist worker, not on both.
pytestmark = pytest.mark.xdist_group("keras_habits")


def system_case(name, **options):
    def make():
        system = SYSTEMS[name]
        config = system.with_data(system.Config(**system.tiny, **options), TrainingData(None, 1, (), ("a", "b")))
        model = system.build(config)
        system.compile(model, config, cli.RunOptions(), steps_per_epoch=1)
        return model, system.synthetic_batch(config)

    return make


def stylegan2_case():
    tiny = dict(image_size=8, channel_base=64, channel_max=8)
    generator = stylegan2_generator(z_dim=8, w_dim=8, mapping_layers=1, **tiny)
    model = StyleGAN2(generator, stylegan2_discriminator(mbstd_group_size=2, **tiny), r1_interval=2, pl_interval=2)
    model.compile(*stylegan2_optimizers(0.0025, r1_interval=2, pl_interval=2), loss="bce")
    return model, tf.random.stateless_uniform((2, 8, 8, 3), [0, 0], -1.0, 1.0)


def pix2pixhd_case():
    labels = 3
    generator = local_enhancer(labels + 1 + 3, base_width=4, n_downsample_global=1, n_blocks_global=1,
                               n_blocks_local=1)
    discriminator = multiscale_discriminator(labels + 1 + 3, base_width=4, n_layers=1, num_d=2)
    model = Pix2PixHD(generator, discriminator, labels, encoder=feature_encoder(base_width=4, n_downsampling=1))
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5), loss="lsgan")
    ids = tf.reshape(tf.range(2 * 16 * 16) // 37 % 3, (2, 16, 16))
    return model, {"labels": ids, "instances": ids * 10, "image": tf.random.stateless_uniform((2, 16, 16, 3), [0, 1],
                                                                                             -1.0, 1.0)}


CASES = {**{name: system_case(name) for name in sorted(SYSTEMS)}, "stylegan2": stylegan2_case,
         "pix2pixhd": pix2pixhd_case,
         "cgan_conditional_norm_mode_seeking": system_case("cgan", conditional_norm=True, mode_seeking=1.0)}


def dataset(batch):
    return tf.data.Dataset.from_tensors(batch).repeat()


def generated(model):
    """The evaluation generator's float output on fixed inputs (StyleGAN2: const noise)."""
    g = model.evaluation_generator()
    if isinstance(g, StyleGAN2Generator):
        return g.synthesis(g.mapping(tf.random.stateless_normal([2, g.z_dim], [1, 2])), noise_mode="const")
    inputs = []
    for i, spec in enumerate(g.inputs):
        shape = [2] + [32 if d is None else d for d in spec.shape[1:]]
        if spec.dtype.startswith("int"):
            inputs.append(tf.cast(tf.range(2) % 2, spec.dtype) if len(shape) == 1 else tf.zeros(shape, spec.dtype))
        else:
            inputs.append(tf.random.stateless_uniform(shape, [1, i], -1.0, 1.0))
    return g(inputs if len(inputs) > 1 else inputs[0], training=False)


def plain(config):
    """A config without Keras' per-process `shared_object_id` entries."""
    if isinstance(config, dict):
        return {key: plain(value) for key, value in config.items() if key != "shared_object_id"}
    if isinstance(config, (list, tuple)):
        return [plain(value) for value in config]
    return config


def state(model):
    """Every network weight, the step and both optimizers' variables, as numpy."""
    variables = [w for network in model.networks().values() for w in network.weights] + [model.step]
    variables += model.g_optimizer.variables + model.d_optimizer.variables
    return [np.array(v) for v in variables]


def fit_one_step_eagerly(model, batch):
    """One `fit` step run eagerly: tracing a train step costs more than one eager step of
    these tiny networks (evaluate and validation below run traced, as users run them)."""
    model.run_eagerly = True
    history = model.fit(dataset(batch), epochs=1, steps_per_epoch=1, verbose=0)
    model.run_eagerly, model.train_function = False, None
    return history


@pytest.fixture(scope="module")
def trained():
    """{case: (model after one fit step, its batch)}, built once for the module."""
    models = {}
    for name, make in CASES.items():
        keras.utils.set_random_seed(0)
        model, batch = make()
        fit_one_step_eagerly(model, batch)
        models[name] = model, batch
    return models


@pytest.mark.parametrize("name", list(CASES))
def test_keras_file_round_trip_then_fit_continues(name, trained, tmp_path):
    """save -> load_model: equal config, generator outputs and full training state; the
    loaded model is compiled from its saved compile config and takes a further step."""
    model, batch = trained[name]
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model) and plain(loaded.get_config()) == plain(model.get_config())
    np.testing.assert_array_equal(generated(loaded), generated(model))
    for restored, original in zip(state(loaded), state(model), strict=True):
        np.testing.assert_array_equal(restored, original)
    assert int(loaded.step) == 1 and int(loaded.g_optimizer.iterations) >= 1
    assert loaded.get_compile_config() == model.get_compile_config()

    before = state(loaded)
    history = fit_one_step_eagerly(loaded, batch)
    assert int(loaded.step) == 2
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert any(not np.array_equal(a, b) for a, b in zip(before, state(loaded)))


@pytest.mark.parametrize("name", list(CASES))
def test_evaluate_reports_the_losses_and_changes_nothing(name, trained):
    model, batch = trained[name]
    before = state(model)
    pools = [np.array(v) for v in getattr(model, "pool_a", tf.Module()).variables]
    results = model.evaluate(dataset(batch), steps=2, verbose=0, return_dict=True)
    assert set(results) <= set(model.loss_names) and {"d_loss", "g_loss"} <= set(results)
    assert all(np.isfinite(value) for value in results.values())
    for after, original in zip(state(model), before, strict=True):
        np.testing.assert_array_equal(after, original)
    for after, original in zip(getattr(model, "pool_a", tf.Module()).variables, pools, strict=True):
        np.testing.assert_array_equal(after, original)


def test_fit_with_validation_data_and_model_checkpoint(trained, tmp_path):
    """fit(validation_data=...) logs val_ losses; ModelCheckpoint("ck.keras") writes a file
    load_model reads back at the saved step."""
    model, batch = trained["dcgan"]
    path = str(tmp_path / "ck.keras")
    history = model.fit(dataset(batch), epochs=1, steps_per_epoch=1, validation_data=dataset(batch),
                        validation_steps=1, callbacks=[keras.callbacks.ModelCheckpoint(path)], verbose=0)
    assert {"val_d_loss", "val_g_loss", "d_loss", "g_loss"} <= set(history.history)
    assert int(keras.models.load_model(path).step) == int(model.step)


@pytest.mark.parametrize("images, message", [
    (np.full((2, 8, 8, 3), 200, np.uint8), "GAN takes float images in [-1, 1], got uint8 images: convert them with "
                                           "x / 127.5 - 1 (pipelines.images.to_unit_range)"),
    (np.full((2, 8, 8, 3), 255.0, np.float32), "GAN takes images in [-1, 1], got values in [255, 255]: convert "
                                               "0..255 images with x / 127.5 - 1"),
])
def test_images_outside_the_unit_range_are_refused_at_the_first_batch(trained, images, message):
    model, good = trained["dcgan"]
    step = int(model.step)
    bad = tf.data.Dataset.from_tensors(images).repeat()
    runs = {
        "fit": lambda: model.fit(bad, epochs=1, steps_per_epoch=1, verbose=0),
        "evaluate": lambda: model.evaluate(bad, steps=1, verbose=0),
        "validation": lambda: model.fit(dataset(good), epochs=1, steps_per_epoch=1, validation_data=bad, verbose=0),
        "arrays": lambda: model.fit(images, epochs=1, verbose=0),
    }
    for name, run in runs.items():
        with pytest.raises(UsageError) as error:
            run()
        assert str(error.value) == message, name
    assert int(model.step) == step


def test_cyclegan_without_drop_remainder_is_one_line(trained):
    model, batch = trained["cyclegan"]
    unbatched = tf.data.Dataset.from_tensors(batch).unbatch().repeat(3)
    with pytest.raises(UsageError, match=r"^CycleGAN needs batches of one fixed size \(its image pools\): batch the "
                                         r"data with drop_remainder=True$"):
        model.fit(unbatched.batch(2), epochs=1, steps_per_epoch=1, verbose=0)


@pytest.mark.parametrize("name", ["gan", "cyclegan", "stylegan2"])
def test_compile_with_one_optimizer_is_a_type_error_naming_both(name, trained):
    """`compile(optimizer=..., loss=...)`, a plain Keras model's call: one TypeError line that
    names g_optimizer and d_optimizer (and what was passed instead)."""
    model, _ = trained[name]
    with pytest.raises(TypeError, match=rf"^{type(model).__name__}\.compile takes g_optimizer and d_optimizer \(one "
                                        r"Keras optimizer for the generator, one for the discriminator\), loss, "
                                        r"jit_compile and steps_per_execution \(got optimizer\)$"):
        model.compile(optimizer=keras.optimizers.Adam(), loss="bce")
    with pytest.raises(TypeError, match=r"takes g_optimizer and d_optimizer"):
        model.compile(keras.optimizers.Adam())
