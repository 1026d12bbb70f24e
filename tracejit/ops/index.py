"""Indexing: ``x[...]`` and ``x[...] = v`` (gather/scatter and masks live next door).

An index is turned into a hashable *template* (ints, None, Ellipsis, ``("s", start, stop,
step)`` for slices and ``("t", k)`` for the k-th index tensor), so the JIT can key on it;
index tensors travel as op inputs. Basic indices (ints, slices, None, ...) give views; any
tensor, list or bool gives numpy/PyTorch advanced indexing (a copy).
"""
from __future__ import annotations

import math
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
    method,
    scalar_tensor,
    sum_to,
)
from .shape import _VIEW_IMPLS, _VIEW_OPS, _embed, _type_name, reshape

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


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
