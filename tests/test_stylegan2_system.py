"""`train.py --arch stylegan2`: --cfg resolution to NVlabs' settings, the data (embedded faces,
--mirror), one-line errors, and a run's TensorBoard scalars and sample grid."""
import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan import cli
from kgan.systems import SYSTEMS
from pipelines.batches import image_batches
from pipelines.sources import ImageSource

SYSTEM = SYSTEMS["stylegan2"]


def test_cfg_fills_nvlabs_training_settings():
    """stylegan2-ada-pytorch cfg_specs (stylegan2 = config-f: batch 32, lr 0.002, gamma 10,
    ema 10 kimg; paper256: 64, 0.0025, 1, 20; cifar: gamma 0.01, no path length or mixing,
    ramp-up 0.05); 'auto' is ADA's 0.0002 res^2 / batch (256 at batch 16: 0.8192, the reference's
    1-GPU auto value); given options win over the config's."""
    f = SYSTEM.Config(cfg="stylegan2")
    assert (f.image_size, f.batch_size, f.lr, f.gamma, f.ema_kimg, f.ema_rampup) == (1024, 32, 0.002, 10.0, 10.0, 0)
    assert (f.pl_weight, f.style_mixing_prob, f.mbstd_group, f.mapping_layers, f.w_dim) == (2.0, 0.9, 4, 8, 512)
    p = SYSTEM.Config(cfg="paper256")
    assert (p.image_size, p.batch_size, p.lr, p.gamma, p.ema_kimg, p.mbstd_group) == (256, 64, 0.0025, 1.0, 20.0, 8)
    c = SYSTEM.Config(cfg="cifar")
    assert (c.gamma, c.pl_weight, c.style_mixing_prob, c.ema_rampup, c.mapping_layers) == (0.01, 0.0, 0.0, 0.05, 2)
    assert np.isclose(SYSTEM.Config(cfg="paper256", r1_gamma="auto", batch_size=16).gamma, 0.8192)
    assert np.isclose(SYSTEM.Config().gamma, 0.0002 * 32 ** 2 / 16)
    g_optimizer, d_optimizer = SYSTEM.optimizers(p, cli.RunOptions(), 1)
    assert np.isclose(float(g_optimizer.learning_rate), 0.0025 * 4 / 5)
    assert np.isclose(float(d_optimizer.learning_rate), 0.0025 * 16 / 17)
    assert np.isclose(d_optimizer.beta_2, 0.99 ** (16 / 17))


@pytest.fixture
def zero_init(monkeypatch):
    """N(0, 1) initializers return zeros (the counts do not depend on the values)."""
    monkeypatch.setattr(keras.initializers.RandomNormal, "__call__",
                        lambda self, shape, dtype=None: keras.ops.zeros(shape, dtype))


def test_system_networks_have_nvlabs_parameter_counts(zero_init):
    """The networks the system builds from --cfg (every option filled from it) are NVlabs'."""
    for overrides, g_params, d_params in [(dict(cfg="paper256"), 24_767_458, 24_001_089),
                                          (dict(cfg="cifar", cond=True, num_classes=10), 20_215_315, 23_089_664)]:
        generator, discriminator = SYSTEM.networks(SYSTEM.Config(**overrides))
        counts = [sum(int(np.prod(w.shape)) for w in n.trainable_weights) for n in (generator, discriminator)]
        assert counts == [g_params, d_params], overrides


BAD_OPTIONS = [
    (["--r1-gamma", "ten"], "--r1-gamma must be a number or 'auto', got 'ten'"),
    (["--batch-size", "6"], "--batch-size 6 must be a multiple of the minibatch-std group 4"),
    (["--image-size", "48"], "--image-size must be a power of two >= 8, got 48"),
    (["--style-mixing-prob", "1.5"], "--style-mixing-prob must be in [0, 1], got 1.5"),
    (["--num-classes", "3"], "--num-classes needs --cond"),
]


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    for argv, message in BAD_OPTIONS:
        assert cli.main(["--arch", "stylegan2", "--logdir", str(tmp_path / "run"), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err


def test_embedded_faces_and_mirror():
    """'sample' is the 100 faces (not the non-faces); --mirror adds every image flipped
    left-right (ADA xflip): a pass holds each image both ways."""
    data = SYSTEM.training_data(SYSTEM.Config(image_size=8, batch_size=8, mirror=True))
    assert data.sources[0].count == 100 and data.steps_per_epoch == 200 // 8
    assert next(iter(data.dataset)).shape == (8, 8, 8, 3)
    pixels = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4, 1) * 5
    source = ImageSource("three", tf.data.Dataset.from_tensor_slices({"image": pixels}), 3)
    batch = next(iter(image_batches(source, 4, 1, 6, shuffle=False, mirror=True))).numpy()
    np.testing.assert_array_equal(batch[3:], batch[:3, :, ::-1])
    assert np.abs(batch[3:] - batch[:3]).max() > 0


def test_run_logs_every_loss_and_regularizer_and_both_truncations(tmp_path):
    """Two steps of the tiny config through train.py's code: TensorBoard has every loss term,
    both regularizers and pl_mean, and a sample grid of the fixed z at psi 1 (top rows) and
    0.7 (bottom rows, same z: closer to the average image)."""
    flags = [x for key, value in SYSTEM.tiny.items() for x in ("--" + key.replace("_", "-"), str(value))]
    logdir = tmp_path / "run"
    cli.train(cli.parse_options(["--arch", "stylegan2", "--steps", "2", "--log-every", "1", "--logdir", str(logdir),
                                 *flags]))
    scalars, grids = set(), []
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "samples":
                    grids.append(tf.io.decode_png(tf.make_ndarray(value.tensor)[2]).numpy())
                else:
                    scalars.add(value.tag)
    assert scalars == {"g_loss", "d_loss", "d_real", "d_fake", "r1_penalty", "pl_penalty", "pl_mean"}
    size = SYSTEM.tiny["image_size"]
    grid = grids[-1].astype(float)
    assert grid.shape == (8 * size, 8 * size, 3)  # 32 z at psi 1 (4 rows of 8), then the same 32 at 0.7
    top, bottom = grid[: 4 * size], grid[4 * size:]
    assert np.abs(top - bottom).max() > 0
