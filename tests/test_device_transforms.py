"""`--transforms device` (issue 17): the random per-image work of a pipeline runs at the start
of the train step. One definition serves both placements, so the host batches and the
device batches are equal bit for bit for the same seed and step: in a graph, under XLA and
on the replicas of a MirroredStrategy; and a short training gives the same weights."""
import collections
import functools
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import cli
from kgan.models.base import AdversarialModel
from kgan.systems import SYSTEMS
from pipelines.batches import (edges2shoes_pipeline, label_map_pipeline, on_host, paired_pipeline,
                               superres_pipeline, unpaired_crop_pipeline, unpaired_pipeline)
from pipelines.sources import ImageSource, sample_photos_source

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SEED = 3
STEPS = 2


def photos(size=48):
    return sample_photos_source(size)


def image_source(offset, count=5, size=40):
    images = np.random.default_rng(offset).integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    return ImageSource(f"random {offset}", tf.data.Dataset.from_tensor_slices({"image": images}), count)


def pair_source(count=5, size=40):
    images = np.random.default_rng(0).integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    dataset = tf.data.Dataset.from_tensor_slices({"source": images, "target": 255 - images})
    return ImageSource("pairs", dataset, count)


def label_source(count=4, size=(20, 30)):
    """pix2pixHD examples: label maps of 5 classes, instance ids above 255 (as Cityscapes')."""
    generator = np.random.default_rng(4)
    labels = generator.integers(0, 5, (count, *size, 1), dtype=np.uint8)
    instances = (labels.astype(np.int32) * 1000 + generator.integers(0, 3, (count, *size, 1))).astype(np.int32)
    images = generator.integers(0, 256, (count, *size, 3), dtype=np.uint8)
    dataset = tf.data.Dataset.from_tensor_slices({"label_map": labels, "instance_map": instances, "image": images})
    return ImageSource("label maps", dataset, count)


def sized_source(offset, sizes=((40, 52), (33, 33), (61, 45))):
    """Images of different sizes (the siamese GAN's photos)."""
    generator = np.random.default_rng(offset)
    images = [generator.integers(0, 256, (*size, 3), dtype=np.uint8) for size in sizes]
    dataset = tf.data.Dataset.from_generator(lambda: ({"image": image} for image in images),
                                             output_signature={"image": tf.TensorSpec([None, None, 3], tf.uint8)})
    return ImageSource(f"sized {offset}", dataset, len(images))


PIPELINES = {
    "pix2pix-ab": lambda: paired_pipeline(pair_source(), 2, load_size=40, crop_size=32, seed=SEED),
    "pix2pix-edges": lambda: edges2shoes_pipeline(photos(), 2, image_size=48, max_hints=20, seed=SEED),
    "cyclegan": lambda: unpaired_pipeline(image_source(1), image_source(2, 7), 2, 40, 32, seed=SEED)[:2],
    "srgan-crop": lambda: superres_pipeline(photos(), 3, scale=4, hr_crop=16, seed=SEED),
    "srgan-whole": lambda: superres_pipeline(photos(), 2, scale=4, hr_size=32, seed=SEED),
    "pix2pixhd": lambda: label_map_pipeline(label_source(), 2, (20, 30), crop=16, seed=SEED),
    "siamese": lambda: unpaired_crop_pipeline(sized_source(1), sized_source(2), 2, 32, scale=0.8, seed=SEED)[:2],
}


def transformer(transform, strategy=None):
    """A bare model (no networks) whose prepare_batch runs `transform` as a train step does."""
    with (strategy or tf.distribute.get_strategy()).scope():
        model = AdversarialModel(None, None, seed=SEED)
    model.input_transform = transform
    return model


# SR's LR is two matrix products, summed in another order by XLA's dot and on other batch
# shapes (measured: at most 2.4e-7, 3e-5 gray levels); everything else is bit for bit.
ATOL = {"lr": 1e-6}


def assert_equal_batches(first, second):
    for key, value in first.items():
        np.testing.assert_allclose(value.numpy(), second[key].numpy(), rtol=0, atol=ATOL.get(key, 0), err_msg=key)


