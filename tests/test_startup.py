"""The CLIs start without TensorFlow's start-up chatter (issue 10.5), and show it again when
the user sets TF_CPP_MIN_LOG_LEVEL."""
import os
import re
import subprocess
import sys

from kgan.startup import START_UP_NOISE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Seen on this 2-core CPU machine with TensorFlow 2.21 (a `python -c "import tensorflow"`).
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796186450.780657    2995 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.\n",
    "I0000 00:00:1796186450.848349    2995 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to "
    "use available CPU instructions in performance-critical operations.\n",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.\n",
    "E0000 00:00:1796187328.009748    8607 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)\n",
    "E0000 00:00:1796193339.796795    9253 util.cc:131] oneDNN supports DT_UINT8 only on platforms with AVX-512. "
    "Falling back to the default Eigen-based implementation if present.\n",
    "I0000 00:00:1796193421.007927   10490 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.\n",
]
KEPT = [
    "E0000 00:00:1796187328.009748    8607 op_kernel.cc:1840] OP_REQUIRES failed at conv_ops.cc:1: out of memory\n",
    "/usr/lib/python3/site-packages/foo.py:3: UserWarning: something the user should see\n",
    "train.py: error: data folder /x does not exist\n",
]


def test_filter_drops_the_start_up_lines_and_keeps_real_errors():
    assert all(START_UP_NOISE.match(line) for line in NOISE)
    assert not any(START_UP_NOISE.match(line) for line in KEPT)


def run(command, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update(env)
    return subprocess.run([sys.executable, *command], capture_output=True, text=True, cwd=ROOT,
                          env=environment, timeout=600)


def test_cli_start_up_prints_nothing_on_stderr_unless_the_user_sets_the_log_level(tmp_path):
    """`kgan.evaluate --help` prints nothing on stderr; a short training prints its start line
    and progress bar only, with no TensorFlow line in them, such as oneDNN's uint8 ERROR
    that eager uint8 ops used to print mid-run after the start-up had caught the graph one."""
    quiet = run(["-m", "kgan.evaluate", "--help"])
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    trained = run(["train.py", "--arch", "gan", "--steps", "2", "--base-width", "8", "--batch-size", "16",
                   "--logdir", str(tmp_path / "run")])
    lines = [line for line in re.split(r"[\r\n]", trained.stderr) if line.strip()]
    assert trained.returncode == 0 and lines[0].startswith("gan on mnist-sample"), trained.stderr[-2000:]
    assert not re.search(r"[IWEF]0000 |oneDNN|Traceback", trained.stderr), trained.stderr[-2000:]
    loud = run(["train.py", "--help"], TF_CPP_MIN_LOG_LEVEL="0")
    assert loud.returncode == 0 and "absl::InitializeLog" in loud.stderr
