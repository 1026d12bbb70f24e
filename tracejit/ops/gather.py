"""index_select / index_add / index_fill and gather / scatter: indexing along one dim by an
index tensor, with PyTorch's checks, and the scatter-adds that are their gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dispatch import Op, apply, apply_inplace
from ..tensor import Tensor
from ._util import (
    method,
    scalar_tensor,
    wrap_dim,
)
from .index import _check_writeable
from .shape import _embed, _type_name, expand, reshape

# ---------------------------------------------------------------------------------------------
# index_select / index_add / index_fill


def _isel_impl(x: np.ndarray, index: np.ndarray, dim: int) -> np.ndarray:
    if x.ndim == 0:
        return x[index.reshape(-1)].reshape(())  # the checks allow one index only
    return np.take(x, index.reshape(-1), axis=dim)


def _isel_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, index = ins
    return apply(index_add_zeros_op, (g, index), {"dim": p["dim"], "shape": x._data.shape}), None


index_select_op = Op("index_select", _isel_impl, _isel_vjp, "IndexSelectBackward0",
                     group="library")


def _index_add_zeros_impl(g: np.ndarray, index: np.ndarray, dim: int, shape: tuple) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    if not shape:
        return out + g.sum()
    np.add.at(out, (slice(None),) * dim + (index.reshape(-1),), g)
    return out


index_add_zeros_op = Op("index_add_zeros", _index_add_zeros_impl,
                        lambda gg, ins, out, p: (apply(index_select_op, (gg, ins[1]),
                                                       {"dim": p["dim"]}), None),
                        "IndexAddBackward0", group="library")


@method("index_select")
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002
    """Entries ``index`` (a vector) along ``dim`` (a copy)."""
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index._data.dtype.kind != "i" or index._data.dtype.itemsize < 4:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    a = index._data
    if nd == 0 and a.size != 1:
        raise RuntimeError(
            f"index_select(): Index to scalar can have only 1 value, got {a.size} value(s)"
        )
    size = input._data.shape[d] if nd else 1
    if a.size and type(a) is np.ndarray and (a.min() < 0 or a.max() >= size):
        raise IndexError("index out of range in self")
    return apply(index_select_op, (input, index), {"dim": d})


def _index_add_impl(x: np.ndarray, index: np.ndarray, src: np.ndarray, dim: int,
                    alpha: Any) -> np.ndarray:
    out = x.copy()
    s = src if alpha == 1 else src * alpha
    if x.ndim == 0:
        return out + s.sum().astype(x.dtype)
    np.add.at(out, (slice(None),) * dim + (index.reshape(-1),), s.reshape(
        x.shape[:dim] + (index.size,) + x.shape[dim + 1:]))
    return out


def _index_add_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, index, src = ins
    gs = None
    if src._rg:
        gs = apply(index_select_op, (g, index), {"dim": p["dim"]})
        if p["alpha"] != 1:
            gs = gs * p["alpha"]
        gs = reshape(gs, src._data.shape)
    return (g if x._rg else None), None, gs


index_add_op = Op("index_add", _index_add_impl, _index_add_vjp, "IndexAddBackward0",
                  group="library")


def _index_add_args(self: Tensor, dim: int, index: Tensor, source: Tensor) -> int:
    nd = self._data.ndim
    d = wrap_dim(dim, nd)
    a = index._data
    if a.ndim > 1:
        raise IndexError(
            f"index_add_(): Index is supposed to be a vector, but got dim: {a.ndim} with type: "
            f"{_type_name(index)} and size: {list(a.shape)}"
        )
    if a.dtype.kind != "i" or a.dtype.itemsize < 4:
        raise RuntimeError(
            f"index_add_(): Expected dtype int32/int64 for index but got: {_type_name(index)}"
        )
    if source._data.dtype != self._data.dtype:
        raise RuntimeError(
            f"index_add_(): self ({_type_name(self)}) and source ({_type_name(source)}) must "
            "have the same scalar type"
        )
    snd = source._data.ndim
    if nd and d >= max(snd, 1):
        raise RuntimeError(
            f"index_add_(): Indexing dim {d} is out of bounds of the source tensor with dim "
            f"{snd}"
        )
    ssize = source._data.shape[d] if snd else 1
    if a.size != ssize:
        raise RuntimeError(
            f"index_add_(): Number of indices ({a.size}) should be equal to source.size(dim): "
            f"({ssize}), for dim: {d}"
        )
    size = self._data.shape[d] if nd else 1
    if a.size and type(a) is np.ndarray and (a.min() < 0 or a.max() >= size):
        bad = a[(a < 0) | (a >= size)].flat[0]
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {size}")
    return d


@method("index_add")
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *,  # noqa: A002
              alpha: Any = 1) -> Tensor:
    """input with alpha * source added at ``index`` along ``dim`` (repeats accumulate)."""
    d = _index_add_args(input, dim, index, source)
    return apply(index_add_op, (input, index, source), {"dim": d, "alpha": alpha})


@method("index_add_")
def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *,
               alpha: Any = 1) -> Tensor:
    """In place index_add: self[..., index, ...] += alpha * source."""
    d = _index_add_args(self, dim, index, source)
    _check_writeable(self)
    return apply_inplace(index_add_op, self, (index, source), {"dim": d, "alpha": alpha})


def _index_fill_impl(x: np.ndarray, index: np.ndarray, dim: int, value: Any) -> np.ndarray:
    out = x.copy()
    if x.ndim == 0:
        out[...] = value
    else:
        out[(slice(None),) * dim + (index.reshape(-1),)] = value
    return out


index_fill_op = Op("index_fill", _index_fill_impl,
                   lambda g, ins, out, p: (apply(index_fill_op, (g, ins[1]),
                                                 {"dim": p["dim"], "value": 0}), None),
                   "IndexFillBackward0", group="library")


@method("index_fill")
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:  # noqa: A002
    """input with the entries ``index`` along ``dim`` set to ``value``."""
    if isinstance(value, Tensor):
        value = value.item()
    d = wrap_dim(dim, input._data.ndim)
    return apply(index_fill_op, (input, index), {"dim": d, "value": value})


@method("index_fill_")
def index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """In place index_fill."""
    if isinstance(value, Tensor):
        value = value.item()
    _check_writeable(self)
    d = wrap_dim(dim, self._data.ndim)
    return apply_inplace(index_fill_op, self, (index,), {"dim": d, "value": value})


# ---------------------------------------------------------------------------------------------
# gather / scatter


def _grid(index: np.ndarray, dim: int) -> tuple:
    """Index arrays that address every element of ``index`` with ``index`` along ``dim``."""
    g = list(np.indices(index.shape, sparse=True))
    g[dim] = index
    return tuple(g)


def _gather_impl(x: np.ndarray, index: np.ndarray, dim: int) -> np.ndarray:
    if x.ndim == 0:
        return np.broadcast_to(x, index.shape).copy()
    sl = tuple(slice(0, s) if d != dim else slice(None) for d, s in enumerate(index.shape))
    return np.take_along_axis(x[sl], index, axis=dim)


def _gather_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, index = ins
    return apply(scatter_add_zeros_op, (g, index), {"dim": p["dim"],
                                                    "shape": x._data.shape}), None


gather_op = Op("gather", _gather_impl, _gather_vjp, "GatherBackward0", group="library")


def _scatter_add_zeros_impl(g: np.ndarray, index: np.ndarray, dim: int,
                            shape: tuple) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    if not shape:
        return out + g.sum()
    np.add.at(out, _grid(index, dim), g)
    return out


scatter_add_zeros_op = Op(
    "scatter_add_zeros", _scatter_add_zeros_impl,
    lambda gg, ins, out, p: (apply(gather_op, (gg, ins[1]), {"dim": p["dim"]}), None),
    "ScatterAddBackward0", group="library")


def _check_index_dtype(index: Tensor, what: str) -> None:
    a = index._data
    if a.dtype.kind != "i" or a.dtype.itemsize < 4:
        raise RuntimeError(f"{what}(): Expected dtype int32/int64 for index")


def _check_bounds(index: Tensor, dim: int, size: int) -> None:
    a = index._data
    if type(a) is not np.ndarray:
        return  # traced: the values exist only at run time, where numpy checks them
    if a.size and (a.min() < 0 or a.max() >= size):
        bad = a[(a < 0) | (a >= size)].flat[0]
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


@method("gather")
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:  # noqa: A002
    """out[i][j] = input[index[i][j]][j] (dim 0): picks along ``dim``, index-shaped result."""
    _check_index_dtype(index, "gather")
    xs, js = input._data.shape, index._data.shape
    nd = len(xs)
    d = wrap_dim(dim, nd)
    if max(nd, 1) != max(len(js), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for k in range(len(js)):
        if k != d and nd and js[k] > xs[k]:
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index {list(js)} to be no larger "
                f"than self {list(xs)} apart from dimension {d}"
            )
    _check_bounds(index, d, xs[d] if nd else 1)
    return apply(gather_op, (input, index), {"dim": d})


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:  # noqa: A002
    """numpy.take_along_axis: gather after broadcasting all dims but ``dim``."""
    if dim is None:
        return gather(reshape(input, -1), 0, reshape(indices, -1))
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    xs, js = list(input._data.shape), list(indices._data.shape)
    if len(js) != nd:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {nd} dimensions for input, and {len(js)} dimensions for indices"
        )
    a, b = list(xs), list(js)
    a[d] = b[d] = 1
    bs = list(np.broadcast_shapes(tuple(a), tuple(b)))
    xe, je = list(bs), list(bs)
    xe[d], je[d] = xs[d], js[d]
    if xe != xs:
        input = expand(input, xe)
    if je != js:
        indices = expand(indices, je)
    return gather(input, d, indices)


method("take_along_dim")(take_along_dim)


def _src_part(src: np.ndarray, shape: tuple) -> np.ndarray:
    return src[tuple(slice(0, s) for s in shape)]


def _scatter_impl(x: np.ndarray, index: np.ndarray, src: np.ndarray, dim: int) -> np.ndarray:
    out = x.copy()
    if x.ndim == 0:
        if index.size:
            out[...] = src.reshape(-1)[0]
        return out
    out[_grid(index, dim)] = _src_part(src, index.shape)
    return out


def _scatter_value_impl(x: np.ndarray, index: np.ndarray, dim: int, value: Any) -> np.ndarray:
    out = x.copy()
    if x.ndim == 0:
        if index.size:
            out[...] = value
        return out
    out[_grid(index, dim)] = value
    return out


def _scatter_add_impl(x: np.ndarray, index: np.ndarray, src: np.ndarray, dim: int) -> np.ndarray:
    out = x.copy()
    if x.ndim == 0:
        return out + _src_part(src, index.shape).sum().astype(x.dtype)
    np.add.at(out, _grid(index, dim), _src_part(src, index.shape))
    return out


def _scatter_reduce_impl(x: np.ndarray, index: np.ndarray, src: np.ndarray, dim: int,
                         reduce: str) -> np.ndarray:
    out = x.copy()
    ufunc = np.add if reduce == "add" else np.multiply
    ufunc.at(out, _grid(index, dim), _src_part(src, index.shape))
    return out


def _src_grad(g: Tensor, index: Tensor, src: Tensor, dim: int) -> Tensor:
    gs = apply(gather_op, (g, index), {"dim": dim})
    if gs._data.shape != src._data.shape:
        # src is larger than index: the elements beyond it get zero
        tmpl = tuple(("s", 0, s, None) for s in gs._data.shape)
        gs = _embed(gs, src._data.shape, "getitem", {"index": tmpl})
    return gs


def _scatter_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, index, src = ins
    gx = apply(scatter_value_op, (g, index), {"dim": p["dim"], "value": 0}) if x._rg else None
    gs = _src_grad(g, index, src, p["dim"]) if src._rg else None
    return gx, None, gs


def _scatter_add_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, index, src = ins
    return (g if x._rg else None), None, (_src_grad(g, index, src, p["dim"]) if src._rg else None)


def _no_grad_reduce(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    raise RuntimeError("the derivative for 'scatter' with a reduce argument is not implemented")


scatter_op = Op("scatter", _scatter_impl, _scatter_vjp, "ScatterBackward0", group="library")
scatter_value_op = Op(
    "scatter_value", _scatter_value_impl,
    lambda g, ins, out, p: (apply(scatter_value_op, (g, ins[1]), {"dim": p["dim"], "value": 0}),
                            None),
    "ScatterBackward1", group="library")
scatter_add_op = Op("scatter_add", _scatter_add_impl, _scatter_add_vjp, "ScatterAddBackward0",
                    group="library")
scatter_reduce_op = Op("scatter_reduce", _scatter_reduce_impl, _no_grad_reduce,
                       "ScatterReduceBackward0", group="library")


def _scatter_args(self: Tensor, dim: int, index: Tensor, src: Tensor | None, what: str) -> int:
    _check_index_dtype(index, what)
    xs, js = self._data.shape, index._data.shape
    nd = len(xs)
    d = wrap_dim(dim, nd)
    if max(nd, 1) != max(len(js), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if src is not None:
        ss = src._data.shape
        if src._data.dtype != self._data.dtype:
            raise RuntimeError(f"{what}(): Expected self.dtype to be equal to src.dtype")
        if max(len(ss), 1) != max(len(js), 1):
            raise RuntimeError(
                "Index tensor must have the same number of dimensions as src tensor"
            )
        bad = any(js[k] > ss[k] for k in range(len(js))) or any(
            js[k] > xs[k] for k in range(len(js)) if k != d)
        if bad and nd:
            raise RuntimeError(
                f"Expected index {list(js)} to be no larger than self {list(xs)} apart from "
                f"dimension {d} and to be no larger size than src {list(ss)}"
            )
    elif nd and any(js[k] > xs[k] for k in range(len(js)) if k != d):
        raise RuntimeError(
            f"Expected index {list(js)} to be no larger than self {list(xs)} apart from "
            f"dimension {d}"
        )
    _check_bounds(index, d, xs[d] if nd else 1)
    return d


def _scatter_apply(self: Tensor, dim: int, index: Tensor, src: Any, value: Any, reduce: Any,
                   inplace: bool) -> Tensor:
    if src is None:
        src = value
    if isinstance(src, Tensor):
        d = _scatter_args(self, dim, index, src, "scatter")
        if reduce is not None:
            if reduce not in ("add", "multiply"):
                raise RuntimeError(
                    "reduce argument must be either add or multiply."
                )
            op, others, p = scatter_reduce_op, (index, src), {"dim": d, "reduce": reduce}
        else:
            op, others, p = scatter_op, (index, src), {"dim": d}
    else:
        d = _scatter_args(self, dim, index, None, "scatter")
        if reduce is not None:
            return _scatter_apply(self, dim, index, scalar_tensor(src, self.dtype).expand(
                index.shape), None, reduce, inplace)
        op, others, p = scatter_value_op, (index,), {"dim": d, "value": src}
    if inplace:
        _check_writeable(self)
        return apply_inplace(op, self, others, p)
    return apply(op, (self, *others), p)


@method("scatter")
def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *,  # noqa: A002
            value: Any = None, reduce: str | None = None) -> Tensor:
    """input with src (or a number) written at ``index`` along ``dim``; inverse of gather."""
    return _scatter_apply(input, dim, index, src, value, reduce, False)


@method("scatter_")
def scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
             reduce: str | None = None) -> Tensor:
    """In place scatter (src tensor, or value)."""
    return _scatter_apply(self, dim, index, src, value, reduce, True)


@method("scatter_add")
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:  # noqa: A002
    """input with src added at ``index`` along ``dim`` (repeats accumulate)."""
    d = _scatter_args(input, dim, index, src, "scatter_add")
    return apply(scatter_add_op, (input, index, src), {"dim": d})


@method("scatter_add_")
def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In place scatter_add (repeats accumulate)."""
    d = _scatter_args(self, dim, index, src, "scatter_add")
    _check_writeable(self)
    return apply_inplace(scatter_add_op, self, (index, src), {"dim": d})


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
