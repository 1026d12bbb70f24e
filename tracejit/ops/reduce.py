"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, all/any, count_nonzero,
allclose/equal (var/std/norm/logsumexp are in ``stats.py``, the cumulative scans in ``scan.py``).

Reduction params are ``dim`` (a sorted tuple of non-negative dims: all dims for a full
reduction, () for a 0-d input) and ``keepdim``, so the JIT reads every reduction the same way;
``sum``/``mean`` add ``dtype`` only when the caller asked for one. Argument checks that depend
on shapes live in the Python wrappers (they also run under the tracer); kernels stay total.
"""
from __future__ import annotations

import builtins
import contextlib
from collections import namedtuple
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd import grad_mode
from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import cast, grad_for, method, wrap_dim

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _torch_name(dt: Any) -> str:
    """PyTorch's scalar-type name (``Float``, ``Long``) used in its error messages."""
    name = dt.name if isinstance(dt, dtypes.dtype) else np.dtype(dt).name
    return _TORCH_NAMES.get(name, name)


def _return_type(name: str, fields: tuple[str, ...] = ("values", "indices")) -> type:
    """A namedtuple printed like ``torch.return_types.<name>``."""
    cls = namedtuple(name, fields)  # type: ignore[misc]

    def _repr(self: Any) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"tracejit.return_types.{name}(\n{body})"

    cls.__repr__ = _repr
    cls.__qualname__ = name
    return cls


max_rt = _return_type("max")
min_rt = _return_type("min")
aminmax_rt = _return_type("aminmax", ("min", "max"))
cummax_rt = _return_type("cummax")
cummin_rt = _return_type("cummin")


# ---------------------------------------------------------------------------------------------
# shared helpers

_DIMS: dict[tuple, tuple[int, ...]] = {}


def _reduce_dims(x: Tensor, dim: Any) -> tuple[int, ...]:
    """dim=None/()/int/sequence → the numpy axes to reduce, PyTorch's errors for bad dims."""
    nd = x._data.ndim
    t = type(dim)
    if t is int or dim is None or (t is tuple and builtins.all(type(d) is int for d in dim)):
        key = (dim, nd)
        r = _DIMS.get(key)
        if r is None:
            r = _norm_dims(dim, nd)
            if len(_DIMS) < 4096:
                _DIMS[key] = r
        return r
    if isinstance(dim, Tensor):
        return _reduce_dims(x, dim.tolist())
    return _norm_dims(dim, nd)


def _norm_dims(dim: Any, nd: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(nd))
    if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool):
        d = wrap_dim(int(dim), nd)
        return (d,) if nd else ()
    if not isinstance(dim, (tuple, list)):
        raise TypeError(f"dim must be an int or a tuple of ints, got {type(dim).__name__}")
    if not dim:
        return tuple(range(nd))
    seen: list[int] = []
    for d in dim:
        w = wrap_dim(int(d), nd)
        if w in seen:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        seen.append(w)
    return tuple(sorted(seen)) if nd else ()


def _one_dim(x: Tensor, dim: Any) -> int:
    """A single dim for ops along one axis (cumsum, sort, softmax); 0 for a 0-d input."""
    if isinstance(dim, Tensor):
        dim = int(dim.item())
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    return wrap_dim(int(dim), x._data.ndim)


def _keep_shape(shape: tuple[int, ...], dims: tuple[int, ...]) -> tuple[int, ...]:
    """The result shape with keepdim=True."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _unreduce(g: Tensor, shape: tuple[int, ...], dims: tuple[int, ...], keepdim: bool) -> Tensor:
    """A reduction's output gradient reshaped to keepdim form (broadcastable to the input)."""
    if keepdim or not dims:
        return g
    return g.reshape(_keep_shape(shape, dims))


def _numel(shape: tuple[int, ...], dims: tuple[int, ...]) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _is_float(x: Tensor) -> bool:
    return x._data.dtype.kind == "f"


