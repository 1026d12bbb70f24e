"""Gathers on cuda: embedding, index_select, gather and ``x[idx]`` with their gradients
(``kernels/cuda_index.py``), and log_softmax as reductions and elementwise kernels."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...codegen.cuda import DeviceArray
from ...codegen.cuda.array import contiguous_strides
from ...kernels import cuda_copy, cuda_index, cuda_launch
from ..array import CudaArray
from ..kernels import copy_array
from .copies import basic_view


def _rows_index(idx: Any, n: int, negative: bool = False) -> DeviceArray | None:
    """The index as a flat int64 device array in [0, n), or None for the host path.

    Indices must lie in [0, n), or in [-n, n) with ``negative`` (numpy's indexing, wrapped
    here); otherwise None sends the op to the host, whose kernel raises PyTorch's IndexError.
    """
    from ...ops.elementwise import BINARY_OPS
    from ...ops.reduce import amax_op, amin_op
    from .. import ops

    if type(idx) is not CudaArray or idx.dtype.kind not in "iu":
        return None
    if idx.dtype != np.int64:
        idx = copy_array(idx, np.dtype(np.int64))
    if idx.size:
        every = {"dim": tuple(range(idx.ndim)), "keepdim": False}
        lo = ops.run_op(amin_op, [idx], every).item()
        hi = ops.run_op(amax_op, [idx], every).item()
        if lo < (-n if negative else 0) or hi >= n:
            return None
        if lo < 0:
            idx = ops.run_op(BINARY_OPS["remainder"], [idx, np.asarray(n, np.int64)], {})
    return cuda_launch.contiguous(idx.dev)


def _split(shape: tuple, dim: int) -> tuple[int, int, int]:
    dim %= len(shape)
    return math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])


def embedding(datas: list, params: dict) -> CudaArray | None:
    w, idx = datas
    if type(w) is not CudaArray or w.ndim != 2:
        return None
    flat = _rows_index(idx, w.shape[0])
    if flat is None:
        return None
    out = cuda_index.take_rows(w.dev, flat, 1, w.shape[0], w.shape[1])
    return CudaArray(out.view(idx.shape + (w.shape[1],),
                              contiguous_strides(idx.shape + (w.shape[1],))))


def embedding_backward(datas: list, params: dict) -> CudaArray | None:
    g, idx = datas
    n = params["num_weights"]
    if type(g) is not CudaArray or not cuda_index.supported_float(g.dtype):
        return None
    flat = _rows_index(idx, n)
    if flat is None:
        return None
    d = math.prod(g.shape[idx.ndim:])
    out = cuda_index.add_rows(g.dev, flat, 1, n, d)
    shape = (n,) + tuple(g.shape[idx.ndim:])
    res = out.view(shape, contiguous_strides(shape))
    p = params["padding_idx"]
    if p >= 0:
        row = res.view((d,), (1,), p * d)
        cuda_launch.fill(row, 0)
    return CudaArray(res)


def index_select(datas: list, params: dict) -> CudaArray | None:
    x, idx = datas
    if type(x) is not CudaArray or x.ndim == 0:
        return None
    dim = params["dim"] % x.ndim
    outer, n, inner = _split(x.shape, dim)
    flat = _rows_index(idx, n)
    if flat is None:
        return None
    out = cuda_index.take_rows(x.dev, flat, outer, n, inner)
    shape = x.shape[:dim] + (flat.size,) + x.shape[dim + 1:]
    return CudaArray(out.view(shape, contiguous_strides(shape)))


def index_add_zeros(datas: list, params: dict) -> CudaArray | None:
    g, idx = datas
    shape, dim = tuple(params["shape"]), params["dim"]
    if type(g) is not CudaArray or not shape or not cuda_index.supported_float(g.dtype):
        return None
    outer, n, inner = _split(shape, dim)
    flat = _rows_index(idx, n)
    if flat is None:
        return None
    out = cuda_index.add_rows(g.dev, flat, outer, n, inner)
    return CudaArray(out.view(shape, contiguous_strides(shape)))


def log_softmax(datas: list, params: dict) -> CudaArray | None:
    """x - max - log(sum(exp(x - max))) along ``dim``: three kernels, as the JIT fuses it."""
    from ...ops.elementwise import BINARY_OPS, UNARY_OPS
    from ...ops.reduce import amax_op, sum_dim_op
    from .. import ops

    x = datas[0]
    if type(x) is not CudaArray or x.ndim == 0 or x.size == 0 or x.dtype.itemsize < 4:
        return None
    d = params["dim"] % x.ndim
    red = {"dim": (d,), "keepdim": True}
    s = ops.run_op(BINARY_OPS["sub"], [x, ops.run_op(amax_op, [x], red)], {})
    total = ops.run_op(sum_dim_op, [ops.run_op(UNARY_OPS["exp"], [s], {})], red)
    return ops.run_op(BINARY_OPS["sub"], [s, ops.run_op(UNARY_OPS["log"], [total], {})], {})


def _same_but(a: tuple, b: tuple, dim: int) -> bool:
    return len(a) == len(b) and all(x == y for d, (x, y) in enumerate(zip(a, b)) if d != dim)


def gather(datas: list, params: dict) -> CudaArray | None:
    """x.gather(dim, index) where index matches x outside ``dim`` (else the host)."""
    x, idx = datas
    if type(x) is not CudaArray or x.ndim == 0:
        return None
    dim = params["dim"] % x.ndim
    if not _same_but(x.shape, idx.shape, dim):
        return None
    outer, n, inner = _split(x.shape, dim)
    flat = _rows_index(idx, n)
    if flat is None:
        return None
    out = cuda_index.take_at(x.dev, flat.view(idx.shape, contiguous_strides(idx.shape)),
                             outer, n, inner)
    return CudaArray(out)


def scatter_add_zeros(datas: list, params: dict) -> CudaArray | None:
    """gather's gradient: zeros of ``shape`` with g added at the index."""
    g, idx = datas
    shape = tuple(params["shape"])
    if type(g) is not CudaArray or not shape or not cuda_index.supported_float(g.dtype):
        return None
    dim = params["dim"] % len(shape)
    if not _same_but(shape, idx.shape, dim):
        return None
    outer, n, inner = _split(shape, dim)
    flat = _rows_index(idx, n)
    if flat is None:
        return None
    out = cuda_index.add_at(g.dev, flat.view(idx.shape, contiguous_strides(idx.shape)), outer,
                            n, inner)
    return CudaArray(out.view(shape, contiguous_strides(shape)))


