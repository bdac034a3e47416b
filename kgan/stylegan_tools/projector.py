"""Projection of an image into a StyleGAN2 generator's W or W+ (NVlabs stylegan2-ada-pytorch
`projector.py`; W+ as rosinality's `projector.py --w_plus` and seed 000).

The official schedule: w starts at the mean of w over `w_avg_samples` z (RandomState(123)),
w_std = sqrt(sum |w - w_avg|^2 / N); Adam (0.9, 0.999) on w and every noise map (set to
N(0, 1) first, noise_mode "const"), lr = 0.1 ramp(t), ramp = min(1, t / 0.05) (0.5 - 0.5
cos(pi min(1, (1 - t) / 0.25))), t = step / num_steps; w gets latent noise of std w_std 0.05
max(0, 1 - t / 0.75)^2 each step; loss = distance + 1e5 sum over noise maps and their 2x2
average-pooled pyramid down to 8x8 of mean(n roll(n, 1, x))^2 + mean(n roll(n, 1, y))^2; the
noise maps are re-normalized to zero mean, unit variance after each step. W: one w (1, 1,
w_dim) repeated to every row; W+ (`w_plus`): one per row, all starting at w_avg.

Distances (`distance`):
- "vgg": VGG16 LPIPS-style: the images on 0..255, area-downsampled to 256 when larger, VGG's
  caffe preprocessing, features of conv1_2, conv2_2, conv3_3, conv4_3, conv5_3, each unit-
  normalized over channels and scaled by 1 / sqrt(H W), squared distance summed (LPIPS with
  uniform layer weights; NVlabs uses its LPIPS-calibrated vgg16.pt, which cannot be
  downloaded here). Needs Keras' VGG16 no-top ImageNet weights on disk.
- "pixel" (the fallback without VGG weights): mean squared difference on [-1, 1] summed over
  a pyramid of 2x2 average-poolings down to 8x8 (coarse structure weighs as much as detail).
"""
import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf
import tqdm

from kgan.errors import UsageError
from kgan.perceptual import CaffePreprocess
from kgan.stylegan_tools.generator import check_class
from kgan.weights import ApplicationWeights
from pipelines.images import to_uint8

DISTANCES = ("auto", "vgg", "pixel")
VGG16_WEIGHTS = ApplicationWeights("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16",
                                   "--vgg-weights", "KGAN_VGG16_WEIGHTS",
                                   alternative="--distance pixel projects without VGG")
LPIPS_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")


@dataclasses.dataclass
class ProjectorConfig:
    """NVlabs projector.py `project` defaults; w_plus: optimize one w per W+ row."""

    num_steps: int = 1000
    w_avg_samples: int = 10000
    initial_learning_rate: float = 0.1
    initial_noise_factor: float = 0.05
    lr_rampdown_length: float = 0.25
    lr_rampup_length: float = 0.05
    noise_ramp_length: float = 0.75
    regularize_noise_weight: float = 1e5
    w_plus: bool = False


def learning_rate(step, config):
    """NVlabs' lr at `step`: initial lr times the ramp-up and cosine ramp-down."""
    t = step / config.num_steps
    ramp = min(1.0, (1.0 - t) / config.lr_rampdown_length)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return config.initial_learning_rate * ramp * min(1.0, t / config.lr_rampup_length)


def latent_noise_scale(step, w_std, config):
    """Std of the noise added to w at `step`: w_std 0.05 max(0, 1 - t / 0.75)^2."""
    t = step / config.num_steps
    return w_std * config.initial_noise_factor * max(0.0, 1.0 - t / config.noise_ramp_length) ** 2


def w_statistics(generator, samples=10000, class_index=None, batch_size=1000):
    """(w_avg (w_dim,), w_std scalar) of `samples` z = RandomState(123).randn (NVlabs)."""
    labels = check_class(generator, class_index)
    z = np.random.RandomState(123).randn(samples, generator.z_dim).astype(np.float32)
    ws = []
    for start in range(0, samples, batch_size):
        chunk = z[start:start + batch_size]
        chunk_labels = None if labels is None else tf.fill([len(chunk)], labels)
        ws.append(generator.mapping(chunk, chunk_labels)[:, 0].numpy())
    ws = np.concatenate(ws)
    w_avg = ws.mean(axis=0)
    return w_avg, float(np.sqrt(np.sum((ws - w_avg) ** 2) / samples))


