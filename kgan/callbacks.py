"""Callbacks for `fit`: TensorBoard logging, a progress bar, a step budget
(checkpointing is in `kgan.checkpoints`).

All of them count in `model.step` (the train-step counter saved in checkpoints), so a
resumed run continues its curves and its budget where it stopped.
"""
import math
import os
import signal
import sys
import threading

import keras
import tensorflow as tf
import tqdm



def image_grid(images, columns):
    """uint8 (N, H, W, C) -> (1, rows*H, columns*W, C) grid, rows filled left to right."""
    count, height, width, channels = images.shape
    rows = math.ceil(count / columns)
    padded = tf.concat([images, tf.zeros([rows * columns - count, height, width, channels], images.dtype)], 0)
    grid = tf.reshape(padded, [rows, columns, height, width, channels])
    grid = tf.transpose(grid, [0, 2, 1, 3, 4])
    return tf.reshape(grid, [1, rows * height, columns * width, channels])


def write_network_graph(network, logdir):
    """Writes the forward graph of a functional `keras.Model` to TensorBoard at `logdir`."""
    specs = [tf.TensorSpec(t.shape, t.dtype) for t in network.inputs]
    forward = tf.function(lambda *inputs: network(list(inputs) if len(inputs) > 1 else inputs[0], training=False))
    with tf.summary.create_file_writer(logdir).as_default():
        tf.summary.graph(forward.get_concrete_function(*specs).graph)


class TensorBoardLogger(keras.callbacks.Callback):
    """Writes to `logdir`: every loss tracker as a scalar every `every_n_steps` steps, the
    graph of each network (`logdir/graphs/<network name>`) once, and the model's sample
    grid (`model.sample_grid(sample_batch)`: fixed noise, or rows of a fixed data batch)
    at epoch ends, at most every `sample_every_n_steps` steps, and at the end of training."""

    def __init__(self, logdir, every_n_steps=10, sample_every_n_steps=100, sample_batch=None):
        super().__init__()
        self.logdir = logdir
        self.every_n_steps = every_n_steps
        self.sample_every_n_steps = sample_every_n_steps
        self.sample_batch = sample_batch
        self._writer = None
        self._graphs_written = False
        self._last_scalar_step = None
        self._last_sample_step = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(self.logdir)
        self._last_scalar_step = self.model.completed_steps
        if not self._graphs_written:
            for name, network in self.model.networks().items():
                write_network_graph(network, os.path.join(self.logdir, "graphs", name))
            self._graphs_written = True

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.completed_steps
        if logs and step - self._last_scalar_step >= self.every_n_steps:
            with self._writer.as_default():
                for name, value in logs.items():
                    tf.summary.scalar(name, value, step=step)
            self._last_scalar_step = step

    def write_samples(self):
        step = self.model.completed_steps
        images, columns = self.model.sample_grid(self.sample_batch)
        grid = image_grid(images, columns)
        with self._writer.as_default():
            tf.summary.image("samples", grid, step=step)
            for name, value in self.model.sample_scalars(self.sample_batch).items():
                tf.summary.scalar(name, value, step=step)
        self._last_sample_step = step

    def on_epoch_end(self, epoch, logs=None):
        step = self.model.completed_steps
        if self._last_sample_step is None or step - self._last_sample_step >= self.sample_every_n_steps:
            self.write_samples()

    def on_train_end(self, logs=None):
        if self._last_sample_step != self.model.completed_steps:
            self.write_samples()
        self._writer.flush()


class ProgressBar(keras.callbacks.Callback):
    """One tqdm bar over the whole run (from the restored step), with the latest losses."""

    def __init__(self, total_steps):
        super().__init__()
        self.total_steps = total_steps
        self._bar = None

    def on_train_begin(self, logs=None):
        self._bar = tqdm.tqdm(total=self.total_steps, initial=self.model.completed_steps, unit="step", dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update(self.model.completed_steps - self._bar.n)
        if logs:
            self._bar.set_postfix({k: f"{float(v):.3f}" for k, v in logs.items()}, refresh=False)

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        """Ends the bar's line on stderr; train.py calls it when `fit` raises (no
        on_train_end), so the message it prints then is a line of its own."""
        if self._bar is not None:
            self._bar.close()


class SkippedFilesReport(keras.callbacks.Callback):
    """At each epoch end, when the data source has skipped more unreadable files than at
    the last report, says so in one line on stderr; training goes on."""

    def __init__(self, counter, name):
        super().__init__()
        self.counter = counter
        self.name = name
        self._reported = 0

    def on_epoch_end(self, epoch, logs=None):
        skipped = self.counter.skipped
        if skipped > self._reported:
            print(f"\n{self.name}: skipped {skipped} unreadable file(s) so far (truncated, empty or not an image)",
                  file=sys.stderr)
            self._reported = skipped


class StopOnInterrupt(keras.callbacks.Callback):
    """Ctrl-C (SIGINT) during `fit` ends it at the end of the step running then, with a
    KeyboardInterrupt raised here, where nothing catches it; train.py then saves. The signal
    handler only records the request: a KeyboardInterrupt raised wherever the signal lands can
    be swallowed. Keras' `pythonify_logs` waits for each step's losses inside a bare
    `except: pass`, and a Ctrl-C landing there was lost: the run went on (issue 10). A second
    Ctrl-C raises at once. The handler is installed for the `with` block around `fit`, and
    only in the main thread (the one signal handlers run in):

        with StopOnInterrupt() as interrupt:
            model.fit(..., callbacks=[interrupt, ...])
    """

    def __init__(self):
        super().__init__()
        self._requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self._requested:
            raise KeyboardInterrupt
        self._requested = True

    def __enter__(self):
        self._requested = False
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def on_train_batch_end(self, batch, logs=None):
        if self._requested:
            raise KeyboardInterrupt


class StopAtStep(keras.callbacks.Callback):
    """Ends `fit` once `model.step` reaches `total_steps`."""

    def __init__(self, total_steps):
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch, logs=None):
        if self.model.completed_steps >= self.total_steps:
            self.model.stop_training = True