def _expand_grad(g: Tensor, x: Tensor, dims: tuple[int, ...], keepdim: bool) -> Tensor:
    shape = tuple(x._data.shape)
    g = _unreduce(g, shape, dims, keepdim)
    if tuple(g._data.shape) != shape:
        g = g.expand(shape)
    return g


# ---------------------------------------------------------------------------------------------
# sum, mean, prod

_add = np.add.reduce


def _sum_impl(x: np.ndarray, dim: tuple, keepdim: bool, dtype: str | None = None) -> np.ndarray:
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt == np.float16:
            return _add(x, axis=dim, keepdims=keepdim, dtype=np.float32).astype(dt)
        return _add(x, axis=dim, keepdims=keepdim, dtype=dt)
    k = x.dtype.kind
    if k in "biu":
        return _add(x, axis=dim, keepdims=keepdim, dtype=np.int64)
    if k == "f" and x.dtype.itemsize == 2:
        return _add(x, axis=dim, keepdims=keepdim, dtype=np.float32).astype(np.float16)
    return _add(x, axis=dim, keepdims=keepdim)


def _sum_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    x = ins[0]
    return grad_for(_expand_grad(g, x, p["dim"], p["keepdim"]), x)


sum_op = Op("sum", _sum_impl, _sum_vjp, "SumBackward0", group="reduce")
sum_dim_op = Op("sum", _sum_impl, _sum_vjp, "SumBackward1", group="reduce")


def _dtype_name(dtype: Any) -> str | None:
    return None if dtype is None else dtypes.as_dtype(dtype).name


def _nograd_if_int(dtype: str | None) -> Any:
    """An integer result can't carry gradients: compute it outside the tape."""
    if dtype is not None and np.dtype(dtype).kind != "f":
        return grad_mode.no_grad()
    return contextlib.nullcontext()


@method("sum")
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A001, A002
        dtype: Any = None) -> Tensor:
    """Sum over dim (all dims by default); integers and bools sum to int64."""
    dims = _reduce_dims(input, dim)
    op = sum_op if dim is None and not keepdim else sum_dim_op
    params: dict = {"dim": dims, "keepdim": bool(keepdim)}
    if dtype is not None:
        params["dtype"] = _dtype_name(dtype)
        with _nograd_if_int(params["dtype"]):
            return apply(op, (input,), params)
    return apply(op, (input,), params)


def _nansum_impl(x: np.ndarray, dim: tuple, keepdim: bool) -> np.ndarray:
    return _sum_impl(np.where(np.isnan(x), 0, x) if x.dtype.kind == "f" else x, dim, keepdim)


def _nansum_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    from .elementwise import where

    x = ins[0]
    return where(x.isnan(), 0.0, _expand_grad(g, x, p["dim"], p["keepdim"]))


nansum_op = Op("nansum", _nansum_impl, _nansum_vjp, "NansumBackward0", save="i",
               group="library")


@method("nansum")
def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
           dtype: Any = None) -> Tensor:
    """Sum treating NaN as zero."""
    if dtype is not None:
        input = cast(input, dtypes.as_dtype(dtype))
    return apply(nansum_op, (input,), {"dim": _reduce_dims(input, dim), "keepdim": bool(keepdim)})


def _mean_impl(x: np.ndarray, dim: tuple, keepdim: bool, dtype: str | None = None) -> np.ndarray:
    if dtype is not None:
        x = x.astype(dtype, copy=False)
    acc = np.float32 if x.dtype == np.float16 else x.dtype
    s = np.sum(x, axis=dim, keepdims=keepdim, dtype=acc)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.true_divide(s, _numel(x.shape, dim)).astype(x.dtype, copy=False)


def _mean_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    x = ins[0]
    n = _numel(tuple(x._data.shape), p["dim"])
    return grad_for(_expand_grad(g / n, x, p["dim"], p["keepdim"]), x)


mean_op = Op("mean", _mean_impl, _mean_vjp, "MeanBackward0", group="reduce")
mean_dim_op = Op("mean", _mean_impl, _mean_vjp, "MeanBackward1", group="reduce")


