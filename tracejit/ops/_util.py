"""Helpers shared by the op modules: argument coercion, scalar wrapping, method attachment."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor, _wrap_dim

# numpy reports 1/0 and log(-1) as warnings; PyTorch silently returns inf/nan.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"tracejit(\.|$)")

_BY_NP = dtypes._BY_NP
wrap_dim = _wrap_dim


def method(*names: str) -> Callable[[Callable], Callable]:
    """Attach a function to Tensor under the given method names (the op stays defined once)."""

    def deco(fn: Callable) -> Callable:
        for n in names:
            setattr(Tensor, n, fn)
        return fn

    return deco


def scalar_tensor(value: Any, dt: dtypes.dtype) -> Tensor:
    """A Python number as a 0-d tensor of ``dt``; marked so traces can fold it as a constant."""
    t = Tensor._make(np.array(value, dtype=dt.np))
    t._wrapped = True
    return t


def is_scalar(x: Any) -> bool:
    return isinstance(x, (int, float, bool, np.number, np.bool_))


def dtype_of(x: Any) -> dtypes.dtype:
    return _BY_NP[x._data.dtype]


def promote(*args: Any) -> dtypes.dtype:
    """PyTorch's result dtype for a mix of tensors and Python scalars."""
    dims, zero, scal = [], [], []
    for a in args:
        if isinstance(a, Tensor):
            d = _BY_NP[a._data.dtype]
            (dims if a._data.ndim and not a._wrapped else zero).append(d)
        elif isinstance(a, np.ndarray):
            dims.append(_BY_NP[a.dtype])
        else:
            scal.append(dtypes.scalar_dtype(a))
    return dtypes.result_type(dims, zero, scal)


def cast(t: Tensor, dt: dtypes.dtype) -> Tensor:
    """t as dtype dt (no copy when it already is)."""
    if t._data.dtype == dt.np:
        return t
    from .elementwise import to_dtype

    return to_dtype(t, dt)


def as_tensor_like(x: Any, dt: dtypes.dtype) -> Tensor:
    if isinstance(x, Tensor):
        return cast(x, dt)
    if is_scalar(x):
        return scalar_tensor(x, dt)
    from .creation import tensor

    return tensor(x, dtype=dt)


def norm_dims(dim: Any, ndim: int) -> tuple[int, ...]:
    """dim=None/int/sequence → a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (wrap_dim(int(dim), ndim),)
    dims = tuple(wrap_dim(int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    return tuple(sorted(dims))


def size_args(size: Sequence[Any]) -> tuple[int, ...]:
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(torch.Size)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s.item())
        if not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a sequence of ints, got {type(s).__name__}")
        out.append(int(s))
    return tuple(out)


def bcast_error(a: tuple[int, ...], b: tuple[int, ...]) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast."""
    ra, rb = list(a)[::-1], list(b)[::-1]
    n = max(len(ra), len(rb))
    for i in range(n):
        x = ra[i] if i < len(ra) else 1
        y = rb[i] if i < len(rb) else 1
        if x != y and x != 1 and y != 1:
            return RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {n - 1 - i}"
            )
    return RuntimeError(f"shapes {list(a)} and {list(b)} cannot be broadcast")


def sum_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Undo broadcasting in a gradient: sum over the dims that were broadcast to ``shape``."""
    gshape = tuple(g.shape)
    if gshape == tuple(shape):
        return g
    lead = len(gshape) - len(shape)
    dims = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and gshape[lead + i] != 1:
            dims.append(lead + i)
    if dims:
        g = g.sum(dim=tuple(dims), keepdim=True)
    if lead:
        g = g.reshape(shape)
    elif tuple(g.shape) != tuple(shape):
        g = g.reshape(shape)
    return g


def grad_for(g: Tensor, x: Tensor) -> Tensor:
    """A gradient reduced to x's shape and cast to x's dtype."""
    if g._data.shape != x._data.shape:
        g = sum_to(g, x._data.shape)
    if g._data.dtype != x._data.dtype:
        g = cast(g, _BY_NP[x._data.dtype])
    return g
