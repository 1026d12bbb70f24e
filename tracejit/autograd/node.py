"""Tape nodes. Each op's node is a class named as PyTorch names it (``MulBackward0``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


class RemovableHandle:
    """Returned by the register_*hook methods; ``remove()`` unregisters (PyTorch's handle)."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Node:
    """A backward function on the tape: gradients of outputs in, gradients of inputs out."""

    # The hot attributes are slots set by every op; hooks and metadata are rare, so they are
    # class-level defaults until first set (in the instance dict): a node costs a few stores.
    __slots__ = ("next_functions", "_saved", "_versions", "_nout", "__weakref__", "__dict__")
    _pre_hooks: list | None = None
    _hooks: list | None = None
    _tensor_hooks: dict[int, list] | None = None
    _freed = False

    def __init__(self) -> None:
        self.next_functions: tuple = ()
        self._saved: Any = None
        self._versions: tuple = ()
        self._nout = 1

    @property
    def metadata(self) -> dict:
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def register_hook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_inputs, grad_outputs) runs after this node; PyTorch's post-hook."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_outputs) runs before this node and may return replacements."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(fn)
        return RemovableHandle(self._pre_hooks, fn)

    def _add_tensor_hook(self, output_nr: int, fn: Callable) -> None:
        if self._tensor_hooks is None:
            self._tensor_hooks = {}
        hooks = self._tensor_hooks.setdefault(output_nr, [])
        if hooks and getattr(hooks[-1], "_retains_grad", False):
            hooks.insert(len(hooks) - 1, fn)  # retain_grad sees the final gradient: it runs last
        else:
            hooks.append(fn)

    def _check_saved(self) -> None:
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        for t, version in self._versions:
            if t._vc[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.dtype} {list(t.shape)}], which is output "
                    f"{t._output_nr} of {t.grad_fn.name() if t.grad_fn else 'a leaf'}, is at "
                    f"version {t._vc[0]}; expected version {version} instead."
                )

    def _release(self) -> None:
        if self._saved is not None or self._versions:
            self._freed = True
        self._saved = None
        self._versions = ()

    def apply(self, grads: tuple) -> tuple:  # pragma: no cover - overridden
        raise NotImplementedError


class OpNode(Node):
    """The node of an op from the registry: its vjp rule does the work."""

    __slots__ = ("_op", "_params", "_needs")

    def apply(self, grads: tuple) -> tuple:
        self._check_saved()
        ins, outs = self._saved
        g = grads[0] if self._nout == 1 else grads
        res = self._op.vjp(g, ins, outs, self._params)
        if not isinstance(res, tuple):
            res = (res,)
        return res


class AccumulateGrad(Node):
    """The sink for a leaf: adds the incoming gradient to ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        super().__init__()
        self.variable = variable

    def apply(self, grads: tuple) -> tuple:  # pragma: no cover - the engine handles it
        return ()


_classes: dict[tuple[str, type], type] = {}


def node_class(name: str, base: type = OpNode) -> type:
    """One subclass per PyTorch name, so ``repr`` and ``type().__name__`` read the same."""
    key = (name, base)
    cls = _classes.get(key)
    if cls is None:
        cls = type(name, (base,), {"__slots__": ()})
        _classes[key] = cls
    return cls
