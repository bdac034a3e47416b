"""Tiled super-resolution inference (`kgan.upscale`) and the SR benchmark (`kgan.evaluate sr`)."""
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage import data as photos
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from kgan import evaluate, upscale
from kgan.errors import UsageError
from kgan.export import export_generator
from kgan.upscale import blend_ramp, tile_starts, upscale_image


def nearest(scale):
    """A position-independent upscaler: every pixel repeated scale x scale times."""
    return lambda images: np.repeat(np.repeat(np.asarray(images), scale, axis=1), scale, axis=2)


def bicubic(scale):
    def upscale_batch(images):
        size = [scale * images.shape[1], scale * images.shape[2]]
        return np.round(np.clip(tf.image.resize(tf.cast(images, tf.float32), size, "bicubic").numpy(), 0, 255))

    return upscale_batch


@pytest.mark.parametrize("length, tile, overlap", [(100, 32, 8), (33, 32, 8), (32, 32, 8), (7, 32, 8), (250, 64, 0)])
def test_tiles_cover_the_line_with_at_least_the_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    size = min(tile, length)
    covered = np.zeros(length, bool)
    for start in starts:
        assert 0 <= start and start + size <= length
        covered[start:start + size] = True
    assert covered.all() and starts[-1] + size == length
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))


def test_ramps_of_tiles_sharing_exactly_the_fade_sum_to_one():
    fade, size = 12, 40
    left, right = blend_ramp(size, 0, 68, fade), blend_ramp(size, 28, 68, fade)
    np.testing.assert_allclose(left[28:] + right[:12], 1.0)
    assert left[0] == 1.0 and right[-1] == 1.0 and left.min() > 0 and right.min() > 0


@pytest.mark.parametrize("height, width, tile, overlap, batch", [(70, 45, 16, 4, 1), (33, 80, 32, 16, 3), (9, 9, 16, 4, 2)])
def test_tiled_upscaling_is_exact_for_a_position_independent_upscaler(height, width, tile, overlap, batch):
    """On a constant image every overlapping tile gives the same value, and blending must
    return it exactly; for a random image, tiles of a pixel-wise upscaler agree too."""
    constant = np.full([height, width, 3], 137, np.uint8)
    out = upscale_image(nearest(4), constant, 4, tile, overlap, batch)
    assert out.shape == (4 * height, 4 * width, 3) and (out == 137).all()
    noise = np.random.default_rng(0).integers(0, 256, [height, width, 3], dtype=np.uint8)
    np.testing.assert_array_equal(upscale_image(nearest(4), noise, 4, tile, overlap, batch), nearest(4)(noise[None])[0])


def test_tiled_generator_output_matches_the_whole_image_without_seams():
    """A random-weight SRGAN generator: tiles see zero padding at their borders, which the
    linear ramps fade out; measured here 0.55 mean and 6 max levels of difference to the
    whole-image output, against 27 mean levels between two different untiled images."""
    from kgan.networks import srgan_generator
    from pipelines.images import to_uint8

    generator = srgan_generator(n_residual_blocks=2, width=8, upsample_width=16)

    def upscale_batch(images):
        return to_uint8(generator(tf.cast(images, tf.float32) / 127.5 - 1.0, training=False)).numpy()

    image = tf.image.resize(photos.astronaut(), [96, 80], antialias=True).numpy().round().astype(np.uint8)
    whole = upscale_batch(image[None])[0].astype(float)
    tiled = upscale_image(upscale_batch, image, 4, 32, 12).astype(float)
    difference = np.abs(tiled - whole)
    assert difference.mean() < 2.0 and np.percentile(difference, 99.9) < 16


