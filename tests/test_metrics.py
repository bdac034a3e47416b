"""FID / KID / precision-recall: the math against closed forms and reference formulas, the
clean-fid resize, the real-statistics cache, the training callback, and the
`python -m kgan.evaluate fid` command on a tiny exported DCGAN."""
import itertools
import os
import shlex

import keras
import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from kgan import cli, evaluate
from kgan.errors import UsageError
from kgan.metrics import (
    INCEPTION_WEIGHTS,
    FeatureExtractor,
    FeatureStatistics,
    MetricsCallback,
    StatisticsCache,
    clean_resize,
    embed,
    evaluate_run,
    evaluate_saved_model,
    folder_identity,
    frechet_distance,
    kernel_inception_distance,
    precision_recall,
    real_statistics,
)
from kgan.models import GAN
from kgan.networks import build_discriminator, build_generator
from kgan.systems import SYSTEMS
from pipelines.images import to_uint8
from pipelines.batches import image_batches
from pipelines.sources import sample_source

# One worker runs this file: its module-scoped fixture is built once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("metrics")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_extractor(seed=0, width=8):
    """A stand-in for Inception: uint8 images at 16x16 -> (B, width) features."""
    keras.utils.set_random_seed(seed)
    images = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(width, 3, strides=2, activation="relu")(images)
    network = keras.Model(images, keras.layers.GlobalAveragePooling2D()(x))
    return FeatureExtractor(network, 16, lambda x: x / 127.5 - 1.0, name="tiny")


def random_rotation(d, rng):
    q, r = np.linalg.qr(rng.standard_normal([d, d]))
    return q * np.sign(np.diag(r))


