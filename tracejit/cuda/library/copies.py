"""Writes into strided destinations on cuda: cat, stack, reshape copies, index assignment,
the views' backward (``embed_*``) and CopySlices, all through ``kernels/cuda_copy.py``."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...codegen.cuda import DeviceArray
from ...kernels import cuda_copy, cuda_launch
from ..array import CudaArray, contiguous_view
from ..kernels import copy_array


def _as(a: CudaArray, dtype: Any) -> DeviceArray:
    """``a``'s device array in ``dtype`` (a cast copy when it differs)."""
    dt = np.dtype(dtype)
    return a.dev if a.dtype == dt else copy_array(a, dt).dev


def cat(datas: list, params: dict) -> CudaArray | None:
    from ...ops.join import _legacy_empty

    if not all(type(d) is CudaArray for d in datas):
        return None
    d, nd, dt = params["dim"], params["nd"], np.dtype(params["dtype"])
    arrs = [a for a in datas if not _legacy_empty(a, nd)]
    if not arrs:
        return None
    shape = list(arrs[0].shape)
    shape[d] = sum(a.shape[d] for a in arrs)
    out = CudaArray.empty(tuple(shape), dt)
    off = 0
    st = out.dev.strides
    for a in arrs:
        sub = out.dev.view(a.shape, st, off * st[d])
        if not cuda_copy.strided_copy(sub, _as(a, dt)):
            return None
        off += a.shape[d]
    return out


def stack(datas: list, params: dict) -> CudaArray | None:
    if not all(type(d) is CudaArray for d in datas):
        return None
    d, dt = params["dim"], np.dtype(params["dtype"])
    shape = datas[0].shape[:d] + (len(datas),) + datas[0].shape[d:]
    out = CudaArray.empty(shape, dt)
    st = out.dev.strides
    inner = st[:d] + st[d + 1:]
    for i, a in enumerate(datas):
        if not cuda_copy.strided_copy(out.dev.view(a.shape, inner, i * st[d]), _as(a, dt)):
            return None
    return out


def reshape_copy(datas: list, params: dict) -> CudaArray | None:
    x = datas[0]
    if type(x) is not CudaArray:
        return None
    shape = list(params["shape"])
    if -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        shape[shape.index(-1)] = x.size // known if known else 0
    return contiguous_view(copy_array(x), tuple(shape))


def embed(op: Any, datas: list, params: dict) -> CudaArray | None:
    """embed_<view>: zeros, with the gradient written into the region the view picks."""
    from ...ops.shape import _VIEW_OPS
    from .. import ops

    g = datas[0]
    if type(g) is not CudaArray:
        return None
    out = CudaArray.empty(params["shape"], g.dtype)
    cuda_launch.fill(out.dev, 0)
    region = ops.view_apply(_VIEW_OPS[params["view"]], [out], dict(params["vp"]))
    if region is None or not cuda_copy.strided_copy(region.dev, g.dev):
        return None
    return out


class _Indexer:
    """A stand-in op for ``ops.view_apply``: numpy basic indexing of the probe."""

    def __init__(self, index: tuple) -> None:
        self.index = index

    def impl(self, probe: np.ndarray) -> np.ndarray:
        return probe[self.index]


def basic_view(a: CudaArray, template: tuple) -> CudaArray | None:
    """``a`` indexed by a basic index template (ints, slices, None): a view, or None."""
    from ...ops.index import _build
    from .. import ops

    return ops.view_apply(_Indexer(_build(template)), [a], {})


def index_put(datas: list, params: dict) -> CudaArray | None:
    """x[basic index] = v (or += v) into a device copy of x: a strided copy or add."""
    from ...ops.elementwise import BINARY_OPS
    from ...ops.index import _is_basic
    from .. import ops

    if len(datas) != 2 or type(datas[0]) is not CudaArray or not _is_basic(params["index"]):
        return None
    x = datas[0]
    v = datas[1] if type(datas[1]) is CudaArray else CudaArray.from_numpy(datas[1])
    out = copy_array(x)
    region = basic_view(out, params["index"])
    if region is None:
        return None
    if params["accumulate"]:
        v = ops.run_op(BINARY_OPS["add"], [region, v], {})
    try:
        ok = cuda_copy.strided_copy(region.dev, _as(v, x.dtype))
    except ValueError:  # not broadcastable: the host path raises PyTorch's error
        return None
    return out if ok else None


# ---- CopySlices: in-place ops on views of tensors on the tape --------------------------------

def _strided_region(a: CudaArray, params: dict) -> CudaArray:
    """The (shape, strides, offset) region of contiguous ``a`` (element units)."""
    return a.view(params["shape"], params["strides"], params["offset"])


def as_strided(datas: list, params: dict) -> CudaArray | None:
    x = datas[0]
    if type(x) is not CudaArray:
        return None
    return copy_array(_strided_region(x if x.flags.c_contiguous else copy_array(x), params))


def view_scatter(datas: list, params: dict) -> CudaArray | None:
    x, src = datas
    if type(x) is not CudaArray or type(src) is not CudaArray:
        return None
    out = copy_array(x)
    ok = cuda_copy.strided_copy(_strided_region(out, params).dev, _as(src, x.dtype))
    return out if ok else None


def sum_nothing(datas: list, params: dict) -> CudaArray | None:
    """A sum that reduces no dims (a 0-d input, ``dim=()``): a copy in the result dtype."""
    x = datas[0]
    dims = params.get("dim")
    if type(x) is not CudaArray or not (x.ndim == 0 or dims == ()):
        return None
    if params.get("dtype") is not None:
        dt = np.dtype(params["dtype"])
    else:
        dt = np.dtype(np.int64) if x.dtype.kind in "biu" else x.dtype
    return copy_array(x, dt)


OPS = {"cat": cat, "stack": stack, "reshape_copy": reshape_copy, "index_put": index_put,
       "as_strided": as_strided, "view_scatter": view_scatter, "sum": sum_nothing}
