"""View ops: outputs share the input's storage and version counter, as PyTorch views do.

Each eager impl returns a numpy *view* (never a copy), so writes through a view reach the base.
The backward of the views that pick part of a tensor (select, slice, diagonal, basic indexing)
embeds the gradient in zeros by replaying the same view on a fresh buffer (``embed``); that op
is itself differentiable (its vjp is the view again), so higher-order gradients work.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np

from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import method, size_args, sum_to, wrap_dim

_as_strided = np.lib.stride_tricks.as_strided

# name -> numpy impl of every single-output view, so ``embed`` can replay it on a buffer
_VIEW_IMPLS: dict[str, Callable] = {}
_VIEW_OPS: dict[str, Op] = {}


def _view_op(name: str, impl: Callable, vjp: Callable | None, grad_name: str) -> Op:
    op = Op(name, impl, vjp, grad_name, view=True, group="view")
    _VIEW_IMPLS[name] = impl
    _VIEW_OPS.setdefault(name, op)
    return op


# ---------------------------------------------------------------------------------------------
# embed: the backward of the "pick a part" views


def _embed_impl(g: np.ndarray, shape: tuple, view: str, vp: tuple) -> np.ndarray:
    buf = np.zeros(shape, dtype=g.dtype)
    _VIEW_IMPLS[view](buf, **dict(vp))[...] = g
    return buf


def _embed_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return apply(_VIEW_OPS[p["view"]], (gg,), dict(p["vp"]))


@cache
def _embed_op(view: str, grad_name: str) -> Op:
    return Op("embed_" + view, _embed_impl, _embed_vjp, grad_name, group="library")


_EMBED_NAMES = {"select": "SelectBackwardBackward0", "slice": "SliceBackwardBackward0",
                "diagonal": "DiagonalBackwardBackward0"}


def _embed(g: Tensor, shape: tuple[int, ...], view: str, params: dict) -> Tensor:
    """Zeros of ``shape`` with ``g`` written into the region that view ``view`` picks."""
    op = _embed_op(view, _EMBED_NAMES.get(view, "EmbedBackward0"))
    return apply(op, (g,), {"shape": tuple(shape), "view": view,
                            "vp": tuple(sorted(params.items()))})


def _zeros(shape: Sequence[int], like: Tensor) -> Tensor:
    from .creation import zeros

    return zeros(tuple(shape), dtype=like.dtype, device=like.device)


# ---------------------------------------------------------------------------------------------
# view / reshape

_VIEW_MSG = ("view size is not compatible with input tensor's size and stride (at least one "
             "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")


def _infer_size(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    """Resolve one -1 in ``shape`` for a tensor of ``numel`` elements, PyTorch's errors."""
    infer = -1
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer >= 0:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
        else:
            known *= s
    if infer >= 0:
        if known == 0:
            if numel == 0:
                raise RuntimeError(
                    f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                    "unspecified dimension size -1 can be any value and is ambiguous"
                )
        elif numel % known == 0:
            out = list(shape)
            out[infer] = numel // known
            return tuple(out)
    elif known == numel:
        return tuple(shape)
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


def _view_impl(x: np.ndarray, shape: tuple) -> np.ndarray:
    try:
        return np.reshape(x, shape, copy=False)
    except ValueError:
        raise RuntimeError(_VIEW_MSG) from None


def _reshape_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return reshape(g, ins[0]._data.shape)


view_op = _view_op("view", _view_impl, _reshape_vjp, "ViewBackward0")
# reshape of a tensor that cannot be viewed: a copy (PyTorch's clone + _unsafe_view)
# Under a trace the layout is unknown, so view/reshape record this op too: np.reshape gives a
# view when the run-time strides allow it and a copy otherwise (same values either way).
reshape_copy_op = Op("reshape_copy", lambda x, shape: np.reshape(x, shape),
                     _reshape_vjp, "UnsafeViewBackward0", group="copy")


def _view_dtype_impl(x: np.ndarray, dtype: str) -> np.ndarray:
    try:
        return x.view(dtype)
    except ValueError as e:
        raise RuntimeError(str(e)) from None


view_dtype_op = Op("view_dtype", _view_dtype_impl, None, None, view=True, group="view")


