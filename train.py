"""Train a kgan GAN: `python train.py --arch dcgan --data sample --steps 300` (see --help)."""
import sys

from kgan.startup import quiet_tensorflow_startup

quiet_tensorflow_startup()

from kgan.cli import main  # noqa: E402  (after the quiet TensorFlow import)

if __name__ == "__main__":
    sys.exit(main())
