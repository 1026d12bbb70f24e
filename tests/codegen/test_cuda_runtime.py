"""Runtime layer: compiler invocations, disk cache, allocator, device arrays, simulator
semantics (shuffles, barriers, 2-D blocks), and the pycuda path (``gpu``; skipped here).
"""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_cuda_common import HERE, cuda, nvcc_check, sim, sim_env  # noqa: F401

from kernels import binary, cg, reduce_kernel, unary

rng = np.random.default_rng(14)


@pytest.fixture
def fresh_sim(monkeypatch, tmp_path):
    """A new simulator runtime (empty memory cache) over an empty disk cache."""
    monkeypatch.setenv("TRACEJIT_CACHE_DIR", str(tmp_path))
    rt = cuda.SimRuntime()
    yield rt
    for source in list(rt._modules):
        nvcc_check(source)


def _kernels(tag):
    return [unary(op, "f32") for op in ("exp", "neg", "sqrt")] + [
        binary("add", "f64"), reduce_kernel("sum", "f32", 2, 1),
        cg.Kernel(f"tag_{tag}", 1, ("i32",), outputs=(cg.Load(0, "i32"),))]


# -- compiler invocations and the disk cache ---------------------------------------------------
def test_one_compiler_invocation_per_module(fresh_sim, tmp_path):
    prog = cuda.Program(_kernels("one"), fresh_sim)
    assert fresh_sim.stats["compiler_invocations"] == 1
    assert fresh_sim.stats["compiled"] == 1
    assert len(list((tmp_path / "cuda_sim").glob("*.so"))) == 1
    x = rng.random(100).astype(np.float32)
    np.testing.assert_allclose(prog.run(unary("exp", "f32"), [x])[0], np.exp(x), rtol=1e-6)
    cuda.Program(_kernels("one"), fresh_sim)  # same source: memory hit
    assert fresh_sim.stats["memory_hits"] == 1 and fresh_sim.stats["compiled"] == 1


def test_disk_cache_reload_and_corruption(fresh_sim, tmp_path):
    src = cuda.emit_module(_kernels("disk"))
    fresh_sim.load_module(src)
    (path,) = (tmp_path / "cuda_sim").glob("*.so")
    again = cuda.SimRuntime()
    mod = again.load_module(src)
    assert again.stats["compiler_invocations"] == 0 and again.stats["disk_loads"] == 1
    x = np.arange(5, dtype=np.int32)
    k = _kernels("disk")[-1]
    np.testing.assert_array_equal(cuda.run(k, [x], runtime=again)[0], x)
    assert mod is again.load_module(src)

    def damage(data: bytes) -> None:  # replace the file: never edit a mapped library
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    good = path.read_bytes()
    cases = [good[:-1] + b"X", good[:-5] + b"0000\n",         # trailer broken
             good[:1] + bytes([good[1] ^ 0xFF]) + good[2:],  # payload flipped
             good[:1000], b"garbage"]                        # truncated, not an ELF file
    for i, data in enumerate(cases):
        damage(data)
        rt = cuda.SimRuntime()
        rt.load_module(src)
        assert rt.stats["compiler_invocations"] == 1, i
        assert path.read_bytes() == good, i  # rewritten intact (the build is deterministic)
    # a file with a valid checksum that still does not load (never loaded in this process)
    src2 = cuda.emit_module(_kernels("junk"))
    junk = b"\x7fELF junk"
    path2 = cuda.SimRuntime.cache_path(src2)
    path2.write_bytes(junk + b"\nTJSIM1 " + hashlib.sha256(junk).hexdigest().encode() + b"\n")
    rt = cuda.SimRuntime()
    rt.load_module(src2)
    assert rt.stats["compiler_invocations"] == 1 and path2.read_bytes()[:4] == b"\x7fELF"


def test_second_process_compiles_nothing(tmp_path):
    code = (
        "import json, os, sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from conftest import load_codegen\n"
        "from importlib import import_module\n"
        "cg = load_codegen()\n"
        "cuda = import_module(cg.__name__ + '.cuda')\n"
        "import numpy as np\n"
        "k = cg.Kernel('proc', 1, ('f32',), outputs=(cg.Unary('tanh', cg.Load(0, 'f32')),))\n"
        "x = np.linspace(-2, 2, 50, dtype=np.float32)\n"
        "assert np.allclose(cuda.run(k, [x])[0], np.tanh(x), rtol=1e-6)\n"
        "print(json.dumps(cuda.get_runtime().stats))\n"
    )
    env = dict(os.environ, TRACEJIT_CACHE_DIR=str(tmp_path), TRACEJIT_CUDA_SIM="1")

    def stats(extra=None):
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=dict(env, **(extra or {})), timeout=120)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout.strip().splitlines()[-1])

    assert stats()["compiler_invocations"] == 1
    second = stats()
    assert second["compiler_invocations"] == 0 and second["disk_loads"] == 1
    nocache = tmp_path / "nocache"
    third = stats({"TRACEJIT_CACHE": "0", "TRACEJIT_CACHE_DIR": str(nocache)})
    assert third["compiler_invocations"] == 1 and not nocache.exists()


