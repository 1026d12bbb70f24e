"""Matrix products of device arrays: cuBLAS on a GPU, numpy's BLAS under the simulator.

libcublas is loaded with ctypes from ``$CUDA_HOME/lib64``, ``$CUDA_PATH/lib64``,
``/usr/local/cuda/lib64``, then the loader's default path (``libcublas.so``).  The simulator's
device memory is host memory, so there the same product runs zero-copy through numpy.
Row-major C = op(A) @ op(B) is the column-major C^T = op(B)^T op(A)^T: nothing is transposed
in memory.
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import numpy as np
from tracejit.codegen.cuda import DeviceArray

__all__ = ["find_cublas", "gemm", "host_view"]

_lib: dict = {}
_OP_N, _OP_T = 0, 1


def find_cublas() -> str:
    """Path of libcublas.so under the CUDA toolkit, else the bare name for the loader."""
    for env in ("CUDA_HOME", "CUDA_PATH"):
        root = os.environ.get(env)
        if root:
            for p in sorted(Path(root, "lib64").glob("libcublas.so*")):
                return str(p)
    for p in sorted(Path("/usr/local/cuda/lib64").glob("libcublas.so*")):
        return str(p)
    return "libcublas.so"


def _handle() -> tuple:
    if "h" not in _lib:
        lib = ctypes.CDLL(find_cublas())
        h = ctypes.c_void_p()
        if lib.cublasCreate_v2(ctypes.byref(h)) != 0:
            raise RuntimeError("cublasCreate failed")
        _lib["lib"], _lib["h"] = lib, h
    return _lib["lib"], _lib["h"]


def host_view(a: DeviceArray) -> np.ndarray:
    """The simulator's device array as a numpy view of the same memory (no copy)."""
    if a.runtime.name != "sim":
        raise RuntimeError("host_view is only defined for the simulator's memory")
    if a.size == 0:
        return np.empty(a.shape, a.dtype)
    isz = a.dtype.itemsize
    lo = sum(s * (n - 1) for s, n in zip(a.strides, a.shape) if s < 0)
    hi = sum(s * (n - 1) for s, n in zip(a.strides, a.shape) if s > 0)
    raw = (ctypes.c_char * ((hi - lo + 1) * isz)).from_address(a.ptr + lo * isz)
    base = np.frombuffer(raw, a.dtype)
    return np.lib.stride_tricks.as_strided(base[-lo:], a.shape,
                                           tuple(s * isz for s in a.strides))


def _check(a: DeviceArray, name: str) -> None:
    if a.ndim != 3 or not a.is_contiguous:
        raise ValueError(f"gemm: {name} must be a contiguous (batch, rows, cols) array")


def gemm(a: DeviceArray, b: DeviceArray, trans_a: bool = False, trans_b: bool = False,
         out: DeviceArray | None = None) -> DeviceArray:
    """Batched op(a) @ op(b) of contiguous (batch, rows, cols) float32/float64 arrays."""
    _check(a, "a")
    _check(b, "b")
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        raise TypeError(f"gemm: operands must share float32/float64, got {a.dtype}, {b.dtype}")
    batch = a.shape[0]
    m, k = (a.shape[2], a.shape[1]) if trans_a else a.shape[1:]
    kb, n = (b.shape[2], b.shape[1]) if trans_b else b.shape[1:]
    if b.shape[0] != batch or kb != k:
        raise ValueError(f"gemm: shapes {a.shape}{'^T' * trans_a} and "
                         f"{b.shape}{'^T' * trans_b} do not multiply")
    if out is None:
        out = DeviceArray.empty((batch, m, n), a.dtype, a.runtime)
    if out.size == 0:
        return out
    if k == 0:
        from .cuda_launch import fill

        fill(out, 0.0)
        return out
    if a.runtime.name == "sim":
        av, bv = host_view(a), host_view(b)
        av = av.transpose(0, 2, 1) if trans_a else av
        bv = bv.transpose(0, 2, 1) if trans_b else bv
        np.matmul(av, bv, out=host_view(out))
        return out
    _cublas(a, b, out, trans_a, trans_b, m, n, k, batch)
    return out


def _cublas(a: DeviceArray, b: DeviceArray, out: DeviceArray, trans_a: bool, trans_b: bool,
            m: int, n: int, k: int, batch: int) -> None:
    lib, h = _handle()
    f64 = a.dtype == np.float64
    ct: Any = ctypes.c_double if f64 else ctypes.c_float
    one, zero = ct(1.0), ct(0.0)
    fn = lib.cublasDgemmStridedBatched if f64 else lib.cublasSgemmStridedBatched
    ll = ctypes.c_longlong
    ldb = k if trans_b else n
    lda = m if trans_a else k
    rc = fn(h, _OP_T if trans_b else _OP_N, _OP_T if trans_a else _OP_N, n, m, k,
            ctypes.byref(one), ctypes.c_void_p(b.ptr), ldb, ll(k * n),
            ctypes.c_void_p(a.ptr), lda, ll(m * k), ctypes.byref(zero),
            ctypes.c_void_p(out.ptr), n, ll(m * n), batch)
    if rc != 0:
        raise RuntimeError(f"cuBLAS gemm failed with status {rc}")
