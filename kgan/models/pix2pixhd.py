"""pix2pixHD (seed 003; Wang et al. 2018, NVIDIA/pix2pixHD `models/pix2pixHD_model.py`)."""
import numpy as np
import tensorflow as tf

from kgan.losses import l1
from kgan.models.base import AdversarialModel
from kgan.models.translation import pad_to_multiple
from kgan.serving import (MAX_TRANSLATION_SIDE, Endpoint, checked_ids, checked_images, checked_like, checked_rows,
                          smallest_size)
from pipelines.images import to_uint8, to_unit_range

# NVIDIA VGGLoss: L1 on relu1_1 .. relu5_1 with these weights.
VGG_LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)


def instance_edges(instances):
    """NVIDIA `get_edges`: instance ids (B, H, W) -> (B, H, W, 1) float32, 1 where the pixel
    or one of its 4 neighbours belongs to another instance (both sides of a boundary)."""
    horizontal = tf.not_equal(instances[:, :, 1:], instances[:, :, :-1])
    vertical = tf.not_equal(instances[:, 1:], instances[:, :-1])
    column, row = tf.zeros_like(horizontal[:, :, :1]), tf.zeros_like(vertical[:, :1])
    edges = (tf.concat([column, horizontal], 2) | tf.concat([horizontal, column], 2)
             | tf.concat([row, vertical], 1) | tf.concat([vertical, row], 1))
    return tf.cast(edges, tf.float32)[..., tf.newaxis]


def label_input(labels, num_labels, instances=None):
    """NVIDIA `encode_input`: (B, H, W) label ids [and instance ids] -> float32 (B, H, W,
    num_labels [+ 1]), the one-hot labels [and the instance edge map]."""
    x = tf.one_hot(tf.cast(labels, tf.int32), num_labels, dtype=tf.float32)
    if instances is not None:
        x = tf.concat([x, instance_edges(instances)], -1)
    return x


def cluster_features(labels, clusters, centres):
    """NVIDIA `sample_features`, one choice per class: labels (B, H, W), clusters int32
    (B, num_labels) (k for class c picks that class's centre k mod its number of centres),
    centres (num_labels, K, F) with NaN rows where a class has fewer than K (a class with
    none gets zeros) -> per-pixel features float32 (B, H, W, F)."""
    centres = np.asarray(centres, np.float32)
    counts = tf.constant(np.maximum((~np.isnan(centres[..., 0])).sum(1), 1), tf.int32)
    table = tf.constant(np.nan_to_num(centres))
    labels = tf.cast(labels, tf.int32)
    shape = tf.shape(labels)
    chosen = tf.gather(tf.cast(clusters, tf.int32), tf.reshape(labels, [shape[0], -1]), batch_dims=1)
    chosen = tf.reshape(chosen, shape) % tf.gather(counts, labels)
    return tf.gather_nd(table, tf.stack([labels, chosen], -1))


def label_endpoint(generator, num_labels, use_instances, multiple, encoder=None, centres=None):
    """The Endpoint for TF Serving: "labels" int32 (B, H, W) label ids in [0, num_labels)
    [+ "instances" int32 (B, H, W) instance ids] [+ with an encoder: "clusters" int32
    (B, num_labels), the feature cluster picked per class (`cluster_features`) when
    `centres` are given (NVIDIA's --cluster_path), else "real_images" uint8 (B, H, W, 3),
    whose per-instance encoder features join G's input (NVIDIA's --use_encoded_image)],
    1 to MAX_TRANSLATION_SIDE per side -> {"images": uint8 (B, H, W, 3)}; padded inside to
    `multiple` (and to the smallest size the networks run on, repeating the last row and
    column), cropped back. Malformed requests answer InvalidArgumentError. The encoder needs
    the instances."""
    if encoder is not None and not use_instances:
        raise ValueError("the feature encoder averages over instances: use_instances must be set")
    specs = [tf.TensorSpec([None, None, None], tf.int32, name="labels")]
    if use_instances:
        specs.append(tf.TensorSpec([None, None, None], tf.int32, name="instances"))
    if encoder is not None and centres is not None:
        specs.append(tf.TensorSpec([None, num_labels], tf.int32, name="clusters"))
    elif encoder is not None:
        specs.append(tf.TensorSpec([None, None, None, 3], tf.uint8, name="real_images"))

    minimum = 0  # the smallest padded size, measured below

    def generate(labels, *rest):
        labels = checked_ids(checked_images(labels, None, MAX_TRANSLATION_SIDE, "labels", "int32"), num_labels)
        batch = tf.shape(labels)[0]
        rest = [checked_rows(x, batch, num_labels, spec.name, "int32", "labels") if spec.name == "clusters" else
                checked_like(x, labels, spec.name, spec.dtype.name, "labels",
                             spec.shape[3] if spec.shape.rank == 4 else None) for x, spec in zip(rest, specs[1:])]
        shape = tf.shape(labels)

        def pad(x):
            return pad_to_multiple(x, multiple, minimum)

        instances = pad(rest[0]) if use_instances else None
        padded = pad(labels)
        x = label_input(padded, num_labels, instances)
        if encoder is not None and centres is not None:
            x = tf.concat([x, cluster_features(padded, rest[-1], centres)], -1)
        elif encoder is not None:
            features = encoder([to_unit_range(pad(rest[-1])), instances], training=False)
            x = tf.concat([x, tf.cast(features, x.dtype)], -1)
        return {"images": to_uint8(generator(x, training=False)[:, : shape[1], : shape[2]])}

    def run(size):
        return generate(*[tf.zeros([1, num_labels] if spec.name == "clusters" else [1, size, size, *spec.shape[3:]],
                                   spec.dtype) for spec in specs])

    minimum = smallest_size(run, multiple)
    networks = (generator,) + ((encoder,) if encoder is not None and centres is None else ())
    return Endpoint(networks, generate, tuple(specs))


