"""JIT tests compile into a per-session kernel cache, never the user's ~/.cache."""
import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernel_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    old = os.environ.get("TRACEJIT_CACHE_DIR")
    os.environ["TRACEJIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("kernel_cache"))
    yield
    if old is None:
        os.environ.pop("TRACEJIT_CACHE_DIR", None)
    else:
        os.environ["TRACEJIT_CACHE_DIR"] = old
