"""Joining and repeating: cat, stack (and h/v/d/column_stack), repeat, tile, repeat_interleave.

cat and stack promote dtypes inside the op (one CatBackward0/StackBackward0 node whose
gradients are cast back to each input's dtype), as PyTorch does.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import grad_for, method, promote, size_args, wrap_dim
from .shape import (
    _zeros,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    expand,
    reshape,
    select_op,
    slice_op,
    unsqueeze,
)


def _legacy_empty(a: np.ndarray, nd: int) -> bool:
    # PyTorch skips 1-D empty tensors in cat when the others are not 1-D
    return a.shape == (0,) and nd != 1


def _cat_impl(*arrays: np.ndarray, dim: int, dtype: str, nd: int) -> np.ndarray:
    arrs = [a for a in arrays if not _legacy_empty(a, nd)]
    return np.concatenate(arrs, axis=dim, dtype=dtype, casting="unsafe")


def _cat_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    d, nd = p["dim"], p["nd"]
    grads = []
    off = 0
    for t in ins:
        if _legacy_empty(t._data, nd):
            grads.append(_zeros((0,), t) if t._rg else None)
            continue
        s = t._data.shape[d]
        if t._rg:
            gi = apply(slice_op, (g,), {"dim": d, "start": off, "stop": off + s, "step": 1})
            grads.append(grad_for(gi, t))
        else:
            grads.append(None)
        off += s
    return tuple(grads)


cat_op = Op("cat", _cat_impl, _cat_vjp, "CatBackward0", group="library")


def _tensor_list(tensors: Any, fn: str) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    ts = list(tensors)
    for i, t in enumerate(ts):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    return ts


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim (dtypes promoted, sizes must match elsewhere)."""
    ts = _tensor_list(tensors, "cat")
    if not ts:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    nd = next((t._data.ndim for t in ts if t._data.shape != (0,)), 1)
    ref = next((t for t in ts if not _legacy_empty(t._data, nd)), ts[0])
    d = wrap_dim(dim, nd)
    rs = ref._data.shape
    for i, t in enumerate(ts):
        a = t._data
        if _legacy_empty(a, nd):
            continue
        if a.ndim != nd:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {nd} and {a.ndim}"
            )
        for k in range(nd):
            if k != d and a.shape[k] != rs[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {rs[k]} "
                    f"but got size {a.shape[k]} for tensor number {i} in the list."
                )
    dt = promote(*ts)
    return apply(cat_op, tuple(ts), {"dim": d, "dtype": dt.np.name, "nd": nd})


concat = concatenate = cat


def _stack_impl(*arrays: np.ndarray, dim: int, dtype: str) -> np.ndarray:
    return np.stack(arrays, axis=dim, dtype=dtype, casting="unsafe")


def _stack_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    return tuple(
        grad_for(apply(select_op, (g,), {"dim": p["dim"], "index": i}), t) if t._rg else None
        for i, t in enumerate(ins)
    )