def _viewable(x: np.ndarray, shape: tuple[int, ...]) -> bool:
    if type(x) is not np.ndarray:
        if not hasattr(x, "probe"):
            return False  # traced
        x = x.probe()  # a cuda array: its layout on a data-less host array
    try:
        np.reshape(x, shape, copy=False)
    except ValueError:
        return False
    return True


@method("view")
def view(self: Tensor, *shape: Any) -> Tensor:
    """A view with a new shape (one -1 inferred); fails when the strides do not allow it."""
    from .. import dtypes

    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        return apply(view_dtype_op, (self,), {"dtype": shape[0].np.name})
    shp = _infer_size(size_args(shape), self._data.size)
    if type(self._data) is not np.ndarray and not hasattr(self._data, "probe"):
        return apply(reshape_copy_op, (self,), {"shape": shp})  # traced
    return apply(view_op, (self,), {"shape": shp})


@method("view_as")
def view_as(self: Tensor, other: Tensor) -> Tensor:
    """view(other.shape): shares storage, so it fails where view would."""
    return view(self, other._data.shape)


@method("reshape")
def reshape(input: Tensor, *shape: Any) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """A view when the strides allow it, else a contiguous copy (UnsafeViewBackward0)."""
    shp = _infer_size(size_args(shape), input._data.size)
    if _viewable(input._data, shp):
        return apply(view_op, (input,), {"shape": shp})
    return apply(reshape_copy_op, (input,), {"shape": shp})


@method("reshape_as")
def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    """reshape(other.shape): a view when possible, else a copy."""
    return reshape(self, other._data.shape)


@method("ravel")
def ravel(input: Tensor) -> Tensor:  # noqa: A002
    """The flattened tensor (a view when the layout allows)."""
    return reshape(input, -1)


@method("flatten")
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:  # noqa: A002
    """Merge dims start_dim..end_dim into one (a view when possible)."""
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = input._data.shape
    return reshape(input, shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])


