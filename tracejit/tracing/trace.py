"""The tracer: the same ops that run numpy eagerly record graph nodes here instead.

While a tracer is active, ``dispatch.apply`` calls ``Tracer.bind``. Traced tensors hold a
``Var`` (shape and dtype, no values) as their data. Concrete tensors an op reads (closures,
module parameters, ``.grad`` buffers) become graph inputs keyed by their storage, so each call
reads their current values; in-place writes to them are recorded and replayed after each call.
"""
from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from .. import dispatch
from ..dispatch import Op

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TraceError(RuntimeError):
    """A traced function needed a value that only exists when the graph runs."""


def user_frame() -> str:
    """file:line of the innermost frame outside tracejit: where the user's code asked."""
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_PKG_DIR + os.sep) and f"{os.sep}numpy{os.sep}" not in fn:
            return f"{f.f_code.co_filename}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def _value_error(what: str) -> TraceError:
    return TraceError(
        f"{what} of a traced tensor at {user_frame()}: its value is not known while "
        "tracejit.jit traces the function. Use tracejit.where(cond, a, b) for data-dependent "
        "selection, or pass the value as a static argument (static_argnums/static_argnames)."
    )


class _Flags:
    c_contiguous = True
    f_contiguous = False
    writeable = True


def _cpu_device() -> Any:
    from ..device import device

    return device("cpu")


