"""CycleGAN of seeds 000 and 003 (junyanz): ResNet-9 generators, PatchGANs, cycle 10, identity 5, pool 50."""
import os

import tensorflow as tf

from kgan.config import config, inherit, option
from kgan.models import CycleGAN
from kgan.systems.base import System, TrainingData
from kgan.systems.pix2pix import TranslationConfig, check_translation, size_multiple, translation_networks


@config
class CycleGANConfig(TranslationConfig):
    data: str = option("sample", "'sample' (embedded faces <-> non-faces), a folder with trainA/ and trainB/, or a "
                       "prepared tfds dataset such as cycle_gan/apple2orange")
    generator: str = inherit("resnet_9blocks")
    cycle_weight: float = option(10.0, "weight of the cycle-consistency L1 (junyanz --lambda_A/--lambda_B)")
    identity_weight: float = option(5.0, "weight of the identity L1 (junyanz: lambda_identity 0.5 x cycle)")
    pool_size: int = option(50, "fake-image pool of each discriminator (junyanz --pool_size)", minimum=0)


def unpaired_sources(config):
    from pipelines.sources import SAMPLE_NAME, ImageSource, cyclegan_sources, sample_source, tfds_source

    if config.data == SAMPLE_NAME:
        faces = sample_source()
        return tuple(
            ImageSource(f"sample {name}s", faces.dataset.filter(lambda e, k=k: e["label"] == k), 100)
            for k, name in enumerate(faces.class_names)
        )
    if os.path.isdir(config.data):
        return cyclegan_sources(config.data)
    return tuple(tfds_source(config.data, config.data_dir, split=f"train{d}") for d in "AB")


class CycleGANSystem(System):
    name = "cyclegan"
    description = "CycleGAN of seeds 000/003: ResNet-9 generators, PatchGAN, cycle 10, identity 5, pool 50, batch 1"
    Config = CycleGANConfig
    # The U-Net traces and compiles in half the time of a ResNet (the contract's mirrored + XLA
    # cell: 85 -> 50 CPU-s); the siamese system's tiny config keeps a ResNet in the contract.
    tiny = dict(image_size=32, base_width=4, batch_size=2, generator="unet_256")
    device_transforms = True

    def check(self, config):
        check_translation(config)

    def build(self, config, replicas=1):
        g_ab, d_a = translation_networks(config, replicas, "instance", 3, ("generator_ab", "discriminator_a"))
        g_ba, d_b = translation_networks(config, replicas, "instance", 3, ("generator_ba", "discriminator_b"))
        return CycleGAN(g_ab, g_ba, d_a, d_b, image_shape=(config.image_size, config.image_size, 3),
                        cycle_weight=config.cycle_weight, identity_weight=config.identity_weight,
                        pool_size=config.pool_size, size_multiple=size_multiple(config), seed=config.seed,
                        name=self.name)

    def training_data(self, config):
        from pipelines.batches import place, unpaired_pipeline

        source_a, source_b = unpaired_sources(config)
        raw, transform, steps = unpaired_pipeline(source_a, source_b, config.batch_size, config.crop_load_size,
                                                  config.image_size, seed=config.seed)
        dataset, transform = place(raw, transform, config.seed, config.transforms)
        return TrainingData(dataset, steps, (source_a, source_b), transform=transform)

    def synthetic_batch(self, config):
        images = tf.random.stateless_uniform((config.batch_size, config.image_size, config.image_size, 3), [0, 0],
                                             -1.0, 1.0)
        return {"a": images, "b": -images}


SYSTEM = CycleGANSystem()