def test_fid_of_two_gaussians_equals_the_closed_form_at_2048_dimensions():
    """Block-diagonal 2x2 covariances that do not commute, both rotated by one dense
    orthogonal Q (the normalized Hadamard matrix): Tr((S1 S2)^1/2) = sum over blocks of
    sqrt(tr(B1 B2) + 2 sqrt(det B1 det B2)) (a 2x2 matrix with eigenvalues l1, l2 >= 0 has
    (sqrt l1 + sqrt l2)^2 = tr + 2 sqrt det)."""
    rng = np.random.default_rng(0)
    d = 2048
    blocks = []
    for _ in range(2):
        a = rng.standard_normal([d // 2, 2, 2])
        blocks.append(a @ a.transpose(0, 2, 1) + 0.1 * np.eye(2))
    assert not np.allclose(blocks[0] @ blocks[1], blocks[1] @ blocks[0])
    trace_sqrt = np.sum(np.sqrt(np.einsum("bij,bji->b", *blocks)
                                + 2 * np.sqrt(np.linalg.det(blocks[0]) * np.linalg.det(blocks[1]))))
    q = scipy.linalg.hadamard(d) / np.sqrt(d)
    pairs = q.reshape(d, d // 2, 2)
    covs = [np.einsum("rbi,bij->rbj", pairs, b).reshape(d, d) @ q.T for b in blocks]  # Q blockdiag(B) Q^T
    means = rng.standard_normal([2, d])
    expected = np.sum((means[0] - means[1]) ** 2) + np.trace(covs[0]) + np.trace(covs[1]) - 2 * trace_sqrt
    assert frechet_distance(means[0], covs[0], means[1], covs[1]) == pytest.approx(expected, rel=1e-6)


def test_fid_of_singular_covariances_equals_the_closed_form():
    """Rank-deficient covariances (as from fewer samples than dimensions) sharing the
    eigenvectors of a random rotation: Tr((S1 S2)^1/2) = sum_i sqrt(a_i b_i). The zero
    eigenvalues come out as round-off ~1e-16 whose square roots add ~1e-8 each."""
    rng = np.random.default_rng(1)
    d = 64
    q = np.linalg.qr(rng.standard_normal([d, d]))[0]
    a, b = rng.random([2, d])
    a[::2] = 0
    cov1, cov2 = ((q * v) @ q.T for v in (a, b))
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(cov1)  # so the eigh square root is used
    expected = np.sum(a + b - 2 * np.sqrt(a * b))
    assert frechet_distance(np.zeros(d), cov1, np.zeros(d), cov2) == pytest.approx(expected, rel=1e-6)


def test_fid_in_one_dimension_is_the_squared_difference_of_means_and_stds():
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx((1 - 3) ** 2 + (2 - 3) ** 2, rel=1e-12)


def pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance (src/pytorch_fid/fid_score.py), re-implemented."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def test_fid_is_zero_on_itself_symmetric_and_equals_pytorch_fid_on_the_same_features():
    rng = np.random.default_rng(1)
    mixing = rng.standard_normal([64, 64]) / 8
    real = FeatureStatistics.of(np.abs(rng.standard_normal([600, 64]) @ mixing))
    fake = FeatureStatistics.of(np.abs(rng.standard_normal([500, 64]) @ mixing + 0.05))
    np.testing.assert_allclose(real.cov, np.cov(real.features.astype(np.float64), rowvar=False), rtol=1e-10, atol=1e-14)
    fid = frechet_distance(real.mean, real.cov, fake.mean, fake.cov)
    assert fid > 0.01
    assert abs(frechet_distance(real.mean, real.cov, real.mean, real.cov)) < 1e-12 * np.trace(real.cov)
    assert frechet_distance(fake.mean, fake.cov, real.mean, real.cov) == pytest.approx(fid, rel=1e-10)
    assert fid == pytest.approx(pytorch_fid(real.mean, real.cov, fake.mean, fake.cov), rel=1e-8)


def brute_force_kid(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3 by explicit loops over pairs."""
    d, m = x.shape[1], len(x)
    k = lambda a, b: (np.dot(a.astype(np.float64), b) / d + 1) ** 3  # noqa: E731
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2))
    across = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return within / (m * (m - 1)) - 2 * across / m**2


def brute_force_diagonal(x):
    """m^2 times what the biased V-statistic (diagonal kept, / m^2) adds to the unbiased
    estimate for one set: sum_i k(x_i, x_i) - sum_{i!=j} k(x_i, x_j) / (m - 1)."""
    k = (x.astype(np.float64) @ x.T / x.shape[1] + 1) ** 3
    m = len(x)
    return np.trace(k) - (k.sum() - np.trace(k)) / (m - 1)


def test_kid_equals_a_brute_force_computation_on_small_data():
    rng = np.random.default_rng(2)
    real, fake = rng.random([7, 5]), rng.random([7, 5]) + 0.3
    mean, std = kernel_inception_distance(real, fake, num_subsets=3)
    assert mean == pytest.approx(brute_force_kid(fake, real), rel=1e-5)
    assert std == pytest.approx(0, abs=1e-6)  # every subset holds all 7 rows of each set


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_for_a_shifted_one():
    """Over 40 independent pairs of samples of one distribution the estimates average to 0
    within 3 standard errors; the biased (diagonal-including) estimator would not."""
    rng = np.random.default_rng(3)
    draws = np.abs(rng.standard_normal([40, 2, 100, 16]))
    estimates = [kernel_inception_distance(real, same, num_subsets=1)[0] for real, same in draws]
    standard_error = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates)) < 3 * standard_error
    diagonal_bias = [(brute_force_diagonal(same) + brute_force_diagonal(real)) / 100**2 for real, same in draws]
    assert np.mean(diagonal_bias) > 10 * standard_error  # what the m(m-1) normalisation removes
    kid_shifted, _ = kernel_inception_distance(draws[0, 0], draws[0, 1] + 0.3, num_subsets=1)
    assert kid_shifted > 10 * np.std(estimates)


def test_precision_recall_is_one_for_identical_sets_and_drops_for_a_shifted_set():
    rng = np.random.default_rng(4)
    real = rng.standard_normal([400, 16])
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    precision, recall = precision_recall(real, real + 1.0)
    assert precision < 0.6 and recall < 0.6
    narrow_precision, narrow_recall = precision_recall(real, 0.3 * rng.standard_normal([400, 16]))
    assert narrow_precision > 0.9 and narrow_recall < 0.5  # mode-dropping generator: precise, low recall


def test_clean_resize_equals_clean_fids_pil_float_bicubic():
    """cleanfid/resize.py make_resizer("PIL", quantize_after=False, "bicubic"): each channel
    as a PIL mode-F image, resized, clipped; down (antialiased) and up."""
    rng = np.random.default_rng(5)
    for height, width, size in ((80, 64, 40), (25, 25, 299)):
        image = rng.integers(0, 256, [height, width, 3], dtype=np.uint8)
        reference = np.stack([np.asarray(Image.fromarray(image[..., c].astype(np.float32), mode="F")
                                         .resize((size, size), Image.BICUBIC)).clip(0, 255) for c in range(3)], -1)
        ours = clean_resize(image[None], size)[0].numpy()
        np.testing.assert_allclose(ours, reference, atol=0.02)


def test_extractor_runs_in_the_policy_with_float32_features_and_float64_statistics():
    keras.config.set_dtype_policy("mixed_bfloat16")
    extractor = tiny_extractor()
    assert extractor.network.layers[1].compute_dtype == "bfloat16"
    gray = np.random.default_rng(6).integers(0, 256, [5, 20, 20, 1], dtype=np.uint8)
    features = embed([gray[:3], gray[3:]], extractor, progress=False)
    assert features.dtype == np.float32 and features.shape == (5, 8)
    statistics = FeatureStatistics.of(features)
    assert statistics.mean.dtype == statistics.cov.dtype == np.float64
    with pytest.raises(ValueError, match="uint8"):
        extractor(gray.astype(np.float32))


def test_under_a_strategy_each_replica_embeds_its_rows_and_the_features_come_back_in_order(mirrored):
    """Issue 11.5: a 2-replica MirroredStrategy splits each batch (3 rows: 2 + 2 with the
    last row repeated; 2 rows: 1 + 1) and gathers the features, equal to one device's."""
    one_device = tiny_extractor(seed=3)
    with mirrored.scope():
        network = tiny_extractor(seed=3).network
        calls = []

        def recording(x):
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            tf.py_function(lambda r, n: calls.append((int(r), int(n))), [replica, tf.shape(x)[0]], [])
            return network(x)

        distributed = FeatureExtractor(recording, 16, lambda x: x / 127.5 - 1.0)
    assert distributed.strategy is mirrored
    images = np.random.default_rng(9).integers(0, 256, [5, 20, 20, 3], dtype=np.uint8)
    features = embed([images[:3], images[3:]], distributed, progress=False)
    assert features.shape == (5, 8) and features.dtype == np.float32
    np.testing.assert_allclose(features, embed([images], one_device, progress=False), rtol=1e-5, atol=1e-6)
    assert sorted(calls) == [(0, 1), (0, 2), (1, 1), (1, 2)]


def write_images(folder, count, seed):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, [24, 20, 3], dtype=np.uint8)).save(os.path.join(folder, f"{i}.png"))


def test_real_statistics_are_cached_per_dataset_and_extractor(tmp_path):
    folder = str(tmp_path / "real")
    write_images(folder, 6, seed=7)
    cache = StatisticsCache(str(tmp_path / "cache"))
    extractor = tiny_extractor(seed=0)
    first = real_statistics(folder, extractor, 16, 3, batch_size=4, cache=cache, progress=False)
    again = real_statistics(folder, extractor, 16, 3, batch_size=4, cache=cache, progress=False)
    assert cache.computed == 1 and len(os.listdir(cache.directory)) == 1
    np.testing.assert_array_equal(first.features, again.features)
    np.testing.assert_array_equal(first.cov, again.cov)
    assert first.features.shape == (6, 8)

    other = tiny_extractor(seed=1)
    assert other.identity != extractor.identity
    changed = real_statistics(folder, other, 16, 3, batch_size=4, cache=cache, progress=False)
    assert cache.computed == 2 and not np.allclose(changed.features, first.features)
    write_images(folder, 7, seed=8)
    grown = real_statistics(folder, extractor, 16, 3, batch_size=4, cache=cache, progress=False)
    assert cache.computed == 3 and len(os.listdir(cache.directory)) == 3 and grown.features.shape == (7, 8)

    stored = cache.path({"data": folder_identity(folder), "image_size": 16, "channels": 3, "limit": None,
                         "extractor": extractor.identity})
    rebuilt = tiny_extractor(seed=0)
    assert rebuilt.identity == extractor.identity
    np.testing.assert_array_equal(real_statistics(stored, rebuilt, 16, 3, cache=cache).features, grown.features)
    with pytest.raises(UsageError, match="not this one"):
        real_statistics(stored, tiny_extractor(seed=2), 16, 3, cache=cache)


def test_metrics_callback_writes_kid_every_n_steps_with_one_trace(tmp_path):
    generator = build_generator("dcgan", image_size=16, base_width=8)
    model = GAN(generator, build_discriminator("dcgan", image_size=16, base_width=8))
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    extractor = tiny_extractor()
    data = sample_source()
    real = FeatureStatistics.of(embed(image_batches(data, 16, 3, 20, shuffle=False).map(to_uint8).take(2),
                                      extractor, progress=False))
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))

    def generated():
        while True:
            yield to_uint8(generator(tf.random.normal([10, 100]), training=False))

    callback = MetricsCallback(generated, real, extractor, writer, every=2, num_gen=24, metrics=("kid", "fid"))
    model.fit(image_batches(data, 16, 3, 8), epochs=1, steps_per_epoch=6, callbacks=[callback], verbose=0,
              shuffle=False)
    assert [step for step, _ in callback.history] == [2, 4, 6]
    assert extractor.features.experimental_get_tracing_count() == 1
    events = EventAccumulator(str(tmp_path / "logs"), size_guidance={"tensors": 0})
    events.Reload()
    assert {"metrics/kid", "metrics/kid_std", "metrics/fid"} <= set(events.Tags()["tensors"])
    kids = [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("metrics/kid")]
    np.testing.assert_allclose(kids, [r["kid"] for _, r in callback.history], rtol=1e-6)


