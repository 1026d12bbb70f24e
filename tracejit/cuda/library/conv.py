"""Convolution (im2col + GEMM) and pooling on cuda, through ``kernels/cuda_conv.py`` and
``kernels/cuda_pool.py``: 1-d and 2-d, float32/float64; anything else returns None."""
from __future__ import annotations

from ...codegen.cuda import DeviceArray
from ...kernels import cuda_conv, cuda_pool
from ..array import CudaArray


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


OPS = {
    "convolution": convolution,
    "convolution_backward_input": convolution_backward_input,
    "convolution_backward_weight": convolution_backward_weight,
    "max_pool2d_indices": max_pool_indices, "max_pool2d": max_pool,
    "max_pool2d_backward": max_pool_backward,
    "avg_pool2d": avg_pool, "avg_pool2d_backward": avg_pool_backward,
    "adaptive_avg_pool2d": adaptive, "adaptive_avg_pool2d_backward": adaptive_backward,
}
