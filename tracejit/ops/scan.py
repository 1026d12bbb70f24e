"""Scans: cumsum, cumprod, cummax and cummin along one dim, with their gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dispatch import Op, apply, apply_inplace
from ..tensor import Tensor
from ._util import grad_for, method
from .reduce import _dtype_name, _nograd_if_int, _one_dim, cummax_rt, cummin_rt

# ---------------------------------------------------------------------------------------------
# cumsum, cumprod, cummax, cummin

def _cum_dtype(x: np.ndarray, dtype: str | None) -> Any:
    if dtype is not None:
        return np.dtype(dtype)
    return np.int64 if x.dtype.kind in "biu" else x.dtype


def _cumsum_impl(x: np.ndarray, dim: int, dtype: str | None = None) -> np.ndarray:
    dt = _cum_dtype(x, dtype)
    if x.ndim == 0:
        return x.astype(dt)
    return np.cumsum(x, axis=dim, dtype=dt)


def _cumprod_impl(x: np.ndarray, dim: int, dtype: str | None = None) -> np.ndarray:
    dt = _cum_dtype(x, dtype)
    if x.ndim == 0:
        return x.astype(dt)
    return np.cumprod(x, axis=dim, dtype=dt)


def _rev_cumsum(g: Tensor, d: int) -> Tensor:
    return g.flip(d).cumsum(d).flip(d)


def _cumsum_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    x = ins[0]
    if x._data.ndim == 0:
        return grad_for(g, x)
    return grad_for(_rev_cumsum(g, p["dim"]), x)


def _cumprod_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    """Exact with zeros: positions before the first zero use out/x, the first zero the
    product of the others (a cumprod with it replaced by one), later positions get zero."""
    from .elementwise import where

    x = ins[0]
    if x._data.ndim == 0:
        return grad_for(g, x)
    d = p["dim"]
    zero = x == 0
    zc = zero.cumsum(d)
    before = zc == 0
    first = zero & (zc == 1)
    a = _rev_cumsum(g * out, d) / where(before, x, 1.0)
    out1 = where(first, 1.0, x).cumprod(d)
    b = _rev_cumsum(g * out1, d)
    return grad_for(where(before, a, where(first, b, 0.0)), x)


cumsum_op = Op("cumsum", _cumsum_impl, _cumsum_vjp, "CumsumBackward0", group="library")
cumprod_op = Op("cumprod", _cumprod_impl, _cumprod_vjp, "CumprodBackward0", save="io",
                group="library")


def _cum(op: Op, input: Tensor, dim: Any, dtype: Any) -> Tensor:
    params: dict = {"dim": _one_dim(input, dim)}
    if dtype is not None:
        params["dtype"] = _dtype_name(dtype)
        with _nograd_if_int(params["dtype"]):
            return apply(op, (input,), params)
    return apply(op, (input,), params)


@method("cumsum")
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """Running sum along dim; integers and bools accumulate in int64."""
    return _cum(cumsum_op, input, dim, dtype)


@method("cumprod")
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """Running product along dim; the gradient is exact with zeros in the input."""
    return _cum(cumprod_op, input, dim, dtype)


@method("cumsum_")
def _cumsum_(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return apply_inplace(cumsum_op, self, (), {"dim": _one_dim(self, dim)})


@method("cumprod_")
def _cumprod_(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return apply_inplace(cumprod_op, self, (), {"dim": _one_dim(self, dim)})


def _cumext_impl(x: np.ndarray, dim: int, is_max: bool) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    xm = np.moveaxis(x, dim, -1)
    n = xm.shape[-1]
    vals = np.empty_like(xm)
    idx = np.empty(xm.shape, np.int64)
    if n:
        vals[..., 0], idx[..., 0] = xm[..., 0], 0
        for i in range(1, n):
            prev, cur = vals[..., i - 1], xm[..., i]
            # PyTorch: ties move the index forward; NaN sticks once seen
            take = (cur >= prev) if is_max else (cur <= prev)
            if xm.dtype.kind == "f":
                take = (take | np.isnan(cur)) & ~np.isnan(prev)
            vals[..., i] = np.where(take, cur, prev)
            idx[..., i] = np.where(take, i, idx[..., i - 1])
    return np.moveaxis(vals, -1, dim), np.moveaxis(idx, -1, dim)


def _cumext_vjp(g: Any, ins: Any, out: Any, p: dict) -> Tensor:
    from .creation import zeros

    x = ins[0]
    if x._data.ndim == 0:
        return grad_for(g[0], x)
    return zeros(tuple(x._data.shape), dtype=g[0].dtype,
                 device=g[0].device).scatter_add(p["dim"], out[1], g[0])


cummax_op = Op("cummax", lambda x, dim: _cumext_impl(x, dim, True), _cumext_vjp,
               "CummaxBackward0", save="o", nout=2, group="library", diff_outs=(0,))
cummin_op = Op("cummin", lambda x, dim: _cumext_impl(x, dim, False), _cumext_vjp,
               "CumminBackward0", save="o", nout=2, group="library", diff_outs=(0,))


@method("cummax")
def cummax(input: Tensor, dim: int) -> Any:  # noqa: A002
    """Running maximum and its index along dim."""
    return cummax_rt(*apply(cummax_op, (input,), {"dim": _one_dim(input, dim)}))


@method("cummin")
def cummin(input: Tensor, dim: int) -> Any:  # noqa: A002
    """Running minimum and its index along dim."""
    return cummin_rt(*apply(cummin_op, (input,), {"dim": _one_dim(input, dim)}))


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
