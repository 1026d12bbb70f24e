"""nll_loss and its gradient on cuda (``kernels/cuda_nll.py``), the heart of cross_entropy.

Targets are range-checked on the device (one min/max): a bad target sends the op to the host,
whose kernel raises PyTorch's IndexError.
"""
from __future__ import annotations

import math

from ...codegen.cuda.array import contiguous_strides
from ...kernels import cuda_nll
from ..array import CudaArray

_MODES = {"none": 0, "sum": 1, "mean": 2}


def _dims(shape: tuple) -> tuple[int, int, int]:
    """(N, C, inner) of an input with the class dim second (or the only dim)."""
    if len(shape) == 1:
        return 1, shape[0], 1
    return shape[0], shape[1], math.prod(shape[2:])


def _run(op_name: str, args: list, params: dict) -> CudaArray:
    from ...ops.elementwise import BINARY_OPS
    from ...ops.reduce import amax_op, amin_op, sum_dim_op
    from .. import ops

    table = {"sum": sum_dim_op, "amin": amin_op, "amax": amax_op, "div": BINARY_OPS["div"]}
    return ops.run_op(table[op_name], args, params)


def _terms(datas: list, params: dict, x_shape: tuple, with_x: bool) -> tuple | None:
    """(loss terms, weights) as CudaArrays, or None for the host path (bad or host inputs)."""
    if not all(type(d) is CudaArray for d in datas):
        return None
    x, t = datas[0], datas[1]
    w = datas[2] if len(datas) > 2 else None
    if not cuda_nll.supported(x.dev, t.dev) or (w is not None and w.dtype != x.dtype):
        return None
    n, c, inner = _dims(x_shape)
    loss, ws, safe = cuda_nll.nll_terms(x.dev if with_x else None, t.dev,
                                        w.dev if w is not None else None, x.dtype, n, c,
                                        inner, params["ignore_index"])
    if safe.size:
        flat = {"dim": (0,), "keepdim": False}
        lo = _run("amin", [CudaArray(safe)], flat).item()
        hi = _run("amax", [CudaArray(safe)], flat).item()
        if lo < 0 or hi >= c:
            return None
    return CudaArray(loss), CudaArray(ws)


def nll_loss(datas: list, params: dict) -> CudaArray | None:
    x, t = datas[0], datas[1]
    parts = _terms(datas, params, tuple(x.shape), True)
    if parts is None:
        return None
    loss, ws = parts
    red = params["reduction"]
    if red == "none":
        shape = tuple(t.shape) if x.ndim > 1 else ()
        return CudaArray(loss.dev.view(shape, contiguous_strides(shape)))
    total = _run("sum", [loss], {"dim": (0,), "keepdim": False})
    if red == "sum":
        return total
    return _run("div", [total, _run("sum", [ws], {"dim": (0,), "keepdim": False})], {})


def nll_loss_backward(datas: list, params: dict) -> CudaArray | None:
    g, t = datas[0], datas[1]
    shape = tuple(params["shape"])
    w = datas[2] if len(datas) > 2 else None
    if type(g) is not CudaArray:
        return None
    mode = _MODES[params["reduction"]]
    wsum = None
    if mode == 2:
        parts = _terms([g, t] + ([w] if w is not None else []), params, shape, False)
        if parts is None:
            return None
        wsum = _run("sum", [parts[1]], {"dim": (0,), "keepdim": False}).dev
    elif not all(type(d) is CudaArray for d in datas) or not cuda_nll.supported(g.dev, t.dev):
        return None
    n, c, inner = _dims(shape)
    return CudaArray(cuda_nll.nll_grad(g.dev, t.dev, w.dev if w is not None else None, wsum,
                                       mode, shape, n, c, inner, params["ignore_index"]))


OPS = {"nll_loss": nll_loss, "nll_loss2d": nll_loss, "nll_loss_backward": nll_loss_backward}
