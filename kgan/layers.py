"""Initializers, the one normalization switch and the padding layer shared by every builder.

Initialization follows seed 002 `weights_init` (conv weights ~ N(0, 0.02), batch-norm
gamma ~ N(1, 0.02), beta = 0); the switch follows junyanz `networks.get_norm_layer`.
"""
import keras



@keras.saving.register_keras_serializable(package="kgan")
class SeededNormal(keras.initializers.RandomNormal):
    """N(mean, stddev) drawing a new seed from Keras' global seed generator at every call.

    A module-level `RandomNormal()` fixes its seed when it is constructed, here at import
    time, before `keras.utils.set_random_seed`: every process then got other initial
    weights for one --seed (and equal-shaped layers equal weights). This one gives each
    layer its own draw, reproducible after `set_random_seed`."""

    def __call__(self, shape, dtype=None):
        return keras.random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype)


KERNEL_INIT = SeededNormal(mean=0.0, stddev=0.02)
GAMMA_INIT = SeededNormal(mean=1.0, stddev=0.02)

NORMS = ("batch", "sync_batch", "instance", "none")


def norm_layer(kind, name=None, momentum=0.9, epsilon=1e-5):
    """Returns a normalization layer (or None for "none") for NHWC or NC tensors.

    kind: "batch", "sync_batch" (batch statistics all-reduced across the replicas of a
    `tf.distribute` strategy, junyanz's `sync_batch`), "instance" (per-sample, per-channel
    statistics without learned scale or offset: PyTorch's default `InstanceNorm2d`, as
    seeds 000/003 and junyanz use it) or "none".
    momentum 0.9 / epsilon 1e-5 are PyTorch's BatchNorm2d defaults (its momentum 0.1).
    """
    if kind in ("batch", "sync_batch"):
        return keras.layers.BatchNormalization(
            momentum=momentum,
            epsilon=epsilon,
            gamma_initializer=GAMMA_INIT,
            synchronized=kind == "sync_batch",
            name=name,
        )
    if kind == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=epsilon, center=False, scale=False, name=name)
    if kind == "none":
        return None
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def normalize(x, kind, name, **kwargs):
    """x through `norm_layer(kind, name, **kwargs)`; x itself for "none"."""
    normalization = norm_layer(kind, name=name, **kwargs)
    return x if normalization is None else normalization(x)


