"""Sample-quality metrics users compare GANs by: FID, KID, precision/recall.

All three compare feature vectors of generated and real images. The default feature
extractor is the FID convention's Inception-v3 pool3 (2048-d, after global average
pooling): `keras.applications.InceptionV3(include_top=False, pooling="avg")` with Keras'
ImageNet weights read from a local file (`INCEPTION_WEIGHTS`: --inception-weights PATH,
$KGAN_INCEPTION_WEIGHTS or the Keras cache; nothing is downloaded). Those weights are
*not* the TF-2015 Inception graph of the published FIDs (TTUR, stylegan2-ada, clean-fid
use `inception-2015-12-05`), so absolute values are not comparable to papers: compare
models with each other under one extractor. Any other network mapping images to vectors
can be used instead (`FeatureExtractor`).

Images go in as uint8 (B, H, W, 1|3) and are prepared as clean-fid's "clean" mode
(Parmar et al. 2022, cleanfid/resize.py `make_resizer("PIL", False, "bicubic", (299, 299))`):
gray is replicated to RGB; each image is resized to 299x299 from its uint8 values as float,
with the antialiased bicubic filter (Keys a = -0.5, kernel widened by the scale factor when
shrinking: `tf.image.resize(..., "bicubic", antialias=True)`, which equals PIL's float
BICUBIC resize to within 0.01 gray levels), clipped to [0, 255] and not re-quantized. Then
Inception's own preprocessing (`keras.applications.inception_v3.preprocess_input`: x/127.5 - 1).
The network runs in the Keras dtype policy it was built under (mixed_bfloat16 is ~2x faster
on CPU); features are returned as float32 and the statistics are float64.

References: FID, Heusel et al. 2017 (TTUR fid.py; pytorch-fid `calculate_frechet_distance`);
KID, Binkowski et al. 2018 (stylegan2-ada-pytorch metrics/kernel_inception_distance.py);
precision/recall, Kynkaanniemi et al. 2019 (stylegan2-ada-pytorch metrics/precision_recall.py).
"""
import dataclasses
import hashlib
import json
import os
import re
import time

import keras
import numpy as np
import tensorflow as tf
import tqdm
from scipy.linalg import lapack

from kgan.cli import OPTIONS_FILE
from kgan.errors import UsageError
from kgan.weights import ApplicationWeights

INCEPTION_SIZE = 299
INCEPTION_WEIGHTS = ApplicationWeights(
    "Inception-v3", "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "inception_v3",
    "--inception-weights", "KGAN_INCEPTION_WEIGHTS",
    alternative="--inception-weights random compares models with random features (no download)",
)
METRICS = ("fid", "kid", "pr")
KID_SUBSETS = 100


def check_metrics(metrics):
    """`metrics` (names) as a tuple; UsageError unless a non-empty subset of METRICS."""
    metrics = tuple(metrics)
    if not metrics or set(metrics) - set(METRICS):
        raise UsageError(f"metrics {','.join(metrics)!r}: choose a comma-separated subset of {','.join(METRICS)}")
    return metrics


def clean_resize(images, size=INCEPTION_SIZE):
    """uint8 (B, H, W, 3) -> float32 (B, size, size, 3) in [0, 255]: clean-fid's resize
    (antialiased bicubic of the uint8 values as float, clipped, not re-quantized)."""
    resized = tf.image.resize(tf.cast(images, tf.float32), [size, size], method="bicubic", antialias=True)
    return tf.clip_by_value(resized, 0.0, 255.0)


def network_identity(network):
    """sha256 (hex) of a Keras network's layer configurations (without their names, which
    Keras numbers per session), dtype policy and weight values: it changes when any of them
    does (other weights file, policy, seed) and not when the same network is rebuilt."""
    layers = [{key: value for key, value in layer.get_config().items() if key != "name"}
              for layer in network.layers]
    digest = hashlib.sha256(json.dumps([network.dtype_policy.name, layers], sort_keys=True, default=str).encode())
    for weight in network.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return digest.hexdigest()


