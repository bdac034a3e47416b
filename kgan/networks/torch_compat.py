"""PyTorch semantics for the builders: convolution padding, and PyTorch weights loaded into
kgan networks (seeds 000 and 003; `kgan.convert`).

`torch_conv2d` / `torch_conv2d_transpose` reproduce `nn.Conv2d(padding=p)` /
`nn.ConvTranspose2d(padding=p, output_padding=op)` exactly (Keras "same" puts an odd
padding after, not around, so a 3x3 stride-2 conv or transposed conv would be shifted by
one pixel).

`load_state_dict` copies a PyTorch `state_dict` (names -> numpy arrays; no torch needed)
into a Keras model, given the PyTorch module each Keras layer stands for. Every key and
shape is checked before any weight is written: a mismatch is one `UsageError` naming the
key and the expected shape, never a partial load.
"""
import keras
import numpy as np

from kgan.errors import UsageError
from kgan.layers import KERNEL_INIT


def torch_conv2d(x, filters, kernel_size, strides=1, padding=0, use_bias=True, name=None, dtype=None):
    """`nn.Conv2d(kernel_size, stride, padding)`: zero padding (int or ((top, bottom),
    (left, right))) then a "valid" conv, N(0, 0.02) kernel. (B, H, W, C) -> (B, H', W', filters)."""
    if padding:
        x = keras.layers.ZeroPadding2D(padding, name=name and f"{name}_pad")(x)
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        use_bias=use_bias,
        kernel_initializer=KERNEL_INIT,
        dtype=dtype,
        name=name,
    )(x)


def torch_conv2d_transpose(x, filters, kernel_size, strides, padding, output_padding=0, use_bias=True, name=None):
    """`nn.ConvTranspose2d(kernel_size, stride, padding, output_padding)`: the full "valid"
    transposed conv ((H - 1) * s + k) cropped by padding before and padding - output_padding
    after, giving (H - 1) * s - 2 * padding + k + output_padding (2H for 4/2/1/0 and 3/2/1/1)."""
    if not 0 <= output_padding <= padding:
        raise ValueError(f"output_padding must be in [0, padding={padding}], got {output_padding}")
    x = keras.layers.Conv2DTranspose(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        use_bias=use_bias,
        kernel_initializer=KERNEL_INIT,
        name=name,
    )(x)
    crop = (padding, padding - output_padding)
    if any(crop):
        x = keras.layers.Cropping2D((crop, crop), name=name and f"{name}_crop")(x)
    return x


