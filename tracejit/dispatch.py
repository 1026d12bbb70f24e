"""The one op path. Eager execution, the tape and the tracer all go through ``apply``.

An ``Op`` bundles the forward kernel (``impl`` on numpy arrays), the backward rule (``vjp``,
written in tracejit ops so it is differentiable and traceable) and the node name PyTorch uses.
When a tracer is active, ``apply`` hands the op to it instead of running numpy (JAX's
``bind``); the tape above it is the same either way.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .autograd import grad_mode
from .autograd.node import node_class
from .cuda.array import CudaArray, DeviceRedirect
from .tensor import Tensor

_grad = grad_mode._enabled
_new = object.__new__
tracer: list[Any] = [None]  # the active tracer, set by tracejit.jit
# in-place ops on views of tensors on the tape (CopySlices), registered by ops/strided.py
inplace_view_handler: list[Any] = [None]
# eager ops with a cuda input (tracejit/cuda/ops.py registers device_apply)
def _first_device_apply(op: Op, inputs: tuple, params: dict | None) -> Any:
    from .cuda.ops import device_apply as impl  # imports the tracing package: lazily

    device_apply[0] = impl
    return impl(op, inputs, params)


device_apply: list[Any] = [_first_device_apply]
_ARRAYS = (np.ndarray, CudaArray)


class Op:
    """One op: forward kernel, backward rule and the PyTorch name of its node."""

    __slots__ = ("name", "impl", "vjp", "node_cls", "save", "view", "nout", "group",
                 "diff_outs", "diff_ins")

    def __init__(
        self,
        name: str,
        impl: Callable,
        vjp: Callable | None = None,
        grad_name: str | None = None,
        save: str = "",
        view: bool = False,
        nout: int = 1,
        group: str = "other",
        diff_outs: tuple[int, ...] | None = None,
        diff_ins: tuple[int, ...] | None = None,
    ) -> None:
        self.name = name
        self.impl = impl
        self.vjp = vjp
        self.node_cls = node_class(grad_name) if vjp is not None and grad_name else None
        # which values the backward reads: "i" saves inputs, "o" saves outputs
        self.save = save
        self.view = view
        self.nout = nout
        self.group = group
        self.diff_outs = diff_outs if diff_outs is not None else tuple(range(nout))
        # the inputs that get an edge in next_functions (PyTorch leaves out e.g. where's
        # condition); vjp returns one gradient per such input. None: every input.
        self.diff_ins = diff_ins

    def __repr__(self) -> str:
        return f"Op({self.name})"


def apply(op: Op, inputs: tuple[Tensor, ...], params: dict | None = None) -> Any:
    """Run ``op`` on tensors: forward (eager or traced), then record it on the tape."""
    tr = tracer[0]
    if tr is None:
        if inputs and type(inputs[0]._data) is not np.ndarray:  # cuda (tracejit/cuda/ops.py)
            out = device_apply[0](op, inputs, params)
        else:
            try:
                if params:
                    out = op.impl(*[t._data for t in inputs], **params)
                else:
                    out = op.impl(*[t._data for t in inputs])
            except DeviceRedirect:  # a later input is on cuda: devices differ, or a scalar
                out = device_apply[0](op, inputs, params)
    else:
        if params is None:
            params = {}
        out = tr.bind(op, inputs, params)
    if op.nout == 1:
        if type(out) is not np.ndarray and tr is None and type(out) is not CudaArray:
            out = np.asarray(out)
        res = _new(Tensor)
        res._data = out
        res._rg = False
        res._vc = [0]
        outs = (res,)
    else:
        outs = tuple(
            Tensor._make(o if tr is not None or type(o) in _ARRAYS else np.asarray(o))
            for o in out
        )
        res = outs
    if tr is not None:
        tr.created.extend(outs)
    if op.view:
        base = inputs[0]
        for o in outs:
            o._vc = base._vc
            o._base = base._base if base._base is not None else base
    if _grad[0] and op.node_cls is not None:
        for t in inputs:
            if t._rg:
                _record(op, inputs, outs, params if params is not None else {})
                break
    return res


def _record(op: Op, inputs: tuple[Tensor, ...], outs: tuple[Tensor, ...], params: dict) -> None:
    if op.nout == 1 and outs[0]._data.dtype.kind != "f":
        return  # integer and bool results never require grad, as in PyTorch (x.long())
    node = _new(op.node_cls)  # Node.__init__'s defaults, set directly (hot path)
    node._op = op
    node._params = params
    node._nout = op.nout
    node._versions = ()
    edges = []
    for t in inputs if op.diff_ins is None else [inputs[i] for i in op.diff_ins]:
        if t._rg:
            fn = t.grad_fn
            edges.append((fn, t._output_nr) if fn is not None else (t._accumulator(), 0))
        else:
            edges.append((None, 0))
    node.next_functions = tuple(edges)
    save = op.save
    # inputs are always kept (the rules read their shapes, dtypes and requires_grad) but only
    # those the backward reads as values are version-checked
    saved_in = inputs
    saved_out = None
    if "o" in save:
        saved_out = outs[0] if op.nout == 1 else outs
    node._saved = (saved_in, saved_out)
    if save == "i":  # the common case (mul, div, pow, ...): a plain comprehension is fastest
        node._versions = tuple([(t, t._vc[0]) for t in inputs])
    elif save:
        vers = []
        if "i" in save:
            vers.extend((t, t._vc[0]) for t in inputs)
        if saved_out is not None:
            # a multi-output op's backward reads its index outputs, not the values the user
            # gets to modify (v, i = x.max(1); v.relu_() is fine, as in PyTorch)
            checked = outs if op.nout == 1 else [o for k, o in enumerate(outs)
                                                 if k not in op.diff_outs]
            vers.extend((t, t._vc[0]) for t in checked)
        node._versions = tuple(vers)
    for i in op.diff_outs:
        o = outs[i]
        if o._data.dtype.kind != "f":
            continue
        o._rg = True
        o.grad_fn = node
        o._output_nr = i


def apply_inplace(op: Op, self: Tensor, others: tuple, params: dict | None = None) -> Tensor:
    """``self.op_(...)``: compute out of place, write into self's storage, take its history."""
    recording = _grad[0] and (self._rg or any(t._rg for t in others))
    if recording and self._base is not None and tracer[0] is None:
        return inplace_view_handler[0](op, self, others, params)
    if recording:
        check_inplace_allowed(self)
        if "i" in op.save:
            # the backward needs self as it was: save a snapshot that keeps its history
            snap = Tensor._make(self._data.copy(), self._rg)
            snap.grad_fn, snap._output_nr = self.grad_fn, self._output_nr
            snap._accum = self._accum
            self_in = snap
        else:
            self_in = self
        res = apply(op, (self_in, *others), params)
    else:
        with grad_mode.no_grad():
            res = apply(op, (self, *others), params)
    write_into(self, res)
    if recording and res.grad_fn is not None:
        self.grad_fn = res.grad_fn
        self._output_nr = res._output_nr
        self._rg = True
    return self


