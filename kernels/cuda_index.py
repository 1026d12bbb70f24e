"""Row gathers and scatter-adds on device arrays: index_select, embedding and their gradients.

An array is seen as (outer, n, inner) around the indexed dim; ``take_rows`` copies rows
``idx`` (one CUDA C kernel per element size: it moves bits), ``add_rows`` adds rows into
``idx`` with atomics (repeated indices accumulate, as numpy's ``add.at``).  Indices must lie
in [0, n): callers check the range on the device first, so a bad index becomes the host
path's IndexError, never an out-of-bounds access.
"""
from __future__ import annotations

import numpy as np
from tracejit.codegen.cuda import DeviceArray

from .cuda_conv import contiguous, fill
from .cuda_launch import launch_1d

__all__ = ["add_rows", "take_rows"]

_BITS = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long"}
_FLOATS = {np.dtype(np.float32): ("f32", "float"), np.dtype(np.float64): ("f64", "double")}
_LOOP = ("for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; "
         "i += (long long)blockDim.x * gridDim.x)")


_ROW = r"""
#ifndef TJ_ROW_AT
/* element i of (outer, m, inner) -> its position in (outer, n, inner) through idx */
#define TJ_ROW_AT(i) (((i) / (inner * m) * n + idx[((i) / inner) % m]) * inner + (i) % inner)
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
    return "".join(parts)


def _launch(name: str, like: DeviceArray, total: int, args: list) -> None:
    launch_1d(like.runtime, _source(), name, total, args)


def take_rows(src: DeviceArray, idx: DeviceArray, outer: int, n: int, inner: int) -> DeviceArray:
    """src seen as (outer, n, inner): rows ``idx`` (int64, in [0, n)), as (outer, m, inner)."""
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