# The XLA compiles of edges + hints and CycleGAN's four networks take 60-130 s of wall time at a
# load of 12 on 2 cores: slow cells (run in CI, as the contract's).
SLOW = pytest.mark.slow


@pytest.mark.parametrize("name", [pytest.param(n, marks=SLOW) if n == "pix2pix-edges" else n
                                  for n in sorted(PIPELINES)])
def test_host_and_device_batches_are_equal_in_graph_and_xla(name):
    host = list(on_host(*PIPELINES[name](), SEED).take(STEPS))
    raw, transform = PIPELINES[name]()  # a new dataset: a second iterator of one would shuffle anew
    model = transformer(transform)
    graph, xla = tf.function(model.prepare_batch), tf.function(model.prepare_batch, jit_compile=True)
    for step, batch in enumerate(raw.take(STEPS)):
        model.step.assign(step)
        assert all(v.dtype == tf.uint8 or "map" in k for k, v in batch.items()) if isinstance(batch, dict) else \
            batch.dtype == tf.uint8
        assert_equal_batches(host[step], graph(batch))
        assert_equal_batches(host[step], xla(batch))
    assert not np.array_equal(host[0][next(iter(host[0]))].numpy(), host[1][next(iter(host[1]))].numpy())


# The transforms' own ops: the draws, the crop's gathers, SR's matrix products, the call of
# the XLA-compiled edges + hints.
TRANSFORM_OPS = {"StatelessRandomUniformIntV2", "GatherV2", "Einsum", "StatefulPartitionedCall", "PartitionedCall"}


@pytest.mark.parametrize("name", ["pix2pix-ab", pytest.param("pix2pix-edges", marks=SLOW), "srgan-whole"])
def test_each_replica_transforms_its_rows_of_the_global_batch(name, mirrored):
    """Under MirroredStrategy on 2 logical CPUs: the transform's ops are in the replicated step
    once per device, and the replicas' batches joined are the one-device batch."""
    raw, transform = PIPELINES[name]()
    batch = next(iter(raw))
    expected = transformer(transform).prepare_batch(batch)
    model = transformer(transform, mirrored)
    rows = tf.nest.flatten(batch)[0].shape[0] // 2
    shards = mirrored.experimental_distribute_values_from_function(
        lambda context: tf.nest.map_structure(
            lambda t: t[context.replica_id_in_sync_group * rows:(context.replica_id_in_sync_group + 1) * rows],
            batch))
    step = tf.function(lambda shard: mirrored.run(model.prepare_batch, args=(shard,)))
    placed = collections.Counter((op.type, op.device[-5:]) for op in step.get_concrete_function(shards).graph
                                 .get_operations() if op.type in TRANSFORM_OPS)
    assert placed and all(placed[(kind, "CPU:1")] == count for (kind, device), count in placed.items()
                          if device == "CPU:0"), placed
    per_replica = step(shards)
    for key, value in expected.items():
        parts = mirrored.experimental_local_results(per_replica[key])
        np.testing.assert_allclose(np.concatenate([p.numpy() for p in parts]), value.numpy()[:2 * rows], rtol=0,
                                   atol=ATOL.get(key, 0), err_msg=key)


def tiny(name, transforms, **overrides):
    system = SYSTEMS[name]
    return system, system.Config(**{**system.tiny, "transforms": transforms, "seed": SEED, **overrides})


def trained(system, config, steps, strategy=None, weights=None):
    """The model after `steps` of fit on the first `steps` batches of its training data (taken
    from one iterator: each new iterator of a pipeline shuffles anew), and the losses."""
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(SEED)
    data = system.training_data(config)
    batches = list(data.dataset.take(steps))
    dataset = functools.reduce(tf.data.Dataset.concatenate, [tf.data.Dataset.from_tensors(b) for b in batches])
    with strategy.scope():
        model = system.build(config, strategy.num_replicas_in_sync)
        system.compile(model, config, cli.RunOptions(), steps_per_epoch=1)
    if weights is not None:
        for network, values in zip(model.networks().values(), weights):
            network.set_weights(values)
    model.input_transform = data.transform
    history = model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return model, history.history


