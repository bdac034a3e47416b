"""Issue-3 sources: splits, bad files, pix2pix A|B, CycleGAN folders, Cityscapes triples."""
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kgan.errors import UsageError
from pipelines.sources import ab_folder_source, cityscapes_source, cyclegan_sources, folder_source, split_paths


def save(path, array, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)


def test_split_is_deterministic_disjoint_and_80_20():
    paths = [f"{i:03d}.png" for i in range(100)]
    train, val = split_paths(paths, "train", seed=3), split_paths(paths, "val", seed=3)
    assert len(train) == 80 and len(val) == 20 and not set(train) & set(val)
    assert sorted(train + val) == paths
    assert split_paths(paths, "val", seed=3) == val
    assert split_paths(paths, "val", seed=4) != val


def test_bad_files_are_skipped_and_counted(tmp_path):
    rng = np.random.default_rng(0)
    save(str(tmp_path / "good.jpg"), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not a png")
    save(str(tmp_path / "sixteen.png"), (rng.random((12, 12)) * 65535).astype(np.uint16))
    save(str(tmp_path / "tiny.png"), np.zeros((1, 1, 3), np.uint8))
    source = folder_source(str(tmp_path))
    shapes = sorted(tuple(e["image"].shape) for e in source.dataset)
    assert shapes == [(1, 1, 3), (12, 12, 3), (40, 40, 3)]
    assert source.counter.skipped == 3 and int(source.counter.read.numpy()) == 6


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_ab_files_split_into_source_and_target(tmp_path, direction):
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, :32], image[:, 32:] = 10, 200
    save(str(tmp_path / "1.png"), image)
    example = next(iter(ab_folder_source(str(tmp_path), direction).dataset))
    left, right = (10, 200) if direction == "AtoB" else (200, 10)
    assert example["source"].shape == (32, 32, 3)
    assert int(example["source"][0, 0, 0]) == left and int(example["target"][0, 0, 0]) == right
    with pytest.raises(UsageError, match="AtoB or BtoA"):
        ab_folder_source(str(tmp_path), "sideways")


def test_cyclegan_folders_and_missing_domain(tmp_path):
    for domain, count in (("trainA", 3), ("trainB", 5)):
        for i in range(count):
            save(str(tmp_path / domain / f"{i}.png"), np.full((8, 8, 3), i, np.uint8))
    a, b = cyclegan_sources(str(tmp_path))
    assert (a.count, b.count) == (3, 5)
    with pytest.raises(UsageError, match="missing testA/") as error:
        cyclegan_sources(str(tmp_path), phase="test")
    assert "\n" not in str(error.value)


def test_cityscapes_triples_match_by_stem_and_keep_16_bit_instance_ids(tmp_path):
    for stem in ("aachen_000000_000019", "bochum_000000_000313"):
        save(str(tmp_path / "gtFine" / f"{stem}_gtFine_labelIds.png"), np.full((4, 6), 26, np.uint8))
        save(str(tmp_path / "gtFine" / f"{stem}_gtFine_instanceIds.png"), np.full((4, 6), 26001, np.uint16))
        save(str(tmp_path / "leftImg8bit" / f"{stem}_leftImg8bit.png"), np.full((4, 6, 3), 7, np.uint8))
    save(str(tmp_path / "gtFine" / "lonely_000_gtFine_labelIds.png"), np.zeros((4, 6), np.uint8))
    source = cityscapes_source(str(tmp_path))
    assert source.count == 2
    example = next(iter(source.dataset))
    assert example["label_map"].shape == (4, 6, 1) and int(example["label_map"][0, 0, 0]) == 26
    assert example["instance_map"].dtype == tf.int32 and int(example["instance_map"][0, 0, 0]) == 26001
    assert example["image"].shape == (4, 6, 3)
    with pytest.raises(UsageError, match="no complete Cityscapes triples"):
        cityscapes_source(str(tmp_path / "gtFine"))
