"""Matrix products on cuda: one batched GEMM (cuBLAS on a GPU, numpy's BLAS on the simulator).

Transposed operands are passed to the GEMM as transpose flags; a Linear layer's addmm adds
its bias in one IR epilogue kernel.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import codegen as cg
from ...codegen import cuda as cg_cuda
from ...codegen.cuda import DeviceArray
from ...codegen.cuda.array import contiguous_strides
from ...kernels import cuda_blas, cuda_launch
from ..array import CudaArray


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
    return cuda_launch.contiguous(a), False


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
        a = cuda_launch.contiguous(a)
        a = a.view((math.prod(a.shape[:-1]), a.shape[-1]), (a.shape[-1], 1))
    elif a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2]:
        return None
    elif a.ndim > 3:  # equal batch dims: flattened into one
        a, b = (cuda_launch.contiguous(t) for t in (a, b))
        a, b = (_flat_batch(t) for t in (a, b))
    (av, ta), (bv, tb) = _operand(a), _operand(b)
    out = cuda_blas.gemm(av, bv, ta, tb)
    return CudaArray(out.view(shape, contiguous_strides(shape)))


def _flat_batch(t: DeviceArray) -> DeviceArray:
    """A contiguous (..., M, K) array seen as (batch, M, K)."""
    shape = (math.prod(t.shape[:-2]),) + t.shape[-2:]
    return t.view(shape, contiguous_strides(shape))


def addmm(datas: list, params: dict) -> CudaArray | None:
    """beta * x + alpha * (m1 @ m2), x broadcast (a Linear layer's bias)."""
    m1, m2, x = datas
    prod = matmul([m1, m2], {})
    if prod is None or type(x) is not CudaArray or x.dtype != prod.dtype:
        return None
    dt = cuda_launch.IR_DTYPE[prod.dtype]
    alpha, beta = params["alpha"], params["beta"]
    a: Any = cg.Load(0, dt)
    b: Any = cg.Load(1, dt)
    if alpha != 1:
        a = cg.Binary("mul", a, cg.Const(alpha, dt))
    if beta != 1:
        b = cg.Binary("mul", b, cg.Const(beta, dt))
    k = cg.Kernel(f"k_addmm_{dt}", 2, (dt, dt), outputs=(cg.Binary("add", a, b),))
    xv = _broadcast_view(x.dev, prod.shape)
    return CudaArray(cg_cuda.launch(k, [prod.dev, xv], shape=prod.shape)[0])


def _broadcast_view(a: DeviceArray, shape: tuple) -> DeviceArray:
    """A zero-stride view of ``a`` broadcast to ``shape`` (numpy's rules)."""
    lead = len(shape) - a.ndim
    strides = [0] * lead + [0 if n == 1 and m != 1 else s
                            for n, m, s in zip(a.shape, shape[lead:], a.strides)]
    return a.view(shape, strides)


OPS = {"mm": matmul, "bmm": matmul, "matmul": matmul, "addmm": addmm}