# Keras kernel (kh, kw, I, O) of Conv2D and (kh, kw, O, I) of Conv2DTranspose <- PyTorch
# (O, I, kh, kw) of nn.Conv2d and (I, O, kh, kw) of nn.ConvTranspose2d: one axis order both
# ways, and no kernel flip (both transposed convs are the gradient of the same correlation).
_TO_KERAS_KERNEL = (2, 3, 1, 0)
_TO_TORCH_KERNEL = (3, 2, 0, 1)
# What PyTorch's norm layers may store beyond their affine weights.
_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def pixel_shuffle_order(channels, factor=2):
    """Output-channel order for a conv feeding `nn.PixelShuffle(factor)` (its channel
    c * r * r + i * r + j becomes pixel (i, j) of channel c) when it feeds
    `tf.nn.depth_to_space` instead (channel (i * r + j) * C + c): Keras channel k takes
    PyTorch channel order[k]. C = channels / r**2."""
    blocks = factor * factor
    return np.array([c * blocks + phase for phase in range(blocks) for c in range(channels // blocks)])


def _layer_tensors(layer, output_order=None):
    """([(PyTorch parameter name, Keras variable, PyTorch shape, PyTorch array -> Keras
    array)], names the PyTorch module may also store, unused, [those of them to report as
    dropped]) of the module that Keras `layer` stands for. output_order permutes a Conv2D's
    output channels."""
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        if output_order is not None and isinstance(layer, keras.layers.Conv2DTranspose):
            raise ValueError(f"output_order is for Conv2D layers, not the transposed conv {layer.name!r}")
        order = slice(None) if output_order is None else output_order
        tensors = [("weight", layer.kernel, tuple(int(layer.kernel.shape[axis]) for axis in _TO_TORCH_KERNEL),
                    lambda w: np.transpose(w, _TO_KERAS_KERNEL)[..., order])]
        if layer.use_bias:
            tensors.append(("bias", layer.bias, tuple(layer.bias.shape), lambda b: b[order]))
        return tensors, (), ()
    if isinstance(layer, keras.layers.BatchNormalization):
        pairs = [("weight", layer.gamma), ("bias", layer.beta), ("running_mean", layer.moving_mean),
                 ("running_var", layer.moving_variance)]
        return [(name, v, tuple(v.shape), None) for name, v in pairs if v is not None], ("num_batches_tracked",), ()
    if isinstance(layer, keras.layers.PReLU):
        shape = tuple(layer.alpha.shape)
        return [("weight", layer.alpha, (int(np.prod(shape)),), lambda a: a.reshape(shape))], (), ()
    if isinstance(layer, keras.layers.GroupNormalization) and not layer.weights:
        # PyTorch's InstanceNorm2d(affine=False): old checkpoints (before PyTorch 0.4) carry
        # running statistics it never uses; PyTorch's own loader and junyanz's drop them.
        return [], _STATISTICS, _STATISTICS
    raise TypeError(f"no PyTorch counterpart known for layer {layer.name!r} ({type(layer).__name__})")


def _get_layer(model, path):
    """Layer "a/b" = model.get_layer("a").get_layer("b") (layers of nested models)."""
    for name in path.split("/"):
        model = model.get_layer(name)
    return model


def _more(keys):
    """", and N more" for one-line messages naming keys[0]."""
    return f", and {len(keys) - 1} more" if len(keys) > 1 else ""


def load_state_dict(model, state_dict, modules, source="the checkpoint"):
    """Copies `state_dict` ({PyTorch name: numpy array}) into `model`; returns the keys
    dropped: the running statistics of instance norms in old checkpoints (batch norms'
    num_batches_tracked, a step counter, is ignored without a word).

    modules: [(PyTorch module prefix, Keras layer path[, output channel order])], e.g.
    ("model.1", "stem") maps model.1.weight / model.1.bias to the Keras layer "stem".
    Raises UsageError, before writing anything, for a key missing from the checkpoint, a
    key the network has no place for, or a shape that differs (PyTorch layout).
    """
    expected, optional, reported = {}, set(), set()
    for prefix, path, *order in modules:
        tensors, unused, report = _layer_tensors(_get_layer(model, path), *order)
        for name, variable, shape, to_keras in tensors:
            expected[f"{prefix}.{name}"] = (variable, shape, to_keras)
        optional.update(f"{prefix}.{name}" for name in unused)
        reported.update(f"{prefix}.{name}" for name in report)
    missing = [key for key in expected if key not in state_dict]
    if missing:
        shape = expected[missing[0]][1]
        raise UsageError(f"{source} lacks key {missing[0]!r} (expected shape {shape}{_more(missing)}): "
                         "it is not a checkpoint of this network")
    unexpected = [key for key in state_dict if key not in expected and key not in optional]
    if unexpected:
        raise UsageError(f"{source} has key {unexpected[0]!r} (shape {np.shape(state_dict[unexpected[0]])}"
                         f"{_more(unexpected)}) that this network has no place for")
    for key, (variable, shape, _) in expected.items():
        if np.shape(state_dict[key]) != shape:
            raise UsageError(f"{source}: key {key!r} has shape {np.shape(state_dict[key])}, expected {shape}")
    for key, (variable, _, to_keras) in expected.items():
        value = np.asarray(state_dict[key], dtype=np.float32)
        variable.assign(to_keras(value) if to_keras else value)
    return sorted(key for key in state_dict if key in reported)