def test_compile_error_is_reported(fresh_sim):
    with pytest.raises(RuntimeError, match="simulator compile failed"):
        fresh_sim.load_module('extern "C" __global__ void broken(float* p) { p[0] = q; }')


# -- allocator ----------------------------------------------------------------------------------
def test_allocator_reuse_and_accounting(fresh_sim):
    alloc = cuda.CachingAllocator(fresh_sim)
    b1 = alloc.malloc(1000)
    assert b1.size == 1024 and alloc.memory_allocated() == 1024
    p1 = b1.ptr
    b1.free()
    b1.free()  # idempotent
    assert alloc.memory_allocated() == 0 and alloc.memory_reserved() == 1024
    b2 = alloc.malloc(600)  # same 1024-byte class: the cached block comes back
    assert b2.ptr == p1 and alloc.stats == {"hits": 1, "misses": 1}
    b3 = alloc.malloc(100)
    assert b3.ptr != p1 and b3.size == 512
    assert alloc.memory_reserved() == 1536
    del b3  # collected blocks return to the cache too
    assert alloc.memory_allocated() == 1024
    alloc.empty_cache()
    assert alloc.memory_reserved() == 1024 and alloc.memory_allocated() == 1024
    b2.free()
    alloc.empty_cache()
    assert alloc.memory_reserved() == 0 and not fresh_sim._buffers


def test_allocator_retries_after_emptying_cache(fresh_sim):
    alloc = cuda.CachingAllocator(fresh_sim)
    alloc.malloc(5000).free()
    real, calls = fresh_sim.allocate, []

    def flaky(n):
        calls.append(n)
        if len(calls) == 1:
            raise MemoryError("out of memory")
        return real(n)

    fresh_sim.allocate = flaky
    blk = alloc.malloc(100)
    assert len(calls) == 2 and alloc.memory_reserved() == 512 and blk.alive


def test_package_level_memory_api():
    rt = cuda.get_runtime()
    before = cuda.memory_allocated()
    a = cuda.DeviceArray.empty((100,), np.float64)
    assert cuda.memory_allocated() == before + 1024 and a.runtime is rt
    a.free()
    cuda.empty_cache()
    assert cuda.memory_allocated() == before and cuda.memory_reserved() == before
    cuda.synchronize()


# -- device arrays --------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: rng.random((5, 7)), lambda: rng.random((7, 5)).T,
    lambda: np.broadcast_to(rng.random(7).astype(np.float32), (5, 7)),
    lambda: rng.random((6, 8))[::-2, 1::3], lambda: rng.random(10).astype(np.float16),
    lambda: rng.random((3, 4)) > 0.5, lambda: np.zeros((0, 3), np.int8),
    lambda: np.array(3, np.int64)])
