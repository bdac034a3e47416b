"""pix2pixHD of seed 003 (Wang et al. 2018; NVIDIA/pix2pixHD `options/`, `train.py`).

Defaults are NVIDIA's `label2city_512p` (`python train.py --name label2city_512p`, every
option at its default): label_nc 35, instance edges on, global G (ngf 64, 4 downsamplings,
9 residual blocks), 2 discriminator scales with 3 layers (ndf 64), LSGAN, feature matching
and VGG losses x 10, Adam 2e-4 / 0.5, batch 1, images scaled to width 1024 (Cityscapes:
1024x512), no crop, random flips. NVIDIA's schedule is `--epochs 100 --epochs-decay 100`.
Stage 2 (`scripts/train_1024p_24G.sh`): `--generator local --ngf 32 --num-d 3
--load-global STAGE1_RUN --niter-fix-global 10` at 2048x1024.

Flags are NVIDIA's option names in kgan's style: --label-nc, --no-instance, --instance-feat,
--feat-num, --nef, --n-clusters, --ngf, --ndf, --num-d (num_D), --n-layers-d (n_layers_D),
--n-downsample-global, --n-blocks-global, --n-blocks-local, --n-local-enhancers,
--niter-fix-global, --no-vgg-loss, --no-ganfeat-loss (no_ganFeat_loss), --lambda-feat,
--no-flip; --generator is netG; --width/--height replace loadSize with scale_width, --crop
is fineSize with crop; --load-global RUN replaces --load_pretrain DIR (a kgan run).
"""
import os

import numpy as np
import tensorflow as tf

from kgan.config import config, inherit, option
from kgan.errors import UsageError
from kgan.systems.base import AdversarialConfig, Phase, System, TrainingData


@config
class Pix2PixHDConfig(AdversarialConfig):
    data: str = option("sample", "'sample' (bundled photos: SLIC superpixels as instances, k-means colour classes "
                       "as labels), a folder in NVIDIA's layout (train_label/, train_inst/, train_img/) or "
                       "Cityscapes' (gtFine/train/*/, leftImg8bit/train/*/)")
    batch_size: int = inherit(1)
    loss: str = inherit("lsgan")
    label_nc: int = option(35, "label classes, one-hot into G and D (NVIDIA --label_nc; Cityscapes labelIds: 35)",
                           minimum=1)
    instance: bool = option(True, "add the instance edge map to G's and D's input (NVIDIA: on unless --no_instance)")
    instance_feat: bool = option(False, "train the feature encoder and add its per-instance features to G's input "
                                 "(NVIDIA --instance_feat; then python -m kgan.pix2pixhd_features RUN)")
    feat_num: int = option(3, "encoder feature channels (NVIDIA --feat_num)", minimum=1)
    nef: int = option(16, "encoder width (NVIDIA --nef)", minimum=1)
    n_downsample_e: int = option(4, "encoder downsamplings (NVIDIA --n_downsample_E)", minimum=1)
    n_clusters: int = option(10, "k-means clusters per class of the encoded features (NVIDIA --n_clusters)",
                             minimum=1)
    generator: str = option("global", "G1 alone, or G1's trunk inside the local enhancer G2 (NVIDIA --netG)",
                            choices=("global", "local"))
    ngf: int = option(64, "G's first width (NVIDIA --ngf; the local enhancer's trunk is ngf * 2**n_local_enhancers "
                      "wide, so stage 2 after a 64-wide G1 takes --ngf 32)", minimum=1)
    n_downsample_global: int = option(4, "G1 downsamplings (NVIDIA --n_downsample_global)", minimum=1)
    n_blocks_global: int = option(9, "G1 residual blocks (NVIDIA --n_blocks_global)", minimum=1)
    n_blocks_local: int = option(3, "residual blocks per local enhancer (NVIDIA --n_blocks_local)", minimum=1)
    n_local_enhancers: int = option(1, "local enhancers of --generator local (NVIDIA --n_local_enhancers)",
                                    minimum=1)
    num_d: int = option(2, "discriminator scales (NVIDIA --num_D; the paper: 3)", minimum=1)
    n_layers_d: int = option(3, "stride-2 layers per discriminator scale (NVIDIA --n_layers_D)", minimum=1)
    ndf: int = option(64, "D's first width (NVIDIA --ndf)", minimum=1)
    ganfeat_loss: bool = option(True, "discriminator feature matching loss (NVIDIA: on unless --no_ganFeat_loss)")
    vgg_loss: bool = option(True, "VGG19 relu1_1..relu5_1 loss with weights 1/32..1 (NVIDIA: on unless "
                            "--no_vgg_loss; needs the weights file, see --vgg-weights)")
    lambda_feat: float = option(10.0, "weight of the feature matching and VGG losses (NVIDIA --lambda_feat)")
    l1_weight: float = option(0.0, "weight of an L1 loss to the real photo (not NVIDIA's; pix2pix's --lambda_L1: a "
                              "pull towards the real photo when the VGG19 weights are not at hand; 0: off)",
                              minimum=0.0)
    vgg_weights: str = option(None, "VGG19 notop weights file (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5); "
                              "else $KGAN_VGG19_WEIGHTS or the Keras cache", type=str, metavar="PATH", fixed=False)
    width: int = option(1024, "images (and label maps, nearest) resized to this width (NVIDIA --loadSize with "
                        "scale_width)", minimum=1)
    height: int = option(512, "... and this height (Cityscapes at width 1024: 512)", minimum=1)
    crop: int = option(None, "random crop x crop after the resize (NVIDIA --fineSize with --resize_or_crop crop)",
                       type=int, minimum=1)
    flip: bool = option(True, "random horizontal flips (NVIDIA: on unless --no_flip)")
    load_global: str = option(None, "stage 2: copy G1's trunk (and D's matching scales) from this stage-1 run "
                              "directory (NVIDIA --load_pretrain)", type=str, metavar="RUN", fixed=False)
    niter_fix_global: int = option(0, "stage 2: first train only the local enhancer for this many epochs (NVIDIA "
                                   "--niter_fix_global)", minimum=0)

    @property
    def input_channels(self):
        """G's input: one-hot labels [+ instance edges] [+ encoder features]."""
        return self.label_nc + int(self.instance) + (self.feat_num if self.instance_feat else 0)

    @property
    def size_multiple(self):
        """Input sides G takes: multiples of 2**(downsamplings [+ local enhancers])."""
        enhancers = self.n_local_enhancers if self.generator == "local" else 0
        return 2 ** max(self.n_downsample_global + enhancers, self.n_downsample_e if self.instance_feat else 0)

    @property
    def trunk_width(self):
        return self.ngf * 2 ** self.n_local_enhancers if self.generator == "local" else self.ngf


