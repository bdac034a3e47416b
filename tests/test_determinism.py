"""train.py --deterministic: two processes with one --seed end with bit-identical weights."""
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def checkpoint_values(logdir):
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints")))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_two_deterministic_processes_train_bit_identical_weights(tmp_path):
    runs = [str(tmp_path / f"run{i}") for i in range(2)]
    for logdir in runs:
        result = subprocess.run(
            [sys.executable, "train.py", "--arch", "cgan", "--data", "sample", "--image-size", "8", "--base-width", "4",
             "--batch-size", "8", "--steps", "6", "--seed", "5", "--deterministic", "--logdir", logdir],
            cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
    first, second = (checkpoint_values(logdir) for logdir in runs)
    assert first.keys() == second.keys() and first["step/.ATTRIBUTES/VARIABLE_VALUE"] == 6
    # every weight (stored under the optimizers' variable lists), batch-norm statistic and Adam slot
    assert len([name for name in first if "/_trainable_variables/" in name]) == 14 and len(first) == 52
    assert [name for name in first if not np.array_equal(first[name], second[name])] == []
