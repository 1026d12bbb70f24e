"""Indexing: ``x[...]`` / ``x[...] = v``, gather/scatter, index_select/index_add, masks.

An index is turned into a hashable *template* (ints, None, Ellipsis, ``("s", start, stop,
step)`` for slices and ``("t", k)`` for the k-th index tensor), so the JIT can key on it;
index tensors travel as op inputs. Basic indices (ints, slices, None, ...) give views; any
tensor, list or bool gives numpy/PyTorch advanced indexing (a copy).
"""
from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd import grad_mode
from ..dispatch import Op, apply, apply_inplace, tracer
from ..tensor import Tensor
from ._util import (
    as_tensor_like,
    cast,
    grad_for,
    is_scalar,
    method,
    scalar_tensor,
    sum_to,
    wrap_dim,
)
from .shape import _VIEW_IMPLS, _VIEW_OPS, _embed, _type_name, expand, reshape

_OVERLAP_MSG = ("unsupported operation: more than one element of the written-to tensor refers "
                "to a single memory location. Please clone() the tensor before performing the "
                "operation.")


def _check_writeable(t: Tensor) -> None:
    if not t._data.flags.writeable:
        raise RuntimeError(_OVERLAP_MSG)


# ---------------------------------------------------------------------------------------------
# index templates
#
# A basic index is one template. An advanced one is ("adv", basic, advanced): PyTorch first
# applies ints/slices/None as views (an int is a select, never an advanced index as numpy
# would make it), then indexes the result with the tensors at their dims. So x[1, :, [0, 3]]
# is (3, 2) in PyTorch where numpy gives (2, 3).

_FULL = ("s", None, None, None)


def _build(index: tuple, tensors: tuple = ()) -> tuple:
    """A basic template → a numpy index tuple (ending in Ellipsis, so 0-d results are views)."""
    out = []
    for it in index:
        out.append(slice(it[1], it[2], it[3]) if type(it) is tuple else it)
    if Ellipsis not in out:
        out.append(Ellipsis)
    return tuple(out)


def _build_adv(index: tuple, tensors: tuple) -> tuple:
    """The advanced part of a template → a numpy index tuple over the basic view's dims."""
    out = []
    for it in index[2]:
        if it is None:
            out.append(slice(None))
        elif it[0] == "t":
            out.append(tensors[it[1]])
        else:
            out.append(np.array([it[1]]))
    return tuple(out)


def _pick(x: np.ndarray, index: tuple, tensors: tuple) -> np.ndarray:
    """x[index] for an advanced template (a copy)."""
    return x[_build(index[1])][_build_adv(index, tensors)]


def _is_basic(index: tuple) -> bool:
    return not index or index[0] != "adv"


def _slice_part(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, Tensor):
        return int(v.item())
    return int(v.__index__())


def _index_tensor(it: Any) -> Tensor:
    from .creation import tensor

    if isinstance(it, Tensor):
        t = it
    elif isinstance(it, np.ndarray):
        t = tensor(it)
    else:
        t = tensor(it) if len(it) else tensor([], dtype=dtypes.int64)
    kind = t._data.dtype.kind
    if kind == "u" and t._data.dtype.itemsize == 1:
        t = cast(t, dtypes.bool_)  # uint8 indices are masks, as in PyTorch
    elif kind not in "ib":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return t