@method("mean")
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
         dtype: Any = None) -> Tensor:
    """Arithmetic mean; integer inputs need an explicit floating ``dtype``, as in PyTorch."""
    dt = input.dtype if dtype is None else dtypes.as_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_torch_name(dt)}"
        )
    op = mean_op if dim is None and not keepdim else mean_dim_op
    params: dict = {"dim": _reduce_dims(input, dim), "keepdim": bool(keepdim)}
    if dtype is not None:
        params["dtype"] = dt.name
    return apply(op, (input,), params)


@method("nanmean")
def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A002
            dtype: Any = None) -> Tensor:
    """Mean over the non-NaN elements: nansum / count, as PyTorch composes it (DivBackward0)."""
    if dtype is not None:
        input = cast(input, dtypes.as_dtype(dtype))
    if not _is_float(input):
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{_torch_name(input.dtype)}"
        )
    dims = _reduce_dims(input, dim)
    keep = ~input.isnan()
    return nansum(input, dims, keepdim) / keep.sum(dims, keepdim=keepdim)


def _prod_impl(x: np.ndarray, dim: tuple, keepdim: bool, dtype: str | None = None) -> np.ndarray:
    if dtype is not None:
        return np.prod(x, axis=dim, keepdims=keepdim, dtype=np.dtype(dtype))
    if x.dtype.kind in "biu":
        return np.prod(x, axis=dim, keepdims=keepdim, dtype=np.int64)
    if x.dtype == np.float16:
        return np.prod(x, axis=dim, keepdims=keepdim, dtype=np.float32).astype(np.float16)
    return np.prod(x, axis=dim, keepdims=keepdim)


def _prod_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    """d prod / d x_i = product of the others, right also when the slice holds zeros."""
    from .elementwise import where

    x = ins[0]
    dims = p["dim"]
    gk = _unreduce(g, tuple(x._data.shape), dims, p["keepdim"])
    zero = x == 0
    nz = zero.sum(dims, keepdim=True)
    xs = where(zero, 1.0, x)
    pnz = _prod_keep(xs, dims)
    others = where(zero, where(nz == 1, pnz, 0.0), where(nz == 0, pnz / xs, 0.0))
    return grad_for(gk * others, x)


prod_op = Op("prod", _prod_impl, _prod_vjp, "ProdBackward0", save="i", group="reduce")
prod_dim_op = Op("prod", _prod_impl, _prod_vjp, "ProdBackward1", save="i", group="reduce")