@method("unflatten")
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:  # noqa: A002
    """Split dim into ``sizes`` (one may be -1)."""
    shp = input._data.shape
    d = wrap_dim(dim, len(shp))
    sizes = size_args((sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if -1 in sizes:
        new = _infer_size(sizes, shp[d])
    else:
        new = sizes
        if math.prod(sizes) != shp[d]:
            raise RuntimeError(
                f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
                f"{dim} ({shp[d]}) in the input tensor"
            )
    return reshape(input, shp[:d] + tuple(new) + shp[d + 1:])


# ---------------------------------------------------------------------------------------------
# permute / transpose


def _permute_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    dims = p["dims"]
    inv = [0] * len(dims)
    for i, d in enumerate(dims):
        inv[d] = i
    return apply(permute_op, (g,), {"dims": tuple(inv)})


permute_op = _view_op("permute", lambda x, dims: np.transpose(x, dims), _permute_vjp,
                      "PermuteBackward0")


@method("permute")
def permute(input: Tensor, *dims: Any) -> Tensor:  # noqa: A002
    """Reorder the dims (a view)."""
    dims = size_args(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    wd = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(wd)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return apply(permute_op, (input,), {"dims": wd})


def _swap_impl(x: np.ndarray, dim0: int, dim1: int) -> np.ndarray:
    return np.swapaxes(x, dim0, dim1) if x.ndim else x[...]


def _transpose_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return apply(transpose_op, (g,), p)


transpose_op = _view_op("transpose", _swap_impl, _transpose_vjp, "TransposeBackward0")
t_op = _view_op("t", lambda x: x.T, lambda g, ins, out, p: apply(t_op, (g,)), "TBackward0")


@method("transpose", "swapaxes", "swapdims")
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """Swap two dims (a view)."""
    nd = input._data.ndim
    return apply(transpose_op, (input,), {"dim0": wrap_dim(dim0, nd), "dim1": wrap_dim(dim1, nd)})


swapaxes = swapdims = transpose


@method("t")
def t(input: Tensor) -> Tensor:  # noqa: A002
    """Transpose of a matrix; 0-d and 1-D tensors come back as views of themselves."""
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return apply(t_op, (input,))


def _T(self: Tensor) -> Tensor:
    return permute(self, tuple(range(self._data.ndim - 1, -1, -1)))


def _mT(self: Tensor) -> Tensor:
    nd = self._data.ndim
    if nd < 2:
        raise RuntimeError(
            f"tensor.mT is only supported on matrices or batches of matrices. Got {nd}-D tensor."
        )
    return transpose(self, -2, -1)


def _H(self: Tensor) -> Tensor:
    nd = self._data.ndim
    if nd not in (0, 2):
        raise RuntimeError(
            f"tensor.H is only supported on matrices (2-D tensors). Got {nd}-D tensor."
        )
    return _T(self)


Tensor.T = property(_T)  # type: ignore[attr-defined]
Tensor.mT = property(_mT)  # type: ignore[attr-defined]
Tensor.mH = property(_mT)  # type: ignore[attr-defined]
Tensor.H = property(_H)  # type: ignore[attr-defined]


@method("adjoint")
def adjoint(input: Tensor) -> Tensor:  # noqa: A002
    """The transposed last two dims (real dtypes: no conjugation)."""
    return _mT(input)


@method("movedim", "moveaxis")
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:  # noqa: A002
    """Move dims ``source`` to positions ``destination``, keeping the others in order."""
    nd = input._data.ndim
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
            f"the same number of dims as destination ({dst} dims)"
        )
    ws = [wrap_dim(int(d), nd) for d in src]
    wd = [wrap_dim(int(d), nd) for d in dst]
    if len(set(ws)) != len(ws):
        raise RuntimeError(f"movedim: repeated dim in `source` ({src})")
    if len(set(wd)) != len(wd):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({dst})")
    order = [d for d in range(nd) if d not in ws]
    for d, s in sorted(zip(wd, ws)):
        order.insert(d, s)
    return apply(permute_op, (input,), {"dims": tuple(order)})


moveaxis = movedim


# ---------------------------------------------------------------------------------------------
# squeeze / unsqueeze


def _unsqueeze_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return apply(squeeze_ops[1], (g,), {"dims": (p["dim"],)})


def _unsqueeze_impl(x: np.ndarray, dim: int) -> np.ndarray:
    return x[(slice(None),) * dim + (None, Ellipsis)]


unsqueeze_op = _view_op("unsqueeze", _unsqueeze_impl, _unsqueeze_vjp, "UnsqueezeBackward0")


def _squeeze_impl(x: np.ndarray, dims: tuple) -> np.ndarray:
    return np.squeeze(x, axis=dims) if dims else x[...]


def _squeeze_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    for d in p["dims"]:
        g = apply(unsqueeze_op, (g,), {"dim": d})
    return g


squeeze_ops = [Op("squeeze", _squeeze_impl, _squeeze_vjp, f"SqueezeBackward{i}", view=True,
                  group="view") for i in range(3)]
_VIEW_IMPLS["squeeze"] = _squeeze_impl
_VIEW_OPS["squeeze"] = squeeze_ops[2]


@method("unsqueeze")
def unsqueeze(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    """Insert a size-1 dim at ``dim`` (range ndim+1)."""
    return apply(unsqueeze_op, (input,), {"dim": wrap_dim(dim, input._data.ndim + 1)})


@method("squeeze")
def squeeze(input: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """Drop size-1 dims (all, one, or a tuple); other dims named are kept, as in PyTorch."""
    shp = input._data.shape
    nd = len(shp)
    if dim is None:
        which = 0
        dims = tuple(i for i, s in enumerate(shp) if s == 1)
    else:
        which = 1 if isinstance(dim, (int, np.integer)) else 2
        cand = [dim] if which == 1 else list(dim)
        ws = sorted({wrap_dim(int(d), nd) for d in cand})
        dims = tuple(d for d in ws if nd and shp[d] == 1)
    return apply(squeeze_ops[which], (input,), {"dims": dims})


# ---------------------------------------------------------------------------------------------
# expand


def _expand_impl(x: np.ndarray, size: tuple) -> np.ndarray:
    lead = len(size) - x.ndim
    strides = []
    overlap = False
    for i, s in enumerate(size):
        if i < lead or x.shape[i - lead] != s:
            strides.append(0)
            overlap = overlap or s > 1
        else:
            strides.append(x.strides[i - lead])
    # a broadcast view writes several elements to one location: PyTorch forbids that
    return _as_strided(x, size, strides, writeable=not overlap)


def _expand_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return sum_to(g, ins[0]._data.shape)


expand_op = _view_op("expand", _expand_impl, _expand_vjp, "ExpandBackward0")

_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool"}


def _type_name(t: Tensor) -> str:
    """PyTorch's capitalised scalar-type name (Float, Double, Long...) for messages."""
    return _TYPE_NAMES[t._data.dtype.name]


def _expand_shape(shp: tuple[int, ...], sizes: tuple[int, ...], what: str = "") -> tuple:
    """The shape ``shp`` expands to under ``sizes`` (-1 keeps a dim), PyTorch's errors."""
    if len(sizes) < len(shp):
        raise RuntimeError(
            f"expand({what}{{{list(shp)}}}, size={list(sizes)}): the number of sizes provided "
            f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
            f"({len(shp)})"
        )
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
        else:
            cur = shp[i - lead]
            if s == -1:
                s = cur
            elif cur != s and (cur != 1 or s < 0):
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size ({cur})"
                    f" at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                    f"Tensor sizes: {list(shp)}"
                )
        out.append(s)
    return tuple(out)


@method("expand")
def expand(self: Tensor, *sizes: Any) -> Tensor:
    """A broadcast view (stride 0 on new/size-1 dims); writing into it is an error."""
    shape = _expand_shape(self._data.shape, size_args(sizes),
                         f"torch.{_type_name(self)}Tensor")
    return apply(expand_op, (self,), {"size": shape})


@method("expand_as")
def expand_as(self: Tensor, other: Tensor) -> Tensor:
    """expand(other.shape): a broadcast view, no copy."""
    return expand(self, other._data.shape)


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:  # noqa: A002
    """torch.broadcast_to: expand under numpy's name."""
    return expand(input, tuple(size))


method("broadcast_to")(broadcast_to)


# ---------------------------------------------------------------------------------------------
# select / slice / narrow / diagonal


def _select_impl(x: np.ndarray, dim: int, index: int) -> np.ndarray:
    # the trailing Ellipsis keeps a 0-d result an array view rather than a numpy scalar
    return x[(slice(None),) * dim + (index, Ellipsis)]


def _slice_impl(x: np.ndarray, dim: int, start: int, stop: int, step: int) -> np.ndarray:
    return x[(slice(None),) * dim + (slice(start, stop, step),)]


def _embed_vjp_for(view: str) -> Callable:
    def vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
        return _embed(g, ins[0]._data.shape, view, p)

    return vjp


select_op = _view_op("select", _select_impl, _embed_vjp_for("select"), "SelectBackward0")
slice_op = _view_op("slice", _slice_impl, _embed_vjp_for("slice"), "SliceBackward0")


@method("select")
def select(input: Tensor, dim: int, index: int) -> Tensor:  # noqa: A002
    """The slice at ``index`` along ``dim``, that dim removed (a view)."""
    shp = input._data.shape
    if not shp:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, len(shp))
    index = int(index)
    if not -shp[d] <= index < shp[d]:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(shp)} at dimension "
            f"{dim}"
        )
    return apply(select_op, (input,), {"dim": d, "index": index % shp[d]})