def _parse(x: Tensor, index: Any) -> tuple[tuple, tuple, str, bool]:
    """(template, index tensors, PyTorch's node name for a basic index, is basic)."""
    single = not isinstance(index, tuple)
    items = (index,) if single else index
    conv: list = []
    tensors: list[Tensor] = []
    consumed = 0
    for it in items:
        if it is None or it is Ellipsis:
            conv.append(it)
        elif isinstance(it, (bool, np.bool_)):
            conv.append(("b", bool(it)))
        elif isinstance(it, (int, np.integer)):
            conv.append(int(it))
            consumed += 1
        elif isinstance(it, slice):
            st, sp, step = (_slice_part(v) for v in (it.start, it.stop, it.step))
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if step is not None and step < 0:
                raise ValueError("step must be greater than zero")
            conv.append(("s", st, sp, step))
            consumed += 1
        elif isinstance(it, (Tensor, np.ndarray, list, tuple)):
            if (isinstance(it, Tensor) and it._data.ndim == 0 and it._data.dtype.kind in "iu"
                    and type(it._data) is np.ndarray):
                conv.append(int(it.item()))  # a 0-d integer tensor indexes like an int
                consumed += 1
                continue
            t = _index_tensor(it)
            conv.append(("t", len(tensors)))
            tensors.append(t)
            consumed += t._data.ndim if t._data.dtype.kind == "b" else 1
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                f"are valid indices (got {type(it).__name__})"
            )
    shp = x._data.shape
    nd = len(shp)
    if consumed > nd:
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    if sum(1 for it in conv if it is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    basic = not any(type(it) is tuple and it[0] in "tb" for it in conv)
    # walk the dims: checks, normalised ints, the name of PyTorch's last view op, and for an
    # advanced index the split into the basic views and the tensors at the dims they index
    name = "AliasBackward0"
    btm: list = []
    mask_err = None
    atm: list = []
    d = 0
    for it in conv:
        if it is Ellipsis:
            n = nd - consumed
            if basic:
                btm.append(Ellipsis)
            else:
                btm.extend([_FULL] * n)
                atm.extend([None] * n)
            d += n
        elif it is None:
            name = "UnsqueezeBackward0"
            btm.append(None)
            atm.append(None)
        elif type(it) is int:
            if not -shp[d] <= it < shp[d]:
                raise IndexError(
                    f"index {it} is out of bounds for dimension {d} with size {shp[d]}"
                )
            btm.append(it % shp[d])
            name = "SelectBackward0"
            d += 1
        elif it[0] == "s":
            full = it[1] in (None, 0) and (it[2] is None or it[2] >= shp[d]) and it[3] in (None, 1)
            if single or not full:
                name = "SliceBackward0"
            btm.append(it)
            atm.append(None)
            d += 1
        elif it[0] == "b":
            btm.append(None)
            atm.append(it)
        else:
            a = tensors[it[1]]._data
            if a.dtype.kind == "b":
                for j, s in enumerate(a.shape):
                    if s != shp[d + j] and mask_err is None:
                        mask_err = (a.shape, j, len(atm) + j)
                btm.extend([_FULL] * a.ndim)
                d += a.ndim
            else:
                if a.size and type(a) is np.ndarray:  # traced: numpy checks at run time
                    bad = (a >= shp[d]) | (a < -shp[d])
                    if bad.any():
                        raise IndexError(
                            f"index {int(a[bad].flat[0])} is out of bounds for dimension {d} "
                            f"with size {shp[d]}"
                        )
                btm.append(_FULL)
                d += 1
            atm.append(it)
    if basic:
        return tuple(btm), (), name, True
    if mask_err is not None:
        # PyTorch reports it against the tensor the basic part (ints, slices, None) gave
        mshape, j, od = mask_err
        res = np.broadcast_to(np.empty((), np.int8), shp)[_build(tuple(btm))].shape
        raise IndexError(
            f"The shape of the mask {list(mshape)} at index {j} does not match the shape of the "
            f"indexed tensor {list(res)} at index {od}"
        )
    shapes = [(int(np.count_nonzero(t._data)),) if t._data.dtype.kind == "b" else t._data.shape
              for t in tensors if type(t._data) is np.ndarray or t._data.dtype.kind != "b"]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError(
            "shape mismatch: indexing tensors could not be broadcast together with shapes "
            + ", ".join(str(list(sh)) for sh in shapes)
        ) from None
    while atm and atm[-1] is None:
        atm.pop()
    return ("adv", tuple(btm), tuple(atm)), tuple(tensors), "IndexBackward0", False


# ---------------------------------------------------------------------------------------------
# x[index]: basic → view, advanced → copy


def _getitem_impl(x: np.ndarray, index: tuple) -> np.ndarray:
    return x[_build(index)]


def _getitem_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return _embed(g, ins[0]._data.shape, "getitem", p)


_getitem_ops = {
    n: Op("getitem", _getitem_impl, _getitem_vjp, n, view=True, group="view")
    for n in ("SelectBackward0", "SliceBackward0", "UnsqueezeBackward0", "AliasBackward0")
}
_VIEW_IMPLS["getitem"] = _getitem_impl
_VIEW_OPS["getitem"] = _getitem_ops["AliasBackward0"]


def _index_impl(x: np.ndarray, *idx: np.ndarray, index: tuple) -> np.ndarray:
    return _pick(x, index, idx)


def _index_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    idx = ins[1:]
    gx = apply(index_backward_op, (g, *idx), {"index": p["index"],
                                              "shape": ins[0]._data.shape})
    return (gx,) + (None,) * len(idx)


index_op = Op("index", _index_impl, _index_vjp, "IndexBackward0", group="library")


def _index_backward_impl(g: np.ndarray, *idx: np.ndarray, index: tuple, shape: tuple) -> np.ndarray:
    # the flat source position of every output element, then a scatter-add (repeats add up)
    n = math.prod(shape)
    lin = _pick(np.arange(n).reshape(shape), index, idx).ravel()
    gr = np.ravel(g)
    if g.dtype.kind == "f":
        return np.bincount(lin, weights=gr, minlength=n).astype(g.dtype).reshape(shape)
    out = np.zeros(n, dtype=g.dtype)
    np.add.at(out, lin, gr)
    return out.reshape(shape)


def _index_backward_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    idx = ins[1:]
    return (apply(index_op, (gg, *idx), {"index": p["index"]}),) + (None,) * len(idx)


index_backward_op = Op("index_backward", _index_backward_impl, _index_backward_vjp,
                       "IndexPutBackward0", group="library")


def _take(x: Tensor, index: tuple, tensors: tuple, basic: bool,
          name: str = "AliasBackward0") -> Tensor:
    if basic:
        return apply(_getitem_ops[name], (x,), {"index": index})
    return apply(index_op, (x, *tensors), {"index": index})


_SELECT_OP = _getitem_ops["SelectBackward0"]


def _getitem(self: Tensor, index: Any) -> Tensor:
    """x[index] with PyTorch's semantics: a view for basic indices, else a copy."""
    if type(index) is int:  # the common x[i]: skip the general parse
        shp = self._data.shape
        if shp and -shp[0] <= index < shp[0]:
            return apply(_SELECT_OP, (self,), {"index": (index % shp[0],)})
    template, tensors, name, basic = _parse(self, index)
    return _take(self, template, tensors, basic, name)


Tensor.__getitem__ = _getitem  # type: ignore[assignment]


# ---------------------------------------------------------------------------------------------
# x[index] = value, index_put


def _index_put_impl(x: np.ndarray, v: np.ndarray, *idx: np.ndarray, index: tuple,
                    accumulate: bool) -> np.ndarray:
    out = x.copy()
    _write(out, v, index, idx, accumulate)
    return out


def _write(out: np.ndarray, v: np.ndarray, index: tuple, idx: tuple, accumulate: bool) -> None:
    """out[index] = v (or += with repeats adding up), with PyTorch's shape error."""
    try:
        if _is_basic(index):
            target, b = out, _build(index)
        else:
            target, b = out[_build(index[1])], _build_adv(index, idx)
        if accumulate:
            np.add.at(target, b, v)
        else:
            target[b] = v
    except ValueError:
        shape = target[b].shape
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
            f"indexing result of shape {list(shape)}"
        ) from None