def build_networks(config):
    """(generator, discriminator, encoder or None) of a config (NVIDIA `define_G`, `define_D`)."""
    from kgan.networks.pix2pixhd import feature_encoder, global_generator, local_enhancer, multiscale_discriminator

    if config.generator == "local":
        generator = local_enhancer(config.input_channels, 3, config.ngf, config.n_downsample_global,
                                   config.n_blocks_global, config.n_local_enhancers, config.n_blocks_local)
    else:
        generator = global_generator(config.input_channels, 3, config.ngf, config.n_downsample_global,
                                     config.n_blocks_global)
    d_channels = config.label_nc + int(config.instance) + 3
    discriminator = multiscale_discriminator(d_channels, config.ndf, config.n_layers_d, config.num_d)
    encoder = feature_encoder(3, config.feat_num, config.nef, config.n_downsample_e) if config.instance_feat else None
    return generator, discriminator, encoder


def load_stage_one(model, config):
    """Copies G1's trunk from the latest checkpoint of the stage-1 run `run` into `model`'s
    generator ("global_trunk"), every discriminator scale whose weights have the same shapes
    and the encoder (NVIDIA --load_pretrain loads what matches); returns the names copied.
    `run` is config.load_global."""
    from kgan.cli import load_run
    from kgan.evaluate import restore_networks

    run = config.load_global
    system, stage_one = load_run(run)
    if system.name != "pix2pixhd" or stage_one.generator != "global":
        raise UsageError(f"--load-global {run!r} is not a pix2pixhd --generator global run")
    source = system.build(stage_one)
    restore_networks(run, source)
    trunk, source_trunk = model.generator.get_layer("global_trunk"), source.generator.get_layer("global_trunk")
    shapes = [tuple(w.shape) for w in trunk.weights], [tuple(w.shape) for w in source_trunk.weights]
    if shapes[0] != shapes[1]:
        raise UsageError(f"the trunk of {run!r} (ngf {stage_one.ngf}, label_nc {stage_one.label_nc}, instance "
                         f"{stage_one.instance}, instance_feat {stage_one.instance_feat}) does not fit this G: pass "
                         f"--ngf {stage_one.ngf // 2 ** config.n_local_enhancers} and the same label options")
    trunk.set_weights(source_trunk.get_weights())
    copied = ["global_trunk"]
    for layer in source.discriminator.layers:
        if layer.name.startswith("scale_") and layer.name in [x.name for x in model.discriminator.layers]:
            target = model.discriminator.get_layer(layer.name)
            if [w.shape for w in target.weights] == [w.shape for w in layer.weights]:
                target.set_weights(layer.get_weights())
                copied.append(f"discriminator/{layer.name}")
    if model.encoder is not None and source.encoder is not None and [w.shape for w in model.encoder.weights] == [
            w.shape for w in source.encoder.weights]:
        model.encoder.set_weights(source.encoder.get_weights())
        copied.append("encoder")
    return copied


