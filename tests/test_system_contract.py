"""The contract every registered system passes, at its `tiny` config: the command line
trains and exports it, a new process restores its checkpoint bit for bit, the export
equals the Keras generator, a mirrored step equals the one-device step, an XLA step equals
the graph step, both mixed precisions train without NaN, and `--arch X --help` shows X's
flags only. A system registered in `kgan.systems` is covered the day it registers."""
import dataclasses
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import cli
from kgan import config as cfg
from kgan.checkpoints import Checkpointer
from kgan.systems import SYSTEMS, TrainingData

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = sorted(SYSTEMS)


def tiny_flags(system):
    flags = []
    for key, value in system.tiny.items():
        if isinstance(value, bool):
            flags.append(cfg.flag(key) if value else "--no-" + key.replace("_", "-"))
        else:
            flags += [cfg.flag(key), str(value)]
    return flags


def tiny_config(system):
    """The tiny config completed as from data of two classes (the conditional GAN's)."""
    return system.with_data(system.Config(**system.tiny), TrainingData(None, 1, (), ("a", "b")))


def built(system, config, strategy=None, weights=None, jit=False):
    """A compiled model of `config` (under `strategy`), optionally with given weights."""
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = system.build(config, strategy.num_replicas_in_sync)
        system.compile(model, config, cli.RunOptions(jit=jit), steps_per_epoch=1)
    if weights is not None:
        for network, values in zip(model.networks().values(), weights):
            network.set_weights(values)
    return model


def network_weights(model):
    return [network.get_weights() for network in model.networks().values()]


def fit_steps(model, batch, steps):
    return model.fit(tf.data.Dataset.from_tensors(batch).repeat(), epochs=1, steps_per_epoch=steps, verbose=0,
                     shuffle=False)


def assert_same_update(initial, first, second, rtol, sign_flips=3, what=""):
    """The weight change of each network is the same in both, to `rtol` in norm. Adam's first
    step moves a weight by g / (|g| + eps) * lr, about +-lr whatever the gradient's size, so a
    gradient at the float noise level (a conv bias before instance norm, whose true gradient
    is 0) computed in another order takes another step: an element-wise check would be noise.
    Up to `sign_flips` such elements (each 2 lr apart, lr = the largest step) are allowed
    whatever the network's size: in the tiny pix2pixHD G (10,699 weights) one flipped element
    of its stem kernel alone is 0.0196 of the update's norm (measured, XLA vs graph)."""
    for start, a_net, b_net in zip(initial, first, second):
        a = np.concatenate([(w - s).ravel() for w, s in zip(a_net, start)])
        b = np.concatenate([(w - s).ravel() for w, s in zip(b_net, start)])
        assert np.linalg.norm(a) > 0
        allowed = max(rtol * np.linalg.norm(a), 2 * np.abs(a).max() * np.sqrt(sign_flips))
        assert np.linalg.norm(a - b) <= allowed, (what, np.linalg.norm(a - b) / np.linalg.norm(a), allowed)