def _prod_keep(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    return apply(prod_dim_op, (x,), {"dim": dims, "keepdim": True})


@method("prod")
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,  # noqa: A002
         dtype: Any = None) -> Tensor:
    """Product over one dim or all; integers and bools multiply to int64."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    params: dict = {"dim": _reduce_dims(input, dim), "keepdim": bool(keepdim)}
    op = prod_op if dim is None else prod_dim_op
    if dtype is not None:
        params["dtype"] = _dtype_name(dtype)
        with _nograd_if_int(params["dtype"]):
            return apply(op, (input,), params)
    return apply(op, (input,), params)


# ---------------------------------------------------------------------------------------------
# max, min, amax, amin, argmax, argmin

def _amax_impl(x: np.ndarray, dim: tuple, keepdim: bool) -> np.ndarray:
    return np.maximum.reduce(x, axis=dim, keepdims=keepdim)


def _amin_impl(x: np.ndarray, dim: tuple, keepdim: bool) -> np.ndarray:
    return np.minimum.reduce(x, axis=dim, keepdims=keepdim)


def _even_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    """The gradient of max/min/amax/amin/median: split evenly among the tied elements."""
    from .elementwise import where

    x = ins[0]
    dims, keepdim = p["dim"], p["keepdim"]
    shape = tuple(x._data.shape)
    mask = x == _unreduce(out, shape, dims, keepdim)
    cnt = mask.sum(dims, keepdim=True)
    return grad_for(where(mask, _unreduce(g, shape, dims, keepdim) / cnt, 0.0), x)


amax_op = Op("amax", _amax_impl, _even_vjp, "AmaxBackward0", save="io", group="reduce")
amin_op = Op("amin", _amin_impl, _even_vjp, "AminBackward0", save="io", group="reduce")
max_all_op = Op("max", _amax_impl, _even_vjp, "MaxBackward1", save="io", group="reduce")
min_all_op = Op("min", _amin_impl, _even_vjp, "MinBackward1", save="io", group="reduce")


def _check_nonempty(name: str, x: Tensor, dims: tuple[int, ...], full: bool,
                    exc: type = IndexError) -> None:
    shape = x._data.shape
    if full and x._data.size == 0:
        msg = f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
        if exc is RuntimeError:
            msg += " Specify the reduction dim with the 'dim' argument."
        raise exc(msg)
    for d in dims:
        if shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _amaxmin(name: str, op: Op, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    dims = _reduce_dims(input, dim)
    _check_nonempty(name, input, dims, dim is None or dim == () or dim == [], RuntimeError)
    return apply(op, (input,), {"dim": dims, "keepdim": bool(keepdim)})


@method("amax")
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """Maximum over dims (a tuple allowed); ties share the gradient evenly."""
    return _amaxmin("amax", amax_op, input, dim, keepdim)


@method("amin")
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """Minimum over dims (a tuple allowed); ties share the gradient evenly."""
    return _amaxmin("amin", amin_op, input, dim, keepdim)


def _select_impl(fn: Any) -> Any:
    def impl(x: np.ndarray, dim: int, keepdim: bool) -> tuple[np.ndarray, np.ndarray]:
        if x.ndim == 0:
            return x.copy(), np.zeros((), np.int64)
        idx = fn(x, axis=dim, keepdims=True)
        vals = np.take_along_axis(x, idx, axis=dim)
        if not keepdim:
            idx, vals = np.squeeze(idx, dim), np.squeeze(vals, dim)
        return vals, idx.astype(np.int64, copy=False)

    return impl


def _select_vjp(g: Any, ins: Any, out: Any, p: dict) -> Tensor:
    """Gradient of a (values, indices) reduction: each value's grad goes to its index."""
    from .creation import zeros

    x = ins[0]
    gv, idx = g[0], out[1]
    if x._data.ndim == 0:
        return grad_for(gv, x)
    d = p["dim"]
    if not p["keepdim"]:
        gv, idx = gv.unsqueeze(d), idx.unsqueeze(d)
    return zeros(tuple(x._data.shape), dtype=gv.dtype, device=gv.device).scatter(d, idx, gv)


max_dim_op = Op("max_dim", _select_impl(np.argmax), _select_vjp, "MaxBackward0", save="o",
                nout=2, group="library", diff_outs=(0,))
min_dim_op = Op("min_dim", _select_impl(np.argmin), _select_vjp, "MinBackward0", save="o",
                nout=2, group="library", diff_outs=(0,))


def _maxmin(name: str, input: Tensor, dim: Any, keepdim: bool) -> Any:
    if isinstance(dim, Tensor):
        from . import elementwise

        return getattr(elementwise, "maximum" if name == "max" else "minimum")(input, dim)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}(): keepdim needs a dim")
        _check_nonempty(name, input, (), True, RuntimeError)
        op = max_all_op if name == "max" else min_all_op
        return apply(op, (input,), {"dim": tuple(range(input._data.ndim)), "keepdim": False})
    d = _one_dim(input, dim)
    if input._data.ndim:
        _check_nonempty(name, input, (d,), False)
    op = max_dim_op if name == "max" else min_dim_op
    vals, idx = apply(op, (input,), {"dim": d, "keepdim": bool(keepdim)})
    return (max_rt if name == "max" else min_rt)(vals, idx)


@method("max")
def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """max(x) → 0-d; max(x, dim) → (values, indices); max(x, other_tensor) → maximum."""
    return _maxmin("max", input, dim, keepdim)


