"""Quiet TensorFlow start-up for the command-line tools.

Importing TensorFlow and creating its devices prints absl/CUDA/CPU-feature lines before its
logging is initialised, so `TF_CPP_MIN_LOG_LEVEL` cannot silence them: on a CPU machine
`E0000 ... failed call to cuInit ... (303)`, `I0000 ... Could not find cuda drivers`, the
AVX2/FMA rebuild hint, and (oneDNN on) `E0000 ... oneDNN supports DT_UINT8 only on platforms
with AVX-512`, which the first uint8 transpose in a graph and the first eager one print (on
this AVX-512 Xeon too). They read as failures and break into the progress bar. The CLIs
import TensorFlow through `quiet_tensorflow_startup()`, which sends file descriptor 2 to a
temporary file for that moment and replays every line that is not one of these, so real
errors and Python warnings still show. Set `TF_CPP_MIN_LOG_LEVEL` yourself (e.g. `=0`) to
see TensorFlow's start-up lines unfiltered.
"""
import os
import re
import sys
import tempfile

import kgan

START_UP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \S+ +\d+ \S+\] "
    r"|E\d{4} \S+ +\d+ \S+\] .*(cuInit|cuda drivers|Unable to register cu(DNN|FFT|BLAS)"
    r"|oneDNN supports DT_UINT8 only on platforms with AVX-512)"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)"
)


def quiet_tensorflow_startup():
    """Import TensorFlow and create its devices with the start-up lines above filtered out.

    Does nothing when TensorFlow is already imported or the user set `TF_CPP_MIN_LOG_LEVEL`.
    """
    if "tensorflow" in sys.modules or kgan.USER_TF_LOG_LEVEL is not None:
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
            # oneDNN (kgan turns it on) says, as an ERROR, that its uint8 kernels fall back to
            # Eigen's, once per process for graphs and once more for eager ops (seen mid-run and at
            # a run's end): a first uint8 transpose of each kind says it here, where it is
            # filtered, instead of in the middle of a run.
            tf.function(lambda x: tf.transpose(x, [1, 0]))(tf.zeros([1, 1], tf.uint8))
            tf.transpose(tf.zeros([1, 1], tf.uint8), [1, 0])
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not START_UP_NOISE.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()