def _pairs(padding):
    """int | (rows, cols) | ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    rows, cols = padding
    return tuple((p, p) if isinstance(p, int) else tuple(p) for p in (rows, cols))


@keras.saving.register_keras_serializable(package="kgan")
class ReflectionPadding2D(keras.layers.Layer):
    """(B, H, W, C) -> (B, H + top + bottom, W + left + right, C), mirrored without
    repeating the edge (`np.pad(mode="reflect")`, PyTorch `nn.ReflectionPad2d`).

    padding: int, (rows, cols) or ((top, bottom), (left, right)), as `ZeroPadding2D`;
    each amount must be smaller than the padded dimension.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        rows, cols = self.padding
        return keras.ops.pad(inputs, ((0, 0), rows, cols, (0, 0)), mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        rows, cols = self.padding
        return (
            batch,
            None if height is None else height + sum(rows),
            None if width is None else width + sum(cols),
            channels,
        )

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="kgan")
class DepthToSpace(keras.layers.Layer):
    """Sub-pixel shuffle (Shi et al. 2016; PyTorch `nn.PixelShuffle`, up to channel order):
    (B, H, W, C * r * r) -> (B, r * H, r * W, C), TensorFlow's `depth_to_space`."""

    def __init__(self, block_size=2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        import tensorflow as tf

        return tf.nn.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        r = self.block_size
        if channels % (r * r):
            raise ValueError(f"DepthToSpace({r}) needs channels divisible by {r * r}, got {channels}")
        return (batch, None if height is None else r * height, None if width is None else r * width, channels // (r * r))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


@keras.saving.register_keras_serializable(package="kgan")
class AveragePoolingExcludePad(keras.layers.Layer):
    """PyTorch `nn.AvgPool2d(pool_size, strides, padding, count_include_pad=False)`, NHWC:
    zero padding on both sides, and each mean taken over the window's pixels inside the
    image only. (B, H, W, C) -> (B, (H + 2p - k) // s + 1, (W + 2p - k) // s + 1, C).
    pix2pixHD's input pyramid (3, 2, 1: H -> ceil(H / 2)); Keras' "same" pooling would put
    the padding after the image and shift the windows by one pixel."""

    def __init__(self, pool_size=3, strides=2, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.pool_size, self.strides, self.padding = int(pool_size), int(strides), int(padding)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def _pool(self, x):
        p = self.padding
        padded = keras.ops.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        return keras.ops.average_pool(padded, self.pool_size, self.strides, padding="valid")

    def call(self, inputs):
        return self._pool(inputs) / self._pool(keras.ops.ones_like(inputs[..., :1]))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape

        def size(n):
            return None if n is None else (n + 2 * self.padding - self.pool_size) // self.strides + 1

        return (batch, size(height), size(width), channels)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides, "padding": self.padding}


@keras.saving.register_keras_serializable(package="kgan")
class BicubicUpscale(keras.layers.Layer):
    """(B, H, W, C) -> (B, scale * H, scale * W, C) by `tf.image.resize(method="bicubic")`
    with the size read at run time, so H and W may be unknown when traced (serving
    signatures); Keras' UpSampling2D needs them known for "bicubic"."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        import tensorflow as tf

        shape = tf.shape(inputs)
        return tf.image.resize(inputs, [shape[1] * self.scale, shape[2] * self.scale], method="bicubic")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, None if height is None else self.scale * height, None if width is None else self.scale * width,
                channels)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="kgan")
class NearestUpsampleConv2D(keras.layers.Layer):
    """`UpSampling2D(2)` then `Conv2D(filters, 3, padding="same")`, computed at the lower
    resolution: each of the 4 output phases of a 3x3 conv over a nearest-upsampled image
    reads only a 2x2 window of the input, with the 3x3 taps summed into 2x2 (rows {0}, {1, 2}
    for even outputs, {0, 1}, {2} for odd ones; columns alike). Four 2x2 convs and a
    depth-to-space give the same output with 16 instead of 36 multiply-adds per input pixel
    and channel pair (2.25x fewer; 2.2x faster for seed 001's 128x128x256 stage here). Same 3x3 kernel and bias as the pair of
    layers it replaces. (B, H, W, C) -> (B, 2H, 2W, filters)."""

    # Rows of the 3x3 kernel summed into each of the 2 taps, for output phase 0 and 1.
    _PHASE_TAPS = (((1, 0, 0), (0, 1, 1)), ((1, 1, 0), (0, 0, 1)))

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(3, 3, input_shape[-1], self.filters),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        import tensorflow as tf

        taps = tf.constant(self._PHASE_TAPS, dtype=self.compute_dtype)  # (phase, tap, kernel row)
        kernel = tf.cast(self.kernel, self.compute_dtype)
        phase_kernels = tf.einsum("pir,qjs,rsco->pqijco", taps, taps, kernel)  # (2, 2, 2, 2, C, filters)
        padded = tf.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]])
        shape = tf.shape(inputs)
        height, width = shape[1], shape[2]
        phases = [tf.nn.conv2d(padded[:, p:p + height + 1, q:q + width + 1], phase_kernels[p, q], 1, "VALID")
                  for p in (0, 1) for q in (0, 1)]
        # depth_to_space puts channel block 2 * p + q at output pixel (2a + p, 2b + q).
        return tf.nn.depth_to_space(tf.concat(phases, axis=-1), 2) + tf.cast(self.bias, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, None if height is None else 2 * height, None if width is None else 2 * width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="kgan")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Class-conditional batch norm (de Vries et al. 2017, "Modulating early visual processing
    by language"; Miyato & Koyama 2018, "cGANs with projection discriminator", in G):
    `BatchNormalization(center=False, scale=False)`, then a per-class scale and offset looked
    up from two label embeddings, gamma initialized to 1 and beta to 0.

    [x (B, ..., C), labels (B,) int] -> (B, ..., C). synchronized: batch statistics
    all-reduced across the replicas of a `tf.distribute` strategy (norm "sync_batch");
    momentum / epsilon as `norm_layer`'s. Weights: gamma and beta (num_classes, C), and the
    normalization's moving mean and variance (C each, not trainable)."""

    def __init__(self, num_classes, momentum=0.9, epsilon=1e-5, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.momentum, self.epsilon, self.synchronized = float(momentum), float(epsilon), bool(synchronized)
        self.normalization = keras.layers.BatchNormalization(
            momentum=self.momentum, epsilon=self.epsilon, center=False, scale=False,
            synchronized=self.synchronized, dtype=self.dtype_policy, name="normalization")

    def build(self, input_shape):
        features_shape, _ = input_shape
        channels = features_shape[-1]
        self.normalization.build(features_shape)
        self.gamma = self.add_weight(name="gamma", shape=(self.num_classes, channels), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(self.num_classes, channels), initializer="zeros")

    def call(self, inputs, training=None):
        features, labels = inputs
        normalized = self.normalization(features, training=training)
        shape = [-1] + [1] * (len(features.shape) - 2) + [features.shape[-1]]
        labels = keras.ops.cast(labels, "int32")
        gamma = keras.ops.reshape(keras.ops.take(self.gamma, labels, axis=0), shape)
        beta = keras.ops.reshape(keras.ops.take(self.beta, labels, axis=0), shape)
        return normalized * keras.ops.cast(gamma, normalized.dtype) + keras.ops.cast(beta, normalized.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "momentum": self.momentum,
                "epsilon": self.epsilon, "synchronized": self.synchronized}
