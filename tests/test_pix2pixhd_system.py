"""pix2pixHD end to end (issue 14): NVIDIA's and Cityscapes' folder layouts, the embedded
label maps, the two stages (trunk loaded, frozen, then trained), feature clusters, the
any-size export and its request errors."""
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kgan import cli
from kgan.errors import UsageError
from kgan.pix2pixhd_features import cluster_centres, instance_features
from pipelines.batches import label_map_batches
from pipelines.sources import cityscapes_source, label_folders_source, label_sample_arrays

from test_system_contract import tiny_flags
from kgan.systems import SYSTEMS

# the two-stage run of the `stages` fixture is trained once: on one xdist worker, not on both.
pytestmark = pytest.mark.xdist_group("pix2pixhd_system")

PALETTE = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]], np.uint8)


def save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def scene(seed, height=16, width=24):
    """(labels uint8, instances uint16 = label * 1000 + block, photo = PALETTE[labels])."""
    rng = np.random.default_rng(seed)
    labels = np.kron(rng.integers(0, len(PALETTE), (height // 4, width // 4)), np.ones((4, 4), int)).astype(np.uint8)
    blocks = np.kron(np.arange(height * width // 16).reshape(height // 4, width // 4), np.ones((4, 4), int))
    return labels, (labels.astype(np.uint16) * 1000 + blocks).astype(np.uint16), PALETTE[labels]


def assert_aligned(batch):
    """Crop and flip applied alike: photo = PALETTE[labels], instance // 1000 = label."""
    labels, instances = batch["labels"].numpy(), batch["instances"].numpy()
    photo = np.round((batch["image"].numpy() + 1) * 127.5).astype(np.uint8)
    np.testing.assert_array_equal(photo, PALETTE[labels])
    np.testing.assert_array_equal(instances // 1000, labels)


def test_nvidia_layout_matches_by_stem_and_crops_and_flips_all_three_alike(tmp_path):
    for i, stem in enumerate(("aachen_000000_000019", "bochum_000000_000313", "cologne_000001_000019")):
        labels, instances, photo = scene(i)
        save(str(tmp_path / "train_label" / f"{stem}_gtFine_labelIds.png"), labels)
        save(str(tmp_path / "train_inst" / f"{stem}_gtFine_instanceIds.png"), instances)
        save(str(tmp_path / "train_img" / f"{stem}_leftImg8bit.png"), photo)
    save(str(tmp_path / "train_img" / "lonely_leftImg8bit.png"), photo)
    source = label_folders_source(str(tmp_path))
    assert source.count == 3
    flips = set()
    for batch in label_map_batches(source, 3, (16, 24), crop=8, seed=1).take(4):
        assert batch["labels"].shape == (3, 8, 8) and batch["instances"].dtype == tf.int32
        assert_aligned(batch)
    for batch in label_map_batches(source, 1, (16, 24), seed=2).take(12):
        assert_aligned(batch)
        flips.add(any(np.array_equal(batch["labels"][0].numpy(), scene(i)[0][:, ::-1]) for i in range(3)))
    assert flips == {True, False}
    for folder in ("train_label", "train_img"):
        (tmp_path / "x" / folder).mkdir(parents=True)
    with pytest.raises(UsageError, match=r"missing train_inst/ .*\(or pass --no-instance\)"):
        label_folders_source(str(tmp_path / "x"))


def test_cityscapes_layout_takes_the_train_split_and_label_maps_resize_nearest(tmp_path):
    for split, city in (("train", "aachen"), ("train", "bochum"), ("val", "frankfurt")):
        labels, instances, photo = scene(len(city), 32, 48)
        stem = f"{city}_000000_000019"
        save(str(tmp_path / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png"), labels)
        save(str(tmp_path / "gtFine" / split / city / f"{stem}_gtFine_instanceIds.png"), instances)
        save(str(tmp_path / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"), photo)
    assert cityscapes_source(str(tmp_path), "train").count == 2
    assert cityscapes_source(str(tmp_path), "val").count == 1
    batch = next(iter(label_map_batches(cityscapes_source(str(tmp_path), "val"), 1, (16, 24), flip=False,
                                        shuffle=False)))
    np.testing.assert_array_equal(batch["labels"][0], scene(len("frankfurt"), 32, 48)[0][::2, ::2])
    assert set(np.unique(batch["instances"])) <= set(np.unique(scene(len("frankfurt"), 32, 48)[1]))


def test_embedded_label_maps_have_superpixel_instances_of_one_class_each():
    train, val = label_sample_arrays("train"), label_sample_arrays("val")
    assert train["image"].shape == (42, 128, 256, 3) and val["image"].shape == (10, 128, 256, 3)
    np.testing.assert_array_equal(train["instance_map"] // 1000, train["label_map"])
    assert train["label_map"].max() == 11 and len(np.unique(train["label_map"])) == 12
    per_tile = [len(np.unique(tile)) for tile in train["instance_map"]]
    assert 20 <= min(per_tile) and max(per_tile) < 1000


def test_feature_clusters_are_the_k_means_of_each_class_s_pooled_instance_features():
    """Two 32x32 images; class 1 has 4 instances whose (instance-constant) features form two
    tight groups, class 2 one instance, class 3 only a sliver (< 0.5 of 32x32 / 32 pixels)."""
    labels = np.zeros((32, 32), int)
    instances = np.zeros((32, 32), int)
    features = np.zeros((32, 32, 2), np.float32)
    for k, (rows, cols, value) in enumerate([((0, 8), (0, 8), (1.0, 0.0)), ((8, 16), (0, 8), (1.1, 0.0)),
                                             ((16, 24), (0, 8), (-1.0, 0.5)), ((24, 32), (0, 8), (-1.2, 0.5))]):
        labels[slice(*rows), slice(*cols)] = 1
        instances[slice(*rows), slice(*cols)] = 1000 + k
        features[slice(*rows), slice(*cols)] = value
    labels[:, 8:16], instances[:, 8:16], features[:, 8:16] = 2, 2, (0.3, 0.3)
    labels[0, 31], instances[0, 31], features[0, 31] = 3, 3, (9.0, 9.0)
    records = instance_features(features, labels, instances)
    assert len(records) == 7 and {r[0] for r in records} == {0, 1, 2, 3}
    centres = cluster_centres(records, 5, 2)
    np.testing.assert_allclose(centres[1], [[-1.1, 0.5], [1.05, 0.0]], atol=1e-6)
    np.testing.assert_allclose(centres[2, 0], [0.3, 0.3], atol=1e-6)
    assert np.isnan(centres[2, 1]).all() and np.isnan(centres[3]).all() and np.isnan(centres[4]).all()


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """On 4 hand-made scenes in NVIDIA's layout (2 more held out as val_*): stage 1 (global G
    with the feature encoder, 2 steps), stage 2 (local enhancer loading it, 2 epochs of 2
    steps, the first with the trunk fixed; checkpoints at 2 and 4), then its feature
    clusters, exported with them (pix2pixhd/1 takes clusters, pix2pixhd_encoded/1 real images)."""
    from kgan import pix2pixhd_features

    root = tmp_path_factory.mktemp("stages")
    data = root / "data"
    for i in range(6):
        split = "train" if i < 4 else "val"
        labels, instances, photo = scene(i, 16, 32)
        save(str(data / f"{split}_label" / f"{i}.png"), labels)
        save(str(data / f"{split}_inst" / f"{i}.png"), instances)
        save(str(data / f"{split}_img" / f"{i}.png"), photo)
    flags = tiny_flags(SYSTEMS["pix2pixhd"]) + ["--data", str(data), "--instance-feat", "--nef", "2",
                                                "--n-downsample-e", "2"]
    stage_one = str(root / "stage1")
    cli.train(cli.parse_options(["--arch", "pix2pixhd", "--steps", "2", "--logdir", stage_one, *flags]))
    stage_two = str(root / "stage2")
    options = cli.parse_options(["--arch", "pix2pixhd", "--steps", "4", "--steps-per-epoch", "2", "--logdir",
                                 stage_two, *flags, "--generator", "local", "--ngf", "2", "--load-global", stage_one,
                                 "--niter-fix-global", "1", "--checkpoint-every", "2"])
    model = cli.train(options)
    assert pix2pixhd_features.main([stage_two, "--n-clusters", "3", "--export", str(root / "sm")]) == 0
    path = pix2pixhd_features.clusters_path(stage_two, 3)
    return dict(stage_one=stage_one, stage_two=stage_two, config=options.config, model=model,
                exported=str(root / "sm" / "pix2pixhd_encoded" / "1"), centres=np.load(path)["centres"],
                clustered=str(root / "sm" / "pix2pixhd" / "1"))


def trunk_at(run, step, generator):
    tf.train.Checkpoint(generator=generator).restore(os.path.join(run, "checkpoints", f"ckpt-{step}")).expect_partial()
    return [w.numpy().copy() for w in generator.get_layer("global_trunk").weights]


def test_stage_two_loads_the_trunk_keeps_it_during_the_fixed_epochs_then_trains_it(stages):
    from kgan.evaluate import load_trained
    from kgan.systems.pix2pixhd import SYSTEM

    stage_one = load_trained(stages["stage_one"], ("pix2pixhd",))[2]
    first = [w.numpy() for w in stage_one.generator.get_layer("global_trunk").weights]
    loaded = SYSTEM.build(stages["config"])
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(first, loaded.generator.get_layer("global_trunk").weights))
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(stage_one.encoder.weights, loaded.encoder.weights))
    local = loaded.generator.get_layer("local_1_stem").kernel.numpy().copy()
    after_fixed = trunk_at(stages["stage_two"], 2, loaded.generator)
    assert all(np.array_equal(a, b) for a, b in zip(first, after_fixed))
    assert not np.array_equal(local, loaded.generator.get_layer("local_1_stem").kernel.numpy())
    after = trunk_at(stages["stage_two"], 4, loaded.generator)
    assert not all(np.array_equal(a, b) for a, b in zip(first, after))
    assert int(stages["model"].step) == 4


def test_evaluate_prints_the_baselines_and_the_instance_colour_of_an_instance_feat_run(stages, capsys):
    """The scenes' photos are one colour per class, so the three baselines are exact (L1 0);
    the generators after 2 steps are not."""
    from kgan import evaluate

    assert evaluate.main(["pix2pixhd", "--logdir", stages["stage_one"]]) in (0, None)
    rows = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(rows) == {f"held-out {name}" for name in ("trained", "untrained", "nearest colour", "class sample",
                                                          "instance colour", "trained, grey-photo features")
                         } | {"training trained"}
    for name in ("nearest colour", "class sample", "instance colour"):
        assert rows[f"held-out {name}"].startswith(f"held-out {name}: L1 0.0000,")
    assert not rows["held-out trained"].startswith("held-out trained: L1 0.0000")


def test_class_sample_draws_each_pixel_from_its_classs_training_colours():
    """Class 0 was two colours in training (3:1), class 1 one, class 2 none (its palette
    colour); 64x64 pixels of each class: the draws are those colours at those frequencies."""
    from kgan.evaluate import class_colour_sampler

    pools = [np.array([[-1.0, -1, -1]] * 3 + [[1.0, 0.5, 0]]), np.array([[0.25, 0.25, 0.25]]), np.zeros((0, 3))]
    palette = np.array([[-0.5, -0.625, -0.75], [0.25, 0.25, 0.25], [0.1, 0.2, 0.3]])
    labels = np.repeat(np.arange(3), 64 * 64).reshape(3, 64, 64)
    colours = class_colour_sampler(pools, palette, seed=0)({"labels": tf.constant(labels)}).numpy()
    assert colours.shape == (3, 64, 64, 3)
    first = colours[0].reshape(-1, 3)
    is_dark = np.all(first == -1, axis=1)
    assert np.all(is_dark | np.all(first == [1, 0.5, 0], axis=1))
    assert abs(is_dark.mean() - 0.75) < 0.03  # 4,096 draws: the standard error is 0.007
    np.testing.assert_array_equal(colours[1], np.full((64, 64, 3), 0.25))
    np.testing.assert_allclose(colours[2], np.broadcast_to(palette[2], (64, 64, 3)), rtol=1e-6)


def test_instance_mean_colour_averages_each_instance_within_its_own_image():
    from kgan.evaluate import instance_mean_colour

    instances = tf.constant([[[5, 5, 7]], [[5, 7, 7]]], tf.int32)
    image = tf.constant([[[[0.0, 0, 0], [1, 1, 1], [9, 9, 9]]], [[[4, 4, 4], [2, 2, 2], [6, 6, 6]]]])
    means = instance_mean_colour({"image": image, "instances": instances}).numpy()[..., 0]
    np.testing.assert_array_equal(means, [[[0.5, 0.5, 9]], [[4, 4, 4]]])


def test_export_takes_any_size(stages):
    serving = tf.saved_model.load(stages["exported"]).signatures["serving_default"]
    rng = np.random.default_rng(0)
    labels = tf.constant(rng.integers(0, 12, (2, 20, 27)), tf.int32)
    photos = tf.constant(rng.integers(0, 256, (2, 20, 27, 3)), tf.uint8)
    images = serving(labels=labels, instances=labels * 1000, real_images=photos)["images"]
    assert images.shape == (2, 20, 27, 3) and images.dtype == tf.uint8
    expected = stages["model"].serving_endpoints()[""].fn(labels, labels * 1000, photos)["images"]  # no clusters
    np.testing.assert_allclose(images.numpy(), expected.numpy(), atol=1)  # uint8 rounding of the same floats


def test_clusters_of_a_run_are_exported_and_picked_per_class(stages, tmp_path):
    """python -m kgan.synthesize (a subprocess, as users run it) on the clustered export."""
    import subprocess
    import sys

    centres = stages["centres"]
    assert centres.shape == (12, 3, 3) and np.isfinite(centres[:5, 0]).all() and np.isnan(centres[5:]).all()
    serving = tf.saved_model.load(stages["clustered"]).signatures["serving_default"]
    assert set(serving.structured_input_signature[1]) == {"labels", "instances", "clusters"}
    labels, instances, _ = scene(0, 16, 24)
    save(str(tmp_path / "in" / "a_gtFine_labelIds.png"), labels)
    save(str(tmp_path / "inst" / "a_gtFine_instanceIds.png"), instances)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-m", "kgan.synthesize", stages["clustered"], str(tmp_path / "in"),
                             str(tmp_path / "out"), "--instances", str(tmp_path / "inst"), "--cluster", "1"],
                            capture_output=True, text=True, cwd=root)
    assert result.returncode == 0, result.stderr[-2000:]
    output = np.asarray(Image.open(tmp_path / "out" / "a_gtFine_labelIds.png"))
    expected = serving(labels=tf.constant(labels[None], tf.int32), instances=tf.constant(instances[None], tf.int32),
                       clusters=tf.ones((1, 12), tf.int32))["images"][0]
    np.testing.assert_allclose(output, expected.numpy(), atol=1)
    from kgan.synthesize import main

    assert main([stages["clustered"], str(tmp_path / "in"), str(tmp_path / "x")]) == 2  # no --instances


def test_vgg_loss_is_nvidia_s_weighted_l1_over_five_relus_and_feature_matching_is_zero_on_real(monkeypatch,
                                                                                                tmp_path):
    import dataclasses

    from kgan.models.pix2pixhd import VGG_LAYER_WEIGHTS
    from kgan.perceptual import NVIDIA_VGG_LAYERS, vgg_feature_model
    from kgan.systems.pix2pixhd import SYSTEM

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KGAN_VGG19_WEIGHTS", raising=False)
    config = SYSTEM.Config(**SYSTEM.tiny)
    with pytest.raises(UsageError, match="VGG19 ImageNet weights not found: .*--no-vgg-loss trains without VGG"):
        SYSTEM.build(dataclasses.replace(config, vgg_loss=True))
    model = SYSTEM.build(config)
    vgg = vgg_feature_model(NVIDIA_VGG_LAYERS, weights=None)
    model.vgg_features = vgg
    fake, real = (tf.random.stateless_uniform((1, 32, 32, 3), [s, 0], -1.0, 1.0) for s in (1, 2))
    features = [vgg(x) for x in (fake, real)]
    assert [f.shape[1:] for f in features[0]] == [(32, 32, 64), (16, 16, 128), (8, 8, 256), (4, 4, 512), (2, 2, 512)]
    expected = sum(w * np.abs(a.numpy() - b.numpy()).mean() for w, a, b in zip(VGG_LAYER_WEIGHTS, *features))
    np.testing.assert_allclose(float(model.vgg_loss(fake, real)), expected, rtol=1e-5)
    batch = SYSTEM.synthetic_batch(config)
    outputs = model.discriminator(tf.concat([model.label_input(batch["labels"], batch["instances"]), batch["image"]],
                                            -1))
    assert float(model.feature_matching(outputs, outputs)) == 0.0
    other = [[x + 1.0 for x in scale] for scale in outputs]  # L1 1 on every block
    # NVIDIA: sum over num_d scales and n_layers_d + 1 blocks of 4 / (n_layers_d + 1) / num_d * L1 = 4
    np.testing.assert_allclose(float(model.feature_matching(other, outputs)), 4.0, rtol=1e-6)


def test_cluster_features_pick_a_centre_per_class_modulo_its_count():
    from kgan.models.pix2pixhd import cluster_features

    centres = np.full((3, 2, 2), np.nan, np.float32)
    centres[0] = [[1, 1], [2, 2]]
    centres[1, 0] = [5, 5]  # class 1 has one centre, class 2 none
    labels = np.array([[[0, 1, 2]], [[0, 1, 2]]])
    features = cluster_features(labels, np.array([[1, 1, 1], [0, 3, 0]]), centres).numpy()
    np.testing.assert_array_equal(features, [[[[2, 2], [5, 5], [0, 0]]], [[[1, 1], [5, 5], [0, 0]]]])