class Pix2PixHDSystem(System):
    name = "pix2pixhd"
    description = ("pix2pixHD of seed 003: label maps + instance edges -> photos, global G / local enhancer, "
                   "multi-scale D, feature matching + VGG losses (NVIDIA label2city_512p defaults)")
    Config = Pix2PixHDConfig
    tiny = dict(label_nc=12, ngf=4, ndf=4, n_downsample_global=2, n_blocks_global=1, num_d=2, n_layers_d=2,
                width=32, height=16, batch_size=2, vgg_loss=False)
    device_transforms = True

    def check(self, config):
        if config.crop and (config.crop > config.width or config.crop > config.height):
            raise UsageError(f"--crop {config.crop} does not fit in --width {config.width} x --height {config.height}")
        sides = (config.crop, config.crop) if config.crop else (config.width, config.height)
        if any(side % config.size_multiple for side in sides):
            raise UsageError(f"the training size {sides[0]}x{sides[1]} must be a multiple of {config.size_multiple} "
                             f"(2**downsamplings of --generator {config.generator}): change --width/--height/--crop")
        if config.instance_feat and not config.instance:
            raise UsageError("--instance-feat averages features over instances: drop --no-instance")
        if config.niter_fix_global and config.generator != "local":
            raise UsageError("--niter-fix-global trains the local enhancer alone: it needs --generator local")
        if config.load_global and config.generator != "local":
            raise UsageError("--load-global loads G1 into the local enhancer: it needs --generator local")

    def build(self, config, replicas=1):
        from kgan.models.pix2pixhd import Pix2PixHD
        from kgan.perceptual import NVIDIA_VGG_LAYERS, vgg_feature_model

        generator, discriminator, encoder = build_networks(config)
        vgg = None
        if config.vgg_loss:
            vgg = vgg_feature_model(NVIDIA_VGG_LAYERS, weights=config.vgg_weights or "imagenet",
                                    alternative="--no-vgg-loss trains without VGG")
        model = Pix2PixHD(generator, discriminator, config.label_nc, use_instances=config.instance, encoder=encoder,
                          vgg_features=vgg, feature_matching_weight=config.lambda_feat if config.ganfeat_loss else 0.0,
                          vgg_weight=config.lambda_feat, l1_weight=config.l1_weight,
                          size_multiple=config.size_multiple, seed=config.seed, name=self.name)
        if config.load_global:
            load_stage_one(model, config)
        return model

    def phases(self, config):
        fixed = (Phase("fix_global", epochs=config.niter_fix_global),) if config.niter_fix_global else ()
        return fixed + (Phase("train"),)

    def source(self, config, split="train"):
        """The ImageSource of --data (split "val": the sample's held-out tiles, a folder's val_*)."""
        from pipelines.sources import SAMPLE_NAME, cityscapes_source, label_folders_source, label_sample_source

        if config.data == SAMPLE_NAME:
            return label_sample_source(split, config.instance)
        if not os.path.isdir(config.data):
            raise UsageError(f"pix2pixhd data {config.data!r} is not a folder: pass a folder with train_label/, "
                             "train_inst/, train_img/ or Cityscapes' gtFine/ and leftImg8bit/, or 'sample'")
        if os.path.isdir(os.path.join(config.data, f"{split}_label")):
            return label_folders_source(config.data, split, config.instance)
        return cityscapes_source(config.data, split, config.instance)

    def training_data(self, config):
        from pipelines.batches import label_map_pipeline, place

        source = self.source(config)
        pipeline = label_map_pipeline(source, config.batch_size, (config.height, config.width), config.crop,
                                      config.flip, seed=config.seed)
        dataset, transform = place(*pipeline, config.seed, config.transforms)
        return TrainingData(dataset, max(1, source.count // config.batch_size), (source,), transform=transform)

    def synthetic_batch(self, config):
        height, width = (config.crop, config.crop) if config.crop else (config.height, config.width)
        shape = (config.batch_size, height, width)
        labels = tf.random.stateless_uniform(shape, [0, 0], 0, config.label_nc, tf.int32)
        batch = {"labels": labels, "image": tf.random.stateless_uniform((*shape, 3), [0, 1], -1.0, 1.0)}
        if config.instance:
            blocks = tf.constant(np.kron(np.arange(4).reshape(2, 2), np.ones((height // 2, width // 2), np.int32)))
            batch["instances"] = labels * 1000 + tf.cast(blocks, tf.int32)[None]
        return batch


SYSTEM = Pix2PixHDSystem()