def check_inplace_allowed(self: Tensor) -> None:
    """PyTorch's errors for in-place ops that would corrupt the tape."""
    if self.grad_fn is None and self._rg:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = self._base
    if base is not None and (base._rg or self._rg):
        if base.grad_fn is None and base._rg:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )


def write_into(self: Tensor, res: Tensor) -> None:
    """Copy an op's result into self's storage (casting like PyTorch) and bump the version."""
    src = res._data
    dst = self._data
    if src.dtype != dst.dtype:
        sk, dk = src.dtype.kind, dst.dtype.kind
        order = {"b": 0, "u": 1, "i": 1, "f": 2}
        if order[sk] > order[dk]:
            raise RuntimeError(
                f"result type {res.dtype.scalar_name} can't be cast to the desired output "
                f"type {self.dtype.scalar_name}"
            )
    if src.shape != dst.shape:
        try:
            bshape = np.broadcast_shapes(src.shape, dst.shape)
        except ValueError:
            bshape = None
        if bshape != dst.shape:
            raise RuntimeError(
                f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                f"{list(bshape) if bshape is not None else list(src.shape)}"
            )
    if tracer[0] is not None:
        tracer[0].write(self, res)
    elif not dst.flags.writeable:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )
    else:
        np.copyto(dst, src, casting="unsafe")
    self._vc[0] += 1
