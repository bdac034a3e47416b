"""Siamese GAN of seed 004 ("Style transfer with GANs on HD images", M. Pasini): one
generator G on S x S tiles, a combo model that judges 2S x 2S images made of four
translated tiles, and a siamese discriminator D that maps an image to a vector.

The losses, as the seed states them (its "Eucl" is the Euclidean distance to the origin,
its "cost" the margin m; D(X) a vector of length vec_len):

- D(B) must be close to a fixed point (the origin), D(AB) far from it:
  LossD1 = ||D(B)||^2, LossD2 = max(0, m - ||D(AB)||);
- the transformation vectors v = D(A1) - D(A2) and v' = D(AB1) - D(AB2) must be similar
  (cosine similarity) "to preserve the content of the images": as a loss
  LossD3 = LossG2 = -cos(v, v') (+ travel_l2 * mean_k (v_k - v'_k)^2, the squared
  distance of MelGAN-VC's `loss_travel` and TraVeLGAN's S2, off in the seed);
- G makes D(AB) close to the origin: LossG1 = ||D(AB)||.

D minimizes LossD1 + LossD2 + LossD3, G minimizes LossG1 + LossG2. Pairs (A1, A2) are every
ordered pair i != j of the batch, formed by rolling the batch by 1 .. B-1 (TraVeLGAN's
`orders`); terms are means over the batch and over the pairs. No per-pixel loss.
"""
import tensorflow as tf

from kgan.models.base import AdversarialModel
from kgan.models.tiles import combo, cut_tiles, translate_tiled
from kgan.serving import MAX_TRANSLATION_SIDE, Endpoint, checked_images
from pipelines.images import to_uint8

# Added under the square root of ||x||: its gradient at x = 0 is then 0, not NaN.
NORM_EPSILON = 1e-12


def vector_norm(vectors):
    """(N, L) -> (N,) Euclidean norms ||x||."""
    return tf.sqrt(tf.reduce_sum(tf.square(vectors), axis=-1) + NORM_EPSILON)


def pair_differences(vectors):
    """(B, L) -> (B - 1, B, L): row k - 1 holds x_i - x_{(i + k) mod B}, the batch minus
    the batch rolled by k, for k = 1 .. B - 1: every ordered pair i != j once."""
    count = tf.shape(vectors)[0]
    shifts = tf.range(1, count)
    others = tf.gather(vectors, (tf.range(count)[None, :] + shifts[:, None]) % count)
    return vectors[None] - others


def transformation_losses(d_a, d_ab):
    """(-cos, squared distance) of the transformation vectors v = D(A_i) - D(A_j) and
    v' = D(AB_i) - D(AB_j) over all pairs i != j: -mean cos(v, v') and mean over pairs and
    components of (v - v')^2 (MelGAN-VC's `tf.reduce_mean(((sa - sa1) - (sab - sab1))**2)`)."""
    v, v_fake = pair_differences(d_a), pair_differences(d_ab)
    cosine = tf.reduce_sum(tf.math.l2_normalize(v, -1) * tf.math.l2_normalize(v_fake, -1), -1)
    return -tf.reduce_mean(cosine), tf.reduce_mean(tf.square(v - v_fake))


def siamese_losses(d_a, d_ab, d_b, margin, travel_l2):
    """Seed 004's losses from the discriminator's vectors (float32 (B, L) each): a dict with
    d_loss = mean ||D(B)||^2 + mean max(0, m - ||D(AB)||) + travel, g_loss = mean ||D(AB)||
    + travel, travel = -cos + travel_l2 * squared distance, and their terms."""
    d_real = tf.reduce_mean(tf.reduce_sum(tf.square(d_b), -1))
    fake_norm = vector_norm(d_ab)
    d_fake = tf.reduce_mean(tf.nn.relu(margin - fake_norm))
    travel_cos, travel_sq = transformation_losses(d_a, d_ab)
    travel = travel_cos + travel_l2 * travel_sq
    g_adv = tf.reduce_mean(fake_norm)
    return dict(d_loss=d_real + d_fake + travel, d_real=d_real, d_fake=d_fake, g_loss=g_adv + travel, g_adv=g_adv,
                travel=travel, travel_cos=travel_cos, travel_l2=travel_sq)


