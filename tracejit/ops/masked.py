"""Masks: masked_fill, masked_select, masked_scatter and nonzero (data-dependent shapes
raise under the JIT's trace)."""
from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from ..dispatch import Op, apply, apply_inplace
from ..tensor import Tensor
from ._util import (
    grad_for,
    is_scalar,
    method,
)
from .index import _check_writeable, index_backward_op
from .shape import expand, reshape

# ---------------------------------------------------------------------------------------------
# masks


def _masked_fill_impl(x: np.ndarray, mask: np.ndarray, value: Any) -> np.ndarray:
    return np.where(mask, np.asarray(value).astype(x.dtype), x)


def _masked_fill_t_impl(x: np.ndarray, mask: np.ndarray, value: np.ndarray) -> np.ndarray:
    return np.where(mask, value.astype(x.dtype), x)


def _masked_fill_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    from .elementwise import where

    x, mask = ins[0], ins[1]
    gx = grad_for(where(mask, 0.0, g), x) if x._rg else None
    if len(ins) == 2:
        return gx, None
    v = ins[2]
    gv = grad_for(where(mask, g, 0.0).sum(), v) if v._rg else None
    return gx, None, gv


masked_fill_op = Op("masked_fill", _masked_fill_impl, _masked_fill_vjp, "MaskedFillBackward0",
                    group="library")
masked_fill_t_op = Op("masked_fill", _masked_fill_t_impl, _masked_fill_vjp,
                      "MaskedFillBackward1", group="library")


def _masked_fill_args(mask: Tensor, value: Any) -> tuple:
    if mask._data.dtype.kind != "b":
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype.name}"
            .replace("float32", "float").replace("float64", "double")
        )
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        return masked_fill_t_op, (value,), {}
    if not is_scalar(value):
        raise TypeError(f"masked_fill(): value must be a number, got {type(value).__name__}")
    return masked_fill_op, (), {"value": value}


@method("masked_fill")
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:  # noqa: A002
    """input with ``value`` where mask is True (mask and input broadcast)."""
    op, extra, p = _masked_fill_args(mask, value)
    return apply(op, (input, mask, *extra), p)


@method("masked_fill_")
def masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    """In place masked_fill; the mask broadcasts to self."""
    op, extra, p = _masked_fill_args(mask, value)
    _check_writeable(self)
    return apply_inplace(op, self, (mask, *extra), p)


def _masked_select_impl(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return np.broadcast_to(x, shape)[np.broadcast_to(mask, shape)]


def _masked_select_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, mask = ins
    shape = np.broadcast_shapes(x._data.shape, mask._data.shape)
    if mask._data.shape != shape:
        mask = expand(mask, shape)
    gx = apply(index_backward_op, (g, mask), {"index": ("adv", (), (("t", 0),)), "shape": shape})
    return grad_for(gx, x), None


masked_select_op = Op("masked_select", _masked_select_impl, _masked_select_vjp,
                      "MaskedSelectBackward0", group="library")


@method("masked_select")
def masked_select(input: Tensor, mask: Tensor) -> Tensor:  # noqa: A002
    """The elements where mask is True, as a 1-D copy (mask and input broadcast)."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    return apply(masked_select_op, (input, mask))


def _nonzero_impl(x: np.ndarray) -> np.ndarray:
    return np.argwhere(x).astype(np.int64)


def _nonzero_tuple_impl(x: np.ndarray) -> Any:
    res = tuple(i.astype(np.int64) for i in np.nonzero(x))
    return res if len(res) > 1 else res[0]


nonzero_op = Op("nonzero", _nonzero_impl, group="library")


@cache
def _nonzero_tuple_op(n: int) -> Op:
    return Op("nonzero_tuple", _nonzero_tuple_impl, nout=n, group="library")


@method("nonzero")
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:  # noqa: A002
    """Indices of the non-zero elements: (n, ndim), or a tuple of ndim 1-D tensors."""
    if not as_tuple:
        return apply(nonzero_op, (input,))
    x = input if input._data.ndim else reshape(input, 1)
    n = x._data.ndim
    res = apply(_nonzero_tuple_op(n), (x,))
    return res if n > 1 else (res,)


@method("argwhere")
def argwhere(input: Tensor) -> Tensor:  # noqa: A002
    """nonzero(input): the (n, ndim) indices of non-zero elements."""
    return nonzero(input)


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