class FeatureExtractor:
    """uint8 images (B, H, W, 1|3) -> float32 features (B, D) through `network`.

    network: any callable from float images (B, S, S, 3) to (B, D) (a keras.Model, a
    function); images are resized to S = image_size with `clean_resize` (None: not
    resized, network gets 0..255 floats at the input size) and passed through `preprocess`
    (float 0..255 -> network input; None: unchanged). identity names the extractor in the
    statistics cache (default for a keras.Model: its `network_identity`; None disables
    caching). One tf.function serves all calls, so repeated evaluations trace once.
    strategy: the tf.distribute strategy whose replicas share the feature pass (default:
    the one in scope when the extractor is made); with more than one replica each batch
    is split into equal row blocks (the last row repeated to fill them), one per replica,
    and the features are gathered back in order.
    """

    def __init__(self, network, image_size=INCEPTION_SIZE, preprocess=None, identity=None, name="features",
                 strategy=None):
        self.network = network
        self.image_size = image_size
        self.preprocess = preprocess
        self.name = name
        if identity is None and isinstance(network, keras.Model):
            identity = f"{name}-{image_size}-{network_identity(network)}"
        self.identity = identity
        self.strategy = strategy or tf.distribute.get_strategy()
        self.features = tf.function(self._features, input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
        self.distributed_features = tf.function(self._distributed_features, reduce_retracing=True)

    def _features(self, images):
        x = clean_resize(images, self.image_size) if self.image_size else tf.cast(images, tf.float32)
        if self.preprocess is not None:
            x = self.preprocess(x)
        return tf.cast(self.network(x), tf.float32)

    def _distributed_features(self, blocks):
        return self.strategy.gather(self.strategy.run(self._features, args=(blocks,)), axis=0)

    def __call__(self, images):
        images = tf.convert_to_tensor(images)
        if images.dtype != tf.uint8:
            raise ValueError(f"feature extraction takes uint8 images, got {images.dtype.name}")
        if images.shape[-1] == 1:
            images = tf.image.grayscale_to_rgb(images)
        replicas, count = self.strategy.num_replicas_in_sync, len(images)
        if replicas == 1 or count == 0:
            return self.features(images)
        rows = -(-count // replicas)
        filled = tf.concat([images, tf.repeat(images[-1:], rows * replicas - count, axis=0)], 0)
        blocks = self.strategy.experimental_distribute_values_from_function(
            lambda context: filled[context.replica_id_in_sync_group * rows:][:rows])
        return self.distributed_features(blocks)[:count]


def inception_extractor(weights="imagenet"):
    """FeatureExtractor of Inception-v3 pool3 (2048-d) at 299x299, built in the current
    Keras dtype policy and distributed over the replicas of the strategy in scope.
    weights: a path or "imagenet" (`INCEPTION_WEIGHTS.resolve`), or None for random
    weights (from the Keras global seed; for tests and relative comparisons only)."""
    path = INCEPTION_WEIGHTS.resolve(weights)
    network = INCEPTION_WEIGHTS.load(keras.applications.InceptionV3, path, include_top=False, pooling="avg",
                                     input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    network.trainable = False
    return FeatureExtractor(network, INCEPTION_SIZE, keras.applications.inception_v3.preprocess_input,
                            name="inception_v3")


def embed(batches, extractor, limit=None, desc="features", progress=True):
    """Features float32 (N, D) of uint8 image batches (B, H, W, C): a tf.data.Dataset or
    any iterable of arrays, read until exhausted or until `limit` images, with a tqdm bar."""
    chunks, count = [], 0
    with tqdm.tqdm(total=limit, unit="image", desc=desc, disable=not progress, leave=False) as bar:
        for batch in batches:
            if limit is not None:
                batch = batch[: limit - count]
            features = extractor(batch).numpy()
            chunks.append(features)
            count += len(features)
            bar.update(len(features))
            if limit is not None and count >= limit:
                break
    if not chunks:
        raise UsageError("no images to embed: the image source is empty")
    return np.concatenate(chunks)


@dataclasses.dataclass
class FeatureStatistics:
    """Features float32 (N, D) and their mean float64 (D,) and covariance float64 (D, D)
    (denominator N - 1, numpy's np.cov as TTUR and pytorch-fid)."""

    features: np.ndarray
    mean: np.ndarray
    cov: np.ndarray

    @classmethod
    def of(cls, features, chunk=4096):
        """Mean, then the centred scatter accumulated in float64 over row chunks (two
        passes: no catastrophic cancellation of sum(x x^T) - N mu mu^T)."""
        features = np.asarray(features, np.float32)
        if len(features) < 2:
            raise UsageError(f"statistics need at least 2 images, got {len(features)}")
        mean = features.sum(0, dtype=np.float64) / len(features)
        scatter = np.zeros([features.shape[1]] * 2)
        for start in range(0, len(features), chunk):
            centred = features[start:start + chunk].astype(np.float64) - mean
            scatter += centred.T @ centred
        return cls(features, mean, scatter / (len(features) - 1))


def psd_factor(cov):
    """F (d, r) with F F^T = cov for a symmetric positive semi-definite `cov` of numerical
    rank r: LAPACK's pivoted Cholesky (dpstrf, which stops at rank r within d * eps * the
    largest diagonal), so a covariance of n < d samples costs O(d^2 n), not O(d^3)."""
    factor, pivots, rank, _ = lapack.dpstrf(cov, lower=1)
    rows = np.empty([cov.shape[0], rank])
    rows[pivots - 1] = np.tril(factor)[:, :rank]  # cov = P L L^T P^T: row piv[k] of P L is row k of L
    return rows


def frechet_distance(mean1, cov1, mean2, cov2):
    """FID = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) in float64 (Heusel et al. 2017).

    Tr((S1 S2)^(1/2)) is the sum of the square roots of the eigenvalues of S1 S2, whose
    non-zero ones are those of the symmetric PSD r x r matrix F^T S2 F for any F (d x r)
    with S1 = F F^T (eig(AB) = eig(BA) with A = F, B = F^T S2): F is `psd_factor(S1)`, of
    width r = rank(S1) (the sample count - 1 when there are fewer samples than dimensions).
    Every step is backward stable, round-off negatives are clipped to 0, and the result is
    real. pytorch-fid and stylegan2-ada instead take `scipy.linalg.sqrtm` of the
    non-symmetric product (Schur method), which can come back complex or non-finite
    (pytorch-fid then adds 1e-6 I); both agree to round-off on well-conditioned inputs
    (tests/test_metrics.py). At d = 2048 on 2 shared CPU cores, full rank: 4 s (here), 37 s
    (sqrtm); from 16 samples: 0.1 s.
    """
    mean1, mean2 = (np.asarray(m, np.float64) for m in (mean1, mean2))
    cov1, cov2 = (np.asarray(c, np.float64) for c in (cov1, cov2))
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape:
        raise ValueError(f"feature sizes differ: {mean1.shape} vs {mean2.shape}")
    root1 = psd_factor((cov1 + cov1.T) / 2)
    middle = root1.T @ cov2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mean1 - mean2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt)


def kernel_inception_distance(real, fake, num_subsets=KID_SUBSETS, max_subset_size=1000, seed=0):
    """KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel
    k(x, y) = (x.y / d + 1)^3, averaged over `num_subsets` random subsets of
    m = min(N_real, N_fake, max_subset_size) rows of each (without replacement), as
    stylegan2-ada's compute_kid. Per subset:
    [sum_{i!=j} k(x_i, x_j) + sum_{i!=j} k(y_i, y_j)] / (m (m - 1)) - 2 sum_{i,j} k(x_i, y_j) / m^2.
    Returns (mean, std over the subsets). Kernel values in float32, their sums in float64."""
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    d = real.shape[1]
    m = min(len(real), len(fake), max_subset_size)
    if m < 2:
        raise UsageError(f"KID needs at least 2 real and 2 generated images, got {len(real)} and {len(fake)}")

    def kernel_sum(a, b, off_diagonal):
        k = (a @ b.T) / d + 1
        k = k * k * k
        return k.sum(dtype=np.float64) - (np.trace(k, dtype=np.float64) if off_diagonal else 0)

    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(num_subsets):
        x = fake[rng.choice(len(fake), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        within = kernel_sum(x, x, True) + kernel_sum(y, y, True)
        estimates.append(within / (m * (m - 1)) - 2 * kernel_sum(x, y, False) / m**2)
    return float(np.mean(estimates)), float(np.std(estimates))


def _squared_distances(rows, columns):
    """(R, C) squared Euclidean distances in float32, clipped at 0."""
    d = (rows * rows).sum(1)[:, None] + (columns * columns).sum(1)[None, :] - 2 * rows @ columns.T
    return np.maximum(d, 0)


def precision_recall(real, fake, k=3, row_batch_size=1000):
    """Improved precision and recall (Kynkaanniemi et al. 2019), as stylegan2-ada's
    compute_pr: each sample of a set gets the radius of a ball reaching its k-th nearest
    neighbour in that set (itself excluded); precision is the fraction of generated
    samples inside some real ball, recall the fraction of real samples inside some
    generated ball. Squared distances in float32 (stylegan2-ada: float16) of features
    centred on the real mean (a common shift, so less cancellation in |x|^2 + |y|^2 - 2 x.y),
    in row batches. stylegan2-ada measures these on VGG16 features; here the extractor's."""
    if min(len(real), len(fake)) <= k:
        raise UsageError(f"precision/recall with k={k} needs more than {k} real and generated images")
    centre = np.mean(real, 0, dtype=np.float64)
    real, fake = ((np.asarray(x, np.float64) - centre).astype(np.float32) for x in (real, fake))

    def covered(manifold, probes):
        radii = np.concatenate([np.partition(_squared_distances(manifold[i:i + row_batch_size], manifold), k, 1)[:, k]
                                for i in range(0, len(manifold), row_batch_size)])
        inside = [(_squared_distances(probes[i:i + row_batch_size], manifold) <= radii).any(1)
                  for i in range(0, len(probes), row_batch_size)]
        return float(np.concatenate(inside).mean())

    return covered(real, fake), covered(fake, real)


def compute_metrics(real, fake, metrics=METRICS, kid_subsets=KID_SUBSETS, kid_subset_size=1000, seed=0):
    """{"fid", "kid", "kid_std", "precision", "recall"} (those asked for in `metrics`, a
    subset of METRICS) of two FeatureStatistics; `real.features` may be None for FID only."""
    metrics = check_metrics(metrics)
    if real.features is None and set(metrics) - {"fid"}:
        raise UsageError("the real statistics hold no features (mean and covariance only): use --metrics fid")
    results = {}
    if "fid" in metrics:
        results["fid"] = frechet_distance(real.mean, real.cov, fake.mean, fake.cov)  # real: often full rank
    if "kid" in metrics:
        results["kid"], results["kid_std"] = kernel_inception_distance(
            real.features, fake.features, kid_subsets, kid_subset_size, seed)
    if "pr" in metrics:
        results["precision"], results["recall"] = precision_recall(real.features, fake.features)
    return results


def default_cache_dir():
    """$KGAN_CACHE/metrics, else $XDG_CACHE_HOME/kgan/metrics, else ~/.cache/kgan/metrics."""
    if os.environ.get("KGAN_CACHE"):
        return os.path.join(os.environ["KGAN_CACHE"], "metrics")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kgan", "metrics")


def save_statistics(path, statistics, extractor_identity, key=None):
    """Writes `statistics` to the .npz `path` atomically (temporary file, then rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:
        np.savez(f, features=statistics.features, mean=statistics.mean, cov=statistics.cov,
                 extractor=extractor_identity, key=json.dumps(key or {}, sort_keys=True))
    os.replace(temporary, path)


def load_statistics(path, extractor_identity):
    """FeatureStatistics of an .npz written by `save_statistics` (or by the cache); it must
    have been made with the extractor of `extractor_identity`."""
    try:
        stored = np.load(path)
        made_with = str(stored["extractor"])
        statistics = FeatureStatistics(stored["features"], stored["mean"], stored["cov"])
    except (OSError, ValueError, KeyError) as error:
        raise UsageError(f"{path} is not a kgan statistics file (features, mean, cov, extractor): {error}") from None
    if extractor_identity is None or made_with != extractor_identity:
        raise UsageError(f"{path} was made with extractor {made_with[:40]}, not this one "
                         f"({str(extractor_identity)[:40]}): pass the real images instead, or the same extractor")
    return statistics


class StatisticsCache:
    """Real-image FeatureStatistics in `directory`, one .npz per (dataset identity,
    extractor identity, preparation) key: repeated evaluations only embed generated images,
    and a changed extractor (other weights, policy, size) or dataset makes a new entry.
    `computed` counts the entries embedded by this cache object, `last_path` is the file
    of the latest entry used (None if not cached)."""

    def __init__(self, directory=None):
        self.directory = directory or default_cache_dir()
        self.computed = 0
        self.last_path = None

    def path(self, key):
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(key.get("data", "data")))[-60:].strip("_")
        return os.path.join(self.directory, f"{slug}-{digest}.npz")

    def statistics(self, key, extractor, compute_features):
        """Cached statistics of `key` (a JSON-able dict) for `extractor`, else the
        statistics of compute_features() (float32 (N, D)), stored for next time. Not cached
        when the extractor has no identity."""
        self.last_path = None
        if extractor.identity is None:
            self.computed += 1
            return FeatureStatistics.of(compute_features())
        key = dict(key, extractor=extractor.identity)
        path = self.last_path = self.path(key)
        if os.path.exists(path):
            return load_statistics(path, extractor.identity)
        statistics = FeatureStatistics.of(compute_features())
        self.computed += 1
        save_statistics(path, statistics, extractor.identity, key)
        return statistics


def folder_identity(folder):
    """Identity of an image folder's contents: absolute path + sha256 of every image's
    relative path, size and modification time."""
    from pipelines.sources import list_images

    digest = hashlib.sha256()
    for path in list_images(folder):
        status = os.stat(path)
        digest.update(f"{os.path.relpath(path, folder)} {status.st_size} {status.st_mtime_ns}\n".encode())
    return f"folder:{os.path.abspath(folder)}:{digest.hexdigest()[:20]}"


def source_batches(source, image_size, channels, batch_size):
    """uint8 batches (B, S, S, channels) of an ImageSource's images, each resized on its
    short side and centre-cropped to S = image_size (antialiased bilinear, as the training
    pipelines `pipelines.images.standardize`) and rounded back to uint8."""
    from pipelines.images import standardize, to_uint8

    images = source.dataset.map(lambda row: to_uint8(standardize(row["image"], image_size, channels)),
                                num_parallel_calls=tf.data.AUTOTUNE)
    return images.batch(batch_size).prefetch(2)


def real_statistics(real, extractor, image_size, channels, batch_size=50, limit=None, data_dir=None, cache=None,
                    progress=True):
    """FeatureStatistics of REAL: a cached .npz (`save_statistics` / the cache), a folder,
    "sample" or a prepared tfds name (`pipelines.sources.resolve_source`), its images
    prepared by `source_batches`; folders and datasets go through `cache` (a StatisticsCache)."""
    from pipelines.sources import SAMPLE_NAME, resolve_source

    if real.endswith(".npz"):
        if not os.path.isfile(real):
            raise UsageError(f"statistics file {real} does not exist: pass an .npz from the statistics cache")
        return load_statistics(real, extractor.identity)
    source = resolve_source(real, data_dir=data_dir)
    if os.path.isdir(real):
        identity = folder_identity(real)
    elif real == SAMPLE_NAME:
        identity = SAMPLE_NAME
    else:
        identity = f"tfds:{source.name}:{os.path.abspath(os.path.expanduser(data_dir or '~/tensorflow_datasets'))}"
    key = {"data": identity, "image_size": image_size, "channels": channels, "limit": limit}
    count = min(source.count, limit or source.count)
    return (cache or StatisticsCache()).statistics(
        key, extractor,
        lambda: embed(source_batches(source, image_size, channels, batch_size), extractor, count, "real", progress))


def noise_batches(serving, latent_dim, batch_size, num_classes=None, seed=0, truncation_psi=1.0):
    """Endless uint8 batches from an exported noise-to-image signature (`noise` float32
    (B, latent_dim) [+ `labels` int32 (B,)] -> `images_uint8`, or StyleGAN2's `z` [+ `labels`]
    + `truncation_psi` -> `images`, fed `truncation_psi` for every sample): standard normal
    noise and uniform labels from numpy's generator seeded by `seed`."""
    inputs = serving.structured_input_signature[1]
    rng = np.random.default_rng(seed)
    stylegan = "z" in inputs
    while True:
        noise = tf.constant(rng.standard_normal([batch_size, latent_dim]), tf.float32)
        feed = {"z": noise, "truncation_psi": tf.fill([batch_size], float(truncation_psi))} if stylegan else \
            {"noise": noise}
        if "labels" in inputs:
            feed["labels"] = tf.constant(rng.integers(0, num_classes, batch_size), tf.int32)
        yield serving(**feed)["images" if stylegan else "images_uint8"]


def translated_batches(serving, source_images):
    """Batches of an exported image-to-image signature (`images` uint8 -> `images` uint8)
    applied to the uint8 batches of `source_images`."""
    for batch in source_images:
        yield serving(images=batch)["images"]


def model_kind(serving):
    """"noise", "labels" (conditional) or "images" (pix2pix, CycleGAN, SRGAN) of an
    exported serving_default signature, from its inputs (README "Serving"); StyleGAN2's z +
    truncation_psi is a noise model."""
    inputs = sorted(serving.structured_input_signature[1])
    kinds = {("noise",): "noise", ("labels", "noise"): "labels", ("images",): "images",
             ("truncation_psi", "z"): "noise", ("labels", "truncation_psi", "z"): "labels"}
    if inputs == ["ws"]:
        raise UsageError("this is StyleGAN2's W+ export (ws -> images): pass its z + truncation_psi export, "
                         "saved_models/stylegan2")
    if tuple(inputs) not in kinds:
        raise UsageError(f"unknown model signature with inputs {inputs}: export a kgan generator (train.py --export)")
    return kinds[tuple(inputs)]


def evaluate_saved_model(model, real, metrics=METRICS, num_gen=10000, num_real=None, batch_size=50,
                         inception_weights="imagenet", image_size=None, source=None, num_classes=None,
                         data_dir=None, cache_dir=None, seed=0, progress=True, extractor=None, truncation_psi=None):
    """Metrics of an exported generator (`kgan.inference.load_signature`) against REAL
    (see `real_statistics`): noise-to-image models make `num_gen` images (StyleGAN2's at
    `truncation_psi`, default 1: none, as stylegan2-ada's metrics); image-to-image
    models translate the images of the `source` folder (at most num_gen), brought to
    image_size x image_size first (default 256). The real images are brought to
    image_size (default: the generated images' size) by `source_batches`. Returns (results
    dict, info dict: counts, image_size, seconds, extractor identity, real statistics file)."""
    from kgan.inference import load_signature
    from pipelines.sources import resolve_source

    started = time.time()
    serving = load_signature(model)
    kind = model_kind(serving)
    stylegan = "z" in serving.structured_input_signature[1]
    if truncation_psi is not None and not stylegan:
        raise UsageError(f"--trunc is for StyleGAN2 exports (z + truncation_psi); {model!r} is not one")
    if kind == "images":
        if source is None:
            raise UsageError(f"{model!r} translates images: pass --source FOLDER, the images to translate")
        image_size = image_size or 256
        channels = 3
        source_images = resolve_source(source, data_dir=data_dir)
        fake_batches = translated_batches(serving, source_batches(source_images, image_size, channels, batch_size))
        num_gen = min(num_gen, source_images.count)
    else:
        if source is not None:
            raise UsageError(f"{model!r} generates from noise: --source is for image-to-image models")
        if kind == "labels" and not num_classes:
            raise UsageError(f"{model!r} is a conditional generator: pass --num-classes (the number of labels)")
        latent_dim = int(load_signature(model, "input_shapes")()["z" if stylegan else "noise"][1])
        psi = 1.0 if truncation_psi is None else truncation_psi
        fake_batches = noise_batches(serving, latent_dim, batch_size, num_classes, seed, psi)
        probe = next(noise_batches(serving, latent_dim, 1, num_classes, seed, psi))
        image_size, channels = image_size or probe.shape[1], probe.shape[-1]
    extractor = extractor or inception_extractor(inception_weights)
    cache = StatisticsCache(cache_dir)
    real_stats = real_statistics(real, extractor, image_size, channels, batch_size, num_real, data_dir, cache,
                                 progress)
    return _scores(real_stats, fake_batches, extractor, metrics, num_gen, image_size, cache.last_path, seed,
                   progress, started)


def _scores(real_stats, fake_batches, extractor, metrics, num_gen, image_size, real_path, seed, progress, started):
    """(results, info) of `evaluate_saved_model` and `evaluate_run`."""
    fake_stats = FeatureStatistics.of(embed(fake_batches, extractor, num_gen, "generated", progress))
    results = compute_metrics(real_stats, fake_stats, metrics, seed=seed)
    info = {"num_gen": len(fake_stats.features), "num_real": len(real_stats.features), "image_size": image_size,
            "extractor": extractor.identity, "real_statistics": real_path, "seconds": time.time() - started}
    return results, info


def run_statistics_path(logdir, count, extractor_identity):
    """LOGDIR/metrics/real-COUNT-ID.npz: the statistics of the first COUNT real images of a
    run's own training batches under one extractor (`train.py --metrics`, `evaluate_run`)."""
    return os.path.join(logdir, "metrics", f"real-{count}-{extractor_identity[-16:]}.npz")


def evaluate_run(logdir, real=None, metrics=METRICS, num_gen=10000, num_real=None, checkpoints=(None,),
                 inception_weights="imagenet", image_size=None, data_dir=None, cache_dir=None, seed=0, progress=True,
                 extractor=None):
    """Metrics of the generator of the train.py run in `logdir` at each of `checkpoints`
    (paths; None: the latest), the images `train.py --metrics` scores: the model's
    `generated_images` of the run's own training batches (noise models: noise stateless in
    the batch index, the batch's labels, StyleGAN2's G_ema at psi 1; translation models:
    the batches' source images translated). REAL as `real_statistics`; None: the first
    `num_real` (default num_gen) real images of the same batches (`model.real_images`),
    cached in `run_statistics_path` (the file `train.py --metrics --metrics-num-gen N`
    writes). The model, its tf.functions and the real statistics are made once for all
    checkpoints. Returns [(results, info)] as `evaluate_saved_model`, one per checkpoint,
    info["step"] its step."""
    from kgan.cli import load_run
    from kgan.evaluate import restore_networks

    system, config = load_run(logdir)
    model = system.build(config)
    data = system.training_data(config)
    batches = data.host_batches(config.seed)
    generated_images, real_images = tf.function(model.generated_images), tf.function(model.real_images)
    probe = real_images(next(iter(batches)))
    image_size, channels = image_size or probe.shape[1], probe.shape[-1]
    extractor = extractor or inception_extractor(inception_weights)
    if real is None:
        count = num_real or num_gen
        real_path = run_statistics_path(logdir, count, extractor.identity) if extractor.identity else None
        real_stats = batch_statistics(real_images, batches, extractor, count, real_path, progress)
    else:
        cache = StatisticsCache(cache_dir)
        real_stats = real_statistics(real, extractor, image_size, channels, config.batch_size, num_real, data_dir,
                                     cache, progress)
        real_path = cache.last_path
    scored = []
    for checkpoint in checkpoints:
        started = time.time()
        path = checkpoint or tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints"))
        restore_networks(logdir, model, path)
        results, info = _scores(real_stats, generated_batches(generated_images, batches), extractor, metrics, num_gen,
                                image_size, real_path, seed, progress, started)
        scored.append((results, dict(info, step=int(path.rsplit("-", 1)[-1]))))
    return scored


class MetricsCallback(keras.callbacks.Callback):
    """Every `every` train steps (`model.step`, kgan's checkpointed counter), embeds
    `num_gen` images of `generated()` (a callable returning an iterable of uint8 batches,
    called again for each evaluation) with `extractor` and writes "metrics/<name>" scalars
    (fid, kid, kid_std, precision, recall as asked) against the real FeatureStatistics
    `real` (or a callable computing them at the first evaluation) to the tf.summary
    `writer`, as stylegan2-ada's --metrics; `at_start` also evaluates a run at step 0 (the
    untrained generator). One extractor tf.function serves every evaluation and the
    generated features are dropped after each, so memory stays flat; between evaluations
    the callback only compares two integers. `history` keeps (step, results) pairs."""

    def __init__(self, generated, real, extractor, writer, every=1000, num_gen=1000, metrics=("kid",), seed=0,
                 at_start=False):
        super().__init__()
        self.generated = generated
        self.real = real
        self.extractor = extractor
        self.writer = writer
        self.every = every
        self.num_gen = num_gen
        self.metrics = tuple(metrics)
        self.seed = seed
        self.at_start = at_start
        self.history = []
        self._last_step = None

    def evaluate(self, step):
        """Computes and writes the metrics at `step`; returns their dict."""
        if callable(self.real):
            self.real = self.real()
        fake = FeatureStatistics.of(embed(self.generated(), self.extractor, self.num_gen, progress=False))
        results = compute_metrics(self.real, fake, self.metrics, seed=self.seed)
        with self.writer.as_default():
            for name, value in results.items():
                tf.summary.scalar(f"metrics/{name}", value, step=step)
        self.writer.flush()
        self.history.append((step, results))
        self._last_step = step
        return results

    def on_train_begin(self, logs=None):
        step = self.model.completed_steps
        if self._last_step is None and self.at_start and step == 0:
            self.evaluate(0)
        self._last_step = step if self._last_step is None else self._last_step

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.completed_steps
        if step - self._last_step >= self.every:
            self.evaluate(step)


def batch_statistics(real_images, batches, extractor, count, path=None, progress=False):
    """FeatureStatistics of the first `count` images `real_images(batch)` of `batches`, read
    from the .npz `path` if it exists, else embedded and saved there (None: not cached)."""
    if path and os.path.isfile(path):
        return load_statistics(path, extractor.identity)
    statistics = FeatureStatistics.of(embed((real_images(b) for b in batches), extractor, count, "real", progress))
    if path and extractor.identity:
        save_statistics(path, statistics, extractor.identity)
    return statistics


def generated_batches(generated_images, batches):
    """`generated_images(batch, i)` of each batch i: noise models draw noise stateless in i,
    so every pass over `batches` makes the same images."""
    return (generated_images(batch, tf.constant(i)) for i, batch in enumerate(batches))


def training_metrics(model, dataset, extractor, writer, every, num_gen, metrics, cache_path=None, seed=0):
    """The MetricsCallback of `train.py --metrics`: real statistics of `model.real_images`
    over the first `num_gen` images of the training batches `dataset` (saved to
    `cache_path`, an .npz made with this extractor, so a resumed run does not embed them
    again), generated images `model.generated_images` of batches of the same dataset, with
    noise seeded by the batch index (the same noise at every evaluation)."""
    real_images = tf.function(model.real_images)
    generated_images = tf.function(model.generated_images)

    def real():
        return batch_statistics(real_images, dataset, extractor, num_gen, cache_path)

    def generated():
        return generated_batches(generated_images, dataset)

    return MetricsCallback(generated, real, extractor, writer, every, num_gen, metrics, seed, at_start=True)


def add_fid_arguments(parser):
    """The options of `python -m kgan.evaluate fid` on an argparse (sub)parser."""
    parser.add_argument("model", help="exported generator SavedModel folder (saved_models/NAME[/VERSION]), or a "
                        "train.py run directory (its generator at the latest checkpoint, on its own training batches, "
                        "as train.py --metrics scores it)")
    parser.add_argument("real", nargs="?", default=None,
                        help="real images: a folder, 'sample', a prepared tfds name, or a statistics .npz (a run "
                             "directory's default: the real images of its own training batches)")
    parser.add_argument("--every-checkpoint", action="store_true",
                        help="run directories: score every kept checkpoint, oldest first (one real-statistics pass)")
    parser.add_argument("--metrics", default="fid,kid,pr", help=f"comma-separated subset of {','.join(METRICS)}")
    parser.add_argument("--num-gen", type=int, default=10000, help="generated (or translated) images")
    parser.add_argument("--num-real", type=int, default=None, help="real images (default: all)")
    parser.add_argument("--batch-size", type=int, default=50,
                        help="images per generator and Inception call (run directories: the run's batch size)")
    parser.add_argument("--inception-weights", default="imagenet", metavar="PATH",
                        help=f"{INCEPTION_WEIGHTS.file_name} (default: ${INCEPTION_WEIGHTS.env} or the Keras "
                             "cache); 'random': seeded random weights, for relative comparisons only")
    parser.add_argument("--source", default=None, metavar="FOLDER",
                        help="image-to-image models: the images to translate (compared with REAL)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="real images (and --source images) are resized on their short side and "
                             "centre-cropped to this size first (default: the generated images' size; "
                             "--source: 256)")
    parser.add_argument("--num-classes", type=int, default=None, help="conditional models: labels drawn uniformly")
    parser.add_argument("--trunc", type=float, default=None, metavar="PSI",
                        help="StyleGAN2 exports: truncation psi of every sample (default 1: none, as "
                             "stylegan2-ada's metrics)")
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16"),
                        help="Keras dtype policy of the Inception pass (statistics stay float64)")
    parser.add_argument("--data-dir", default=None, help="tfds data_dir for a tfds REAL or --source")
    parser.add_argument("--cache-dir", default=None, help=f"real statistics cache (default {default_cache_dir()})")
    parser.add_argument("--seed", type=int, default=0, help="noise, label and KID subset seed")


def run_fid(args):
    """Runs `python -m kgan.evaluate fid` from parsed `add_fid_arguments` options and
    prints one line per metric; UsageError for bad input."""
    metrics = check_metrics(m.strip() for m in args.metrics.split(",") if m.strip())
    if args.num_gen < 2 or args.batch_size < 1:
        raise UsageError(f"--num-gen {args.num_gen} must be >= 2 and --batch-size {args.batch_size} >= 1")
    keras.config.set_dtype_policy(args.precision)
    weights = args.inception_weights
    if weights == "random":
        keras.utils.set_random_seed(args.seed)
        weights = None
    if os.path.isfile(os.path.join(args.model, OPTIONS_FILE)):
        for flag, value in (("--source", args.source), ("--num-classes", args.num_classes), ("--trunc", args.trunc)):
            if value is not None:
                raise UsageError(f"{flag} is for exported models; a run directory is scored on its own training "
                                 "batches (its labels, StyleGAN2's G_ema at psi 1)")
        from kgan.evaluate import kept_checkpoints

        paths = [path for _, path in kept_checkpoints(args.model)] if args.every_checkpoint else [None]
        for results, info in evaluate_run(args.model, args.real, metrics, args.num_gen, args.num_real, paths, weights,
                                          args.image_size, args.data_dir, args.cache_dir, args.seed):
            print(f"step {info['step']}:")
            _print_results(results, info, args.precision)
        return
    if args.every_checkpoint:
        raise UsageError(f"--every-checkpoint is for train.py run directories; {args.model!r} has no {OPTIONS_FILE}")
    if args.real is None:
        raise UsageError("pass REAL, the real images to compare with (a folder, 'sample', a tfds name or an .npz)")
    results, info = evaluate_saved_model(
        args.model, args.real, metrics, args.num_gen, args.num_real, args.batch_size, weights, args.image_size,
        args.source, args.num_classes, args.data_dir, args.cache_dir, args.seed, truncation_psi=args.trunc)
    _print_results(results, info, args.precision)


def _print_results(results, info, precision):
    if "fid" in results:
        print(f"fid {results['fid']:.6g}")
    if "kid" in results:
        print(f"kid {results['kid']:.6g} (std {results['kid_std']:.3g} over {KID_SUBSETS} subsets)")
    if "precision" in results:
        print(f"precision {results['precision']:.4f} recall {results['recall']:.4f} (k=3)")
    print(f"{info['num_gen']} generated vs {info['num_real']} real images at {info['image_size']}px, "
          f"{precision}, extractor {info['extractor'][:32]}, {info['seconds']:.1f} s")
    if info["real_statistics"]:
        print(f"real statistics: {info['real_statistics']}")
