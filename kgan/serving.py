"""Request validation inside the exported serving functions, shared by every system.

A SavedModel signature does not protect the graph behind it: TF Serving feeds the request
tensors straight to `Session::Run` (tensorflow_serving/servables/tensorflow/predict_util.cc
checks input names only) and a loaded `signatures["serving_default"]` does not check shapes
either; TF then specializes the function graph on the request's shape, and a rank-3 image
reaching a oneDNN convolution aborts the process (`tensor_format.h Check failed`, exit 134).
So every input is declared with an unknown shape (`Endpoint.input_signature`), checked here
with run-time assertions (a failed one answers with InvalidArgumentError "assertion failed:
[what was expected; got] [what came]"), and only then reshaped to the static shape the
network expects, so that nothing downstream ever sees a wrong rank, even at graph-optimization
time. The documented shapes are served by each export's "input_shapes" signature.

Documented limits: images and label maps at most 4096 pixels per side and 4096 x 4096 pixels
per request, super-resolution inputs at most 2048 per side and 2048 x 2048 per request,
batches of vectors (noise, z, W+) at most 1024.
"""
import dataclasses

import tensorflow as tf

MAX_TRANSLATION_SIDE = 4096
MAX_SUPERRES_SIDE = 2048
MAX_NOISE_BATCH = 1024


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """What `kgan.export` writes for one SavedModel: the networks whose variables it holds,
    the `serving_default` function, its inputs as documented (`tf.TensorSpec`s whose None
    dimensions take any size; the signature itself takes any shape and `fn` checks it), and,
    for a conditional model, the class names (assets/labels.txt, line k naming label k, and
    signature "class_names")."""

    networks: tuple
    fn: object
    inputs: tuple
    class_names: tuple = ()

    @property
    def input_signature(self):
        """The specs of the exported signature: each input's dtype and name, any shape."""
        return [tf.TensorSpec(None, spec.dtype, name=spec.name) for spec in self.inputs]

    def input_shapes(self):
        """{input name: int32 (rank,)} of the documented shapes, -1 where any size goes."""
        return {spec.name: tf.constant([-1 if d is None else d for d in spec.shape], tf.int32) for spec in self.inputs}


def require(tensor, condition, expected, what, *got):
    """`tensor`, passed on only after `condition` (bool scalar) held at run time; otherwise
    the call fails with InvalidArgumentError "assertion failed: [EXPECTED; got WHAT] [GOT...]"."""
    check = tf.debugging.Assert(condition, [f"{expected}; got {what}", *got], summarize=8)
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def _dims(tensor, rank):
    """The first `rank` entries of the run-time shape of `tensor`, padded with 1s if its
    rank is lower (safe to index before the rank is known to be right)."""
    return tf.concat([tf.shape(tensor), tf.ones([rank], tf.int32)], 0)[:rank]


def checked_images(images, channels, max_side, name="images", dtype="uint8"):
    """Images (or, channels None, label maps) of any shape -> (B, H, W, channels) (label maps:
    (B, H, W)) with that static shape, after checking at run time: rank 4 (3), `channels`
    channels, B, H, W >= 1, H, W <= max_side and B * H * W <= max_side ** 2."""
    rank = 3 if channels is None else 4
    expected = f"{name}: expected {dtype} (batch, height, width{'' if channels is None else f', {channels}'})"
    images = require(images, tf.equal(tf.rank(images), rank), expected, "shape", tf.shape(images))
    if channels is not None:
        images = require(images, tf.equal(_dims(images, 4)[3], channels), expected, "shape", tf.shape(images))
    dims = _dims(images, rank)
    images = require(images, tf.reduce_all(dims > 0), expected + " with at least one image of at least 1x1", "shape",
                     dims)
    pixels = tf.reduce_prod(tf.cast(dims[:3], tf.int64))
    images = require(images, tf.reduce_all(dims[1:3] <= max_side) & (pixels <= max_side**2),
                     f"{expected} with height and width at most {max_side} and at most {max_side}x{max_side} "
                     "pixels per request", "shape", dims)
    return tf.reshape(images, [dims[0], dims[1], dims[2]] + ([] if channels is None else [channels]))


