"""Library ops on cuda: the device kernels of ``tracejit.kernels`` behind eager dispatch.

* ``linalg``: matmul/bmm/addmm as one batched GEMM (cuBLAS; numpy's BLAS on the simulator);
* ``conv``: convolution (im2col + GEMM) and max/avg/adaptive pooling, with gradients;
* ``copies``: cat, stack, reshape copies, index assignment, view writes (a strided copy);
* ``rows``: embedding, index_select, gather and ``x[idx]`` with gradients, log_softmax;
* ``losses``: nll_loss and its gradient (cross_entropy's core).

Each entry takes the op's inputs (CudaArrays) and params and returns None for what it does not
cover (other dtypes, 3-d convolution, ...); ``ops.run_op`` then uses the host fallback.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import conv, copies, linalg, losses, rows
from .copies import embed

DEVICE_OPS: dict[str, Callable[[list, dict], Any]] = {
    **linalg.OPS, **conv.OPS, **copies.OPS, **rows.OPS, **losses.OPS}

__all__ = ["DEVICE_OPS", "embed"]
