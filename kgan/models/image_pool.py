"""junyanz `util.ImagePool` (seed 003 CycleGAN) as graph state."""
import tensorflow as tf

from kgan import rng


class ImagePool(tf.Module):
    """A buffer of up to `size` generated images shown to the discriminator instead of
    only the newest ones (Shrivastava et al.).

    `query(images, seed)` takes a float32 batch (B, H, W, C) with static B; per image, in
    order: while the pool is not full the image is stored and returned as is; afterwards,
    with probability 1/2 a random stored image is returned and replaced by the new one,
    otherwise the new image is returned. The pool lives in variables, so it works inside
    `tf.function`/XLA, is saved by checkpoints, and under `tf.distribute` follows the first
    replica (ONLY_FIRST_REPLICA aggregation)."""

    def __init__(self, size, image_shape, name="image_pool"):
        super().__init__(name=name)
        self.size = int(size)
        first = tf.VariableAggregation.ONLY_FIRST_REPLICA
        self.images = tf.Variable(tf.zeros([max(self.size, 1), *image_shape]), trainable=False, aggregation=first)
        self.count = tf.Variable(0, dtype=tf.int32, trainable=False, aggregation=first)

    def query(self, images, seed):
        if self.size == 0:
            return images
        if images.shape[0] is None:
            raise ValueError("ImagePool needs a static batch size: batch the data with drop_remainder=True")
        returned = []
        for i in range(images.shape[0]):
            image = tf.cast(images[i], tf.float32)
            image_seed = tf.random.experimental.stateless_fold_in(seed, i)
            swap_seed, index_seed = tf.unstack(tf.random.experimental.stateless_split(image_seed, 2))
            count = self.count.read_value()
            filling = count < self.size
            swapping = tf.logical_and(tf.logical_not(filling), tf.equal(rng.uniform_int([], swap_seed, 2), 1))
            random_index = rng.uniform_int([], index_seed, self.size)
            index = tf.where(filling, count, random_index)
            returned.append(tf.where(swapping, self.images[index], image))
            stored = tf.tensor_scatter_nd_update(self.images, [[index]], image[tf.newaxis])
            self.images.assign(tf.where(tf.logical_or(filling, swapping), stored, self.images))
            self.count.assign(tf.minimum(count + 1, self.size))
        return tf.cast(tf.stack(returned), images.dtype)