stack_op = Op("stack", _stack_impl, _stack_vjp, "StackBackward0", group="library")


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dim."""
    ts = _tensor_list(tensors, "stack")
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = ts[0]._data.shape
    for i, t in enumerate(ts[1:], 1):
        if t._data.shape != s0:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                f"{list(t._data.shape)} at entry {i}"
            )
    d = wrap_dim(dim, len(s0) + 1)
    dt = promote(*ts) if len(s0) else _promote_0d(ts)
    return apply(stack_op, tuple(ts), {"dim": d, "dtype": dt.np.name})


def _promote_0d(ts: list[Tensor]) -> dtypes.dtype:
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = dtypes.promote_types(dt, t.dtype)
    return dt


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat along dim 1 (dim 0 for 1-D inputs)."""
    ts = [atleast_1d(t) for t in _tensor_list(tensors, "hstack")]
    return cat(ts, 0 if all(t._data.ndim == 1 for t in ts) else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat of the inputs as at least 2-D, along dim 0."""
    return cat([atleast_2d(t) for t in _tensor_list(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat of the inputs as at least 3-D, along dim 2."""
    return cat([atleast_3d(t) for t in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """cat along dim 1 with 0-d/1-D inputs as columns."""
    ts = [reshape(t, -1, 1) if t._data.ndim <= 1 else t
          for t in _tensor_list(tensors, "column_stack")]
    return cat(ts, 1)


# ---------------------------------------------------------------------------------------------
# repeat / tile / repeat_interleave


def _repeat_impl(x: np.ndarray, sizes: tuple) -> np.ndarray:
    lead = len(sizes) - x.ndim
    return np.tile(x.reshape((1,) * lead + x.shape), sizes) if sizes else x.copy()


def _repeat_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    x = ins[0]
    sizes = p["sizes"]
    xs = (1,) * (len(sizes) - x._data.ndim) + x._data.shape
    inter: list[int] = []
    sum_dims = []
    for r, s in zip(sizes, xs):
        if r != 1:
            sum_dims.append(len(inter))
            inter.append(r)
        inter.append(s)
    g = reshape(g, tuple(inter))
    if sum_dims:
        g = g.sum(dim=tuple(sum_dims))
    return reshape(g, x._data.shape)


repeat_op = Op("repeat", _repeat_impl, _repeat_vjp, "RepeatBackward0", group="library")


@method("repeat")
def repeat(self: Tensor, *sizes: Any) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dim (leading new dims allowed)."""
    sizes = size_args(sizes)
    nd = self._data.ndim
    if len(sizes) < nd:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    if any(s < 0 for s in sizes):
        xs = (1,) * (len(sizes) - nd) + self._data.shape
        shape = [r * s for r, s in zip(sizes, xs)]
        bad = next(v for v in shape if v < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {shape}")
    return apply(repeat_op, (self,), {"sizes": sizes})


@method("tile")
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:  # noqa: A002
    """numpy.tile: repeat with missing leading repeat counts taken as 1."""
    dims = size_args((dims,)) if not isinstance(dims, (int, np.integer)) else (int(dims),)
    nd = input._data.ndim
    if len(dims) < nd:
        dims = (1,) * (nd - len(dims)) + dims
    return repeat(input, dims)


@method("repeat_interleave")
def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,  # noqa: A002
                      output_size: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (flattened when dim is None)."""
    from .convert import contiguous
    from .creation import tensor
    from .gather import index_select

    if repeats is None:
        # repeat_interleave(repeats): the indices 0..n-1 each repeated repeats[i] times
        r = input._data.reshape(-1)
        if r.size and r.min() < 0:
            raise RuntimeError("repeats can not be negative")
        return tensor(np.repeat(np.arange(r.size, dtype=np.int64), r))
    if dim is None:
        input = reshape(input, -1)
        d = 0
    else:
        d = wrap_dim(dim, input._data.ndim)
    shp = input._data.shape
    if isinstance(repeats, Tensor) and repeats._data.size == 1 and repeats._data.ndim <= 1:
        repeats = int(repeats.item())
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        if r < 0:
            raise RuntimeError("Repeats must be non-negative")
        if not shp:
            return expand(reshape(input, 1), r) if r != 1 else reshape(input, 1)
        e = expand(unsqueeze(input, d + 1), shp[:d + 1] + (r,) + shp[d + 1:])
        return contiguous(e).view(shp[:d] + (shp[d] * r,) + shp[d + 1:])
    rep = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    size = shp[d] if shp else 1
    if rep.ndim != 1 or rep.shape[0] != size:
        raise RuntimeError(
            "repeats must have the same size as input along dim, but got repeats.size(0) = "
            f"{rep.size} and input.size({d}) = {size}"
        )
    if rep.size and rep.min() < 0:
        raise RuntimeError("repeats can not be negative")
    idx = tensor(np.repeat(np.arange(size, dtype=np.int64), rep))
    return index_select(input, d, idx)


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