@pytest.fixture(scope="module")
def exported_dcgan(tmp_path_factory):
    root = tmp_path_factory.mktemp("dcgan")
    cli.train(cli.parse_options(["--arch", "dcgan", "--data", "sample", "--steps", "2", "--image-size", "16",
                                 "--base-width", "8", "--batch-size", "16", "--logdir", str(root / "run"),
                                 "--checkpoint-every", "1", "--export", str(root / "sm")]))
    return str(root / "sm" / "dcgan")


def run_of(exported):
    """The run directory the `exported_dcgan` fixture trained (checkpoints at steps 1 and 2)."""
    return os.path.join(os.path.dirname(os.path.dirname(exported)), "run")


def test_evaluate_fid_prints_the_metrics_of_an_exported_dcgan(exported_dcgan, tmp_path, capsys):
    options = ["--inception-weights", "random", "--num-gen", "8", "--batch-size", "8",
               "--cache-dir", str(tmp_path / "cache")]
    assert evaluate.main(["fid", exported_dcgan, "sample", "--num-real", "8", *options]) == 0
    lines = capsys.readouterr().out.splitlines()
    values = dict(line.split()[:2] for line in lines[:3])
    assert set(values) == {"fid", "kid", "precision"}
    assert float(values["fid"]) > 0 and np.isfinite(float(values["kid"]))
    assert "8 generated vs 8 real images at 16px" in lines[3]
    assert lines[4] == f"real statistics: {tmp_path / 'cache' / os.listdir(tmp_path / 'cache')[0]}"


