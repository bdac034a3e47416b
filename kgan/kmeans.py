"""k-means in numpy: k-means++ seeding, then Lloyd iterations (what NVIDIA's
encode_features.py gets from scikit-learn's `KMeans(n_clusters, random_state=0)`).

Used for pix2pixHD's per-class feature clusters (`kgan.pix2pixhd_features`) and the colour
classes of its embedded data; a few hundred points at most, so numpy is enough and kgan
does not depend on scikit-learn for it.
"""
import numpy as np


def kmeans(points, k, seed=0, iterations=100, restarts=4):
    """points (N, D) -> (centres (min(k, N), D) float64, assignment (N,) int), the best of
    `restarts` k-means++ seedings (lowest sum of squared distances), each refined by Lloyd
    iterations until the assignment stops changing. Deterministic for a seed; centres are
    sorted lexicographically, so their order does not depend on the seeding."""
    points = np.asarray(points, np.float64)
    k = min(int(k), len(points))
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(restarts):
        centres = _plus_plus(points, k, rng)
        assignment = None
        for _ in range(iterations):
            distances = ((points[:, None] - centres[None]) ** 2).sum(-1)
            new = distances.argmin(1)
            if assignment is not None and np.array_equal(new, assignment):
                break
            assignment = new
            centres = np.stack([points[assignment == c].mean(0) if np.any(assignment == c) else centres[c]
                                for c in range(k)])
        inertia = ((points - centres[assignment]) ** 2).sum()
        if best is None or inertia < best[0]:
            best = (inertia, centres, assignment)
    _, centres, assignment = best
    order = np.lexsort(centres.T[::-1])
    rank = np.empty(k, int)
    rank[order] = np.arange(k)
    return centres[order], rank[assignment]


def _plus_plus(points, k, rng):
    """k-means++ seeding: each new centre drawn with probability proportional to the squared
    distance to the nearest centre so far."""
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        distances = ((points[:, None] - np.stack(centres)[None]) ** 2).sum(-1).min(1)
        total = distances.sum()
        index = rng.choice(len(points), p=distances / total) if total > 0 else rng.integers(len(points))
        centres.append(points[index])
    return np.stack(centres)