@method("min")
def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001, A002
    """min(x) → 0-d; min(x, dim) → (values, indices); min(x, other_tensor) → minimum."""
    return _maxmin("min", input, dim, keepdim)


@method("aminmax")
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """(min, max) in one call, as torch.aminmax."""
    d = () if dim is None else dim
    return aminmax_rt(amin(input, d, keepdim), amax(input, d, keepdim))


def _argfn(fn: Any) -> Any:
    def impl(x: np.ndarray, dim: int | None, keepdim: bool) -> np.ndarray:
        if dim is None:
            r = fn(x.reshape(-1)) if x.ndim else np.int64(0)
            r = np.asarray(r, np.int64)
            return r.reshape((1,) * x.ndim) if keepdim else r
        if x.ndim == 0:
            return np.zeros((), np.int64)
        return fn(x, axis=dim, keepdims=keepdim).astype(np.int64, copy=False)

    return impl


argmax_op = Op("argmax", _argfn(np.argmax), group="library")
argmin_op = Op("argmin", _argfn(np.argmin), group="library")


def _arg(name: str, op: Op, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    if dim is None:
        _check_nonempty(name, input, (), True)
        return apply(op, (input,), {"dim": None, "keepdim": bool(keepdim)})
    d = _one_dim(input, dim)
    if input._data.ndim:
        _check_nonempty(name, input, (d,), False)
    return apply(op, (input,), {"dim": d, "keepdim": bool(keepdim)})


@method("argmax")
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Index of the (first) maximum; dim=None indexes the flattened input."""
    return _arg("argmax", argmax_op, input, dim, keepdim)


@method("argmin")
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Index of the (first) minimum; dim=None indexes the flattened input."""
    return _arg("argmin", argmin_op, input, dim, keepdim)


# ---------------------------------------------------------------------------------------------
# all, any, count_nonzero, allclose, equal

def _logical(fn: Any) -> Any:
    def impl(x: np.ndarray, dim: tuple, keepdim: bool) -> np.ndarray:
        r = np.asarray(fn(x, axis=dim, keepdims=keepdim))
        return r.astype(np.uint8) if x.dtype == np.uint8 else r

    return impl


all_op = Op("all", _logical(np.all), group="library")
any_op = Op("any", _logical(np.any), group="library")


def _logical_dims(x: Tensor, dim: Any) -> tuple[int, ...]:
    if isinstance(dim, (tuple, list)) and not dim:
        return ()
    return _reduce_dims(x, dim)


@method("all")
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """Whether every element (along dim) is non-zero; bool (uint8 for uint8 input)."""
    return apply(all_op, (input,), {"dim": _logical_dims(input, dim), "keepdim": bool(keepdim)})


@method("any")
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """Whether any element (along dim) is non-zero; bool (uint8 for uint8 input)."""
    return apply(any_op, (input,), {"dim": _logical_dims(input, dim), "keepdim": bool(keepdim)})


def _count_impl(x: np.ndarray, dim: tuple) -> np.ndarray:
    return np.asarray(np.count_nonzero(x, axis=dim), np.int64)


count_op = Op("count_nonzero", _count_impl, group="library")


@method("count_nonzero")
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """Number of non-zero elements (along dim), int64."""
    return apply(count_op, (input,), {"dim": _reduce_dims(input, dim)})


@method("allclose")
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
             equal_nan: bool = False) -> bool:
    """|input - other| <= atol + rtol * |other| everywhere (broadcasting; same dtype)."""
    if not isinstance(other, Tensor):
        raise TypeError(
            f"allclose(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}"
        )
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{_torch_name(input.dtype)} did not match {_torch_name(other.dtype)}")
    a, b = input._data, other._data
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        from ._util import bcast_error

        raise bcast_error(tuple(a.shape), tuple(b.shape)) from None
    return bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


@method("equal")
def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    """True when both have the same shape and the same values (NaN never equals)."""
    a, b = input._data, other._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