def test_evaluate_run_scores_its_checkpoints_on_its_own_batches_and_caches_the_real_statistics(exported_dcgan):
    """A run directory: the generator at a checkpoint on the run's own training batches; the
    real statistics of those batches are embedded once, into the file train.py --metrics
    keeps (LOGDIR/metrics/), and reused; noise stateless in the batch index makes a second
    evaluation equal the first; another checkpoint scores otherwise."""
    from kgan.metrics import run_statistics_path

    run, extractor = run_of(exported_dcgan), tiny_extractor()
    ((first, info),) = evaluate_run(run, num_gen=16, progress=False, extractor=extractor)
    assert info["step"] == 2 and info["num_gen"] == info["num_real"] == 16 and info["image_size"] == 16
    assert info["real_statistics"] == run_statistics_path(run, 16, extractor.identity)
    written = os.stat(info["real_statistics"]).st_mtime_ns
    (older, older_info), (again, _) = evaluate_run(
        run, num_gen=16, checkpoints=[os.path.join(run, "checkpoints", "ckpt-1"), None], progress=False,
        extractor=extractor)
    assert again == first and os.stat(info["real_statistics"]).st_mtime_ns == written
    assert older_info["step"] == 1 and older["fid"] != first["fid"] and np.isfinite(older["fid"])


