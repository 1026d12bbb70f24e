"""Shared setup of the CUDA backend tests (imported by the other test_cuda_* modules).

* every test runs with ``TRACEJIT_CUDA_SIM=1`` (the simulator); the disk cache lives in
  the temporary ``TRACEJIT_CACHE_DIR`` that conftest.py set up;
* after every test, each module source the simulator loaded that has not been checked
  yet is compiled with ``nvcc -arch=sm_90 -ptx -Werror all-warnings`` (memoised by
  source, so each distinct module is compiled by nvcc once per session).
"""

import importlib
import os
import pathlib
import subprocess
import sys

import pytest

from kernels import cg

cuda = importlib.import_module(cg.__name__ + ".cuda")
HERE = pathlib.Path(__file__).resolve().parent
HAVE_NVCC = cuda.find_nvcc() is not None
_checked: set = set()


def sim_runtime():
    return cuda.get_runtime("sim")


def nvcc_check(source: str) -> None:
    """Fail on any nvcc error or warning (skipped silently without nvcc)."""
    if not HAVE_NVCC or source in _checked:
        return
    ok, log = cuda.compile_ptx(source, arch="sm_90")
    _checked.add(source)
    assert ok, f"nvcc -ptx failed or warned:\n{log}\n--- source ---\n{source[-3000:]}"


@pytest.fixture(autouse=True)
def sim_env(monkeypatch):
    """Select the simulator; afterwards put every newly loaded module through nvcc."""
    monkeypatch.setenv("TRACEJIT_CUDA_SIM", "1")
    yield
    for source in list(sim_runtime()._modules):
        nvcc_check(source)


@pytest.fixture(scope="module")
def sim():
    return sim_runtime()


# -- tests of the selection logic and the emitter API ----------------------------------------
def test_selection_and_clear_error():
    code = (
        "import os, sys\n"
        "os.environ.pop('TRACEJIT_CUDA_SIM', None)\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from conftest import load_codegen\n"
        "cg = load_codegen()\n"
        "from importlib import import_module\n"
        "cuda = import_module(cg.__name__ + '.cuda')\n"
        "assert 'pycuda' not in sys.modules, 'pycuda imported at package import'\n"
        "assert not cuda.is_available() and cuda.device_count() == 0\n"
        "try:\n"
        "    cuda.get_runtime()\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
        "os.environ['TRACEJIT_CUDA_SIM'] = '1'\n"
        "assert cuda.is_available() and cuda.device_count() == 1\n"
        "assert cuda.get_runtime().name == 'sim'\n"
    )
    try:
        import pycuda.driver  # noqa: F401
        pytest.skip("pycuda is installed: the no-driver path cannot be exercised")
    except Exception:
        pass
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), timeout=120)
    assert res.returncode == 0, res.stderr
    assert "no NVIDIA driver (libcuda) found; set TRACEJIT_CUDA_SIM=1" in res.stdout


def test_env_selects_simulator(monkeypatch):
    assert cuda.sim_requested() and cuda.is_available()
    assert cuda.get_runtime().name == "sim"
    monkeypatch.setenv("TRACEJIT_CUDA_SIM", "0")
    assert not cuda.sim_requested()
    with pytest.raises(ValueError):
        cuda.get_runtime("opencl")


def test_symbols_unique_and_module_deduplicates():
    k1 = cg.Kernel("a b", 1, ("f32",), outputs=(cg.Unary("neg", cg.Load(0, "f32")),))
    k2 = cg.Kernel("a b", 1, ("f32",), outputs=(cg.Unary("abs", cg.Load(0, "f32")),))
    syms = {cuda.symbol(k1, ("flat",)), cuda.symbol(k1, ("strided",)),
            cuda.symbol(k2, ("flat",))}
    assert len(syms) == 3 and all(s.startswith("tj_a_b_") for s in syms)
    src = cuda.emit_module([k1, (k1, ("flat",)), (k1, ("strided",)), k2])
    assert src.count('extern "C" __global__') == 3
    assert "cuda_fp16.h" in src and "TJ_NO_FP16" in src  # f16 header only when needed
    half = cg.Kernel("h", 1, ("f16",), outputs=(cg.Load(0, "f16"),))
    assert "#define TJ_NO_FP16" not in cuda.emit_module([half])
    with pytest.raises(ValueError):
        cuda.emit_module([(k1, ("diagonal",))])
    with pytest.raises(ValueError):
        cuda.emit_module([])


def test_emitted_structure():
    from kernels import reduce_kernel
    src = cuda.emit_module([reduce_kernel("max", "f32", 2, 1)])
    assert "__shfl_down_sync" in src and "__shared__" in src and "__syncthreads()" in src
    assert "tj_fmax" in src
    k = cg.Kernel("v", 1, ("f32", "f32"), outputs=(
        cg.Binary("add", cg.Load(0, "f32"), cg.Load(1, "f32")),))
    flat = cuda.emit_kernel(k, ("flat", "scalar"))
    assert "float4" in flat and "h1" in flat  # vector path, hoisted scalar
    assert "float4" not in cuda.emit_kernel(k, ("flat", "strided"))
    assert "st1_0" in cuda.emit_kernel(k, ("flat", "strided"))


@pytest.mark.skipif(not HAVE_NVCC, reason="nvcc not installed")
def test_compile_ptx_reports_errors_and_warnings():
    ok, log = cuda.compile_ptx('extern "C" __global__ void k() { int unused_x = 1; }')
    assert not ok and "unused_x" in log
    ok, log = cuda.compile_ptx('extern "C" __global__ void k(float* p) { p[0] = 1.0f; }')
    assert ok, log
