"""Checkpoints of a training run: `Checkpointer` (save / restore the latest) and
`CheckpointCallback` (save every N steps and at the end of `fit`)."""
import keras
import tensorflow as tf


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
        return self.manager.save(checkpoint_number=int(self.model.step))

    def restore_latest(self):
        """Restores the latest checkpoint into the compiled model; returns the restored
        step, or None when the directory holds no checkpoint."""
        if self.latest is None:
            return None
        self.checkpoint.restore(self.latest).assert_existing_objects_matched()
        return int(self.model.step)


class CheckpointCallback(keras.callbacks.Callback):
    """Saves through a Checkpointer every `every_n_steps` steps and at the end of training."""

    def __init__(self, checkpointer, every_n_steps=500):
        super().__init__()
        self.checkpointer = checkpointer
        self.every_n_steps = every_n_steps
        self._last_saved = None

    def _save(self):
        self._last_saved = int(self.model.step)
        self.checkpointer.save()

    def on_train_begin(self, logs=None):
        self._last_saved = int(self.model.step)

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step) - self._last_saved >= self.every_n_steps:
            self._save()

    def on_train_end(self, logs=None):
        if self._last_saved != int(self.model.step):
            self._save()
