"""kgan: the GAN systems of the seed chapters in Keras 3 on TensorFlow."""
import os

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) hides our one-line errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