class Pix2PixHD(AdversarialModel):
    """Label maps -> photos. `fit` data: {"labels": int (B, H, W) label ids, "instances":
    int (B, H, W) instance ids (with use_instances), "image": float32 (B, H, W, 3) in [-1, 1]}.

    As NVIDIA: G input = one-hot labels (num_labels channels) [+ instance edge map]
    [+ the encoder's per-instance features of the real image]; D (multi-scale, every block
    returned) sees the label input concatenated with the real or generated image. One
    forward pass gives both losses and G and D are updated from it (so, unlike NVIDIA's
    code, D runs once on the fake: D's gradient is taken for D's weights only):
    D: 0.5 * (GAN(real) + GAN(fake)); G: GAN(fake as real) + feature_matching_weight *
    sum over scales and blocks but the last of 4 / (n_layers + 1) / num_d * L1(D features
    of fake, of real) [+ vgg_weight * sum_l w_l * L1(VGG_l(fake), VGG_l(real))]
    [+ l1_weight * L1(fake, real): not NVIDIA's, pix2pix's term; g_l1 is logged either way].
    Phase "fix_global" freezes the global trunk: NVIDIA's niter_fix_global, training only
    the local enhancer (and the encoder, as NVIDIA) after loading a trained G1. The losses
    are logged in total and per discriminator scale (d_real_0, g_gan_0, ... full resolution
    first). feature_matching_weight 0 skips feature matching (NVIDIA --no_ganFeat_loss).
    `clusters` (set by `kgan.pix2pixhd_features`): the per-class k-means centres of the
    encoder's instance features, exported as the "clusters" input of the serving signature."""

    base_loss_names = ("d_loss", "d_real", "d_fake", "g_loss", "g_gan", "g_feature_matching", "g_vgg", "g_l1")
    phases = ("fix_global", "train")

    def __init__(self, generator, discriminator, num_labels, use_instances=True, encoder=None, vgg_features=None,
                 feature_matching_weight=10.0, vgg_weight=10.0, l1_weight=0.0, size_multiple=16, seed=0, **kwargs):
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.num_labels = int(num_labels)
        self.use_instances = bool(use_instances)
        self.encoder = encoder
        self.vgg_features = vgg_features
        self.feature_matching_weight = float(feature_matching_weight)
        self.vgg_weight = float(vgg_weight)
        self.l1_weight = float(l1_weight)
        self.size_multiple = int(size_multiple)
        self.clusters = None

    @property
    def loss_names(self):
        scales = range(len(self.discriminator.output))
        return self.base_loss_names + tuple(f"{kind}_{i}" for i in scales for kind in ("d_real", "d_fake", "g_gan"))

    @property
    def train_global(self):
        return self.phase != "fix_global"

    def networks(self):
        extra = {"encoder": self.encoder} if self.encoder is not None else {}
        return {**super().networks(), **extra}

    def generator_variables(self):
        """G and encoder weights; without the global trunk while not train_global."""
        variables = list(self.generator.trainable_variables)
        if self.encoder is not None:
            variables += self.encoder.trainable_variables
        if self.train_global:
            return variables
        frozen = {id(v) for v in self.generator.get_layer("global_trunk").trainable_variables}
        return [v for v in variables if id(v) not in frozen]

    def build_optimizers(self):
        phase, self.phase = self.phase, "train"
        super().build_optimizers()
        self.phase = phase

    def label_input(self, labels, instances=None):
        """(B, H, W) label ids [and instance ids] -> float (B, H, W, num_labels [+ 1])."""
        return label_input(labels, self.num_labels, instances if self.use_instances else None)

    def generator_input(self, label_input, images, instances, training=True):
        if self.encoder is None:
            return label_input
        features = self.encoder([images, tf.cast(instances, tf.int32)], training=training)
        return tf.concat([label_input, tf.cast(features, label_input.dtype)], -1)

    def feature_matching(self, fake_outputs, real_outputs):
        if not self.feature_matching_weight:
            return tf.constant(0.0)
        num_d = len(real_outputs)
        total = []
        for fake_scale, real_scale in zip(fake_outputs, real_outputs):
            weight = 4.0 / (len(real_scale) - 1) / num_d  # 4 / (n_layers + 1) / num_d
            total += [weight * tf.reduce_mean(tf.abs(tf.cast(f, tf.float32) - tf.stop_gradient(tf.cast(r, tf.float32))))
                      for f, r in zip(fake_scale[:-1], real_scale[:-1])]
        return tf.add_n(total)

    def vgg_loss(self, fake, real):
        if self.vgg_features is None:
            return tf.constant(0.0)
        features = self.vgg_features(tf.concat([fake, tf.cast(real, fake.dtype)], 0), training=False)
        losses = []
        for weight, feature in zip(VGG_LAYER_WEIGHTS, features):
            fake_feature, real_feature = tf.split(tf.cast(feature, tf.float32), 2)
            losses.append(weight * tf.reduce_mean(tf.abs(fake_feature - tf.stop_gradient(real_feature))))
        return tf.add_n(losses)

    def adversarial_step(self, data, training):
        instances = data.get("instances")
        real = data["image"]
        label_input = self.label_input(data["labels"], instances)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(self.generator_input(label_input, real, instances, training), training=training)
            real_outputs = self.discriminator(tf.concat([label_input, real], -1), training=training)
            fake_outputs = self.discriminator(tf.concat([label_input, fake], -1), training=training)
            per_scale = {}
            for i, (real_scale, fake_scale) in enumerate(zip(real_outputs, fake_outputs)):
                per_scale[f"d_real_{i}"], per_scale[f"d_fake_{i}"] = self.gan_loss.discriminator(real_scale[-1],
                                                                                                   fake_scale[-1])
                per_scale[f"g_gan_{i}"] = self.gan_loss.generator(fake_scale[-1])
            scales = range(len(real_outputs))
            d_real = tf.add_n([per_scale[f"d_real_{i}"] for i in scales])
            d_fake = tf.add_n([per_scale[f"d_fake_{i}"] for i in scales])
            d_loss = 0.5 * (d_real + d_fake)
            g_gan = tf.add_n([per_scale[f"g_gan_{i}"] for i in scales])
            g_feature_matching = self.feature_matching(fake_outputs, real_outputs)
            g_vgg = self.vgg_loss(fake, real)
            g_l1 = l1(fake, real)
            g_loss = (g_gan + self.feature_matching_weight * g_feature_matching + self.vgg_weight * g_vgg
                      + self.l1_weight * g_l1)
        if training:
            self.apply_gradients(self.g_optimizer, g_tape, g_loss, self.generator_variables())
            self.apply_gradients(self.d_optimizer, d_tape, d_loss, self.discriminator_variables())
        return dict(d_loss=d_loss, d_real=d_real, d_fake=d_fake, g_loss=g_loss, g_gan=g_gan,
                    g_feature_matching=g_feature_matching, g_vgg=g_vgg, g_l1=g_l1, **per_scale)

    def serving_endpoints(self):
        """{"": labels [+ instances] [+ clusters, once `clusters` are set; else real_images]
        -> images uint8} and, with an encoder and clusters, {"_encoded": ... + real_images};
        any size (`label_endpoint`)."""
        def endpoint(centres):
            return label_endpoint(self.generator, self.num_labels, self.use_instances, self.size_multiple,
                                  self.encoder, centres)

        endpoints = {"": endpoint(self.clusters)}
        if self.encoder is not None and self.clusters is not None:
            endpoints["_encoded"] = endpoint(None)
        return endpoints

    def real_images(self, batch):
        return to_uint8(batch["image"])

    def generated_images(self, batch, seed=0):
        instances = batch.get("instances")
        label_input = self.label_input(batch["labels"], instances)
        return to_uint8(self.generator(self.generator_input(label_input, batch["image"], instances, False),
                                       training=False))

    def sample_grid(self, batch, count=4):
        """One row per example (the first `count`): label colours | instance edges (white;
        black without instances) | synthesized | real."""
        instances = batch.get("instances")
        instances = None if instances is None else instances[:count]
        real = batch["image"][:count]
        label_input = self.label_input(batch["labels"][:count], instances)
        fake = self.generator(self.generator_input(label_input, real, instances), training=False)
        palette = tf.random.stateless_uniform([self.num_labels, 3], [7, 7], -1.0, 1.0)
        colours = tf.gather(palette, tf.cast(batch["labels"][:count], tf.int32))
        edges = instance_edges(instances) if self.use_instances else tf.zeros_like(real[..., :1])
        edges = tf.tile(edges * 2.0 - 1.0, [1, 1, 1, 3])
        rows = tf.stack([to_uint8(colours), to_uint8(edges), to_uint8(fake), to_uint8(real)], axis=1)
        return tf.reshape(rows, [-1, *rows.shape[2:]]), 4