def test_quality_metrics_match_scikit_image_and_known_values():
    reference = tf.image.resize(photos.chelsea(), [64, 80], antialias=True).numpy().round()
    noisy = np.clip(reference + np.random.default_rng(1).normal(0, 8, reference.shape).round(), 0, 255)
    quality = evaluate.image_quality(noisy, reference, border=4)
    crop = (slice(4, -4), slice(4, -4))
    assert quality["psnr"] == pytest.approx(peak_signal_noise_ratio(reference[crop], noisy[crop], data_range=255))
    expected_ssim = structural_similarity(reference[crop], noisy[crop], channel_axis=-1, data_range=255,
                                          gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert quality["ssim"] == pytest.approx(expected_ssim, abs=2e-3)
    np.testing.assert_allclose(evaluate.rgb_to_y(np.array([[0.0, 0, 0], [255, 255, 255]])), [16, 235])
    off_by_one = evaluate.image_quality(np.full([20, 20, 3], 101), np.full([20, 20, 3], 100), border=2)
    assert off_by_one["psnr"] == pytest.approx(20 * np.log10(255))
    assert evaluate.image_quality(reference, reference, 4)["ssim_y"] == pytest.approx(1.0)


@pytest.fixture
def hr_folder(tmp_path):
    """Three HR images: RGB 90x70, grayscale 61x45 (not multiples of 4), RGBA 40x52 (chelsea)."""
    folder = tmp_path / "hr"
    folder.mkdir()
    Image.fromarray(tf.image.resize(photos.astronaut(), [90, 70], antialias=True).numpy().round().astype(np.uint8)).save(
        folder / "astronaut.png")
    Image.fromarray(tf.image.resize(photos.camera()[..., None], [61, 45], antialias=True).numpy()[..., 0]
                    .round().astype(np.uint8)).save(folder / "camera.png")
    rgba = np.concatenate([photos.chelsea()[100:140, 150:202], np.full([40, 52, 1], 255, np.uint8)], -1)
    Image.fromarray(rgba).save(folder / "chelsea.png")
    return folder


def test_superres_benchmark_of_bicubic_equals_the_bicubic_baseline(hr_folder):
    """Mod-crop, LR and metrics of the model path and the baseline are the same code: a
    bicubic "model" must score exactly the baseline, and a nearest one worse."""
    rows = evaluate.superres_quality(bicubic(4), str(hr_folder), 4, tile=0, overlap=0)
    assert [name for name, _ in rows] == ["astronaut.png", "camera.png", "chelsea.png"]
    for _, results in rows:
        assert results["model"] == pytest.approx(results["bicubic"])
        assert 15 < results["bicubic"]["psnr_y"] < 40 and 0 < results["bicubic"]["ssim"] < 1
    worse = evaluate.superres_quality(nearest(4), str(hr_folder), 4)
    assert all(r["model"]["psnr_y"] < r["bicubic"]["psnr_y"] for _, r in worse)


def _export_tiny_srgan(path):
    from kgan.models import SRGAN
    from kgan.networks import srgan_discriminator, srgan_generator

    generator = srgan_generator(n_residual_blocks=1, width=8, upsample="subpixel")
    model = SRGAN(generator, srgan_discriminator(image_size=None, widths=(4,) * 8, dense_width=4))
    return export_generator(model, str(path), "srgan")[0]


def test_upscale_and_evaluate_clis_on_an_exported_generator(tmp_path, hr_folder, capsys):
    model = _export_tiny_srgan(tmp_path / "sm")
    assert upscale.main([model, str(hr_folder), str(tmp_path / "out"), "--tile", "16", "--overlap", "4"]) == 0
    assert Image.open(tmp_path / "out" / "camera.png").size == (180, 244)
    assert upscale.main([str(tmp_path / "sm" / "srgan"), str(hr_folder / "chelsea.png"), str(tmp_path / "cat.jpg"),
                         "--tile", "0"]) == 0
    assert Image.open(tmp_path / "cat.jpg").size == (208, 160)
    capsys.readouterr()
    assert evaluate.main(["sr", model, str(hr_folder), "--scale", "4"]) == 0
    table = capsys.readouterr().out
    assert "camera.png" in table and table.count("bicubic") == 4 and "mean" in table


@pytest.mark.parametrize(
    "argv, message",
    [
        (["upscale", "{model}", "{missing}", "{out}"], "does not exist"),
        (["upscale", "{missing}", "{hr}", "{out}"], "no SavedModel"),
        (["upscale", "{model}", "{hr}", "{out}", "--tile", "8", "--overlap", "5"], "--overlap 5 between 0 and half the tile"),
        (["evaluate", "sr", "{model}", "{hr}", "--scale", "2"], "upscales x4, not --scale 2"),
        (["evaluate", "sr", "{model}", "{missing}"], "no images found"),
    ],
)
def test_bad_input_is_one_line(tmp_path, hr_folder, capsys, argv, message):
    paths = {"model": _export_tiny_srgan(tmp_path / "sm"), "missing": str(tmp_path / "nothing"),
             "out": str(tmp_path / "out"), "hr": str(hr_folder)}
    command, *args = [a.format(**paths) for a in argv]
    main = upscale.main if command == "upscale" else evaluate.main
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_a_translation_model_is_not_an_upscaler(tmp_path):
    from kgan.models import Pix2Pix
    from kgan.networks import build_discriminator, build_generator

    model = Pix2Pix(build_generator("resnet_6blocks", base_width=4), build_discriminator("basic", base_width=4),
                    size_multiple=4)
    path = export_generator(model, str(tmp_path), "pix2pix")[0]
    with pytest.raises(UsageError, match="maps 8x8 images to 8x8"):
        upscale.load_upscaler(path)