# ---- x[idx]: advanced indexing with one integer tensor (the rest basic) --------------------

def _one_tensor_index(index: tuple, datas: list) -> int | None:
    """The dim (of the basic view) a lone integer index tensor indexes, else None."""
    if len(datas) != 2 or type(datas[1]) is not CudaArray or datas[1].dtype.kind not in "iu":
        return None
    adv = index[2]
    spots = [d for d, it in enumerate(adv) if it is not None]
    if len(spots) != 1 or adv[spots[0]] != ("t", 0):
        return None
    return spots[0]


def _indexed(base: CudaArray, datas: list, params: dict) -> tuple | None:
    """(basic view of ``base``, indexed dim, flat wrapped index, (outer, n, inner)) or None."""
    d = _one_tensor_index(params["index"], datas)
    if d is None:
        return None
    view = basic_view(base, params["index"][1])
    if view is None or d >= view.ndim:
        return None
    dims = _split(view.shape, d)
    flat = _rows_index(datas[1], dims[1], negative=True)
    return None if flat is None else (view, d, flat, dims)


def index(datas: list, params: dict) -> CudaArray | None:
    """x[..., idx, ...] with one integer index tensor: a row gather of the basic view."""
    x = datas[0]
    found = _indexed(x, datas, params) if type(x) is CudaArray else None
    if found is None:
        return None
    view, d, flat, dims = found
    out = cuda_index.take_rows(view.dev, flat, *dims)
    shape = view.shape[:d] + tuple(datas[1].shape) + view.shape[d + 1:]
    return CudaArray(out.view(shape, contiguous_strides(shape)))


def index_backward(datas: list, params: dict) -> CudaArray | None:
    """x[idx]'s gradient: zeros of x's shape, g scatter-added at the indexed rows."""
    g = datas[0]
    if type(g) is not CudaArray or not cuda_index.supported_float(g.dtype):
        return None
    out = CudaArray.empty(tuple(params["shape"]), g.dtype)
    cuda_launch.fill(out.dev, 0)
    found = _indexed(out, datas, params)
    if found is None:
        return None
    region, _, flat, dims = found
    acc = cuda_index.add_rows(g.dev, flat, *dims)
    dense = acc.view(region.shape, contiguous_strides(region.shape))
    return out if cuda_copy.strided_copy(region.dev, dense) else None


OPS = {"embedding": embedding, "embedding_dense_backward": embedding_backward,
       "index_select": index_select, "index_add_zeros": index_add_zeros,
       "log_softmax": log_softmax, "gather": gather, "scatter_add_zeros": scatter_add_zeros,
       "index": index, "index_backward": index_backward}
