"""Train a kgan GAN: `python train.py --arch dcgan --data sample --steps 300` (see --help)."""
import sys

from kgan.cli import main

if __name__ == "__main__":
    sys.exit(main())
