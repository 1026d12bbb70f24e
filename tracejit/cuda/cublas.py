"""Matmul/bmm through cuBLAS, loaded with ctypes from the CUDA toolkit (real GPUs only).

libcublas is looked up in ``$CUDA_HOME/lib64``, ``$CUDA_PATH/lib64``,
``/usr/local/cuda/lib64``, then the loader's default path (``libcublas.so``).  Only the
pycuda runtime uses it: the simulator's "device" memory is host memory, where the host
fallback (numpy's BLAS) is the same computation.  Row-major C = A @ B is computed as the
column-major C^T = B^T A^T, so no transposes are materialised.
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..codegen.cuda import get_runtime
from .array import CudaArray

_lib: dict = {}


def find_cublas() -> str | None:
    """Path of libcublas.so under the CUDA toolkit, or None."""
    for env in ("CUDA_HOME", "CUDA_PATH"):
        root = os.environ.get(env)
        if root:
            for p in sorted(Path(root, "lib64").glob("libcublas.so*")):
                return str(p)
    for p in sorted(Path("/usr/local/cuda/lib64").glob("libcublas.so*")):
        return str(p)
    return "libcublas.so"


def _handle() -> Any:
    if "h" not in _lib:
        lib = ctypes.CDLL(find_cublas())
        h = ctypes.c_void_p()
        if lib.cublasCreate_v2(ctypes.byref(h)) != 0:
            raise RuntimeError("cublasCreate failed")
        _lib["lib"], _lib["h"] = lib, h
    return _lib["lib"], _lib["h"]


def try_matmul(op: Any, datas: list, params: dict) -> CudaArray | None:
    """A @ B (2-D or batched 3-D, float32/float64) via cuBLAS; None to use the fallback."""
    if get_runtime().name != "pycuda" or op.name not in ("mm", "bmm", "matmul") or params:
        return None
    a, b = datas[:2]
    if len(datas) != 2 or type(a) is not CudaArray or type(b) is not CudaArray:
        return None
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        return None
    if a.ndim != b.ndim or a.ndim not in (2, 3) or a.shape[:-2] != b.shape[:-2]:
        return None
    if not (a.flags.c_contiguous and b.flags.c_contiguous):
        from .kernels import copy_array

        a, b = copy_array(a), copy_array(b)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if b.shape[-2] != k:
        return None
    batch = a.shape[0] if a.ndim == 3 else 1
    out = CudaArray.empty(a.shape[:-2] + (m, n), a.dtype)
    if out.size == 0 or k == 0:
        return None
    lib, h = _handle()
    f64 = a.dtype == np.float64
    ct = ctypes.c_double if f64 else ctypes.c_float
    one, zero = ct(1.0), ct(0.0)
    fn = lib.cublasDgemmStridedBatched if f64 else lib.cublasSgemmStridedBatched
    ll = ctypes.c_longlong
    rc = fn(h, 0, 0, n, m, k, ctypes.byref(one), ctypes.c_void_p(b.dev.ptr), n, ll(k * n),
            ctypes.c_void_p(a.dev.ptr), k, ll(m * k), ctypes.byref(zero),
            ctypes.c_void_p(out.dev.ptr), n, ll(m * n), batch)
    if rc != 0:
        raise RuntimeError(f"cuBLAS gemm failed with status {rc}")
    return out