@pytest.mark.parametrize("name", NAMES)
def test_help_lists_the_systems_flags_and_no_other_systems(name):
    system = SYSTEMS[name]
    parser = cli.build_parser(system)
    flags = {option for action in parser._actions for option in action.option_strings}
    assert all(action.help for action in parser._actions)
    own = cfg.names(system.Config)
    assert {cfg.flag(field) for field in own} <= flags
    others = set().union(*(cfg.names(s.Config) for s in SYSTEMS.values())) - own
    assert not {cfg.flag(field) for field in others} & flags
    assert "(default" in parser.format_help()


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_cli_run_new_process_restore_and_export(name, tmp_path):
    """train.py in a subprocess (3 steps, export); here: finite logged losses, the restored
    checkpoint re-saved equals the original tensor for tensor (weights, optimizer slots,
    step, pools), the SavedModel's outputs equal the restored generator's, and the images
    the metrics compare (real and generated, of one batch) are uint8 of one shape."""
    system = SYSTEMS[name]
    logdir, exports = tmp_path / "run", tmp_path / "sm"
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "train.py"), "--arch", name, "--data", "sample", "--steps", "3",
         "--logdir", str(logdir), "--export", str(exports), "--log-every", "1", *tiny_flags(system)],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]

    options = cli.parse_options(["--resume", "--logdir", str(logdir)])
    model = built(system, options.config)
    restored = Checkpointer(model, str(logdir / "checkpoints"))
    assert restored.restore_latest() == 3
    again = Checkpointer(model, str(tmp_path / "again"))
    original, copy = tf.train.load_checkpoint(restored.latest), tf.train.load_checkpoint(again.save())
    keys = {k for k, _ in tf.train.list_variables(restored.latest)} - {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert keys == {k for k, _ in tf.train.list_variables(again.latest)} - {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert any("optimizer" in k for k in keys)
    for key in keys:
        value = np.asarray(original.get_tensor(key))
        assert value.dtype.kind != "f" or np.all(np.isfinite(value)), key
        np.testing.assert_array_equal(value, copy.get_tensor(key), err_msg=key)

    batch = system.synthetic_batch(options.config)
    real, generated = model.real_images(batch), model.generated_images(batch, seed=1)
    assert real.dtype == generated.dtype == tf.uint8 and real.shape == generated.shape and real.shape[0] > 0
    np.testing.assert_array_equal(generated, model.generated_images(batch, seed=1))

    for suffix, endpoint in model.serving_endpoints().items():
        path = str(exports / (name + suffix) / "1")
        loaded = tf.saved_model.load(path)
        serving = loaded.signatures["serving_default"]
        documented = {k: v.numpy().tolist() for k, v in loaded.signatures["input_shapes"]().items()}
        assert documented == {s.name: [-1 if d is None else d for d in s.shape] for s in endpoint.inputs}
        assert all(s.shape.rank is None for s in serving.structured_input_signature[1].values())  # checked inside
        inputs = {}
        for i, spec in enumerate(endpoint.inputs):
            shape = [3 if d is None else d for d in spec.shape]
            if spec.dtype == tf.uint8:
                shape[1:3] = [22, 27]  # any size, not square
                inputs[spec.name] = tf.random.stateless_uniform(shape, [i, 0], 0, 256, tf.int32)
            elif spec.dtype.is_integer:
                inputs[spec.name] = tf.zeros(shape, spec.dtype)
            else:
                inputs[spec.name] = tf.random.stateless_normal(shape, [i, 1])
            inputs[spec.name] = tf.cast(inputs[spec.name], spec.dtype)
        served, expected = serving(**inputs), endpoint.fn(*inputs.values())
        for key, value in expected.items():
            if value.dtype == tf.string:  # a cGAN's class_names output
                np.testing.assert_array_equal(served[key].numpy(), value.numpy())
            else:
                np.testing.assert_allclose(served[key].numpy(), value.numpy(),
                                           atol=1e-5 if value.dtype.is_floating else 1)
        first = endpoint.inputs[0].name
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"{first}: expected"):
            serving(**dict(inputs, **{first: inputs[first][None]}))  # one axis too many


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_mirrored_step_and_xla_step_equal_the_graph_step(name, mirrored):
    """One step from the same weights on one device in graph mode (the reference), under
    `MirroredStrategy` on two devices, and compiled with XLA: the same update. One cell for
    both, so that the reference step (the cell's largest cost: tracing) is built once."""
    system = SYSTEMS[name]
    config = tiny_config(system)
    batch = system.synthetic_batch(config)
    single = built(system, config)
    initial = network_weights(single)
    fit_steps(single, batch, 1)
    moved = max(np.abs(a - b).max() for a_net, b_net in zip(initial, network_weights(single))
                for a, b in zip(a_net, b_net))
    assert moved > 1e-6
    for what, strategy, jit in (("mirrored", mirrored, False), ("xla", None, True)):
        other = built(system, config, strategy=strategy, weights=initial, jit=jit)
        fit_steps(other, batch, 1)
        assert_same_update(initial, network_weights(single), network_weights(other), rtol=0.02, what=what)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", NAMES)
def test_ten_mixed_precision_steps_without_nan(name, precision):
    system = SYSTEMS[name]
    keras.mixed_precision.set_dtype_policy(precision)
    config = dataclasses.replace(tiny_config(system), precision=precision)
    model = built(system, config)
    if precision == "mixed_float16":
        assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    history = fit_steps(model, system.synthetic_batch(config), 10)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert all(np.all(np.isfinite(w)) for net in network_weights(model) for w in net)


def test_a_new_system_is_one_module_registered_once(tmp_path, capsys):
    """What a contributor writes for a new system (here in the test): a config and a System;
    registering it gives it --arch, its own flags, one-line errors and training."""
    from kgan.config import config, option
    from kgan.systems import register
    from kgan.systems.gan import GANConfig, MLPGANSystem

    @config
    class DemoConfig(GANConfig):
        demo_depth: int = option(3, "dense layers of G and D", minimum=1)

    class DemoSystem(MLPGANSystem):
        name = "demo"
        description = "a demonstration system"
        Config = DemoConfig

    register(DemoSystem())
    try:
        assert "--demo-depth" in cli.build_parser(SYSTEMS["demo"]).format_help()
        assert cli.main(["--arch", "gan", "--demo-depth", "2", "--logdir", str(tmp_path / "x")]) == 2
        assert "--demo-depth is an option of --arch demo, not of --arch gan" in capsys.readouterr().err
        model = cli.train(cli.parse_options(["--arch", "demo", "--data", "sample", "--steps", "2", "--demo-depth",
                                             "2", "--logdir", str(tmp_path / "run"), *tiny_flags(SYSTEMS["demo"])]))
        assert int(model.step) == 2
        assert cli.load_run(str(tmp_path / "run"))[1].demo_depth == 2
    finally:
        del SYSTEMS["demo"]
