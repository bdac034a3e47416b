"""SRGAN (seed 001, CelebA 64 -> 256) with SRResNet pixel pre-training (the paper's first stage)."""
import tensorflow as tf

from kgan.models.base import AdversarialModel
from kgan.serving import MAX_SUPERRES_SIDE, Endpoint, checked_images
from pipelines.images import to_uint8, to_unit_range

# torchvision's ImageNet statistics (sgrvinod `utils.convert_image(..., "imagenet-norm")`).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_NORMALIZATIONS = ("unit", "imagenet")


def psnr(images, reference):
    """PSNR in dB of float images in [-1, 1] (per image, (B,))."""
    return tf.image.psnr((tf.cast(images, tf.float32) + 1.0) / 2.0, (tf.cast(reference, tf.float32) + 1.0) / 2.0, 1.0)


class SRGAN(AdversarialModel):
    """Super-resolution GAN. `fit` data: {"lr": (B, h, w, 3), "hr": (B, s*h, s*w, 3)} float32
    in [-1, 1].

    Seed 001's step: D on real HR (target 1) and G(LR) (target 0), then G on
    adversarial_weight * BCE(D(G(LR)), 1) + content_weight * content loss (1e-3 / 1), where
    the content loss is the MSE between frozen VGG19 features of G(LR) and HR
    (`feature_model`, `kgan.perceptual`), or the pixel MSE with feature_model None.
    In phase "pretrain" a step is the SRResNet pixel-MSE update of G alone (D and its
    optimizer untouched); `train.py --pretrain-steps N` runs N such steps first."""

    loss_names = ("d_loss", "d_real", "d_fake", "g_loss", "g_adversarial", "g_content")
    phases = ("pretrain", "train")

    def __init__(self, generator, discriminator, feature_model=None, adversarial_weight=1e-3, content_weight=1.0,
                 seed=0, **kwargs):
        super().__init__(generator, discriminator, seed=seed, **kwargs)
        self.feature_model = feature_model
        self.adversarial_weight = float(adversarial_weight)
        self.content_weight = float(content_weight)

    @property
    def pretraining(self):
        return self.phase == "pretrain"

    def content_loss(self, sr, hr):
        if self.feature_model is None:
            return tf.reduce_mean(tf.square(tf.cast(sr, tf.float32) - tf.cast(hr, tf.float32)))
        features = self.feature_model(tf.concat([sr, tf.cast(hr, sr.dtype)], 0), training=False)
        sr_features, hr_features = tf.split(tf.cast(features, tf.float32), 2)
        return tf.reduce_mean(tf.square(sr_features - hr_features))

    def adversarial_step(self, data, training):
        low, high = data["lr"], data["hr"]
        if self.pretraining:
            with tf.GradientTape() as tape:
                pixel = tf.reduce_mean(tf.square(tf.cast(self.generator(low, training=training), tf.float32) - high))
            if training:
                self.apply_gradients(self.g_optimizer, tape, pixel, self.generator_variables())
            zero = tf.constant(0.0)
            return dict(d_loss=zero, d_real=zero, d_fake=zero, g_loss=pixel, g_adversarial=zero,
                                    g_content=pixel)

        with tf.GradientTape() as g_tape:
            sr = self.generator(low, training=training)
        with tf.GradientTape() as d_tape:
            d_real, d_fake = self.gan_loss.discriminator(
                self.discriminator(high, training=training), self.discriminator(tf.stop_gradient(sr), training=training))
            d_loss = d_real + d_fake
        if training:
            self.apply_gradients(self.d_optimizer, d_tape, d_loss, self.discriminator_variables())
        with g_tape:
            g_adversarial = self.gan_loss.generator(self.discriminator(sr, training=training))
            g_content = self.content_loss(sr, high)
            g_loss = self.adversarial_weight * g_adversarial + self.content_weight * g_content
        if training:
            self.apply_gradients(self.g_optimizer, g_tape, g_loss, self.generator_variables())
        return dict(d_loss=d_loss, d_real=d_real, d_fake=d_fake, g_loss=g_loss,
                                g_adversarial=g_adversarial, g_content=g_content)

    def bicubic(self, low, size):
        return tf.clip_by_value(tf.image.resize(low, size, method="bicubic", antialias=False), -1.0, 1.0)

    def real_images(self, batch):
        return to_uint8(batch["hr"])

    def generated_images(self, batch, seed=0):
        return to_uint8(self.generator(batch["lr"], training=False))

    def sample_grid(self, batch, count=4):
        """Rows LR (bicubic-upscaled) | SR | HR of a fixed validation batch."""
        low, high = batch["lr"][:count], batch["hr"][:count]
        sr = self.generator(low, training=False)
        rows = tf.stack([to_uint8(x) for x in (self.bicubic(low, high.shape[1:3]), sr, high)], axis=1)
        return tf.reshape(rows, [-1, *rows.shape[2:]]), 3

    def sample_scalars(self, batch):
        """PSNR (dB) of SR and of bicubic against HR on the fixed validation batch."""
        low, high = batch["lr"], batch["hr"]
        sr = self.generator(low, training=False)
        return {
            "val_psnr": tf.reduce_mean(psnr(sr, high)),
            "val_psnr_bicubic": tf.reduce_mean(psnr(self.bicubic(low, high.shape[1:3]), high)),
        }

    def serving_endpoints(self):
        """{"": `upscale_endpoint` of the generator}."""
        return {"": upscale_endpoint(self.generator)}


def normalize_input(images, normalization="unit"):
    """uint8 (B, H, W, 3) -> float32 generator input: "unit" [-1, 1] (kgan's SRGAN), or
    "imagenet" (x / 255 - mean) / std per channel (sgrvinod's pretrained SRGAN)."""
    if normalization == "unit":
        return to_unit_range(images)
    if normalization == "imagenet":
        return (tf.cast(images, tf.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    raise ValueError(f"unknown input normalization {normalization!r}; choose one of {', '.join(INPUT_NORMALIZATIONS)}")


def upscale_endpoint(generator, input_normalization="unit"):
    """The Endpoint for TF Serving: "images" uint8 (B, H, W, 3), 1 to MAX_SUPERRES_SIDE per
    side -> {"images": uint8 (B, sH, sW, 3)}, the generator's tanh output in [-1, 1] rounded
    to uint8; the input normalized once, inside (`normalize_input`); malformed requests
    answer InvalidArgumentError (`kgan.serving.checked_images`)."""
    channels = generator.input_shape[-1]

    def upscale(images):
        images = checked_images(images, channels, MAX_SUPERRES_SIDE)
        return {"images": to_uint8(generator(normalize_input(images, input_normalization), training=False))}

    spec = tf.TensorSpec([None, None, None, channels], tf.uint8, name="images")
    return Endpoint((generator,), upscale, (spec,))
