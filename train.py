"""Train a kgan GAN: `python train.py --arch dcgan --data sample --steps 300` (see --help)."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kgan.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
