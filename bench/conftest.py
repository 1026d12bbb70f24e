"""pytest-benchmark suites: `pytest bench/ --benchmark-only` (groups stay comparable across
commits with --benchmark-compare). Peers absent from the environment are skipped."""
import pytest

import tracejit as tj


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def small():
    return tj.ones(16), tj.ones(16), tj.ones(16, requires_grad=True)