def noise_layers(generator):
    """The SynthesisLayers with noise inputs, in W+ order."""
    return [layer for block in generator.synthesis.blocks for layer in (block.conv0, block.conv1)
            if layer is not None and layer.use_noise]


def noise_regularization(maps):
    """NVlabs' noise regularizer of noise maps [(R, R)]: sum over each map and its 2x2
    average-pooled pyramid down to 8x8 of the squared mean autocorrelation at shift 1 along
    x and along y."""
    loss = 0.0
    for noise in maps:
        noise = noise[None, :, :, None]
        while True:
            loss += tf.reduce_mean(noise * tf.roll(noise, 1, axis=2)) ** 2
            loss += tf.reduce_mean(noise * tf.roll(noise, 1, axis=1)) ** 2
            if noise.shape[1] <= 8:
                break
            noise = tf.nn.avg_pool2d(noise, 2, 2, "VALID")
    return loss


def _area_resize(images, size):
    """F.interpolate(mode="area") to size x size when larger (an integer factor: average pool)."""
    if images.shape[1] <= size:
        return images
    factor = images.shape[1] // size
    return tf.nn.avg_pool2d(images, factor, factor, "VALID")


def vgg16_lpips_features(weights="imagenet"):
    """images (B, H, W, 3) on 0..255 -> (B, F) concatenated LPIPS-style VGG16 features (see
    the module docstring); raises UsageError when the weights file is absent."""
    path = VGG16_WEIGHTS.resolve(weights)
    vgg = VGG16_WEIGHTS.load(keras.applications.VGG16, path, include_top=False, input_shape=(None, None, 3))
    trunk = keras.Model(vgg.input, [vgg.get_layer(name).output for name in LPIPS_LAYERS])
    trunk.trainable = False
    preprocess = CaffePreprocess((0.0, 255.0))

    def features(images):
        outputs = trunk(preprocess(_area_resize(images, 256)))
        flat = []
        for f in outputs:
            f = f * tf.math.rsqrt(tf.reduce_sum(tf.square(f), axis=-1, keepdims=True) + 1e-10)
            flat.append(tf.reshape(f, [tf.shape(f)[0], -1]) / math.sqrt(f.shape[1] * f.shape[2]))
        return tf.concat(flat, axis=1)

    return features


def pixel_pyramid_distance(synth, target):
    """sum over scales (full, then 2x2 average-pooled, down to 8x8) of mean squared difference,
    images (B, H, W, C) on [-1, 1]."""
    distance = 0.0
    while True:
        distance += tf.reduce_mean(tf.square(synth - target))
        if synth.shape[1] <= 8:
            return distance
        synth, target = tf.nn.avg_pool2d(synth, 2, 2, "VALID"), tf.nn.avg_pool2d(target, 2, 2, "VALID")


def make_distance(kind="auto", vgg_weights="imagenet"):
    """(name, fn(synth, target) for images (1, H, W, 3) on [-1, 1] -> scalar). "auto": VGG16
    when its weights file is found, else "pixel"."""
    if kind not in DISTANCES:
        raise UsageError(f"unknown distance {kind!r}; choose one of {', '.join(DISTANCES)}")
    if kind == "auto":
        try:
            VGG16_WEIGHTS.resolve(vgg_weights)
            kind = "vgg"
        except UsageError:
            kind = "pixel"
    if kind == "pixel":
        return "pixel", pixel_pyramid_distance
    features = vgg16_lpips_features(vgg_weights)

    def vgg_distance(synth, target):
        return tf.reduce_sum(tf.square(features((synth + 1) * 127.5) - features((target + 1) * 127.5)))

    return "vgg", vgg_distance


@dataclasses.dataclass
class Projection:
    """ws (1, num_ws, w_dim) after the last step; noise {name: (R, R)}; image uint8 (S, S, C)
    with them; distances per step; frames [(step, uint8 image)]."""

    ws: np.ndarray
    noise: dict
    image: np.ndarray
    distances: list
    frames: list


