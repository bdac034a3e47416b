"""Latent-direction editing, InterFaceGAN's method (Shen et al. 2020; genforce/interfacegan
`utils/manipulator.py` `train_boundary` and `linear_interpolate`; seed 000's smile edit).

N codes are scored by an attribute classifier; the top and bottom `chosen_ratio` (2%) by
score become positives and negatives, 70% of each trains a linear SVM (scikit-learn
`SVC(kernel="linear")`, as InterFaceGAN), the rest validates it; the boundary is the SVM's
normal, intercept dropped, at unit length. An edit moves a code along it, from -3 to +3 in
10 steps; a W+ code gets the same (w_dim,) normal on every row.
"""
import numpy as np
import tensorflow as tf

from kgan.errors import UsageError


def train_boundary(codes, scores, chosen_ratio=0.02, split_ratio=0.7, seed=0):
    """(unit normal (D,), {"train": n, "validation_accuracy": a}) of codes (N, D) scored (N,)."""
    try:
        from sklearn import svm
    except ImportError:
        raise UsageError('training a boundary needs scikit-learn: pip install -e ".[stylegan]"') from None
    codes, scores = np.asarray(codes, np.float64), np.asarray(scores, np.float64).reshape(-1)
    if codes.ndim != 2 or len(codes) != len(scores):
        raise UsageError(f"codes {codes.shape} and scores {scores.shape} do not pair up: need (N, D) and (N,)")
    if not 0 < chosen_ratio <= 0.5:
        raise UsageError(f"the chosen ratio must be in (0, 0.5], got {chosen_ratio}")
    order = np.argsort(scores)[::-1]
    codes = codes[order]
    chosen = min(int(len(codes) * chosen_ratio), len(codes) // 2)
    train = int(chosen * split_ratio)
    if train < 2:
        raise UsageError(f"{len(codes)} codes give {train} training samples per side at ratio {chosen_ratio}: "
                         "sample more codes")
    rng = np.random.RandomState(seed)
    positive, negative = codes[:chosen][rng.permutation(chosen)], codes[-chosen:][rng.permutation(chosen)]
    data = np.concatenate([positive[:train], negative[:train]])
    labels = np.concatenate([np.ones(train, int), np.zeros(train, int)])
    classifier = svm.SVC(kernel="linear").fit(data, labels)
    report = {"train_per_side": train}
    if chosen > train:
        val = np.concatenate([positive[train:], negative[train:]])
        val_labels = np.concatenate([np.ones(chosen - train, int), np.zeros(chosen - train, int)])
        report["validation_accuracy"] = float(np.mean(classifier.predict(val) == val_labels))
    normal = classifier.coef_.reshape(-1).astype(np.float32)
    return normal / np.linalg.norm(normal), report


def score_images(images, classifier, attribute=0, batch_size=64):
    """Attribute scores (N,) of float images (N, S, S, C) on [-1, 1]: column `attribute` of
    classifier(batch) ((B,), (B, 1) or (B, K) outputs), resized to the classifier's input
    size when it has one."""
    size = None
    inputs = getattr(classifier, "inputs", None)
    if inputs:
        size = inputs[0].shape[1:3]
    out = []
    for start in range(0, len(images), batch_size):
        batch = tf.convert_to_tensor(images[start:start + batch_size], tf.float32)
        if size is not None and None not in size and tuple(batch.shape[1:3]) != tuple(size):
            batch = tf.image.resize(batch, size, antialias=True)
        scores = np.asarray(classifier(batch))
        scores = scores.reshape(len(batch), -1)
        if attribute >= scores.shape[1]:
            raise UsageError(f"the classifier gives {scores.shape[1]} outputs; --attribute {attribute} is out of range")
        out.append(scores[:, attribute])
    return np.concatenate(out)


def edit_sequence(ws, boundary, start=-3.0, end=3.0, steps=10):
    """(steps, num_ws, w_dim) codes ws (num_ws, w_dim) + d boundary on every row, d from
    start to end (InterFaceGAN `linear_interpolate`)."""
    ws, boundary = np.asarray(ws, np.float32), np.asarray(boundary, np.float32).reshape(-1)
    if boundary.shape[0] != ws.shape[-1]:
        raise UsageError(f"the boundary has {boundary.shape[0]} dimensions, the codes {ws.shape[-1]}")
    distances = np.linspace(start, end, steps, dtype=np.float32)
    return ws[None] + distances[:, None, None] * boundary[None, None], distances
