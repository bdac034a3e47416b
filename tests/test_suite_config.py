"""The suite's own set-up holds: under `-n auto --dist loadgroup` (setup.cfg) a module marked
with an xdist_group runs on one worker, so its module fixtures (the serving exports, the
pix2pixHD stages, the metrics runs) are built once. pytest 9.2 broke this silently
(pytest-dev/pytest-xdist#1386: the CI run of 2026-12 built those fixtures on both workers)."""
import os

import pytest

pytestmark = pytest.mark.xdist_group("suite_config")


def test_xdist_groups_keep_a_module_on_one_worker(request):
    if not (os.environ.get("PYTEST_XDIST_WORKER") and request.config.getvalue("loadgroup")):
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@suite_config"), (
        f"pytest {pytest.__version__} ignores xdist groups: pip install 'pytest<9.2' (pytest-dev/pytest-xdist#1386)")
