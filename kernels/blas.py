"""Matrix products through numpy's BLAS, with operands laid out so BLAS is actually used.

numpy's matmul falls back to a slow loop when a matrix is neither row- nor column-major, and
for stacked (3-D+) operands unless each matrix is row-major (measured: a (1, 4096, 144)
transposed operand took 24 ms against 1.4 ms once made contiguous). Copying such operands
first is far cheaper than the loop.
"""
from __future__ import annotations

import ctypes
import glob
import math
import os

import numpy as np

__all__ = ["blas_ready", "matmul", "set_blas_threads"]

# OpenBLAS's threads hurt small products (a 64x512x64 product took 2.2 ms on 2 threads
# against 0.04 ms on one on a busy 2-core machine) and help from a few Mflop (256x128x128:
# 50 us on one thread, 29 us on two, quiet machine). Below this many flops one thread is used.
SMALL_FLOPS = 1 << 22


def _find_setter() -> ctypes._CFuncPtr | None:
    """openblas_set_num_threads of the OpenBLAS numpy is linked against (None if not found)."""
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(libs_dir, "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = None
                return fn
    return None


_setter = _find_setter()
_state = {"max": os.cpu_count() or 1, "now": None}


def set_blas_threads(n: int) -> None:
    """The thread count large products may use (small ones always use one)."""
    _state["max"] = max(1, int(n))
    _state["now"] = None


def _threads_for(flops: int) -> None:
    if _setter is None:
        return
    want = 1 if flops < SMALL_FLOPS else _state["max"]
    if _state["now"] != want:
        _setter(want)
        _state["now"] = want


def blas_ready(x: np.ndarray) -> np.ndarray:
    """x itself when numpy's matmul can hand it to BLAS, else a C-contiguous copy."""
    if x.ndim < 2:
        return x
    item = x.itemsize
    rs, cs = x.strides[-2], x.strides[-1]
    rows, cols = x.shape[-2], x.shape[-1]
    row_major = (cs == item or cols == 1) and (rs >= item * cols or rows == 1)
    if x.ndim == 2:
        col_major = (rs == item or rows == 1) and (cs >= item * rows or cols == 1)
        if row_major or col_major:
            return x
    elif row_major:
        return x
    return np.ascontiguousarray(x)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.matmul on BLAS-ready operands, with as many BLAS threads as the size deserves."""
    if a.ndim >= 1 and b.ndim >= 1:
        k = a.shape[-1]
        m = a.shape[-2] if a.ndim >= 2 else 1
        n = b.shape[-1] if b.ndim >= 2 else 1
        batch = 1 if a.ndim <= 2 and b.ndim <= 2 else \
            math.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        _threads_for(2 * m * n * k * batch)
    return np.matmul(blas_ready(a), blas_ready(b))