def _to_shape(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """sum_to that also undoes the leading size-1 dims a value may have beyond the target."""
    if g._data.ndim < len(shape):
        lead = len(shape) - g._data.ndim
        return reshape(sum_to(g, shape[lead:]), shape)
    return sum_to(g, shape)


def _index_put_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, v = ins[0], ins[1]
    idx = ins[2:]
    index = p["index"]
    gx = gv = None
    if x._rg:
        if p["accumulate"]:
            gx = g
        else:
            gx = apply(index_put_op, (g, scalar_tensor(0, g.dtype), *idx),
                       {"index": index, "accumulate": False})
    if v._rg:
        gv = grad_for(_to_shape(_take(g, index, idx, _is_basic(index)), v._data.shape), v)
    return (gx, gv) + (None,) * len(idx)


index_put_op = Op("index_put", _index_put_impl, _index_put_vjp, "IndexPutBackward0",
                  group="library")


def _value_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return cast(value, like.dtype)
    return as_tensor_like(value, like.dtype)


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    """x[index] = value: an in-place write (IndexPutBackward0 on the tape)."""
    template, tensors, _, basic = _parse(self, index)
    if (isinstance(value, Tensor) and not basic and value._data.dtype != self._data.dtype
            and not value._wrapped and value._data.ndim):
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{_type_name(self)} for the destination and {_type_name(value)} for the source."
        )
    v = _value_tensor(value, self)
    _check_writeable(self)
    recording = grad_mode.is_grad_enabled() and (self._rg or v._rg)
    if recording and basic and self._rg and self.grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place "
            "operation."
        )
    if not recording and tracer[0] is None:
        # plain eager write, no tape: straight into the storage
        _write(self._data, v._data, template, tuple(t._data for t in tensors), False)
        self._vc[0] += 1
        return
    apply_inplace(index_put_op, self, (v, *tensors), {"index": template, "accumulate": False})


Tensor.__setitem__ = _setitem  # type: ignore[assignment]


def _put_template(indices: Any) -> tuple[tuple, tuple]:
    ts = tuple(_index_tensor(t) for t in indices)
    return ("adv", (), tuple(("t", i) for i in range(len(ts)))), ts


@method("index_put")
def index_put(input: Tensor, indices: Any, values: Tensor,  # noqa: A002 - PyTorch's name
              accumulate: bool = False) -> Tensor:
    """Out of place x[indices] = values (or += with accumulate)."""
    template, ts = _put_template(indices)
    return apply(index_put_op, (input, _value_tensor(values, input), *ts),
                 {"index": template, "accumulate": bool(accumulate)})


@method("index_put_")
def index_put_(self: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """In place self[indices] = values (or += with accumulate)."""
    template, ts = _put_template(indices)
    _check_writeable(self)
    return apply_inplace(index_put_op, self, (_value_tensor(values, self), *ts),
                         {"index": template, "accumulate": bool(accumulate)})


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
