"""Checkpoints of a training run: `Checkpointer` (save / restore the latest) and
`CheckpointCallback` (save every N steps and at the end of `fit`)."""
import os
import sys

import keras
import tensorflow as tf

from kgan.errors import UsageError
from kgan.optimizers import layout_before_schedule_placeholder

# What reading a damaged checkpoint raises: a tf.errors.OpError (truncated data: DataLossError /
# OutOfRangeError; missing shard: NotFoundError; empty index: "file is too short to be an
# sstable"), or IndexError "Read less bytes than requested" / ValueError from the Python reader.
DAMAGED_CHECKPOINT_ERRORS = (tf.errors.OpError, IndexError, ValueError)
# What restoring raises when the checkpoint's variables do not fit the model's (other
# networks, or another optimizer layout).
MISFIT = "Received incompatible tensor with shape"
# What a multi_worker run's collectives raise when a peer stops (also in a restore: the
# variables' broadcast). Not damage: restore_latest lets them through.
PEER_LOST_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.DeadlineExceededError,
                    tf.errors.CancelledError)


def _first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


class Checkpointer:
    """G, D, both optimizers and the step (which also keys the train-step RNG) of an
    `AdversarialModel`, plus whatever else its `checkpoint_items()` lists.

    `tf.train.CheckpointManager` writes the files before it atomically rewrites its index,
    so an interrupted save leaves the previous checkpoint as the latest; the last
    `max_to_keep` are kept."""

    def __init__(self, model, directory, max_to_keep=3):
        self.model = model
        self.directory = directory
        self.checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep)

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def save(self):
        """Writes a checkpoint numbered by the current step; returns its path."""
        return self.manager.save(checkpoint_number=self.model.completed_steps)

    def _restore(self, path):
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except ValueError as error:
            if MISFIT not in str(error):
                raise
            # written by kgan before Adam's schedule placeholder (kgan.optimizers.Adam)?
            items = {name: layout_before_schedule_placeholder(item)
                     for name, item in self.model.checkpoint_items().items()}
            tf.train.Checkpoint(**items).restore(path).assert_existing_objects_matched()

    def restore_latest(self):
        """Restores the newest intact checkpoint into the compiled model; returns the restored
        step, or None when the directory holds no checkpoint. Newer damaged ones (a truncated
        data file, an empty index, a missing shard: a full disk, a copy cut short) are
        skipped with one warning line on stderr; a UsageError if none is intact. A lost
        multi_worker peer (PEER_LOST_ERRORS) is raised as it is."""
        damaged = []
        paths = list(self.manager.checkpoints)
        latest = self.manager.latest_checkpoint
        if latest and latest not in paths:  # a state file without timestamps lists none in `checkpoints`
            paths.append(latest)
        for path in reversed(paths):
            try:
                self._restore(path)
            except PEER_LOST_ERRORS:
                raise
            except DAMAGED_CHECKPOINT_ERRORS as error:
                if MISFIT in str(error):
                    raise UsageError(f"the checkpoints in {self.directory!r} do not fit this run's networks "
                                     f"({_first_line(error)}): resume with the options the run was saved with, or "
                                     "start a new --logdir") from None
                damaged.append((path, _first_line(error)))
                continue
            if damaged:
                skipped = "; ".join(f"{os.path.basename(p)}: {reason}" for p, reason in damaged)
                print(f"warning: skipped damaged checkpoint(s) ({skipped}); resuming from {os.path.basename(path)}",
                      file=sys.stderr)
            return self.model.completed_steps
        if damaged:
            raise UsageError(f"every checkpoint in {self.directory!r} is damaged ({damaged[0][1]}): start a new "
                             "--logdir")
        return None


class CheckpointCallback(keras.callbacks.Callback):
    """Saves through a Checkpointer every `every_n_steps` steps and at the end of training."""

    def __init__(self, checkpointer, every_n_steps=500):
        super().__init__()
        self.checkpointer = checkpointer
        self.every_n_steps = every_n_steps
        self._last_saved = None

    def _save(self):
        self._last_saved = self.model.completed_steps
        self.checkpointer.save()

    def on_train_begin(self, logs=None):
        self._last_saved = self.model.completed_steps

    def on_train_batch_end(self, batch, logs=None):
        if self.model.completed_steps - self._last_saved >= self.every_n_steps:
            self._save()

    def on_train_end(self, logs=None):
        if self._last_saved != self.model.completed_steps:
            self._save()