def test_evaluate_fid_on_a_run_directory_every_checkpoint_and_its_one_line_errors(exported_dcgan, tmp_path, capsys):
    run = run_of(exported_dcgan)
    options = ["--inception-weights", "random", "--num-gen", "8", "--metrics", "fid,kid"]
    assert evaluate.main(["fid", run, "--every-checkpoint", *options]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("step ")] == ["step 1:", "step 2:"]
    assert len([line for line in lines if line.startswith("fid ")]) == 2
    assert evaluate.main(["fid", run, "sample", "--num-real", "8", "--cache-dir", str(tmp_path / "cache"),
                          *options]) == 0
    assert "8 generated vs 8 real images at 16px" in capsys.readouterr().out
    for bad, expected in ((["--trunc", "0.5"], "--trunc is for exported models"),
                          (["--source", run], "--source is for exported models")):
        assert evaluate.main(["fid", run, *options, *bad]) == 2
        error = capsys.readouterr().err.strip()
        assert "\n" not in error and expected in error
    assert evaluate.main(["fid", exported_dcgan, *options]) == 2
    assert capsys.readouterr().err.strip() == ("evaluate: error: pass REAL, the real images to compare with (a "
                                               "folder, 'sample', a tfds name or an .npz)")
    assert evaluate.main(["fid", exported_dcgan, "sample", "--every-checkpoint", *options]) == 2
    assert "--every-checkpoint is for train.py run directories" in capsys.readouterr().err


@pytest.fixture(scope="module")
def exported_stylegan2(tmp_path_factory):
    """The tiny StyleGAN2 config's G_ema, untrained, exported as `train.py --export` writes it:
    (z + truncation_psi export, W+ export)."""
    from kgan.export import export_generator

    system, base = SYSTEMS["stylegan2"], tmp_path_factory.mktemp("stylegan2")
    export_generator(system.build(system.Config(**system.tiny)), str(base), "stylegan2")
    return str(base / "stylegan2"), str(base / "stylegan2_wplus")