def _global_batch(vectors):
    """The vectors of the whole global batch on every replica (pairs span replicas, so a
    mirrored step equals the one-device step); all_gather's gradient sums the replicas'."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return vectors
    return context.all_gather(vectors, axis=0)


class SiameseGAN(AdversarialModel):
    """`fit` data: {"a", "b"} float32 (B, 2S, 2S, 3) in [-1, 1], unrelated crops of the
    domains. With `combo` (the seed's fix for visible tile edges) G translates the 4 S x S
    tiles of each A crop in one batch of 4B tiles, rejoined to AB (B, 2S, 2S, 3), and D sees
    A, AB and B at 2S x 2S; without, the crops are cut into their tiles and G and D work on
    4B single S x S crops (the seed's baseline). D and G are updated from the same forward
    pass (as MelGAN-VC's `train_all`). Exports translate whole images tile by tile."""

    loss_names = ("d_loss", "d_real", "d_fake", "g_loss", "g_adv", "travel", "travel_cos", "travel_l2")

    def __init__(self, generator, discriminator, tile_size, margin=2.0, travel_l2=0.0, combo=True, tiles_per_call=64,
                 seed=0, **kwargs):
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.tile_size = int(tile_size)
        self.margin = float(margin)
        self.travel_l2 = float(travel_l2)
        self.combo = bool(combo)
        self.tiles_per_call = int(tiles_per_call)

    def translate_crops(self, a, training=True):
        """(B, 2S, 2S, 3) A crops -> AB of the same shape, through the combo model."""
        return combo(self.generator, a, self.tile_size, training=training)

    def adversarial_step(self, data, training):
        a, b = data["a"], data["b"]
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            if self.combo:
                fake = self.translate_crops(a, training=training)
            else:
                a, b = cut_tiles(a, self.tile_size), cut_tiles(b, self.tile_size)
                fake = self.generator(a, training=training)
            # One D call on A, AB and B: batch norm then normalizes the three with the same
            # statistics (separate calls would give each batch zero mean, hiding real vs fake).
            vectors = tf.split(tf.cast(self.discriminator(tf.concat([a, fake, b], 0), training=training), tf.float32),
                               3)
            losses = siamese_losses(*[_global_batch(v) for v in vectors], self.margin, self.travel_l2)
        if training:
            self.apply_gradients(self.d_optimizer, d_tape, losses["d_loss"], self.discriminator_variables())
            self.apply_gradients(self.g_optimizer, g_tape, losses["g_loss"], self.generator_variables())
        return losses

    def real_images(self, batch):
        """Domain B's crops: metrics compare the translated A crops with them."""
        return to_uint8(batch["b"])

    def generated_images(self, batch, seed=0):
        return to_uint8(self.translate_crops(batch["a"], training=False))

    def sample_grid(self, batch, count=4):
        """Rows A | AB (combo) | B, each 2S x 2S (the seed's training samples)."""
        a, b = batch["a"][:count], batch["b"][:count]
        rows = tf.stack([to_uint8(x) for x in (a, self.translate_crops(a, training=False), b)], axis=1)
        return tf.reshape(rows, [-1, *rows.shape[2:]]), 3

    def serve(self, images):
        """The exported translator: uint8 (B, H, W, 3) of any size -> {"images": uint8
        (B, H, W, 3) translated tile by tile (`translate_tiled`), "tile_size": int32 (B,) S,
        which `kgan.stylize` reads to send S-aligned blocks of larger images}."""
        images = checked_images(images, self.generator.input_shape[-1], MAX_TRANSLATION_SIDE)
        translated = translate_tiled(self.generator, images, self.tile_size, self.tiles_per_call)
        return {"images": translated, "tile_size": tf.fill(tf.shape(images)[:1], tf.constant(self.tile_size))}

    def serving_endpoints(self):
        """{"": the whole-image translator `serve`; malformed requests answer
        InvalidArgumentError (`kgan.serving.checked_images`)}."""
        spec = tf.TensorSpec([None, None, None, self.generator.input_shape[-1]], tf.uint8, name="images")
        return {"": Endpoint((self.generator,), self.serve, (spec,))}
