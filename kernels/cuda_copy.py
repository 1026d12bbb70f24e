"""Strided copies between device arrays: the building block of cat, stack and view writes.

A generated IR kernel writes contiguous outputs only; writing into a strided destination
(a slice of a concatenation, a view being assigned to) needs both sides' strides.  One
CUDA C kernel per element size moves elements between any two layouts of up to 8 dims
(after dropping size-1 dims); it copies bits, so callers cast first where dtypes differ.
"""
from __future__ import annotations

import math

import numpy as np
from tracejit.codegen.cuda import DeviceArray

from .cuda_launch import launch_1d

__all__ = ["MAX_DIMS", "strided_copy"]

MAX_DIMS = 8
_TYPES = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long"}


def _source() -> str:
    sizes = ", ".join(f"long long n{d}" for d in range(MAX_DIMS))
    src_st = ", ".join(f"long long a{d}" for d in range(MAX_DIMS))
    dst_st = ", ".join(f"long long b{d}" for d in range(MAX_DIMS))
    arr = ", ".join
    parts = []
    for nbytes, t in _TYPES.items():
        parts.append(f"""
extern "C" __global__ void tj_copy_nd_{nbytes}(const {t}* __restrict__ src,
    {t}* __restrict__ dst, long long total, {sizes}, {src_st}, {dst_st}) {{
  const long long n[{MAX_DIMS}] = {{{arr(f"n{d}" for d in range(MAX_DIMS))}}};
  const long long a[{MAX_DIMS}] = {{{arr(f"a{d}" for d in range(MAX_DIMS))}}};
  const long long b[{MAX_DIMS}] = {{{arr(f"b{d}" for d in range(MAX_DIMS))}}};
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)blockDim.x * gridDim.x) {{
    long long rest = i, s = 0, d = 0;
    for (int k = {MAX_DIMS - 1}; k >= 0; --k) {{
      const long long j = rest % n[k];
      rest /= n[k];
      s += j * a[k];
      d += j * b[k];
    }}
    dst[d] = src[s];
  }}
}}
""")
    return "".join(parts)


def strided_copy(dst: DeviceArray, src: DeviceArray) -> bool:
    """dst[...] = src (same dtype size; src broadcast to dst's shape); False if too many dims."""
    if src.dtype.itemsize != dst.dtype.itemsize or src.dtype.itemsize not in _TYPES:
        raise TypeError(f"strided_copy: {src.dtype} into {dst.dtype}")
    shape = tuple(dst.shape)
    if math.prod(shape) == 0:
        return True
    lead = len(shape) - src.ndim
    if lead < 0:
        raise ValueError(f"strided_copy: cannot broadcast {src.shape} to {shape}")
    sst = []
    for d, n in enumerate(shape):
        k = d - lead
        if k < 0 or src.shape[k] == 1:
            sst.append(0)
        elif src.shape[k] == n:
            sst.append(src.strides[k])
        else:
            raise ValueError(f"strided_copy: cannot broadcast {src.shape} to {shape}")
    dims = [(n, a, b) for n, a, b in zip(shape, sst, dst.strides) if n != 1]
    if len(dims) > MAX_DIMS:
        return False
    dims = [(1, 0, 0)] * (MAX_DIMS - len(dims)) + dims
    total = math.prod(shape)
    args = [src.ptr, dst.ptr, total] + [n for n, _, _ in dims] + [a for _, a, _ in dims] \
        + [b for _, _, b in dims]
    launch_1d(dst.runtime, _source(), f"tj_copy_nd_{src.dtype.itemsize}", total,
              [np.int64(v) for v in args])
    return True
