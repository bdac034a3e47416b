"""Frozen VGG19 feature extractor for SRGAN's content ("VGG") loss.

Seed 001 `build_vgg`: ImageNet VGG19 cut at `layers[9]` (`block3_conv3`, 1/4 resolution,
256 channels); the paper's VGG54 is `block5_conv4`. Unlike the seed, which fed [-1, 1]
images straight into VGG, the model here applies VGG's own "caffe" preprocessing first.
Nothing is downloaded: the ImageNet weights file must already be on disk.
"""
import keras

from kgan.weights import ApplicationWeights

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_ENV = "KGAN_VGG19_WEIGHTS"
VGG19_WEIGHTS = ApplicationWeights("VGG19", WEIGHTS_FILE, "vgg19", "--vgg-weights", WEIGHTS_ENV,
                                   alternative="--content-loss pixel trains without VGG")
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)  # keras.applications.imagenet_utils, "caffe"


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


def resolve_vgg_weights(weights="imagenet"):
    """None (random init, tests only) or the path of a VGG19 no-top weights file.

    weights: a path; or "imagenet": $KGAN_VGG19_WEIGHTS if set, else the Keras cache copy
    of WEIGHTS_FILE. Raises UsageError (one line) if the file is not there.
    """
    return VGG19_WEIGHTS.resolve(weights)


def vgg_feature_model(layer="block3_conv3", weights="imagenet", input_range=(-1, 1), name="vgg19_features"):
    """Frozen model: images (B, H, W, 3) RGB in input_range -> VGG19 `layer` features, float32.

    block3_conv3 gives (B, H/4, W/4, 256), block5_conv4 (B, H/16, W/16, 512). weights: see
    `resolve_vgg_weights`. All layers are float32 even under a mixed precision policy (the
    input is cast), and none is trainable, so no optimizer ever updates them.
    """
    path = resolve_vgg_weights(weights)
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        vgg = VGG19_WEIGHTS.load(keras.applications.VGG19, path, include_top=False, input_shape=(None, None, 3))
        names = [candidate.name for candidate in vgg.layers[1:]]
        if layer not in names:
            raise ValueError(f"unknown VGG19 layer {layer!r}; choose one of {', '.join(names)}")
        trunk = keras.Model(vgg.input, vgg.get_layer(layer).output, name="vgg19")
        images = keras.Input((None, None, 3), name="images")
        x = CaffePreprocess(input_range, dtype="float32", name="caffe_preprocess")(images)
        model = keras.Model(images, trunk(x), name=name)
    finally:
        keras.config.set_dtype_policy(policy)
    for sublayer in trunk.layers:
        sublayer.trainable = False
    model.trainable = False
    return model
