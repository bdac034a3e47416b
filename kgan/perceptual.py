"""Frozen VGG19 feature extractor for SRGAN's content ("VGG") loss and pix2pixHD's
multi-layer VGG loss.

Seed 001 `build_vgg`: ImageNet VGG19 cut at `layers[9]` (`block3_conv3`, 1/4 resolution,
256 channels); the paper's VGG54 is `block5_conv4`. NVIDIA pix2pixHD `Vgg19`: relu1_1,
relu2_1, relu3_1, relu4_1, relu5_1 (Keras' convs include their ReLU: `NVIDIA_VGG_LAYERS`). Unlike the seed, which fed [-1, 1]
images straight into VGG, the model here applies VGG's own "caffe" preprocessing first.
Nothing is downloaded: the ImageNet weights file must already be on disk.
"""
import dataclasses

import keras

from kgan.weights import ApplicationWeights

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_ENV = "KGAN_VGG19_WEIGHTS"
VGG19_WEIGHTS = ApplicationWeights("VGG19", WEIGHTS_FILE, "vgg19", "--vgg-weights", WEIGHTS_ENV,
                                   alternative="--content-loss pixel trains without VGG")
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)
NVIDIA_VGG_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")  # keras.applications.imagenet_utils, "caffe"


@keras.saving.register_keras_serializable(package="kgan")
class CaffePreprocess(keras.layers.Layer):
    """Images (B, H, W, 3) RGB in input_range -> BGR on 0..255 minus the ImageNet mean.

    Equals `keras.applications.vgg19.preprocess_input` of the images rescaled to 0..255.
    """

    def __init__(self, input_range=(-1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.input_range = tuple(float(v) for v in input_range)

    def call(self, images):
        low, high = self.input_range
        pixels = (images - low) * (255.0 / (high - low))
        return pixels[..., ::-1] - keras.ops.convert_to_tensor(IMAGENET_BGR_MEAN, dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "input_range": self.input_range}


def resolve_vgg_weights(weights="imagenet", alternative=None):
    """None (random init, tests only) or the path of a VGG19 no-top weights file.

    weights: a path; or "imagenet": $KGAN_VGG19_WEIGHTS if set, else the Keras cache copy
    of WEIGHTS_FILE. Raises UsageError (one line) if the file is not there, ending with
    `alternative` (how to train without VGG; default SRGAN's --content-loss pixel).
    """
    resolver = VGG19_WEIGHTS if alternative is None else dataclasses.replace(VGG19_WEIGHTS, alternative=alternative)
    return resolver.resolve(weights)


def vgg_feature_model(layer="block3_conv3", weights="imagenet", input_range=(-1, 1), name="vgg19_features",
                      alternative=None):
    """Frozen model: images (B, H, W, 3) RGB in input_range -> VGG19 `layer` features, float32
    (a list of them, in order, when `layer` is a sequence of names).

    block3_conv3 gives (B, H/4, W/4, 256), block5_conv4 (B, H/16, W/16, 512). weights,
    alternative: see `resolve_vgg_weights`. All layers are float32 even under a mixed
    precision policy (the input is cast), and none is trainable, so no optimizer ever
    updates them.
    """
    path = resolve_vgg_weights(weights, alternative)
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        vgg = VGG19_WEIGHTS.load(keras.applications.VGG19, path, include_top=False, input_shape=(None, None, 3))
        names = [candidate.name for candidate in vgg.layers[1:]]
        layers = [layer] if isinstance(layer, str) else list(layer)
        for wanted in layers:
            if wanted not in names:
                raise ValueError(f"unknown VGG19 layer {wanted!r}; choose one of {', '.join(names)}")
        outputs = [vgg.get_layer(wanted).output for wanted in layers]
        trunk = keras.Model(vgg.input, outputs[0] if isinstance(layer, str) else outputs, name="vgg19")
        images = keras.Input((None, None, 3), name="images")
        x = CaffePreprocess(input_range, dtype="float32", name="caffe_preprocess")(images)
        model = keras.Model(images, trunk(x), name=name)
    finally:
        keras.config.set_dtype_policy(policy)
    for sublayer in trunk.layers:
        sublayer.trainable = False
    model.trainable = False
    return model
