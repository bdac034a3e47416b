"""Test set-up: two logical CPU devices (for the tf.distribute tests) and a clean Keras
state (float32 policy, fresh names) for every test."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# With one pytest-xdist worker per core, each TensorFlow process (and the train.py processes it
# starts, which inherit the variable) computes an op on one thread: two threads per op in each of
# two workers left the four competing for two cores, and the waiting threads spin.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) >= (os.cpu_count() or 1):
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
# XLA's LLVM back end without its optimization passes: the XLA tests compare what a jit step
# computes (the HLO, fused as always; fast math stays off), not how fast its machine code runs,
# and the passes were a quarter of their compile time (tiny StyleGAN2 step: 63 -> 44 CPU-s).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import gc  # noqa: E402

import kgan  # noqa: E402, F401  (its TensorFlow settings, as in train.py, before TensorFlow starts)

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)
# The objects of TensorFlow's and Keras' modules live for the whole session: out of the
# collector's sight, the gc.collect of every test's clear_session takes ~0 instead of ~0.3 s CPU
# (measured with kgan's modules imported: 433,759 objects).
gc.freeze()


def pytest_collection_modifyitems(items):
    """The longest tests first (the `slow` contract cells, then the modules pinned to one xdist
    worker by their module fixtures), so that the two workers finish together instead of one
    running the last long cells alone. The sort is stable: a module's tests stay in order."""
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None,
                                 item.get_closest_marker("xdist_group") is None))


@pytest.fixture(autouse=True)
def clean_keras_state():
    """After each test, clear_session's full gc.collect scans what the test left alive, and
    the survivors are frozen with the rest: unfrozen, every later collect rescanned all that
    earlier tests kept (caches, module fixtures), and the teardowns grew to ~1 s each (a
    median of 1.05 s over the suite's 527 tests, 462 s of its 1,775)."""
    keras.mixed_precision.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_dtype_policy("float32")
    keras.backend.clear_session()
    gc.freeze()


@pytest.fixture(autouse=True, scope="module")
def collect_frozen_garbage():
    """Once per module, what its tests and module fixtures left and no longer reach is
    collected (frozen objects are never collected)."""
    yield
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def mirrored():
    """One MirroredStrategy over the two logical CPUs for the whole session (several
    strategies in one process collide in their collective-op keys)."""
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