@method("narrow")
def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:  # noqa: A002
    """Elements start..start+length of ``dim`` (a view)."""
    shp = input._data.shape
    if not shp:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, len(shp))
    size = shp[d]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({size})."
        )
    return apply(slice_op, (input,), {"dim": d, "start": start, "stop": start + length,
                                      "step": 1})


def _diagonal_impl(x: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
    shp, st = x.shape, x.strides
    keep = [i for i in range(x.ndim) if i not in (dim1, dim2)]
    if offset >= 0:
        n = max(min(shp[dim1], shp[dim2] - offset), 0)
        base = x[(slice(None),) * dim2 + (slice(min(offset, shp[dim2]), None),)]
    else:
        n = max(min(shp[dim1] + offset, shp[dim2]), 0)
        base = x[(slice(None),) * dim1 + (slice(min(-offset, shp[dim1]), None),)]
    shape = tuple(shp[i] for i in keep) + (n,)
    strides = tuple(st[i] for i in keep) + (st[dim1] + st[dim2],)
    # a writable strided view of the diagonal, as PyTorch's (numpy's own is read-only)
    return _as_strided(base, shape, strides, writeable=base.flags.writeable)


diagonal_op = _view_op("diagonal", _diagonal_impl, _embed_vjp_for("diagonal"),
                       "DiagonalBackward0")


@method("diagonal")
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """The diagonal of the (dim1, dim2) planes, appended as the last dim (a writable view)."""
    nd = input._data.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return apply(diagonal_op, (input,), {"offset": int(offset), "dim1": d1, "dim2": d2})


# ---------------------------------------------------------------------------------------------
# multi-output views: unbind, split, chunk


def _multi(name: str, impl: Callable, vjp: Callable, grad_name: str, n: int) -> Op:
    if n == 1:
        def one(*a: Any, **k: Any) -> np.ndarray:
            return impl(*a, **k)[0]

        return Op(name, one, vjp, grad_name, view=True, nout=1, group="view")
    return Op(name, impl, vjp, grad_name, view=True, nout=n, group="view")


def _unbind_impl(x: np.ndarray, dim: int) -> tuple:
    pre = (slice(None),) * dim
    return tuple(x[pre + (i, Ellipsis)] for i in range(x.shape[dim]))


def _unbind_vjp(g: Any, ins: Any, out: Any, p: dict) -> Tensor:
    from .join import stack

    gs = g if isinstance(g, tuple) else (g,)
    x = ins[0]
    shp = x._data.shape[:p["dim"]] + x._data.shape[p["dim"] + 1:]
    return stack([gi if gi is not None else _zeros(shp, x) for gi in gs], p["dim"])


@cache
def _unbind_op(n: int) -> Op:
    return _multi("unbind", _unbind_impl, _unbind_vjp, "UnbindBackward0", n)


@method("unbind")
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """All slices along ``dim`` as a tuple of views."""
    shp = input._data.shape
    if not shp:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, len(shp))
    n = shp[d]
    if n == 0:
        return ()
    res = apply(_unbind_op(n), (input,), {"dim": d})
    return res if n > 1 else (res,)