def checked_like(tensor, reference, name, dtype, reference_name, channels=None):
    """`tensor` -> the shape of `reference` (B, H, W) [+ (channels,)], after checking at run
    time that it has that shape (instance maps and photos given with a label map)."""
    wanted = tf.concat([tf.shape(reference), [] if channels is None else [channels]], 0)
    rank = reference.shape.rank + (channels is not None)
    expected = (f"{name}: expected {dtype} (batch, height, width{'' if channels is None else f', {channels}'}) "
                f"of the {reference_name} size")
    tensor = require(tensor, tf.equal(tf.rank(tensor), rank), expected, "shape", tf.shape(tensor), wanted)
    tensor = require(tensor, tf.reduce_all(tf.equal(_dims(tensor, rank), wanted)), expected, "shape",
                     tf.shape(tensor), wanted)
    return tf.reshape(tensor, tf.concat([tf.shape(reference)[:3], [] if channels is None else [channels]], 0))


def checked_noise(noise, latent_dim, max_batch=MAX_NOISE_BATCH, name="noise"):
    """A batch of vectors of any shape -> (B, *latent_dim) (latent_dim an int or a shape),
    after checking at run time: that rank and shape, 1 <= B <= max_batch."""
    shape = [latent_dim] if isinstance(latent_dim, int) else list(latent_dim)
    expected = f"{name}: expected float32 (batch, {', '.join(map(str, shape))}) with 1 <= batch <= {max_batch}"
    noise = require(noise, tf.equal(tf.rank(noise), 1 + len(shape)), expected, "shape", tf.shape(noise))
    dims = _dims(noise, 1 + len(shape))
    noise = require(noise, tf.reduce_all(tf.equal(dims[1:], shape)) & (dims[0] >= 1) & (dims[0] <= max_batch),
                    expected, "shape", dims)
    return tf.reshape(noise, [dims[0], *shape])


def checked_per_sample(values, batch, name, dtype, batch_name="noise"):
    """Values of any shape -> (batch,), after checking at run time: rank 1 and `batch` long
    (the batch of input `batch_name`)."""
    expected = f"{name}: expected {dtype} (batch,) matching the {batch_name} batch"
    values = require(values, tf.equal(tf.rank(values), 1), expected, "shape", tf.shape(values))
    values = require(values, tf.equal(tf.size(values), batch), expected, f"shape, {batch_name} batch",
                     tf.shape(values), batch)
    return tf.reshape(values, [batch])


def checked_rows(values, batch, width, name, dtype, batch_name):
    """Values of any shape -> (batch, width), after checking at run time: rank 2, `batch`
    rows (the batch of input `batch_name`) of `width` (pix2pixHD's cluster per class)."""
    expected = f"{name}: expected {dtype} (batch, {width}) matching the {batch_name} batch"
    values = require(values, tf.equal(tf.rank(values), 2), expected, "shape", tf.shape(values))
    values = require(values, tf.reduce_all(tf.equal(tf.shape(values), tf.stack([batch, width]))), expected,
                     f"shape, {batch_name} batch", tf.shape(values), batch)
    return tf.reshape(values, [batch, width])


def checked_ids(labels, class_names, name="labels"):
    """`labels` after checking at run time that every value is in [0, len(class_names)) (a
    label map: ids of `class_names`, which may also be a count)."""
    count = class_names if isinstance(class_names, int) else len(class_names)
    names = () if isinstance(class_names, int) else class_names
    legend = ", ".join(f"{k} = {n}" for k, n in enumerate(names) if n != str(k))
    return require(labels, (tf.reduce_min(labels) >= 0) & (tf.reduce_max(labels) < count),
                   f"{name}: expected class ids in [0, {count})" + (f" ({legend})" if legend else ""), "min, max",
                   tf.reduce_min(labels), tf.reduce_max(labels))


def checked_labels(labels, batch, class_names, batch_name="noise"):
    """Labels of any shape -> (batch,), after checking at run time: rank 1, `batch` long
    (the noise batch) and every value in [0, len(class_names))."""
    return checked_ids(checked_per_sample(labels, batch, "labels", "int32", batch_name), class_names)


def smallest_size(run, multiple):
    """The smallest of multiple, 2 * multiple, 4 * multiple that `run(size)` (running the
    network(s) on a size x size input) succeeds on: a U-Net runs at its multiple, a ResNet
    generator padded to multiples of 4 needs 8 (its residual blocks reflect-pad the
    2x-downsampled bottleneck by 1 pixel)."""
    for size in (multiple, 2 * multiple, 4 * multiple):
        try:
            run(size)
            return size
        except tf.errors.InvalidArgumentError:
            continue
    raise ValueError(f"the network runs on none of {multiple}, {2 * multiple}, {4 * multiple} pixels square")
