"""Initializers and the one normalization switch shared by every builder.

Initialization follows seed 002 `weights_init` (conv weights ~ N(0, 0.02), batch-norm
gamma ~ N(1, 0.02), beta = 0); the switch follows junyanz `networks.get_norm_layer`.
"""
import keras

KERNEL_INIT = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
GAMMA_INIT = keras.initializers.RandomNormal(mean=1.0, stddev=0.02)

NORMS = ("batch", "sync_batch", "instance", "none")


def norm_layer(kind, name=None, momentum=0.9, epsilon=1e-5):
    """Returns a normalization layer (or None for "none") for NHWC or NC tensors.

    kind: "batch", "sync_batch" (batch statistics all-reduced across the replicas of a
    `tf.distribute` strategy, junyanz's `sync_batch`), "instance" (per-sample, per-channel
    statistics with a learned affine, as `GroupNormalization(groups=-1)`) or "none".
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
        return keras.layers.GroupNormalization(
            groups=-1, epsilon=epsilon, gamma_initializer=GAMMA_INIT, name=name
        )
    if kind == "none":
        return None
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")