class Var:
    """The data of a traced tensor: a graph value with a shape and a numpy dtype."""

    __slots__ = ("shape", "dtype", "id")
    flags = _Flags()
    traced = True

    def __init__(self, vid: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.id = vid
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def strides(self) -> tuple[int, ...]:
        st, acc = [], self.dtype.itemsize
        for s in reversed(self.shape):
            st.append(acc)
            acc *= max(s, 1)
        return tuple(reversed(st))

    def item(self) -> Any:
        raise _value_error(".item()/bool()/float()/int()")

    def reshape(self, *a: Any) -> Any:
        raise _value_error("converting the value")

    def tolist(self) -> Any:
        raise _value_error(".tolist()")

    def __array__(self, *a: Any, **k: Any) -> Any:
        raise _value_error(".numpy()/np.asarray()")

    def __bool__(self) -> bool:
        raise _value_error("bool()")

    def __repr__(self) -> str:
        return f"Var(%{self.id}, {list(self.shape)}, {self.dtype})"

    @property
    def device(self) -> Any:
        """The traced graph's device: tensors made with ``*_like`` follow it, as in eager."""
        tr = dispatch.tracer[0]
        return tr.device if tr is not None else _cpu_device()


class Escaped(Var):
    """The data of a tensor made inside a trace that outlived it: using it is an error."""

    __slots__ = ()

    def _fail(self, *a: Any, **k: Any) -> Any:
        raise TraceError(
            "this tensor was created inside a function traced by tracejit.jit and kept after "
            "the trace (for example in a global or in optimizer state): replays cannot update "
            "it. Create such state before tracing (run one eager step), or return the tensor."
        )

    item = reshape = tolist = __array__ = __bool__ = _fail


# ops whose output shape depends on the data: they cannot be traced
DATA_DEPENDENT = frozenset({"nonzero", "nonzero_tuple", "masked_select", "unique"})
ELEMENTWISE_GROUPS = frozenset({"unary", "binary", "where", "cast"})


class GraphNode:
    """One recorded op application."""

    __slots__ = ("op", "ins", "params", "outs", "phase")

    def __init__(self, op: Op, ins: list[int], params: dict, outs: list[int], phase: int) -> None:
        self.op, self.ins, self.params, self.outs, self.phase = op, ins, params, outs, phase


class Tracer:
    """Records ops into a flat list of nodes over numbered values."""

    def __init__(self) -> None:
        self.nodes: list[GraphNode] = []
        self.shapes: list[tuple[int, ...]] = []
        self.dtypes: list[np.dtype] = []
        self.consts: dict[int, np.ndarray] = {}  # value id -> constant (wrapped scalars)
        self._const_ids: dict[tuple, int] = {}
        self.captures: dict[int, int] = {}  # id(ndarray) -> input value id
        self.capture_arrays: list[np.ndarray] = []
        self.capture_tensors: list[Any] = []
        self.arg_ids: list[int] = []
        self.storage: dict[int, int] = {}  # id(ndarray) -> value id after in-place writes
        self.leaves: dict[int, tuple] = {}  # id(leaf) -> (leaf, its .grad before the trace)
        self.final_grads: dict[int, Any] = {}
        self.grad_origin: dict[int, tuple] = {}  # id -> (tensor, .grad before the first write)
        self.grad_captures: list[Any] = []  # captured tensors that require grad, in order
        self._grad_capture_ids: set[int] = set()
        self.called_backward = False
        self.created: list[Any] = []  # every traced tensor made (poisoned after the trace)
        self.value_guards: list[tuple[Any, Any, Any]] = []
        self.phase = 0  # 0 forward, 1 backward (set by the jit around autograd.grad)
        self.device = _cpu_device()  # cuda once an argument or a captured tensor is

    # ---- values ---------------------------------------------------------------------------
    def new_value(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        self.shapes.append(tuple(shape))
        self.dtypes.append(np.dtype(dtype))
        return len(self.shapes) - 1

    def new_input(self, shape: tuple[int, ...], dtype: np.dtype) -> Var:
        vid = self.new_value(shape, dtype)
        self.arg_ids.append(vid)
        return Var(vid, tuple(shape), np.dtype(dtype))

    def value_of(self, t: Any) -> int:
        """The graph value a tensor argument of an op stands for."""
        d = t._data
        if type(d) is Var:
            return d.id
        if t._wrapped:
            key = (d.dtype.str, d.item())
            vid = self._const_ids.get(key)
            if vid is None:
                vid = self.new_value((), d.dtype)
                self.consts[vid] = d
                self._const_ids[key] = vid
            return vid
        if t._rg:
            if t.grad_fn is None and id(t) not in self.leaves:
                self.leaves[id(t)] = (t, self.grad_at_start(t))
            if id(t) not in self._grad_capture_ids:
                self._grad_capture_ids.add(id(t))
                self.grad_captures.append(t)
        return self.capture(d, t)

    def on_grad_write(self, t: Any) -> None:
        """Remember a tensor's .grad before the traced function first assigns it."""
        if id(t) not in self.grad_origin:
            self.grad_origin[id(t)] = (t, t._grad)

    def grad_at_start(self, t: Any) -> Any:
        """t.grad as it was when the call started (the function may have reset it since)."""
        rec = self.grad_origin.get(id(t))
        return rec[1] if rec is not None else t._grad

    def capture(self, arr: np.ndarray, t: Any = None) -> int:
        key = id(arr)
        vid = self.storage.get(key)
        if vid is not None:
            return vid
        vid = self.captures.get(key)
        if vid is None:
            vid = self.new_value(arr.shape, arr.dtype)
            if type(arr) is not np.ndarray:
                self.device = arr.device  # a CudaArray
            self.captures[key] = vid
            self.capture_arrays.append(arr)
            self.capture_tensors.append(t)
        return vid

    # ---- the hook dispatch.apply calls ----------------------------------------------------
    def bind(self, op: Op, inputs: tuple, params: dict) -> Any:
        if op.name in DATA_DEPENDENT or (op.name == "index" and _has_bool_index(inputs)):
            raise TraceError(
                f"{op.name} has an output shape that depends on the data (at {user_frame()}); "
                "it cannot be traced. Use tracejit.where or masked_fill with a fixed shape."
            )
        ins = [self.value_of(t) for t in inputs]
        shapes_dtypes = abstract_eval(op, [(self.shapes[i], self.dtypes[i]) for i in ins], params)
        outs = []
        vars_ = []
        for shape, dt in shapes_dtypes:
            vid = self.new_value(shape, dt)
            outs.append(vid)
            vars_.append(Var(vid, tuple(shape), np.dtype(dt)))
        self.nodes.append(GraphNode(op, ins, dict(params), outs, self.phase))
        return vars_[0] if op.nout == 1 else tuple(vars_)

    def write(self, dst: Any, res: Any) -> None:
        """An in-place write ``dst[...] = res`` under trace (dispatch.write_into calls this)."""
        src = res._data
        vid = self.value_of(res)
        dshape = tuple(dst._data.shape)
        if tuple(self.shapes[vid]) != dshape or self.dtypes[vid] != dst._data.dtype:
            from ..ops.elementwise import cast_op

            if tuple(self.shapes[vid]) != dshape:
                vid = self._expand(vid, dshape)
            if self.dtypes[vid] != dst._data.dtype:
                out = self.new_value(dshape, dst._data.dtype)
                self.nodes.append(GraphNode(cast_op, [vid], {"dtype": str(dst._data.dtype)},
                                            [out], self.phase))
                vid = out
        if dst._base is not None:
            raise TraceError(
                f"in-place update of a view at {user_frame()} is not supported under "
                "tracejit.jit; update the base tensor or use an out-of-place op"
            )
        d = dst._data
        if type(d) is Var:
            dst._data = Var(vid, d.shape, d.dtype)
        else:
            self.capture(d, dst)
            self.storage[id(d)] = vid
        del src

    def _expand(self, vid: int, shape: tuple[int, ...]) -> int:
        from ..ops.shape import expand_op

        out = self.new_value(shape, self.dtypes[vid])
        self.nodes.append(GraphNode(expand_op, [vid], {"size": tuple(shape)}, [out], self.phase))
        return out


def guard(container: Any, key: Any) -> Any:
    """``container[key]``, recorded as a guard when a trace reads it.

    Library code that reads a Python value which changes between calls (an optimizer's lr)
    calls this, so a replay with a different value retraces instead of reusing a stale one.
    """
    value = container[key]
    tr = dispatch.tracer[0]
    if tr is not None:
        tr.value_guards.append((container, key, value))
    return value


def _has_bool_index(inputs: tuple) -> bool:
    return any(t._data.dtype == np.bool_ for t in inputs[1:])


# ---- abstract evaluation -------------------------------------------------------------------

_abstract_cache: dict[tuple, list] = {}


def _dummy(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A zero array of any shape in one element of memory (all strides 0)."""
    base = np.zeros(1, dtype)
    return np.lib.stride_tricks.as_strided(base, shape, (0,) * len(shape), writeable=False)


def abstract_eval(op: Op, avals: list[tuple], params: dict) -> list[tuple]:
    """Output (shape, dtype) pairs of ``op`` without computing on real data."""
    try:
        key = (op, tuple(avals), tuple(sorted(params.items())))
        hit = _abstract_cache.get(key)
    except TypeError:
        key, hit = None, None
    if hit is not None:
        return hit
    if op.group in ELEMENTWISE_GROUPS:
        shape = np.broadcast_shapes(*(s for s, _ in avals)) if avals else ()
        tiny = [np.ones((1,) * len(s), d) for s, d in avals]
        out = op.impl(*tiny, **params)
        res = [(tuple(shape), np.asarray(out).dtype)]
    else:
        if op.group == "matmul":
            avals = _shrink_contraction(avals)
        outs = op.impl(*[_dummy(s, d) for s, d in avals], **params)
        if op.nout == 1:
            outs = (outs,)
        res = [(tuple(np.shape(o)), np.asarray(o).dtype) for o in outs]
    if key is not None and len(_abstract_cache) < 100_000:
        _abstract_cache[key] = res
    return res


def _shrink_contraction(avals: list[tuple]) -> list[tuple]:
    """Matmul's output shape does not depend on the contracted size: make it 1 (cheap)."""
    (a, da), (b, db) = avals[0], avals[1]
    a = a[:-1] + (1,) if a else a
    if len(b) >= 2:
        b = b[:-2] + (1,) + b[-1:]
    elif len(b) == 1:
        b = (1,)
    return [(a, da), (b, db), *avals[2:]]
