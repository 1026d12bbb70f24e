"""What a load rule sees: the node's context (opset, outputs wanted) and value helpers.

A value is a tracejit ``Tensor`` (data flowing through the trace) or a numpy array (known
while tracing: constants, shapes, static inputs). Rules compute on tensors; ``static`` reads a
value that must be known now (a Reshape target) and fails clearly when it is not.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._common import OnnxLoadError

_REDUCES = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
            "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")

# inputs whose values shape the computation: they must be known while tracing
STATIC_SLOTS: dict[str, tuple[int, ...]] = {
    "Reshape": (1,), "Unsqueeze": (1,), "Squeeze": (1,), "Slice": (1, 2, 3, 4),
    "Expand": (1,), "Tile": (1,), "Pad": (1, 2, 3), "ConstantOfShape": (0,), "Split": (1,),
    "TopK": (1,), "Range": (0, 1, 2), "OneHot": (1,), "CumSum": (1,), "LSTM": (4,),
    "GRU": (4,), "RNN": (4,), **{r: (1,) for r in _REDUCES},
}


class NodeCtx:
    """One node being run: its type, name, the opset and which outputs the graph uses."""

    __slots__ = ("op", "name", "opset", "outs")

    def __init__(self, op: str, name: str, opset: int, outs: list[str]) -> None:
        self.op, self.name, self.opset, self.outs = op, name, opset, outs

    def wants(self, k: int) -> bool:
        return k < len(self.outs) and bool(self.outs[k])

    def t(self, v: Any) -> Any:
        """A value as a tensor (numpy constants become constant tensors)."""
        if v is None or isinstance(v, Tensor):
            return v
        return Tensor._make(np.array(v))

    def static(self, v: Any, what: str) -> np.ndarray:
        """A value that must be known while tracing, as numpy."""
        if isinstance(v, np.ndarray):
            return v
        if isinstance(v, Tensor) and type(v._data) is np.ndarray:
            return v._data
        raise OnnxLoadError(
            f"load: node {self.name!r} ({self.op}) needs its {what} while tracing, but it is "
            "computed from the graph's data; tracejit supports it only when it comes from "
            "constants, initializers, Shape or inputs used only for shapes")

    def ints(self, v: Any, what: str) -> list[int]:
        return [int(i) for i in np.asarray(self.static(v, what)).reshape(-1)]

    def fail(self, why: str) -> OnnxLoadError:
        return OnnxLoadError(f"load: node {self.name!r} ({self.op}): {why}")


def rule_table() -> tuple[dict[str, Callable], Callable]:
    """A fresh table and its ``@rule("Op", ...)`` decorator."""
    t: dict[str, Callable] = {}

    def rule(*names: str) -> Callable:
        def deco(fn: Callable) -> Callable:
            for n in names:
                t[n] = fn
            return fn

        return deco

    return t, rule


@cache
def table() -> dict[str, Callable]:
    """Every ONNX op type tracejit loads -> its rule ``fn(ctx, inputs, attrs)``."""
    from . import load_nn, load_ops, load_rnn, load_shape

    t: dict[str, Callable] = {}
    for mod in (load_ops, load_shape, load_nn, load_rnn):
        t.update(mod.TABLE)
    return t
