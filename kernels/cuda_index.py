"""Gathers and scatter-adds on device arrays: index_select, embedding, gather, and gradients.

An array is seen as (outer, n, inner) around the indexed dim; ``take_rows`` copies rows
``idx`` (one CUDA C kernel per element size: it moves bits), ``add_rows`` adds rows into
``idx`` with atomics (repeated indices accumulate, as numpy's ``add.at``).  ``take_at`` and
``add_at`` do the same with one index per position (gather and its scatter-add).  Indices must lie
in [0, n): callers check the range on the device first, so a bad index becomes the host
path's IndexError, never an out-of-bounds access.
"""
from __future__ import annotations

import numpy as np
from tracejit.codegen.cuda import DeviceArray

from .cuda_launch import contiguous, fill, launch_1d

__all__ = ["add_at", "add_rows", "take_at", "take_rows"]

_BITS = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long"}
_FLOATS = {np.dtype(np.float32): ("f32", "float"), np.dtype(np.float64): ("f64", "double")}
_LOOP = ("for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; "
         "i += (long long)blockDim.x * gridDim.x)")


_ROW = r"""
#ifndef TJ_ROW_AT
/* element i of (outer, m, inner) -> its position in (outer, n, inner) through idx */
#define TJ_ROW_AT(i) (((i) / (inner * m) * n + idx[((i) / inner) % m]) * inner + (i) % inner)
/* the same with one index per element of (outer, m, inner) */
#define TJ_POS_AT(i) (((i) / (inner * m) * n + idx[i]) * inner + (i) % inner)
#endif
"""


def _kernel(name: str, src: str, dst: str, body: str) -> str:
    return f"""
extern "C" __global__ void {name}(const {src}* __restrict__ a,
    const long long* __restrict__ idx, {dst}* __restrict__ b, long long total, long long n,
    long long m, long long inner) {{
  {_LOOP} {{ {body} }}
}}
"""


def _source() -> str:
    parts = [_ROW]
    parts += [_kernel(f"tj_take_rows_{nb}", t, t, "b[i] = a[TJ_ROW_AT(i)];")
              for nb, t in _BITS.items()]
    parts += [_kernel(f"tj_add_rows_{tag}", t, t, "atomicAdd(b + TJ_ROW_AT(i), a[i]);")
              for tag, t in _FLOATS.values()]
    parts += [_kernel(f"tj_take_at_{nb}", t, t, "b[i] = a[TJ_POS_AT(i)];")
              for nb, t in _BITS.items()]
    parts += [_kernel(f"tj_add_at_{tag}", t, t, "atomicAdd(b + TJ_POS_AT(i), a[i]);")
              for tag, t in _FLOATS.values()]
    return "".join(parts)


def _launch(name: str, like: DeviceArray, total: int, args: list) -> None:
    launch_1d(like.runtime, _source(), name, total, args)


def _take(kind: str, src: DeviceArray, idx: DeviceArray, out_shape: tuple, n: int, m: int,
          inner: int) -> DeviceArray:
    src, idx = contiguous(src), contiguous(idx)
    out = DeviceArray.empty(out_shape, src.dtype, src.runtime)
    _launch(f"tj_take_{kind}_{src.dtype.itemsize}", src, out.size,
            [src.ptr, idx.ptr, out.ptr, out.size, n, m, inner])
    return out


def _add(kind: str, g: DeviceArray, idx: DeviceArray, outer: int, n: int, m: int,
         inner: int) -> DeviceArray:
    g, idx = contiguous(g), contiguous(idx)
    if g.dtype not in _FLOATS:
        raise TypeError(f"scatter-add: float32/float64 only, got {g.dtype}")
    out = DeviceArray.empty((outer, n, inner), g.dtype, g.runtime)
    fill(out, 0)
    _launch(f"tj_add_{kind}_{_FLOATS[g.dtype][0]}", g, g.size,
            [g.ptr, idx.ptr, out.ptr, g.size, n, m, inner])
    return out


def take_rows(src: DeviceArray, idx: DeviceArray, outer: int, n: int, inner: int) -> DeviceArray:
    """src seen as (outer, n, inner): rows ``idx`` (int64, in [0, n)), as (outer, m, inner)."""
    return _take("rows", src, idx, (outer, idx.size, inner), n, idx.size, inner)


def add_rows(g: DeviceArray, idx: DeviceArray, outer: int, n: int, inner: int) -> DeviceArray:
    """Zeros (outer, n, inner) with g (outer, m, inner) added at rows ``idx`` (float only)."""
    return _add("rows", g, idx, outer, n, idx.size, inner)


def take_at(src: DeviceArray, idx: DeviceArray, outer: int, n: int, inner: int) -> DeviceArray:
    """src (outer, n, inner) read at idx (outer, m, inner) along the middle dim: a gather."""
    return _take("at", src, idx, tuple(idx.shape), n, idx.size // max(outer * inner, 1), inner)


def add_at(g: DeviceArray, idx: DeviceArray, outer: int, n: int, inner: int) -> DeviceArray:
    """Zeros (outer, n, inner) with g (shaped as idx) added at idx: gather's scatter-add."""
    return _add("at", g, idx, outer, n, idx.size // max(outer * inner, 1), inner)


def supported_float(dtype: np.dtype) -> bool:
    return np.dtype(dtype) in _FLOATS
