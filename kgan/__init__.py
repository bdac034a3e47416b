"""kgan: the GAN systems of the seed chapters in Keras 3 on TensorFlow."""
__version__ = "0.1.0"
