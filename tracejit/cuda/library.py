"""Library ops on cuda: the device kernels of ``tracejit.kernels`` behind eager dispatch.

matmul/bmm run as one batched GEMM (cuBLAS on a GPU, numpy's BLAS on the simulator's host
memory); convolution and its two gradients run im2col + GEMM (``kernels/cuda_conv.py``);
max/average/adaptive pooling and their gradients run ``kernels/cuda_pool.py``.  Each entry
returns None for what it does not cover (other dtypes, 3-d convolution, ...), and
``ops.run_op`` then uses the host fallback.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import codegen as cg
from ..codegen import cuda as cg_cuda
from ..codegen.cuda import DeviceArray
from ..codegen.cuda.array import contiguous_strides
from ..kernels import cuda_blas, cuda_conv, cuda_copy, cuda_index, cuda_pool
from .array import CudaArray, contiguous_view
from .kernels import copy_array


def _operand(a: DeviceArray) -> tuple[DeviceArray, bool]:
    """(contiguous 3-d array, transposed?) for a 2-d/3-d GEMM operand, copying if needed."""
    if a.ndim == 2:
        a = a.view((1,) + a.shape, (0,) + a.strides)
    b, m, n = a.shape
    if a.is_contiguous or (b == 1 and a.view((m, n), a.strides[1:]).is_contiguous):
        return a.view(a.shape, (m * n, n, 1)), False
    t = a.view((b, n, m), (a.strides[0], a.strides[2], a.strides[1]))
    if t.is_contiguous or (b == 1 and t.view((n, m), t.strides[1:]).is_contiguous):
        return t.view(t.shape, (m * n, m, 1)), True
    return cuda_conv.contiguous(a), False


def matmul(datas: list, params: dict) -> CudaArray | None:
    """Float products of device arrays: 2-d, batched with equal batch dims, or N-d @ 2-d."""
    if params or len(datas) != 2 or not all(type(d) is CudaArray for d in datas):
        return None
    a, b = (d.dev for d in datas)
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64) or b.ndim < 2:
        return None
    if a.ndim < 2 or a.shape[-1] != b.shape[-2]:
        return None
    shape = a.shape[:-1] + (b.shape[-1],)
    if b.ndim == 2 and a.ndim > 2:  # (..., M, K) @ (K, N): one GEMM over all rows
        a = cuda_conv.contiguous(a)
        a = a.view((math.prod(a.shape[:-1]), a.shape[-1]), (a.shape[-1], 1))
    elif a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2]:
        return None
    elif a.ndim > 3:  # equal batch dims: flattened into one
        a, b = (cuda_conv.contiguous(t) for t in (a, b))
        a, b = (_flat_batch(t) for t in (a, b))
    (av, ta), (bv, tb) = _operand(a), _operand(b)
    out = cuda_blas.gemm(av, bv, ta, tb)
    return CudaArray(out.view(shape, contiguous_strides(shape)))


def _flat_batch(t: DeviceArray) -> DeviceArray:
    """A contiguous (..., M, K) array seen as (batch, M, K)."""
    shape = (math.prod(t.shape[:-2]),) + t.shape[-2:]
    return t.view(shape, contiguous_strides(shape))


def _conv_args(params: dict) -> tuple:
    return params["stride"], params["padding"], params["dilation"], params["groups"]


def _devs(datas: list, nd: int) -> list | None:
    if not all(type(d) is CudaArray for d in datas):
        return None
    devs = [d.dev for d in datas]
    return devs if cuda_conv.supported(devs, nd) else None


def convolution(datas: list, params: dict) -> CudaArray | None:
    devs = _devs(datas, datas[0].ndim - 2)
    if devs is None:
        return None
    bias = devs[2] if len(devs) > 2 else None
    return CudaArray(cuda_conv.conv_forward(devs[0], devs[1], bias, *_conv_args(params)))


def convolution_backward_input(datas: list, params: dict) -> CudaArray | None:
    devs = _devs(datas, datas[0].ndim - 2)
    if devs is None:
        return None
    return CudaArray(cuda_conv.conv_backward_input(devs[0], devs[1], params["input_shape"],
                                                   *_conv_args(params)))


def convolution_backward_weight(datas: list, params: dict) -> CudaArray | None:
    devs = _devs(datas, datas[0].ndim - 2)
    if devs is None:
        return None
    return CudaArray(cuda_conv.conv_backward_weight(devs[0], devs[1], params["weight_shape"],
                                                    *_conv_args(params)))


DEVICE_OPS: dict[str, Callable[[list, dict], Any]] = {
    "mm": matmul, "bmm": matmul, "matmul": matmul,
    "convolution": convolution,
    "convolution_backward_input": convolution_backward_input,
    "convolution_backward_weight": convolution_backward_weight,
}


# ---- pooling ---------------------------------------------------------------------------------

def _pool_dev(datas: list, nd: int) -> DeviceArray | None:
    d = datas[0]
    if type(d) is not CudaArray or not cuda_pool.supported(d.dev, nd):
        return None
    return d.dev


def max_pool_indices(datas: list, params: dict) -> CudaArray | None:
    k = params["kernel_size"]
    x = _pool_dev(datas, len(k))
    if x is None:
        return None
    return CudaArray(cuda_pool.max_pool_indices(x, k, params["stride"], params["padding"],
                                                params["dilation"], params["ceil_mode"]))


def max_pool(datas: list, params: dict) -> CudaArray | None:
    x = _pool_dev(datas, params["nd"])
    if x is None or type(datas[1]) is not CudaArray:
        return None
    return CudaArray(cuda_pool.max_pool_gather(x, datas[1].dev, params["nd"]))


def max_pool_backward(datas: list, params: dict) -> CudaArray | None:
    gy = _pool_dev(datas, params["nd"])
    if gy is None or type(datas[1]) is not CudaArray:
        return None
    return CudaArray(cuda_pool.max_pool_backward(gy, datas[1].dev, params["input_shape"],
                                                 params["nd"]))


def _avg_args(params: dict) -> tuple:
    return (params["kernel_size"], params["stride"], params["padding"], params["ceil_mode"],
            params["count_include_pad"], params["divisor_override"])


def avg_pool(datas: list, params: dict) -> CudaArray | None:
    x = _pool_dev(datas, len(params["kernel_size"]))
    return None if x is None else CudaArray(cuda_pool.avg_pool_forward(x, *_avg_args(params)))


def avg_pool_backward(datas: list, params: dict) -> CudaArray | None:
    gy = _pool_dev(datas, len(params["kernel_size"]))
    if gy is None:
        return None
    return CudaArray(cuda_pool.avg_pool_backward(gy, params["input_shape"], *_avg_args(params)))


def adaptive(datas: list, params: dict) -> CudaArray | None:
    out = tuple(params["output_size"])
    x = _pool_dev(datas, len(out))
    if x is None:
        return None
    return CudaArray(cuda_pool.adaptive_avg_pool(x, x.shape[x.ndim - len(out):], out, False))


def adaptive_backward(datas: list, params: dict) -> CudaArray | None:
    size = tuple(params["input_size"])
    g = _pool_dev(datas, len(size))
    if g is None:
        return None
    return CudaArray(cuda_pool.adaptive_avg_pool(g, size, g.shape[g.ndim - len(size):], True))


DEVICE_OPS.update({
    "max_pool2d_indices": max_pool_indices, "max_pool2d": max_pool,
    "max_pool2d_backward": max_pool_backward,
    "avg_pool2d": avg_pool, "avg_pool2d_backward": avg_pool_backward,
    "adaptive_avg_pool2d": adaptive, "adaptive_avg_pool2d_backward": adaptive_backward,
})


# ---- copies into strided destinations: cat, stack, the views' backward, reshape ---------

def _as(a: CudaArray, dtype: Any) -> DeviceArray:
    dt = np.dtype(dtype)
    return a.dev if a.dtype == dt else cuda_conv.contiguous(copy_array(a, dt).dev)


def cat(datas: list, params: dict) -> CudaArray | None:
    if not all(type(d) is CudaArray for d in datas):
        return None
    d, nd, dt = params["dim"], params["nd"], np.dtype(params["dtype"])
    arrs = [a for a in datas if not (a.shape == (0,) and nd != 1)]
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
    from ..ops.shape import _VIEW_OPS
    from . import ops

    g = datas[0]
    if type(g) is not CudaArray:
        return None
    out = CudaArray.empty(params["shape"], g.dtype)
    cuda_conv.fill(out.dev, 0)
    region = ops.view_apply(_VIEW_OPS[params["view"]], [out], dict(params["vp"]))
    if region is None or not cuda_copy.strided_copy(region.dev, g.dev):
        return None
    return out


# ---- addmm and log_softmax: a GEMM / reductions plus one IR epilogue -------------------------

def addmm(datas: list, params: dict) -> CudaArray | None:
    """beta * x + alpha * (m1 @ m2), x broadcast (a Linear layer's bias)."""
    m1, m2, x = datas
    prod = matmul([m1, m2], {})
    if prod is None or type(x) is not CudaArray or x.dtype != prod.dtype:
        return None
    dt = cuda_conv._ir(prod.dtype)
    alpha, beta = params["alpha"], params["beta"]
    a: Any = cg.Load(0, dt)
    b: Any = cg.Load(1, dt)
    if alpha != 1:
        a = cg.Binary("mul", a, cg.Const(alpha, dt))
    if beta != 1:
        b = cg.Binary("mul", b, cg.Const(beta, dt))
    k = cg.Kernel(f"k_addmm_{dt}", 2, (dt, dt), outputs=(cg.Binary("add", a, b),))
    xv = cuda_copy_broadcast(x.dev, prod.shape)
    return CudaArray(cg_cuda.launch(k, [prod.dev, xv], shape=prod.shape)[0])


def cuda_copy_broadcast(a: DeviceArray, shape: tuple) -> DeviceArray:
    """A zero-stride view of ``a`` broadcast to ``shape`` (numpy's rules)."""
    lead = len(shape) - a.ndim
    strides = [0] * lead + [0 if n == 1 and m != 1 else s
                            for n, m, s in zip(a.shape, shape[lead:], a.strides)]
    return a.view(shape, strides)


def log_softmax(datas: list, params: dict) -> CudaArray | None:
    """x - max - log(sum(exp(x - max))) along ``dim``: three kernels, as the JIT fuses it."""
    from ..ops.elementwise import BINARY_OPS, UNARY_OPS
    from ..ops.reduce import amax_op, sum_dim_op
    from . import ops

    x = datas[0]
    if type(x) is not CudaArray or x.ndim == 0 or x.size == 0 or x.dtype.itemsize < 4:
        return None
    d = params["dim"] % x.ndim
    red = {"dim": (d,), "keepdim": True}
    s = ops.run_op(BINARY_OPS["sub"], [x, ops.run_op(amax_op, [x], red)], {})
    total = ops.run_op(sum_dim_op, [ops.run_op(UNARY_OPS["exp"], [s], {})], red)
    return ops.run_op(BINARY_OPS["sub"], [s, ops.run_op(UNARY_OPS["log"], [total], {})], {})


DEVICE_OPS.update({
    "cat": cat, "stack": stack, "reshape_copy": reshape_copy, "addmm": addmm,
    "log_softmax": log_softmax,
})


class _Indexer:
    """A stand-in op for ``ops.view_apply``: numpy basic indexing of the probe."""

    def __init__(self, index: tuple) -> None:
        self.index = index

    def impl(self, probe: np.ndarray) -> np.ndarray:
        return probe[self.index]


def index_put(datas: list, params: dict) -> CudaArray | None:
    """x[basic index] = v (or += v) into a device copy of x: a strided copy or add."""
    from ..ops.elementwise import BINARY_OPS
    from ..ops.index import _build, _is_basic
    from . import ops

    if len(datas) != 2 or type(datas[0]) is not CudaArray or not _is_basic(params["index"]):
        return None
    x = datas[0]
    v = datas[1] if type(datas[1]) is CudaArray else CudaArray.from_numpy(datas[1])
    out = copy_array(x)
    region = ops.view_apply(_Indexer(_build(params["index"])), [out], {})
    if region is None:
        return None
    if params["accumulate"]:
        v = ops.run_op(BINARY_OPS["add"], [region, v], {})
    try:
        ok = cuda_copy.strided_copy(region.dev, _as(v, x.dtype))
    except ValueError:  # not broadcastable: the host path raises PyTorch's error
        return None
    return out if ok else None


DEVICE_OPS["index_put"] = index_put


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


DEVICE_OPS.update({"as_strided": as_strided, "view_scatter": view_scatter})


# ---- row gathers: embedding, index_select and their gradients -----------------------------

def _rows_index(idx: Any, n: int) -> DeviceArray | None:
    """The index as a flat int64 device array, or None if on the host or out of [0, n).

    None sends the op to the host, whose kernel raises PyTorch's IndexError (or, where the
    CPU path accepts negative indices, does what it does there).
    """
    from ..ops.reduce import amax_op, amin_op
    from . import ops

    if type(idx) is not CudaArray or idx.dtype.kind not in "iu":
        return None
    if idx.dtype != np.int64:
        idx = copy_array(idx, np.dtype(np.int64))
    if idx.size:
        every = {"dim": tuple(range(idx.ndim)), "keepdim": False}
        lo = ops.run_op(amin_op, [idx], every).item()
        hi = ops.run_op(amax_op, [idx], every).item()
        if lo < 0 or hi >= n:
            return None
    return cuda_conv.contiguous(idx.dev)


def _split(shape: tuple, dim: int) -> tuple[int, int, int]:
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
        cuda_conv.fill(row, 0)
    return CudaArray(res)


def index_select(datas: list, params: dict) -> CudaArray | None:
    x, idx = datas
    if type(x) is not CudaArray or x.ndim == 0:
        return None
    dim = params["dim"]
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


DEVICE_OPS.update({
    "embedding": embedding, "embedding_dense_backward": embedding_backward,
    "index_select": index_select, "index_add_zeros": index_add_zeros,
})
