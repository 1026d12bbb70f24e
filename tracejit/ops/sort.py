"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median.

Each returns PyTorch's (values, indices) named tuple; the gradient of the values scatters back
to the indices. Sorting is always stable, so ties keep their input order (PyTorch's unstable
sort may order tied elements differently); NaN sorts as the largest value, as in PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import grad_for, method
from .reduce import _even_vjp, _one_dim, _return_type, _select_vjp

sort_rt = _return_type("sort")
topk_rt = _return_type("topk")
kthvalue_rt = _return_type("kthvalue")
median_rt = _return_type("median")


def _argsort(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable argsort along dim; descending keeps tied elements in input order too."""
    if not descending:
        return np.argsort(x, axis=dim, kind="stable")
    n = x.shape[dim]
    rev = np.flip(np.argsort(np.flip(x, dim), axis=dim, kind="stable"), dim)
    return (n - 1) - rev


def _sort_impl(x: np.ndarray, dim: int, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    idx = _argsort(x, dim, descending)
    return np.take_along_axis(x, idx, dim), idx.astype(np.int64, copy=False)


def _scatter_vjp(g: Any, ins: Any, out: Any, p: dict) -> Tensor:
    from .creation import zeros

    x = ins[0]
    if x._data.ndim == 0:
        return grad_for(g[0], x)
    return zeros(tuple(x._data.shape), dtype=g[0].dtype,
                 device=g[0].device).scatter(p["dim"], out[1], g[0])


sort_op = Op("sort", _sort_impl, _scatter_vjp, "SortBackward0", save="o", nout=2,
             group="library", diff_outs=(0,))
# PyTorch records its ``sort.stable`` overload (SortBackward1) whenever ``stable`` is passed
sort_stable_op = Op("sort", _sort_impl, _scatter_vjp, "SortBackward1", save="o", nout=2,
                    group="library", diff_outs=(0,))
_UNSET: Any = object()


@method("sort")
def sort(input: Tensor, dim: int = -1, descending: bool = False, *,  # noqa: A002
         stable: bool | None = _UNSET) -> Any:
    """Sorted values and the indices that sort them (stable; NaN last ascending)."""
    d = _one_dim(input, dim)
    op = sort_op if stable is _UNSET else sort_stable_op
    return sort_rt(*apply(op, (input,), {"dim": d, "descending": bool(descending)}))


def _argsort_impl(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    if x.ndim == 0:
        return np.zeros((), np.int64)
    return _argsort(x, dim, descending).astype(np.int64, copy=False)


argsort_op = Op("argsort", _argsort_impl, group="library")


@method("argsort")
def argsort(input: Tensor, dim: int = -1, descending: bool = False,  # noqa: A002
            stable: bool | None = False) -> Tensor:
    """The indices that sort input along dim."""
    d = _one_dim(input, dim)
    return apply(argsort_op, (input,), {"dim": d, "descending": bool(descending)})


@method("msort")
def msort(input: Tensor) -> Tensor:  # noqa: A002
    """Sort along the first dim."""
    return sort(input, 0).values


def _topk_impl(x: np.ndarray, k: int, dim: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    idx = np.take(_argsort(x, dim, largest), np.arange(k), axis=dim)
    return np.take_along_axis(x, idx, dim), idx.astype(np.int64, copy=False)


topk_op = Op("topk", _topk_impl, _scatter_vjp, "TopkBackward0", save="o", nout=2,
             group="library", diff_outs=(0,))


@method("topk")
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,  # noqa: A002
         sorted: bool = True) -> Any:  # noqa: A002
    """The k largest (or smallest) elements along dim, always returned in sorted order."""
    d = _one_dim(input, dim)
    n = input._data.shape[d] if input._data.ndim else 1
    if input._data.dtype == np.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    return topk_rt(*apply(topk_op, (input,), {"k": k, "dim": d, "largest": bool(largest)}))


def _pick_impl(x: np.ndarray, k: int, dim: int, keepdim: bool,
               nan_first: bool) -> tuple[np.ndarray, np.ndarray]:
    """The k-th smallest (0-based) along dim; with nan_first a slice holding NaN picks it."""
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    idx = np.take(_argsort(x, dim, False), [k], axis=dim)
    if nan_first and x.dtype.kind == "f":
        nan = np.isnan(x)
        has = np.any(nan, axis=dim, keepdims=True)
        idx = np.where(has, np.argmax(nan, axis=dim, keepdims=True), idx)
    vals = np.take_along_axis(x, idx, dim)
    if not keepdim:
        idx, vals = np.squeeze(idx, dim), np.squeeze(vals, dim)
    return vals, idx.astype(np.int64, copy=False)


kthvalue_op = Op("kthvalue", _pick_impl, _select_vjp, "KthvalueBackward0", save="o", nout=2,
                 group="library", diff_outs=(0,))
median_dim_op = Op("median_dim", _pick_impl, _select_vjp, "MedianBackward1", save="o", nout=2,
                   group="library", diff_outs=(0,))


@method("kthvalue")
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:  # noqa: A002
    """The k-th smallest element (1-based) along dim and its index."""
    d = _one_dim(input, dim)
    n = input._data.shape[d] if input._data.ndim else 1
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    k = int(k)
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    params = {"k": k - 1, "dim": d, "keepdim": bool(keepdim), "nan_first": False}
    return kthvalue_rt(*apply(kthvalue_op, (input,), params))


def _median_all_impl(x: np.ndarray, dim: tuple, keepdim: bool) -> np.ndarray:
    if x.size == 0:
        return np.asarray(np.nan, x.dtype if x.dtype.kind == "f" else np.float32)
    flat = x.reshape(-1)
    if flat.dtype.kind == "f" and np.isnan(flat).any():
        return np.asarray(np.nan, x.dtype)
    return np.asarray(np.sort(flat, kind="stable")[(flat.size - 1) // 2])


median_all_op = Op("median", _median_all_impl, _even_vjp, "MedianBackward0", save="io",
                   group="library")


@method("median")
def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """The lower median: of all elements (0-d), or (values, indices) along dim. NaN wins."""
    if dim is None:
        params = {"dim": tuple(range(input._data.ndim)), "keepdim": False}
        return apply(median_all_op, (input,), params)
    d = _one_dim(input, dim)
    if input._data.ndim:
        n = input._data.shape[d]
        if n == 0:
            raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    else:
        n = 1
    params = {"k": (n - 1) // 2, "dim": d, "keepdim": bool(keepdim), "nan_first": True}
    return median_rt(*apply(median_dim_op, (input,), params))


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
