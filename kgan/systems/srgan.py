"""SRGAN of seed 001: 64 -> 256 (x4), 16 residual blocks, VGG19 content loss x 1 + adversarial x 1e-3."""
import tensorflow as tf

from kgan.config import config, inherit, option
from kgan.errors import UsageError
from kgan.models import SRGAN
from kgan.networks import srgan_discriminator, srgan_generator
from kgan.systems.base import AdversarialConfig, NORM_CHOICES, Phase, System, TrainingData, resolve_norm


@config
class SRGANConfig(AdversarialConfig):
    data: str = option("sample", "'sample' (bundled photos, random HR crops), a folder (img_align_celeba/: seed "
                       "001's 256/64 resize; photos: with --hr-crop), or a tfds name (celeba = celeb_a, div2k)")
    batch_size: int = inherit(1)
    image_size: int = option(256, "HR image side when whole images are resized (seed 001: 256)", minimum=1)
    scale: int = option(4, "upscaling factor", choices=(2, 4, 8))
    hr_crop: int = option(None, "random HR crops of this size (DIV2K-style photos); default: the whole image "
                          "resized to --image-size as seed 001 does with CelebA ('sample': --image-size crops)",
                          type=int, minimum=1)
    residual_blocks: int = option(16, "generator residual blocks", minimum=1)
    base_width: int = option(64, "width of the generator's convs (D: 1, 1, 2, 2, 4, 4, 8, 8 x this)", minimum=1)
    norm: str = option("auto", "normalization in G and D; auto = batch (seed 001), synchronized across replicas",
                       choices=NORM_CHOICES)
    upsample: str = option("nearest", "generator upsampling: nearest + conv 4*width at the higher resolution "
                           "(seed 001) or sub-pixel conv + depth-to-space (paper, seed 000; G step 3.3x faster)",
                           choices=("nearest", "subpixel"))
    global_skip: bool = option(False, "generator output = bicubic upscale of the input + the network's detail (no "
                               "tanh; BasicSR MSRResNet): pre-training starts near bicubic quality")
    content_loss: str = option("vgg", "content loss: VGG19 features (needs the weights file, see --vgg-weights) or "
                               "pixel MSE", choices=("vgg", "pixel"))
    vgg_layer: str = option("block3_conv3", "VGG19 feature layer (seed 001; block5_conv4 is the paper's VGG54)")
    vgg_weights: str = option(None, "VGG19 notop weights file (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5); "
                              "else $KGAN_VGG19_WEIGHTS or the Keras cache", type=str, metavar="PATH", fixed=False)
    pretrain_steps: int = option(0, "first train G alone on pixel MSE for N steps (SRResNet), counted in --steps",
                                 minimum=0)

    @property
    def crop(self):
        return self.hr_crop or (self.image_size if self.data == "sample" else None)


class SRGANSystem(System):
    name = "srgan"
    description = ("SRGAN of seed 001: 64 -> 256 (x4), 16 residual blocks, VGG19 block3_conv3 content loss x 1 + "
                   "adversarial x 1e-3, batch 1")
    Config = SRGANConfig
    tiny = dict(image_size=16, base_width=4, batch_size=2, residual_blocks=1, content_loss="pixel")
    device_transforms = True

    def check(self, config):
        if config.image_size % config.scale or (config.crop and config.crop % config.scale):
            raise UsageError(f"--image-size {config.image_size} and --hr-crop must be multiples of --scale "
                             f"{config.scale}")

    def build(self, config, replicas=1):
        from kgan.perceptual import vgg_feature_model

        norm = resolve_norm(config.norm, "batch", replicas)
        generator = srgan_generator(scale=config.scale, n_residual_blocks=config.residual_blocks,
                                    width=config.base_width, upsample_width=4 * config.base_width, norm=norm,
                                    upsample=config.upsample, global_skip=config.global_skip)
        widths = tuple(config.base_width * m for m in (1, 1, 2, 2, 4, 4, 8, 8))
        discriminator = srgan_discriminator(image_size=None, widths=widths, dense_width=16 * config.base_width,
                                            norm=norm)
        features = None
        if config.content_loss == "vgg":
            features = vgg_feature_model(config.vgg_layer, weights=config.vgg_weights or "imagenet")
        return SRGAN(generator, discriminator, features, seed=config.seed, name=self.name)

    def phases(self, config):
        pretrain = (Phase("pretrain", config.pretrain_steps),) if config.pretrain_steps else ()
        return pretrain + (Phase("train"),)

    def training_data(self, config):
        from pipelines.batches import place, superres_pipeline
        from pipelines.sources import SAMPLE_NAME, resolve_source, sample_photos_source

        source = sample_photos_source() if config.data == SAMPLE_NAME else resolve_source(config.data,
                                                                                          config.data_dir)
        pipeline = superres_pipeline(source, config.batch_size, config.scale, config.crop, config.image_size,
                                     seed=config.seed)
        dataset, transform = place(*pipeline, config.seed, config.transforms)
        return TrainingData(dataset, max(1, source.count // config.batch_size), (source,), transform=transform)

    def synthetic_batch(self, config):
        size = config.crop or config.image_size
        high = tf.random.stateless_uniform((config.batch_size, size, size, 3), [0, 0], -1.0, 1.0)
        low = tf.image.resize(high, [size // config.scale] * 2, antialias=True)
        return {"lr": low, "hr": high}


SYSTEM = SRGANSystem()
