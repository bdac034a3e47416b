"""kgan: the GAN systems of the seed chapters in Keras 3 on TensorFlow."""
import os
import sys

# What the user set, before kgan's default: kgan.startup shows TensorFlow's start-up lines
# unfiltered when the user chose a level.
USER_TF_LOG_LEVEL = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
# TensorFlow's C++ chatter after start-up (oneDNN notes, XLA info) hides our one-line errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow turns its oneDNN CPU kernels on by itself only on CPUs with AVX512-VNNI/BF16 or
# AMX; on an AVX2-only CPU (the AMD EPYC of this project's first machines) it falls back to
# Eigen's: one DCGAN batch-64 step took 30.16 s without and 9.43 s with them there
# (benchmarks/train_step.py --onednn).
# Applies when kgan is imported before TensorFlow; TF_ENABLE_ONEDNN_OPTS=0 restores the fallback.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

if sys.argv and sys.argv[0] == "-m":  # `python -m kgan.<tool>`: a command-line run
    from kgan.startup import quiet_tensorflow_startup

    quiet_tensorflow_startup()
