"""Row gathers and scatter-adds on device arrays: index_select, embedding and their gradients.

An array is seen as (outer, n, inner) around the indexed dim; ``take_rows`` copies rows
``idx`` (one CUDA C kernel per element size: it moves bits), ``add_rows`` adds rows into
``idx`` with atomics (repeated indices accumulate, as numpy's ``add.at``).  Negative indices
count from the end, as numpy's; callers check the range first (``index_range``) so a bad
index is an error on the host, never an out-of-bounds access.
"""
from __future__ import annotations

import math

import numpy as np
from tracejit.codegen.cuda import DeviceArray

from .cuda_conv import contiguous, fill

__all__ = ["add_rows", "take_rows"]

_BLOCK = 256
_BITS = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long"}
_FLOATS = {np.dtype(np.float32): ("f32", "float"), np.dtype(np.float64): ("f64", "double")}
_LOOP = ("for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; "
         "i += (long long)blockDim.x * gridDim.x)")


def _source() -> str:
    parts = []
    for nbytes, t in _BITS.items():
        parts.append(f"""
extern "C" __global__ void tj_take_rows_{nbytes}(const {t}* __restrict__ src,
    const long long* __restrict__ idx, {t}* __restrict__ dst, long long total, long long n,
    long long m, long long inner) {{
  {_LOOP} {{
    const long long k = i % inner, r = (i / inner) % m, o = i / (inner * m);
    long long j = idx[r];
    j = j < 0 ? j + n : j;
    dst[i] = src[(o * n + j) * inner + k];
  }}
}}
""")
    for tag, t in _FLOATS.values():
        parts.append(f"""
extern "C" __global__ void tj_add_rows_{tag}(const {t}* __restrict__ g,
    const long long* __restrict__ idx, {t}* __restrict__ out, long long total, long long n,
    long long m, long long inner) {{
  {_LOOP} {{
    const long long k = i % inner, r = (i / inner) % m, o = i / (inner * m);
    long long j = idx[r];
    j = j < 0 ? j + n : j;
    atomicAdd(out + (o * n + j) * inner + k, g[i]);
  }}
}}
""")
    return "".join(parts)


def _launch(name: str, like: DeviceArray, total: int, args: list) -> None:
    if total == 0:
        return
    rt = like.runtime
    blocks = max(1, min(math.ceil(total / _BLOCK), rt.limits.max_grid))
    rt.launch(rt.load_module(_source()), name, (blocks,), (_BLOCK,), args)


def take_rows(src: DeviceArray, idx: DeviceArray, outer: int, n: int, inner: int) -> DeviceArray:
    """src seen as (outer, n, inner): rows ``idx`` (int64, in [-n, n)), as (outer, m, inner)."""
    src, idx = contiguous(src), contiguous(idx)
    m = idx.size
    out = DeviceArray.empty((outer, m, inner), src.dtype, src.runtime)
    _launch(f"tj_take_rows_{src.dtype.itemsize}", src, out.size,
            [src.ptr, idx.ptr, out.ptr, out.size, n, m, inner])
    return out


def add_rows(g: DeviceArray, idx: DeviceArray, outer: int, n: int, inner: int) -> DeviceArray:
    """Zeros (outer, n, inner) with g (outer, m, inner) added at rows ``idx`` (float only)."""
    g, idx = contiguous(g), contiguous(idx)
    if g.dtype not in _FLOATS:
        raise TypeError(f"add_rows: float32/float64 only, got {g.dtype}")
    out = DeviceArray.empty((outer, n, inner), g.dtype, g.runtime)
    fill(out, 0)
    _launch(f"tj_add_rows_{_FLOATS[g.dtype][0]}", g, g.size,
            [g.ptr, idx.ptr, out.ptr, g.size, n, idx.size, inner])
    return out


def supported_float(dtype: np.dtype) -> bool:
    return np.dtype(dtype) in _FLOATS
