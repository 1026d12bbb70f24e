"""Shared test setup for the core suite (tests/*.py).

* ``requires_torch`` marker: the test needs the PyTorch oracle and is skipped without it.
* Every test starts with grad mode on and float32 as the default dtype, whatever the previous
  test left behind (a failing test must not poison the next one).
* ``tests/`` is on sys.path, so test modules import ``helpers`` and ``strategies`` directly.
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

_HERE = pathlib.Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))



def _have_torch() -> bool:
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


HAVE_TORCH = _have_torch()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requires_torch: needs PyTorch installed as the oracle")
    config.addinivalue_line("markers", "cuda: runs on the cuda device (the simulator in CI)")
    config.addinivalue_line("markers", "gpu: needs a real NVIDIA GPU (pycuda + cuBLAS)")


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request: pytest.FixtureRequest) -> str:
    """Run a test on each device; cuda only with TRACEJIT_CUDA_SIM=1 or a real GPU."""
    if request.param == "cuda":
        import tracejit

        if not tracejit.cuda.is_available():
            pytest.skip("no CUDA runtime (set TRACEJIT_CUDA_SIM=1 for the simulator)")
    return request.param


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if HAVE_TORCH:
        return
    skip = pytest.mark.skip(reason="PyTorch (the oracle) is not installed")
    for item in items:
        if "requires_torch" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["tracejit", "torch"])
def lib(request: pytest.FixtureRequest):
    """Run a behaviour test against tracejit and against torch (skipped without torch)."""
    if request.param == "torch":
        return pytest.importorskip("torch")
    import tracejit

    return tracejit


@pytest.fixture(autouse=True)
def _clean_global_state():
    """Restore grad mode and the default dtype after each test (only if tracejit is loaded)."""
    yield
    tj = sys.modules.get("tracejit")
    if tj is None:
        return
    try:
        from tracejit.autograd import grad_mode

        grad_mode._enabled[0] = True
        tj.set_default_dtype(tj.float32)
    except Exception:  # pragma: no cover - a broken package shows up in the tests themselves
        pass


@pytest.fixture(scope="session", autouse=True)
def _nvcc_checks_every_generated_module():
    """After the session, every CUDA kernel the simulator built also goes through nvcc.

    The simulator's g++ accepts code nvcc rejects, so each distinct kernel the suite
    generated is compiled with ``nvcc -arch=sm_90 -ptx -Werror all-warnings``: the generated
    kernels in one translation unit (one prelude, each kernel once), hand-written modules
    (``kernels/cuda_conv.py``) on their own. Skipped without nvcc; a failure is an error.
    """
    yield
    rt_mod = sys.modules.get("tracejit.codegen.cuda.runtime")
    rt = rt_mod._instances.get("sim") if rt_mod is not None else None
    if rt is None or not rt._modules:
        return
    from tracejit.codegen import cuda
    from tracejit.codegen.cuda.prelude import prelude

    if cuda.find_nvcc() is None:
        return
    kernels: dict = {}
    raw: list = []
    heads = (prelude(True), prelude(False))
    for src in list(rt._modules):
        head = next((h for h in heads if src.startswith(h)), None)
        if head is None:
            raw.append(src)
            continue
        for part in src[len(head):].split('extern "C" __global__')[1:]:
            kernels.setdefault(part.split("(", 1)[0], 'extern "C" __global__' + part)
    units = raw + ([prelude(True) + "\n" + "\n".join(kernels.values())] if kernels else [])
    for unit in units:
        ok, log = cuda.compile_ptx(unit, arch="sm_90")
        assert ok, f"nvcc -ptx failed or warned:\n{log[:4000]}"