def test_device_array_round_trip(sim, make):  # noqa: F811
    a = make()
    d = cuda.DeviceArray.from_numpy(a, sim)
    assert d.shape == a.shape and d.dtype == a.dtype and d.nbytes == a.nbytes
    assert d.strides == tuple(s // a.itemsize for s in a.strides)
    np.testing.assert_array_equal(d.numpy(), a)
    c = cuda.DeviceArray.empty(a.shape, a.dtype, sim)
    if d.is_contiguous:
        c.copy_from(d)
        np.testing.assert_array_equal(c.numpy(), a)


def test_broadcast_upload_is_compact(sim):  # noqa: F811
    big = np.broadcast_to(np.arange(7, dtype=np.float32), (1000, 7))
    d = cuda.DeviceArray.from_numpy(big, sim)
    assert d.block.size == 512 and d.strides == (0, 1)


def test_sim_copies_are_bounds_checked(sim):  # noqa: F811
    a = cuda.DeviceArray.empty((4,), np.float32, sim)
    raw = sim.allocate(16)
    with pytest.raises(ValueError):
        sim.copy_htod(raw + 8, np.zeros(4, np.float32))
    with pytest.raises(ValueError):
        sim.copy_dtoh(np.zeros(8, np.float32), raw)
    sim.free(raw)
    with pytest.raises(ValueError):
        sim.free(raw)
    a.free()


# -- simulator semantics on hand-written CUDA ---------------------------------------------------
SHUFFLE_SRC = r'''
extern "C" __global__ void shuffles(const int* __restrict__ x, int* __restrict__ out) {
  const int t = threadIdx.x + blockDim.x * threadIdx.y;
  const int nt = blockDim.x * blockDim.y;
  const int g = blockIdx.x * nt + t;
  __shared__ int tile[256];
  const int v = x[g];
  out[5 * g + 0] = __shfl_xor_sync(0xffffffffu, v, 1);
  out[5 * g + 1] = __shfl_up_sync(0xffffffffu, v, 3);
  out[5 * g + 2] = __shfl_sync(0xffffffffu, v, 7);
  out[5 * g + 3] = __shfl_down_sync(0xffffffffu, v, 16, 16);
  tile[t] = v;
  __syncthreads();
  out[5 * g + 4] = tile[nt - 1 - t] + (int)blockIdx.x * 0 + (int)gridDim.x * 0;
}
'''


def test_simulated_shuffles_barriers_and_2d_blocks(sim):  # noqa: F811
    nvcc_check(SHUFFLE_SRC)
    mod = sim.load_module(SHUFFLE_SRC)
    blocks, bx, by = 3, 32, 2
    n = blocks * bx * by
    x = rng.integers(0, 1000, n).astype(np.int32)
    dx, dout = cuda.DeviceArray.from_numpy(x, sim), cuda.DeviceArray.empty((n, 5), np.int32, sim)
    sim.launch(mod, "shuffles", (blocks,), (bx, by), [dx, dout])
    out = dout.numpy()
    g = np.arange(n)
    lane = g % 32
    warp0 = g - lane
    np.testing.assert_array_equal(out[:, 0], x[warp0 + (lane ^ 1)])
    np.testing.assert_array_equal(out[:, 1], np.where(lane >= 3, x[g - 3], x))
    np.testing.assert_array_equal(out[:, 2], x[warp0 + 7])
    np.testing.assert_array_equal(out[:, 3], x)  # width 16: lane + 16 leaves the segment
    t = g % 64
    np.testing.assert_array_equal(out[:, 4], x[g - t + 63 - t])


def test_launch_errors(sim):  # noqa: F811
    mod = sim.load_module(SHUFFLE_SRC)
    d = cuda.DeviceArray.empty((64,), np.int32, sim)
    with pytest.raises(TypeError):
        sim.launch(mod, "shuffles", (1,), (32,), [d])
    with pytest.raises(KeyError):
        sim.launch(mod, "nope", (1,), (32,), [d, d])
    with pytest.raises(RuntimeError):
        sim.launch(mod, "shuffles", (1,), (2048,), [d, d])
    with pytest.raises(ValueError):
        sim.launch(mod, "shuffles", (1, 1, 1, 1), (32,), [d, d])


# -- pycuda on a real GPU -------------------------------------------------------------------------
def _gpu():
    if cuda.runtime.pycuda_device_count() == 0:
        pytest.skip("pycuda with an NVIDIA driver and GPU is not available")
    return cuda.get_runtime("pycuda")


@pytest.mark.gpu
def test_gpu_elementwise_and_reduce_match_simulator(sim):  # noqa: F811
    gpu = _gpu()
    x = rng.normal(size=(37, 300)).astype(np.float32)
    for k, args, rtol in [
            (unary("tanh", "f32", 2), [x], 2e-6), (binary("floordiv", "f32", 2), [x, x.T.T], 0),
            (reduce_kernel("sum", "f32", 2, 1), [x], 1e-5),
            (reduce_kernel("max", "f32", 2, 1), [x.T.copy().T], 0)]:
        want = cuda.run(k, args, runtime=sim)[0]
        got = cuda.run(k, args, runtime=gpu)[0]
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6)


@pytest.mark.gpu
def test_gpu_memory_and_module():
    gpu = _gpu()
    a = cuda.DeviceArray.from_numpy(np.arange(1000, dtype=np.float64), gpu)
    b = cuda.DeviceArray.empty((1000,), np.float64, gpu)
    b.copy_from(a)
    gpu.synchronize()
    np.testing.assert_array_equal(b.numpy(), np.arange(1000))
    prog = cuda.Program(_kernels("gpu"), gpu)
    assert gpu.load_module(prog.source) is prog.module
    a.free()
    b.free()
    gpu.allocator.empty_cache()
