"""Test setup: isolate the disk cache and import the package under any name."""

import importlib
import importlib.util
import os
import pathlib
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_CACHE = os.environ.get("TRACEJIT_CACHE_DIR") or tempfile.mkdtemp(prefix="tracejit-test-")
os.environ["TRACEJIT_CACHE_DIR"] = _CACHE  # never touch ~/.cache from tests


def load_codegen():
    """tracejit.codegen if installed/importable, else codegen/ loaded as 'codegen'."""
    try:
        return importlib.import_module("tracejit.codegen")
    except ImportError:
        pass
    if "codegen" in sys.modules:
        return sys.modules["codegen"]
    spec = importlib.util.spec_from_file_location(
        "codegen", ROOT / "codegen" / "__init__.py",
        submodule_search_locations=[str(ROOT / "codegen")])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["codegen"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def cg():
    return load_codegen()


@pytest.fixture(scope="session")
def cache_dir():
    return _CACHE