def test_evaluate_fid_of_a_stylegan2_z_psi_export_feeds_the_truncation(exported_stylegan2, exported_dcgan, tmp_path,
                                                                        capsys):
    """StyleGAN2's z + truncation_psi export is a noise model for `kgan.evaluate fid`; --trunc
    is the psi of every sample (psi 0: every image is w_avg's; default 1, as stylegan2-ada's
    metrics). The W+ export, and --trunc on another model, are one-line errors before any
    Inception weights are needed."""
    from kgan.inference import load_signature
    from kgan.metrics import noise_batches

    z_psi, wplus = exported_stylegan2
    serving = load_signature(z_psi)
    z_dim = int(load_signature(z_psi, "input_shapes")()["z"][1])
    average = next(noise_batches(serving, z_dim, 4, truncation_psi=0.0)).numpy()
    size = SYSTEMS["stylegan2"].tiny["image_size"]
    assert average.dtype == np.uint8 and average.shape == (4, size, size, 3)
    assert (average == average[:1]).all()
    varied = next(noise_batches(serving, z_dim, 4)).numpy()
    assert np.abs(varied.astype(int) - varied[:1]).max() > 0
    scores = {}
    for psi in (None, 0.0):
        results, info = evaluate_saved_model(z_psi, "sample", num_gen=16, num_real=16, batch_size=8,
                                             cache_dir=str(tmp_path / "cache"), progress=False,
                                             extractor=tiny_extractor(), truncation_psi=psi)
        assert info["num_gen"] == 16 and info["image_size"] == size and np.isfinite(results["fid"])
        scores[psi] = results
    assert scores[0.0]["recall"] <= scores[None]["recall"]  # 16 copies of one image cover less of the real set
    assert evaluate.main(["fid", wplus, "sample"]) == 2
    assert "StyleGAN2's W+ export" in capsys.readouterr().err
    assert evaluate.main(["fid", exported_dcgan, "sample", "--trunc", "0.7"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and error.startswith("evaluate: error: --trunc is for StyleGAN2 exports")


def test_translation_model_on_its_own_target_scores_zero_fid_and_full_precision_recall(tmp_path):
    """An identity image-to-image SavedModel (the `images` uint8 signature of pix2pix /
    CycleGAN), --source = REAL: translated and real images are the same pixels."""
    class Identity(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
        def serve(self, images):
            return {"images": images}

    module = Identity()
    tf.saved_model.save(module, str(tmp_path / "identity" / "1"), signatures={"serving_default": module.serve})
    folder = str(tmp_path / "photos")
    write_images(folder, 8, seed=9)
    results, info = evaluate_saved_model(str(tmp_path / "identity"), folder, source=folder, image_size=16,
                                         cache_dir=str(tmp_path / "cache"), progress=False,
                                         extractor=tiny_extractor())
    assert info["num_gen"] == info["num_real"] == 8
    assert abs(results["fid"]) < 1e-9 and results["precision"] == results["recall"] == 1.0
    with pytest.raises(UsageError, match="--source"):
        evaluate_saved_model(str(tmp_path / "identity"), folder, extractor=tiny_extractor())


def test_missing_inception_weights_is_one_line_and_exit_2(exported_dcgan, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(INCEPTION_WEIGHTS.env, raising=False)
    assert evaluate.main(["fid", exported_dcgan, "sample"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and error.startswith("evaluate: error: Inception-v3 ImageNet weights not found")
    for needed in (INCEPTION_WEIGHTS.file_name, "--inception-weights", INCEPTION_WEIGHTS.env):
        assert needed in error
    assert evaluate.main(["fid", exported_dcgan, "sample", "--inception-weights", str(tmp_path / "no.h5")]) == 2
    assert "no.h5 does not exist" in capsys.readouterr().err


def test_readme_train_metrics_command_writes_kid_from_step_0_and_a_resume_reuses_the_real_statistics(
        tmp_path, monkeypatch):
    """README's train.py --metrics command as written (stylegan2-ada's --metrics): KID and
    FID in TensorBoard at step 0 (the untrained generator) and every --metrics-every steps;
    the real statistics are embedded once per run and a resumed run reads them from
    LOGDIR/metrics/."""
    with open(os.path.join(ROOT, "README.md")) as f:
        (command,) = [line for line in f if line.startswith("python3 train.py") and "--metrics kid" in line]
    monkeypatch.chdir(tmp_path)
    assert cli.main(shlex.split(command)[2:]) == 0
    logdir = "runs/dcgan-kid"
    (statistics,) = os.listdir(os.path.join(logdir, "metrics"))
    written = os.stat(os.path.join(logdir, "metrics", statistics)).st_mtime_ns
    assert cli.main(["--resume", "--logdir", logdir, "--steps", "30"]) == 0
    assert os.listdir(os.path.join(logdir, "metrics")) == [statistics]
    assert os.stat(os.path.join(logdir, "metrics", statistics)).st_mtime_ns == written
    events = EventAccumulator(logdir, size_guidance={"tensors": 0})
    events.Reload()
    assert [e.step for e in events.Tensors("metrics/kid")] == [0, 10, 20, 30]
    assert all(np.isfinite(float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors("metrics/fid"))


def test_train_metrics_under_mirrored_split_the_inception_pass_over_the_replicas(tmp_path, monkeypatch, mirrored):
    """train.py --strategy mirrored --metrics: the extractor is built in the run's strategy
    (the session's 2-CPU one: a second strategy in one process collides with it), so each
    evaluation's feature pass runs on both replicas; the scalars are written as without it."""
    import kgan.metrics

    built = []

    def recorded(weights):
        built.append(real_inception(weights))
        return built[-1]

    real_inception = kgan.metrics.inception_extractor
    monkeypatch.setattr(kgan.metrics, "inception_extractor", recorded)
    monkeypatch.setattr(cli, "make_strategy", lambda name: mirrored)
    logdir = str(tmp_path / "run")
    assert cli.main(["--arch", "dcgan", "--data", "sample", "--image-size", "8", "--base-width", "4", "--batch-size",
                     "4", "--steps", "1", "--strategy", "mirrored", "--metrics", "kid", "--metrics-every", "1",
                     "--metrics-num-gen", "4", "--inception-weights", "random", "--logdir", logdir]) == 0
    (extractor,) = built
    assert extractor.strategy is mirrored and extractor.strategy.num_replicas_in_sync == 2
    events = EventAccumulator(logdir, size_guidance={"tensors": 0})
    events.Reload()
    assert [e.step for e in events.Tensors("metrics/kid")] == [0, 1]


def test_train_metrics_bad_list_or_missing_weights_is_one_line_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KGAN_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.raises(UsageError, match="choose a comma-separated subset of fid,kid,pr"):
        cli.parse_options(["--arch", "dcgan", "--metrics", "fid,is", "--logdir", str(tmp_path / "a")])
    with pytest.raises(UsageError, match="Inception-v3 ImageNet weights not found: get "):
        cli.parse_options(["--arch", "dcgan", "--metrics", "kid", "--logdir", str(tmp_path / "b")])
