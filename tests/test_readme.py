"""README.md's code runs as written: every ```python block, pasted into a fresh process."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_blocks():
    with open(os.path.join(ROOT, "README.md")) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_the_readme_has_python_blocks():
    assert python_blocks()


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs_as_written(index, tmp_path):
    result = subprocess.run([sys.executable, "-c", python_blocks()[index]], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.exists(tmp_path / "losses.csv") or "losses.csv" not in python_blocks()[index]
