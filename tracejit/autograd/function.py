"""User-defined differentiable functions, as torch.autograd.Function."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import grad_mode
from .node import Node, node_class


class FunctionCtx:
    """The ``ctx`` handed to forward/backward: saved tensors and which inputs need grads."""

    def __init__(self) -> None:
        self.to_save: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self._node: Node | None = None
        self.non_differentiable: set[int] = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._node is not None:
            self._node._check_saved()
        return self.to_save

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        self.non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Tensor) -> None:
        pass

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class _FunctionNode(Node):
    __slots__ = ("_fn", "_ctx", "_inputs_meta", "_tensor_args", "_nargs")

    def apply(self, grads: tuple) -> tuple:
        self._check_saved()
        ctx = self._ctx
        if ctx.materialize_grads:
            from ..ops.creation import zeros

            grads = tuple(
                g if g is not None else zeros(*shape, dtype=dt)
                for g, (shape, dt) in zip(grads, self._inputs_meta)
            )
        res = self._fn.backward(ctx, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n = self._nargs
        if len(res) < n or (len(res) > n and any(r is not None for r in res[n:])):
            raise RuntimeError(
                f"function {type(self).__name__} returned an incorrect number of gradients "
                f"(expected {n}, got {len(res)})"
            )
        # one gradient per forward argument; only the tensor arguments have edges
        return tuple(res[i] for i in self._tensor_args)

    def _release(self) -> None:
        super()._release()
        self._ctx.to_save = ()

    def __getattr__(self, name: str) -> Any:
        # PyTorch's grad_fn of a custom Function *is* its ctx: z.grad_fn.needs_input_grad,
        # z.grad_fn.saved_tensors and attributes set in forward read through
        if name.startswith("__") or name in _FunctionNode.__slots__:
            raise AttributeError(name)
        return getattr(self._ctx, name)


class Function:
    """Subclass with static ``forward(ctx, ...)`` and ``backward(ctx, *grads)``; call ``apply``."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any) -> Any:
        ctx = FunctionCtx()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg for a in args)
        with grad_mode.no_grad():
            out = cls.forward(ctx, *args)
        if not (grad_mode.is_grad_enabled() and any(t._rg for t in tensor_args)):
            return out
        outs = out if isinstance(out, tuple) else (out,)
        node = node_class(cls.__name__ + "Backward", _FunctionNode)()
        node._fn = cls
        node._ctx = ctx
        ctx._node = node
        node._nout = len(outs)
        node._inputs_meta = tuple(
            (tuple(o.shape), o.dtype) if isinstance(o, Tensor) else ((), None) for o in outs
        )
        # like PyTorch, only tensor arguments get an edge (a number argument has none)
        node._tensor_args = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        node._nargs = len(args)
        edges = []
        for i in node._tensor_args:
            a = args[i]
            if a._rg:
                edges.append((a.grad_fn, a._output_nr) if a.grad_fn is not None
                             else (a._accumulator(), 0))
            else:
                edges.append((None, 0))
        node.next_functions = tuple(edges)
        node._saved = True
        node._versions = tuple((t, t._vc[0]) for t in ctx.to_save if isinstance(t, Tensor))
        wrapped = []
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                wrapped.append(o)
                continue
            if any(o is a for a in args):
                o = o.detach()  # an input returned as is gets a new identity, like PyTorch
            if id(o) not in ctx.non_differentiable and o._data.dtype.kind == "f":
                o._rg = True
                o.grad_fn = node
                o._output_nr = i
            wrapped.append(o)
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]
