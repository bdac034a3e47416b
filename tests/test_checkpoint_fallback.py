"""A damaged newest checkpoint (issue 10, item 2): restore falls back to the newest intact
one with one warning line; a truncated data file, a zero-byte index and a missing shard."""
import glob
import os

import numpy as np
import pytest

from kgan import cli
from kgan.checkpoints import Checkpointer
from kgan.errors import UsageError
from kgan.systems import SYSTEMS


def tiny_gan():
    system = SYSTEMS["gan"]
    config = system.Config(**system.tiny)
    model = system.build(config)
    system.compile(model, config, cli.RunOptions(), steps_per_epoch=1)
    return model


def saved_run(directory):
    """Checkpoints at steps 1 and 2 of one model whose generator differs between them;
    returns the generator weights of step 1."""
    model = tiny_gan()
    checkpointer = Checkpointer(model, directory)
    model.step.assign(1)
    checkpointer.save()
    first = model.generator.get_weights()
    model.generator.set_weights([w + 1.0 for w in first])
    model.step.assign(2)
    checkpointer.save()
    return first


def truncate_data(directory):
    (path,) = glob.glob(os.path.join(directory, "ckpt-2.data-*"))
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def empty_index(directory):
    open(os.path.join(directory, "ckpt-2.index"), "w").close()


def remove_shard(directory):
    for path in glob.glob(os.path.join(directory, "ckpt-2.data-*")):
        os.remove(path)


@pytest.mark.parametrize("damage", [truncate_data, empty_index, remove_shard])
def test_damaged_newest_checkpoint_falls_back_with_one_warning_line(damage, tmp_path, capsys):
    directory = str(tmp_path / "checkpoints")
    first = saved_run(directory)
    damage(directory)
    capsys.readouterr()
    model = tiny_gan()
    assert Checkpointer(model, directory).restore_latest() == 1
    for restored, saved in zip(model.generator.get_weights(), first, strict=True):
        np.testing.assert_array_equal(restored, saved)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: skipped damaged checkpoint(s) (ckpt-2: ")
    assert err[0].endswith("); resuming from ckpt-1")


def test_no_intact_checkpoint_is_one_usage_error(tmp_path):
    directory = str(tmp_path / "checkpoints")
    saved_run(directory)
    for path in glob.glob(os.path.join(directory, "ckpt-*.index")):
        open(path, "w").close()
    with pytest.raises(UsageError, match="every checkpoint in .* is damaged .*: start a new --logdir$"):
        Checkpointer(tiny_gan(), directory).restore_latest()


def test_a_lost_peer_during_the_restore_is_not_damage(tmp_path, monkeypatch):
    """A multi_worker peer that stops during the restore's broadcast raises UnavailableError;
    that is not a damaged checkpoint (train.py turns it into the lost-worker line)."""
    import tensorflow as tf

    directory = str(tmp_path / "checkpoints")
    saved_run(directory)
    checkpointer = Checkpointer(tiny_gan(), directory)

    def broadcast_lost(path):
        raise tf.errors.UnavailableError(None, None, "Collective ops is aborted by: Socket closed")

    monkeypatch.setattr(checkpointer.checkpoint, "restore", broadcast_lost)
    with pytest.raises(tf.errors.UnavailableError, match="Socket closed"):
        checkpointer.restore_latest()


def test_checkpoints_of_other_networks_are_one_usage_error_not_damage(tmp_path):
    directory = str(tmp_path / "checkpoints")
    saved_run(directory)
    system = SYSTEMS["gan"]
    config = system.Config(**{**system.tiny, "base_width": 2 * system.tiny["base_width"]})
    wider = system.build(config)
    system.compile(wider, config, cli.RunOptions(), steps_per_epoch=1)
    with pytest.raises(UsageError, match=r"^the checkpoints in .* do not fit this run's networks \(Received "
                                         r"incompatible tensor .*\): resume with the options the run was saved "
                                         r"with, or start a new --logdir$"):
        Checkpointer(wider, directory).restore_latest()
