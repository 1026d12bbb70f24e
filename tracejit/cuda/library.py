"""Library ops on cuda: the device kernels of ``tracejit.kernels`` behind eager dispatch.

matmul/bmm run as one batched GEMM (cuBLAS on a GPU, numpy's BLAS on the simulator's host
memory); convolution and its two gradients run im2col + GEMM (``kernels/cuda_conv.py``);
max/average/adaptive pooling and their gradients run ``kernels/cuda_pool.py``.  Each entry
returns None for what it does not cover (other dtypes, 3-d convolution, ...), and
``ops.run_op`` then uses the host fallback.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..codegen.cuda import DeviceArray
from ..kernels import cuda_blas, cuda_conv, cuda_pool
from .array import CudaArray


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
    """2-d and equal-batch 3-d float products of two device arrays."""
    if params or len(datas) != 2 or not all(type(d) is CudaArray for d in datas):
        return None
    a, b = (d.dev for d in datas)
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        return None
    if a.ndim != b.ndim or a.ndim not in (2, 3) or a.shape[:-2] != b.shape[:-2]:
        return None
    if a.shape[-1] != b.shape[-2]:
        return None
    (av, ta), (bv, tb) = _operand(a), _operand(b)
    out = cuda_blas.gemm(av, bv, ta, tb)
    shape = a.shape[:-1] + (b.shape[-1],)
    return CudaArray(out.view(shape, out.strides[-len(shape):]))


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