def _split_impl(x: np.ndarray, dim: int, sizes: tuple) -> tuple:
    pre = (slice(None),) * dim
    out = []
    start = 0
    for s in sizes:
        out.append(x[pre + (slice(start, start + s),)])
        start += s
    return tuple(out)


def _split_vjp(g: Any, ins: Any, out: Any, p: dict) -> Tensor:
    from .join import cat

    gs = g if isinstance(g, tuple) else (g,)
    x = ins[0]
    d = p["dim"]
    shp = x._data.shape
    parts = []
    for gi, s in zip(gs, p["sizes"]):
        parts.append(gi if gi is not None else _zeros(shp[:d] + (s,) + shp[d + 1:], x))
    return cat(parts, d)


@cache
def _split_op(grad_name: str, n: int) -> Op:
    return _multi("split", _split_impl, _split_vjp, grad_name, n)


def _split_sizes(input: Tensor, sizes: tuple[int, ...], dim: int, grad_name: str) -> tuple:  # noqa: A002
    res = apply(_split_op(grad_name, len(sizes)), (input,), {"dim": dim, "sizes": sizes})
    return res if len(sizes) > 1 else (res,)


@method("split")
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of consecutive pieces along ``dim``: equal size (last smaller) or given sizes."""
    shp = tensor._data.shape
    if not shp:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, len(shp))
    size = shp[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
        if s == 0 and size != 0:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of "
                f"{size}"
            )
        n = max((size + s - 1) // s, 1) if s else 1
        sizes = (s,) * (n - 1) + (size - s * (n - 1),)
        return _split_sizes(tensor, sizes, d, "SplitBackward0")
    sizes = size_args((split_size_or_sections,))
    if any(s < 0 for s in sizes):
        raise RuntimeError(
            "split_with_sizes expects split_sizes have only non-negative entries, but got "
            f"split_sizes={list(sizes)}"
        )
    if sum(sizes) != size:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
            f"size at dimension {d}), but got split_sizes={list(sizes)}"
        )
    return _split_sizes(tensor, sizes, d, "SplitWithSizesBackward0")


@method("split_with_sizes")
def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:  # noqa: A002
    """split with explicit piece sizes (SplitWithSizesBackward0)."""
    return split(input, list(split_sizes), dim)


@method("chunk")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """At most ``chunks`` views of size ceil(n / chunks) along ``dim``."""
    shp = input._data.shape
    if not shp:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, len(shp))
    size = shp[d]
    s = (size + chunks - 1) // chunks
    if s == 0 and size == 0:
        return _split_sizes(input, (0,) * chunks, d, "SplitWithSizesBackward0")
    return split(input, s, d)


@method("tensor_split")
def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:  # noqa: A002
    """numpy.array_split semantics: n nearly equal pieces, or cuts at the given indices."""
    shp = input._data.shape
    if not shp:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    d = wrap_dim(dim, len(shp))
    size = shp[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds = [0]
        for i in range(n):
            bounds.append(bounds[-1] + q + (1 if i < r else 0))
    else:
        bounds = [0] + [min(max(int(i) if i >= 0 else int(i) + size, 0), size)
                        for i in indices_or_sections] + [size]
    return tuple(
        apply(slice_op, (input,), {"dim": d, "start": a, "stop": max(a, b), "step": 1})
        for a, b in zip(bounds[:-1], bounds[1:])
    )


# ---------------------------------------------------------------------------------------------
# copies that move elements: flip, roll


def _flip_impl(x: np.ndarray, dims: tuple) -> np.ndarray:
    return np.ascontiguousarray(np.flip(x, dims)) if dims else x.copy()


flip_op = Op("flip", _flip_impl, lambda g, ins, out, p: apply(flip_op, (g,), p),
             "FlipBackward0", group="library")


def _dim_list(dims: Any, nd: int) -> tuple[int, ...]:
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    ws = tuple(wrap_dim(int(d), nd) for d in dims)
    for d in ws:
        if ws.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return ws


@method("flip")
def flip(input: Tensor, *dims: Any) -> Tensor:  # noqa: A002
    """Reverse the order along ``dims`` (a copy, as in PyTorch)."""
    if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
        dims = tuple(dims[0])
    return apply(flip_op, (input,), {"dims": _dim_list(dims, input._data.ndim)})


@method("fliplr")
def fliplr(input: Tensor) -> Tensor:  # noqa: A002
    """flip(1) of a tensor with at least two dims."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


