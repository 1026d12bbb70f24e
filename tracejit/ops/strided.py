"""In-place ops on views of tensors on the tape (PyTorch's CopySlices).

``y = x * 1; y[:, 0].mul_(3)`` changes y through a view. The base's new value is
``view_scatter(old_base, result)`` and the view becomes ``as_strided(new_base)``, so gradients
flow to both the old base (outside the written region) and the op's inputs (inside it).
A view is described by shape, strides and offset in elements of its C-contiguous base.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dispatch
from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import cast


def _region(a: np.ndarray, shape: tuple, strides: tuple, offset: int) -> np.ndarray:
    flat = a.reshape(-1)
    item = a.dtype.itemsize
    return np.lib.stride_tricks.as_strided(flat[offset:], shape, tuple(s * item for s in strides))


def _as_strided_impl(x: np.ndarray, shape: tuple, strides: tuple, offset: int) -> np.ndarray:
    return np.array(_region(np.ascontiguousarray(x), shape, strides, offset), copy=True)


def _view_scatter_impl(x: np.ndarray, src: np.ndarray, shape: tuple, strides: tuple,
                       offset: int) -> np.ndarray:
    out = np.array(x, copy=True, order="C")
    _region(out, shape, strides, offset)[...] = src
    return out


def _as_strided_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    from .creation import zeros

    base = zeros(*ins[0].shape, dtype=g.dtype, device=g.device)
    return (apply(view_scatter_op, (base, g), p),)


def _view_scatter_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    from .creation import zeros

    gx = gs = None
    if ins[0]._rg:
        gx = apply(view_scatter_op, (g, zeros(*p["shape"], dtype=g.dtype, device=g.device)), p)
    if ins[1]._rg:
        gs = cast(apply(as_strided_op, (g,), p), ins[1].dtype)
    return gx, gs


as_strided_op = Op("as_strided", _as_strided_impl, _as_strided_vjp, "AsStridedBackward0",
                   group="library")
view_scatter_op = Op("view_scatter", _view_scatter_impl, _view_scatter_vjp, "CopySlices",
                     group="library")


def _address(a: Any) -> int:
    """The data address of a numpy array, or the device address of a CudaArray."""
    return a.__array_interface__["data"][0] if type(a) is np.ndarray else a.dev.ptr


def _spec(base: Any, view: Any) -> dict | None:
    if not base.flags.c_contiguous or base.dtype != view.dtype:
        return None
    item = base.dtype.itemsize
    off = _address(view) - _address(base)
    if off % item or any(s % item for s in view.strides):
        return None
    return {"shape": tuple(view.shape), "strides": tuple(s // item for s in view.strides),
            "offset": off // item}


def inplace_on_view(op: Op, view: Tensor, others: tuple, params: dict | None) -> Tensor:
    """Apply ``op`` in place to ``view`` and rewrite the base's history (CopySlices)."""
    base = view._base
    if base.grad_fn is None and base._rg:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place "
            "operation."
        )
    spec = _spec(base._data, view._data)
    if spec is None:
        raise RuntimeError(
            "tracejit supports in-place operations on views of tensors that require grad only "
            "when the base is contiguous; use an out-of-place op (or .clone()) instead"
        )
    v_in = view
    if "i" in op.save:  # the op's backward needs the view's old values
        v_in = Tensor._make(view._data.copy(), view._rg)
        v_in.grad_fn, v_in._output_nr = view.grad_fn, view._output_nr
    res = apply(op, (v_in, *others), params)
    new_base = apply(view_scatter_op, (base, cast(res, base.dtype)), spec)
    dispatch.write_into(view, res)
    base.grad_fn, base._output_nr, base._rg = new_base.grad_fn, 0, True
    new_view = apply(as_strided_op, (new_base,), spec)
    view.grad_fn, view._output_nr, view._rg = new_view.grad_fn, 0, True
    return view


dispatch.inplace_view_handler[0] = inplace_on_view

__all__: list[str] = []