def project(generator, target, config=None, distance="auto", vgg_weights="imagenet", class_index=None, seed=0,
            num_frames=8, progress=True, callback=None):
    """Projects `target` (uint8 or float on 0..255, (S, S, C) at the generator's resolution)
    into W (or W+ with config.w_plus); returns a `Projection`. The generator's noise maps
    are restored afterwards. callback(step, distance, image_uint8) runs at the frame steps."""
    config = config or ProjectorConfig()
    target = np.asarray(target, np.float32)
    expected = (generator.image_size, generator.image_size, generator.synthesis.channels)
    if target.shape != expected:
        raise UsageError(f"the target is {target.shape}, the generator makes {expected}: resize or align it first")
    if config.num_steps < 1:
        raise UsageError(f"--steps must be >= 1, got {config.num_steps}")
    distance_name, distance_fn = make_distance(distance, vgg_weights)
    w_avg, w_std = w_statistics(generator, config.w_avg_samples, class_index)
    rows = generator.num_ws if config.w_plus else 1
    w_opt = tf.Variable(np.tile(w_avg[None, None], [1, rows, 1]), name="w_opt")
    layers = noise_layers(generator)
    originals = [layer.noise_const.numpy() for layer in layers]
    rng = np.random.RandomState(seed)
    for layer in layers:
        layer.noise_const.assign(rng.randn(*layer.noise_const.shape).astype(np.float32))
    noise_vars = [layer.noise_const.value for layer in layers]
    params = [w_opt, *noise_vars]
    moments = [(tf.Variable(tf.zeros_like(p)), tf.Variable(tf.zeros_like(p))) for p in params]
    target_images = tf.constant(target[None] / 127.5 - 1.0)
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def synth(ws):
        return generator.synthesis(tf.tile(ws, [1, generator.num_ws // rows, 1]), noise_mode="const")

    @tf.function
    def step_fn(lr, noise_scale, count, latent_seed):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(params)
            w_noise = tf.random.stateless_normal(tf.shape(w_opt), latent_seed) * noise_scale
            images = synth(w_opt + w_noise)
            dist = distance_fn(images, target_images)
            loss = dist + config.regularize_noise_weight * noise_regularization(noise_vars)
        gradients = tape.gradient(loss, params)
        for p, g, (m, v) in zip(params, gradients, moments):  # torch.optim.Adam, as NVlabs
            m.assign(beta1 * m + (1 - beta1) * g)
            v.assign(beta2 * v + (1 - beta2) * tf.square(g))
            denominator = tf.sqrt(v) / tf.sqrt(1 - beta2 ** count) + eps
            p.assign_sub(lr / (1 - beta1 ** count) * m / denominator)
        for n in noise_vars:
            centred = n - tf.reduce_mean(n)
            n.assign(centred * tf.math.rsqrt(tf.reduce_mean(tf.square(centred))))
        return dist

    frame_steps = set(np.linspace(0, config.num_steps - 1, max(1, num_frames)).round().astype(int).tolist())
    distances, frames = [], []
    try:
        bar = tqdm.trange(config.num_steps, unit="step", disable=not progress, desc=f"project ({distance_name})")
        for step in bar:
            dist = step_fn(tf.constant(learning_rate(step, config), tf.float32),
                           tf.constant(latent_noise_scale(step, w_std, config), tf.float32),
                           tf.constant(step + 1, tf.float32), tf.constant([seed, step], tf.int32))
            distances.append(float(dist))
            bar.set_postfix(dist=f"{distances[-1]:.4g}")
            if step in frame_steps:
                image = to_uint8(synth(w_opt))[0].numpy()
                frames.append((step, image))
                if callback is not None:
                    callback(step, distances[-1], image)
        ws = np.tile(w_opt.numpy(), [1, generator.num_ws // rows, 1])
        noise = {f"b{layer.resolution}.{layer.name}": layer.noise_const.numpy() for layer in layers}
        image = to_uint8(synth(w_opt))[0].numpy()
    finally:
        for layer, original in zip(layers, originals):
            layer.noise_const.assign(original)
    return Projection(ws, noise, image, distances, frames)


def psnr(a, b):
    """PSNR in dB of two uint8 images."""
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