def test_training_with_device_transforms_equals_host_transforms():
    """The sample data, 2 steps of the tiny SRGAN from the same weights: finite losses, and the
    host and device placements end in the same weights. One system is enough here: the model
    runs every system's transform the same way (`AdversarialModel.prepare_batch`, keyed by its
    step), and the batches of each pipeline are compared above (bit for bit). The steps are
    compared to float32 round-off: with the transform inside the step graph, TF may order a
    reduction differently (a CI run saw d_loss 1.6841418 vs 1.6841417)."""
    results = {}
    for transforms in ("host", "device"):
        system, config = tiny("srgan", transforms)
        results[transforms] = trained(system, config, 2)
    (host_model, host_history), (device_model, device_history) = results.values()
    assert host_history.keys() == device_history.keys()
    for name, values in host_history.items():
        assert np.all(np.isfinite(values))
        np.testing.assert_allclose(device_history[name], values, rtol=1e-5, err_msg=name)
    for host_net, device_net in zip(host_model.networks().values(), device_model.networks().values()):
        for a, b in zip(host_net.get_weights(), device_net.get_weights()):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_mirrored_step_with_device_transforms_equals_one_device_step(mirrored):
    """tests/test_system_contract.py's mirrored check, with the transforms inside the step:
    pix2pix (edges + hints of the sample photos), one step on 2 logical CPUs."""
    from test_system_contract import assert_same_update, network_weights

    system, config = tiny("pix2pix", "device")
    keras.utils.set_random_seed(SEED)
    initial = network_weights(system.build(config))
    single, _ = trained(system, config, 1, weights=initial)
    distributed, _ = trained(system, config, 1, strategy=mirrored, weights=initial)
    assert_same_update(initial, network_weights(single), network_weights(distributed), rtol=0.02)


def test_cli_trains_with_device_transforms_and_refuses_them_without_per_image_work(tmp_path, capsys):
    from test_system_contract import tiny_flags

    system = SYSTEMS["srgan"]
    options = cli.parse_options(["--arch", "srgan", "--data", "sample", "--steps", "2", "--transforms", "device",
                                 "--logdir", str(tmp_path / "run"), *tiny_flags(system)])
    model = cli.train(options)
    assert model.completed_steps == 2 and model.input_transform is not None
    assert cli.load_run(str(tmp_path / "run"))[1].transforms == "device"
    assert cli.main(["--arch", "dcgan", "--transforms", "device", "--logdir", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "train.py: error: --transforms device: the dcgan data has no per-image transforms to move (systems with "
        "them: cyclegan, pix2pix, pix2pixhd, siamese, srgan)")


def test_placement_benchmark_steps_table_times_both_placements(capsys):
    """`python benchmarks/transform_placement.py steps` (here on the tiny SRGAN, 2 timed steps):
    a row with both step times and finite losses."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import transform_placement

    transform_placement.step_table(2, "mixed_bfloat16", {"srgan": ("tiny", SYSTEMS["srgan"].tiny)})
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[:2] == ["srgan", "tiny"] and all(float(t) > 0 for t in row[2:4])
    assert row[4:] == ["host", "True,", "device", "True"]


def test_placement_benchmark_precision_table_shows_why_edges_stay_float32(capsys):
    """`python benchmarks/transform_placement.py precision`: the bilateral mean in bfloat16
    moves the edges (the reason edge extraction stays float32 on the device), float16 less."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import transform_placement

    transform_placement.precision_table()
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert {"[-1,", "bicubic", "bfloat16", "float16"} <= rows.keys()
    bf16_f1, fp16_f1 = float(rows["bfloat16"][3]), float(rows["float16"][3])
    assert bf16_f1 < fp16_f1 < 1.0 and float(rows["bfloat16"][2].rstrip("%")) > 0
