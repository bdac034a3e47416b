"""pipelines.hints against seed 000's ``ShoesData._draw_color_circles_on_src_img``."""

import cv2
import numpy as np
import pytest
import tensorflow as tf
from skimage import data

from pipelines.edges import detect_edges
from pipelines.hints import box_means, draw_color_hints, sample_hint_positions

SIZE = 128
SEED = tf.constant([3, 7], tf.int32)


def normalize(x):
    """Seed's ``normalize``: uint8 -> float32 in [-1, 1]."""
    return (np.asarray(x, np.float32) - 127.5) / 127.5


def seed_paint(edges, target, positions):
    """Seed's loop (_draw_color_circle_on_src_img, radius 2) over the given (y, x) positions."""
    out = edges.copy()
    height, width = target.shape[:2]
    for y, x in positions:
        y0, y1 = max(0, y - 1), min(height, y + 2)
        x0, x1 = max(0, x - 1), min(width, x + 2)
        out[y0:y1, x0:x1] = np.mean(target[y0:y1, x0:x1], axis=(0, 1))
    return out


@pytest.fixture(scope="module")
def pair():
    """(edges, target): float32 [SIZE, SIZE, 3] in [-1, 1]; the top 40 rows of the target are white."""
    photo = cv2.resize(data.astronaut(), (SIZE, SIZE))
    photo[:40] = 255
    return normalize(detect_edges(photo).numpy()), normalize(photo)


def test_matches_seed_loop_at_sampled_positions(pair):
    edges, target = pair
    positions, valid = sample_hint_positions(target, SEED)
    positions = positions.numpy()[valid.numpy()]
    assert len(positions) == 300
    assert len({tuple(p) for p in positions}) == 300
    out = draw_color_hints(edges, target, SEED).numpy()
    np.testing.assert_allclose(out, seed_paint(edges, target, positions), atol=1e-6)
    assert (out != edges).any(axis=-1).sum() > 300


def test_box_means_match_seed_bbox_means_including_borders():
    target = np.random.default_rng(1).uniform(-1, 1, (9, 11, 3)).astype(np.float32)
    means = box_means(target).numpy()
    for y in range(9):
        for x in range(11):
            expected = target[max(0, y - 1):y + 2, max(0, x - 1):x + 2].mean(axis=(0, 1))
            np.testing.assert_allclose(means[y, x], expected, atol=1e-6)


def test_same_seed_same_output_and_different_seeds_differ(pair):
    edges, target = pair
    first = draw_color_hints(edges, target, SEED).numpy()
    np.testing.assert_array_equal(first, draw_color_hints(edges, target, SEED).numpy())
    other = draw_color_hints(edges, target, tf.constant([3, 8])).numpy()
    assert (first != other).any(axis=-1).sum() > 100


def test_white_pixels_never_chosen(pair):
    edges, target = pair
    positions, valid = sample_hint_positions(target, SEED)
    chosen = positions.numpy()[valid.numpy()]
    assert (target[chosen[:, 0], chosen[:, 1]].sum(axis=-1) < 2.75).all()
    assert chosen[:, 0].min() >= 40
    white = np.ones_like(target)
    white[..., 0] = 0.8  # sum 2.8 >= 2.75: still white by the seed's rule
    np.testing.assert_array_equal(draw_color_hints(edges, white, SEED).numpy(), edges)
    assert not sample_hint_positions(white, SEED)[1].numpy().any()


def test_at_most_max_hints_boxes(pair):
    edges, target = pair
    for max_hints in (1, 5, 40):
        positions, valid = sample_hint_positions(target, SEED, max_hints)
        assert valid.numpy().sum() == max_hints
        out = draw_color_hints(edges, target, SEED, max_hints=max_hints).numpy()
        centres = np.zeros(target.shape[:2], np.uint8)
        centres[tuple(positions.numpy()[valid.numpy()].T)] = 1
        boxes = cv2.dilate(centres, np.ones((3, 3), np.uint8)) > 0
        changed = (out != edges).any(axis=-1)
        assert not (changed & ~boxes).any()
        assert changed.sum() <= 9 * max_hints


def test_fewer_non_white_pixels_than_max_hints():
    target = np.ones((16, 16, 3), np.float32)
    target[5, 3] = target[10, 12] = target[15, 15] = -0.5
    positions, valid = sample_hint_positions(target, SEED)
    assert positions.shape == (256, 2)
    chosen = positions.numpy()[valid.numpy()]
    assert sorted(map(tuple, chosen)) == [(5, 3), (10, 12), (15, 15)]
    out = draw_color_hints(np.zeros_like(target), target, SEED).numpy()
    np.testing.assert_allclose(out, seed_paint(np.zeros_like(target), target, chosen), atol=1e-6)


def test_batch_draws_per_image(pair):
    edges, target = pair
    out = draw_color_hints(np.stack([edges, edges]), np.stack([target, target]), SEED).numpy()
    assert out.shape == (2, SIZE, SIZE, 3)
    assert (out[0] != out[1]).any()
    positions, valid = sample_hint_positions(np.stack([target, target]), SEED)
    for image, pos, ok in zip(out, positions.numpy(), valid.numpy(), strict=True):
        np.testing.assert_allclose(image, seed_paint(edges, target, pos[ok]), atol=1e-6)


def test_box_must_be_odd(pair):
    with pytest.raises(ValueError):
        draw_color_hints(*pair, SEED, box=4)


def test_runs_in_tf_data_map(pair):
    edges, target = pair
    dataset = tf.data.Dataset.from_tensors((edges, target)).repeat(3).enumerate()
    dataset = dataset.map(lambda i, et: draw_color_hints(et[0], et[1], tf.stack([tf.constant(5, tf.int64), i])))
    outs = [x.numpy() for x in dataset]
    assert len(outs) == 3 and outs[0].dtype == np.float32
    for i, out in enumerate(outs):
        np.testing.assert_array_equal(out, draw_color_hints(edges, target, tf.constant([5, i], tf.int64)).numpy())
    assert (outs[0] != outs[1]).any()