@method("flipud")
def flipud(input: Tensor) -> Tensor:  # noqa: A002
    """flip(0) of a tensor with at least one dim."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


def _roll_impl(x: np.ndarray, shifts: tuple, dims: Any) -> np.ndarray:
    return np.roll(x, shifts if dims is not None else shifts[0], axis=dims)


def _roll_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return apply(roll_op, (g,), {"shifts": tuple(-s for s in p["shifts"]), "dims": p["dims"]})


roll_op = Op("roll", _roll_impl, _roll_vjp, "RollBackward0", group="library")


@method("roll")
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:  # noqa: A002
    """Shift elements cyclically along ``dims`` (over the flattened tensor without dims)."""
    sh = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError("`shifts` required" if not sh else
                               f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        return apply(roll_op, (input,), {"shifts": sh, "dims": None})
    nd = input._data.ndim
    ds = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(sh) != len(ds):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(ds)}")
    return apply(roll_op, (input,), {"shifts": sh,
                                     "dims": tuple(wrap_dim(int(d), nd) for d in ds)})


# ---------------------------------------------------------------------------------------------
# atleast_nd


def _atleast(tensors: tuple, n: int) -> Any:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        nd = t._data.ndim
        if nd >= n:
            out.append(t)
        elif n == 1:
            out.append(reshape(t, 1))
        elif n == 2:
            out.append(unsqueeze(t, 0) if nd == 1 else reshape(t, 1, 1))
        else:
            out.append(reshape(t, 1, 1, 1) if nd == 0 else
                       unsqueeze(unsqueeze(t, 0), -1) if nd == 1 else unsqueeze(t, -1))
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor as a view with at least one dim."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor as a view with at least two dims (new dims lead)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor as a view with at least three dims, as numpy places them."""
    return _atleast(tensors, 3)


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
