"""pipelines.hints against seed 000's ``ShoesData._draw_color_circles_on_src_img``."""

import cv2
import numpy as np
import pytest
import tensorflow as tf
from skimage import data

from pipelines.edges import detect_edges
from pipelines.hints import draw_color_hints, hint_colours, hint_order, sample_hint_positions

# One worker runs this file: its module-scoped fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("hints")

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


def first_in_order(target, seed, count=300):
    """The first `count` non-white pixels of the whole `hint_order`, (y, x)."""
    order = hint_order(target, seed).numpy()
    flat = order[order >= 0][:count]
    return np.stack([flat // target.shape[1], flat % target.shape[1]], axis=-1)


def test_order_is_a_permutation_of_the_pixels():
    for height, width in [(10, 13), (256, 256), (1, 1)]:
        order = hint_order(-np.ones((2, height, width, 3), np.float32), SEED).numpy()
        assert order.shape == (2, max(2, 2 ** int(np.ceil(np.log2(height * width)))))
        for row in order:
            assert sorted(row[row >= 0]) == list(range(height * width))
        assert (order[0] != order[1]).any() or height * width == 1


def test_positions_are_the_first_non_white_pixels_of_the_order(pair):
    _, target = pair
    positions, valid = sample_hint_positions(target, SEED)
    np.testing.assert_array_equal(positions.numpy()[valid.numpy()], first_in_order(target, SEED))


def test_mostly_white_photo_looks_beyond_the_candidates():
    """2% non-white: fewer than 300 of the first 16 x 300 pixels of the order are non-white."""
    target = np.ones((256, 256, 3), np.float32)
    target[100:136, 60:96] = -0.5
    assert (hint_order(target, SEED, 4800).numpy() >= 0).sum() < 300
    positions, valid = sample_hint_positions(target, SEED)
    chosen = positions.numpy()[valid.numpy()]
    assert len(chosen) == 300 and len({tuple(p) for p in chosen}) == 300
    np.testing.assert_array_equal(chosen, first_in_order(target, SEED))


def test_draws_are_uniform_and_in_random_order():
    """4000 images (one draw each) with 20 non-white pixels, 5 hints: every non-white pixel
    is picked 1000 times and painted last 200 times, up to 5 standard deviations."""
    target = np.ones((4000, 8, 8, 3), np.float32)
    target[:, :2] = target[:, 2, :4] = 0.0
    positions, valid = sample_hint_positions(target, SEED, max_hints=5)
    assert valid.numpy().all()
    flat = positions.numpy() @ [8, 1]
    picked = np.bincount(flat.ravel(), minlength=64)
    last = np.bincount(flat[:, -1], minlength=64)
    assert picked[20:].sum() == 0 and last[20:].sum() == 0
    assert np.abs(picked[:20] - 1000).max() < 5 * np.sqrt(4000 * 0.25 * 0.75)
    assert np.abs(last[:20] - 200).max() < 5 * np.sqrt(4000 * 0.05 * 0.95)


def test_unknown_shapes_give_the_same_hints(pair):
    edges, target = pair
    spec = tf.TensorSpec([None, None, 3], tf.float32)
    traced = tf.function(draw_color_hints, input_signature=[spec, spec, tf.TensorSpec([2], tf.int32)])
    np.testing.assert_allclose(traced(edges, target, SEED).numpy(), draw_color_hints(edges, target, SEED).numpy(),
                               atol=1e-6)
    for height, width in [(1, 1), (2, 2), (16, 16), (16, 17), (33, 31)]:
        image = -np.ones((height, width, 3), np.float32)
        traced_order = tf.function(hint_order, input_signature=[spec, tf.TensorSpec([2], tf.int32)])
        np.testing.assert_array_equal(traced_order(image, SEED).numpy(), hint_order(image, SEED).numpy())


def test_compiles_under_xla(pair):
    edges, target = pair
    batch = np.stack([edges, edges]), np.stack([target, target])
    compiled = tf.function(draw_color_hints, jit_compile=True)(*batch, SEED).numpy()
    np.testing.assert_allclose(compiled, draw_color_hints(*batch, SEED).numpy(), atol=1e-6)
    sample = tf.function(sample_hint_positions, jit_compile=True)
    for ours, eager in zip(sample(batch[1], SEED), sample_hint_positions(batch[1], SEED), strict=True):
        np.testing.assert_array_equal(ours.numpy(), eager.numpy())


def test_hint_colours_match_seed_bbox_means_including_borders():
    target = np.random.default_rng(1).uniform(-1, 1, (9, 11, 3)).astype(np.float32)
    positions = np.stack(np.meshgrid(np.arange(9), np.arange(11), indexing="ij"), axis=-1).reshape(-1, 2)
    valid = np.arange(len(positions)) % 7 != 3
    colours = hint_colours(target, positions, valid).numpy()
    for (y, x), ok, colour in zip(positions, valid, colours, strict=True):
        expected = target[max(0, y - 1):y + 2, max(0, x - 1):x + 2].mean(axis=(0, 1)) if ok else 0.0
        np.testing.assert_allclose(colour, expected, atol=1e-6)


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
