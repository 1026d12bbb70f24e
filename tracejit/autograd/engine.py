"""The backward engine: dependency counting over the tape, each node run once."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dispatch
from ..tensor import Tensor
from . import grad_mode
from .node import AccumulateGrad, Node


def _root_edge(t: Tensor) -> tuple[Node, int]:
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    return t._accumulator(), 0


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _make_root_grads(tensors: tuple, grads: tuple) -> list[Tensor]:
    from ..ops.creation import ones_like

    out = []
    for i, t in enumerate(tensors):
        g = grads[i] if i < len(grads) else None
        if not t._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = ones_like(t)
        elif not isinstance(g, Tensor):
            from ..ops.creation import tensor as _tensor

            g = _tensor(g, dtype=t.dtype)
        elif tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                f"has a shape of {t.shape}."
            )
        out.append(g)
    return out


def _collect(roots: list[tuple[Node, int]]) -> tuple[dict[Node, int], list[Node]]:
    """Count, for every reachable node, how many edges point at it."""
    deps: dict[Node, int] = {}
    order: list[Node] = []
    seen = set()
    stack = [n for n, _ in roots]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        order.append(n)
        for child, _ in n.next_functions:
            if child is not None:
                deps[child] = deps.get(child, 0) + 1
                if child not in seen:
                    stack.append(child)
    return deps, order


def _needed(order: list[Node], targets: set[Node]) -> set[Node]:
    """Nodes from which a target is reachable: only they need to run."""
    memo: dict[Node, bool] = {}
    for start in order:
        if start in memo:
            continue
        stack = [(start, False)]
        while stack:
            n, done = stack.pop()
            if done:
                memo[n] = n in targets or any(
                    memo.get(c, False) for c, _ in n.next_functions if c is not None
                )
                continue
            if n in memo:
                continue
            stack.append((n, True))
            for c, _ in n.next_functions:
                if c is not None and c not in memo:
                    stack.append((c, False))
    return {n for n, v in memo.items() if v}


def _accumulate(var: Tensor, g: Tensor, create_graph: bool) -> None:
    if g.dtype is not var.dtype:
        g = g.to(var.dtype)
    if var.grad is None:
        if create_graph:
            var.grad = g
        elif type(g._data) is np.ndarray:
            var.grad = Tensor._make(np.array(g._data, copy=True))
        elif dispatch.tracer[0] is None:  # a CudaArray: its own contiguous device copy
            var.grad = Tensor._make(g._data.copy())
        else:
            var.grad = g.detach()  # traced: a fresh graph value, nothing to copy
    elif create_graph or var.grad._rg:
        var.grad = var.grad + g
    elif dispatch.tracer[0] is None and type(var.grad._data) is np.ndarray:
        var.grad._data += g._data
        var.grad._vc[0] += 1
    else:
        with grad_mode.no_grad():
            var.grad.add_(g)


def run_backward(
    tensors: tuple[Tensor, ...],
    grads: list[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: tuple[Tensor, ...] = (),
    capture: bool = False,
) -> list[Tensor | None] | None:
    """Propagate ``grads`` from ``tensors`` through the tape.

    With ``capture`` the gradients of ``inputs`` are returned instead of accumulated
    (autograd.grad); with ``inputs`` and no capture only those receive ``.grad``.
    """
    tr = dispatch.tracer[0]
    if tr is not None and not capture:
        tr.called_backward = True
    roots = [_root_edge(t) for t in tensors]
    deps, order = _collect(roots)
    targets: dict[tuple[Node, int], int] = {}
    for i, t in enumerate(inputs):
        if not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        targets[_root_edge(t)] = i
    needed = _needed(order, {n for n, _ in targets}) if inputs else None
    captured: list[Tensor | None] = [None] * len(inputs)

    buffers: dict[Node, list] = {}
    for (node, nr), g in zip(roots, grads):
        buf = buffers.setdefault(node, [None] * node._nout)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    ready = [n for n, _ in roots if deps.get(n, 0) == 0]
    ready = list(dict.fromkeys(ready))
    with grad_mode.set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, None) or [None] * node._nout
            _run_tensor_hooks(node, buf)
            if type(node) is AccumulateGrad and node.variable._leaf_hooks and buf[0] is not None:
                # a leaf's hooks run when its gradient is computed: before .grad is written,
                # and for autograd.grad too
                for h in node.variable._leaf_hooks:
                    r = h(buf[0])
                    if r is not None:
                        buf[0] = r
            if inputs:
                for nr, g in enumerate(buf):
                    idx = targets.get((node, nr))
                    if idx is not None and g is not None:
                        if capture:
                            captured[idx] = g
                        elif not isinstance(node, AccumulateGrad):
                            _accumulate(inputs[idx], g, create_graph)
            if needed is not None and node not in needed:
                _release_children(node, deps, ready)
                continue
            if isinstance(node, AccumulateGrad):
                if not capture and buf[0] is not None:
                    _accumulate(node.variable, buf[0], create_graph)
                    if node._hooks:
                        for h in node._hooks:
                            h((), tuple(buf))
                continue
            if node._pre_hooks:
                for h in node._pre_hooks:
                    r = h(tuple(buf))
                    if r is not None:
                        buf = list(r)
            if any(g is not None for g in buf):
                out = node.apply(tuple(buf))
            else:
                out = (None,) * len(node.next_functions)
            if node._hooks:
                for h in node._hooks:
                    r = h(out, tuple(buf))
                    if r is not None:
                        out = tuple(r)
            if not retain_graph:
                node._release()
            for (child, nr), g in zip(node.next_functions, out):
                if child is None:
                    continue
                if g is not None and (needed is None or child in needed):
                    cbuf = buffers.setdefault(child, [None] * child._nout)
                    cbuf[nr] = g if cbuf[nr] is None else cbuf[nr] + g
                deps[child] -= 1
                if deps[child] == 0:
                    ready.append(child)
    return captured if capture else None


def _release_children(node: Node, deps: dict[Node, int], ready: list[Node]) -> None:
    for child, _ in node.next_functions:
        if child is not None:
            deps[child] -= 1
            if deps[child] == 0:
                ready.append(child)


def _run_tensor_hooks(node: Node, buf: list) -> None:
    hooks = node._tensor_hooks
    if not hooks:
        return
    for nr, fns in hooks.items():
        g = buf[nr]
        if g is None:
            continue
        for h in fns:
            r = h(g)
            if r is not None:
                g = r
        buf[nr] = g


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or ``inputs``)."""
    ts = _as_tuple(tensors)
    gs = _as_tuple(grad_tensors) if not isinstance(grad_tensors, Tensor) else (grad_tensors,)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_root_grads(ts, gs)
    ins = _as_tuple(inputs)
    if inputs is not None and not ins:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    run_backward(ts, roots, retain_graph, create_graph, ins)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching .grad."""
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    gs = _as_tuple(grad_outputs) if not isinstance(grad_outputs, Tensor) else (grad_outputs,)
    if retain_graph is None:
        retain_graph = create_graph
    if materialize_grads:
        allow_unused = True
    roots = _make_root_grads(outs, gs)
    res = run_backward(outs, roots, retain_graph, create_graph, ins, capture=True)
    assert res is not None
    for i, g in enumerate(res):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                from ..ops.creation import zeros_like

                res[i] = zeros_like(ins[i])
    return tuple(res)


def tensor_backward(
    self: Tensor,
    gradient: Tensor | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    backward(self, gradient, retain_graph, create_graph, inputs)


Tensor.backward = tensor_backward  # type: ignore[attr-defined]
