"""softmax and log_softmax along a dim: max-shifted so large inputs do not overflow.

Both save their output: the backward rules are written in it (y * (g - sum(g * y)) and
g - exp(y) * sum(g)), so they are differentiable again for second derivatives.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import dtypes
from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import cast, method
from .reduce import _one_dim, _torch_name


def _shifted(x: np.ndarray, dim: int) -> np.ndarray:
    m = np.maximum.reduce(x, axis=dim, keepdims=True)
    return x - m


def _softmax_impl(x: np.ndarray, dim: int) -> np.ndarray:
    if x.ndim == 0:
        return _softmax_impl(x.reshape(1), 0).reshape(())
    if x.size == 0:
        return x.copy()
    if x.dtype == np.float16:
        return _softmax_impl(x.astype(np.float32), dim).astype(np.float16)
    e = np.exp(_shifted(x, dim))
    return e / np.sum(e, axis=dim, keepdims=True)


def _log_softmax_impl(x: np.ndarray, dim: int) -> np.ndarray:
    if x.ndim == 0:
        return _log_softmax_impl(x.reshape(1), 0).reshape(())
    if x.size == 0:
        return x.copy()
    if x.dtype == np.float16:
        return _log_softmax_impl(x.astype(np.float32), dim).astype(np.float16)
    s = _shifted(x, dim)
    return s - np.log(np.sum(np.exp(s), axis=dim, keepdims=True))


def _softmax_vjp(g: Tensor, ins: Any, y: Tensor, p: dict) -> Tensor:
    return y * (g - (g * y).sum(p["dim"], keepdim=True))


def _log_softmax_vjp(g: Tensor, ins: Any, y: Tensor, p: dict) -> Tensor:
    return g - y.exp() * g.sum(p["dim"], keepdim=True)


softmax_op = Op("softmax", _softmax_impl, _softmax_vjp, "SoftmaxBackward0", save="o",
                group="library")
log_softmax_op = Op("log_softmax", _log_softmax_impl, _log_softmax_vjp, "LogSoftmaxBackward0",
                    save="o", group="library")


def _prepare(name: str, input: Tensor, dim: Any, dtype: Any) -> tuple[Tensor, int]:  # noqa: A002
    if dim is None:
        # torch.nn.functional's legacy implicit dim
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.", UserWarning, stacklevel=3,
        )
        dim = 0 if input._data.ndim in (0, 1, 3) else 1
    d = _one_dim(input, dim)
    if dtype is not None:
        input = cast(input, dtypes.as_dtype(dtype))
    if input._data.dtype.kind != "f":
        kernel = "softmax_kernel_impl" if name == "softmax" else "log_softmax_lastdim_kernel_impl"
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{_torch_name(input.dtype)}'"
        )
    return input, d


@method("softmax")
def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """exp(x) / sum(exp(x)) along dim; ``dtype`` casts the input first (ToCopyBackward0)."""
    x, d = _prepare("softmax", input, dim, dtype)
    return apply(softmax_op, (x,), {"dim": d})


@method("log_softmax")
def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """x - logsumexp(x) along dim, computed without overflow."""
    x, d = _prepare("log_softmax", input, dim, dtype)
    return apply(log_softmax_op, (x,), {"dim": d})


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
