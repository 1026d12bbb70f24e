"""Parameter and Buffer: the tensor kinds a Module registers when they are assigned to it."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


def _storage_of(data: Any) -> np.ndarray:
    if data is None:
        return np.zeros((0,), np.float32)
    if isinstance(data, Tensor):
        return data._data
    raise TypeError(
        f"Parameter/Buffer data must be a Tensor, got {type(data).__name__}"
    )


class Parameter(Tensor):
    """A leaf tensor that a Module registers as a learnable parameter when assigned to it.

    Like ``torch.nn.Parameter`` it shares storage (and version counter) with ``data``.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        p = cls._make(_storage_of(data), False)
        if isinstance(data, Tensor):
            p._vc = data._vc
        p.requires_grad_(requires_grad)
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # all the work happens in __new__ (Tensor.__init__ refuses direct construction)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        p = type(self)._make(self._data.copy(), self._rg)
        if self.grad is not None:
            p.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = p
        return p


class Buffer(Tensor):
    """``nn.Buffer``: a tensor a Module registers as a buffer when assigned to it."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:
        b = Tensor._make(_storage_of(data), False)
        if isinstance(data, Tensor):
            b._vc = data._vc
        b.__dict__["_buffer_persistent"] = persistent
        return b


def is_buffer_marked(value: Any) -> bool:
    """Whether ``value`` came from ``Buffer(...)`` (a plain Tensor carrying a marker)."""
    return isinstance(value, Tensor) and "_buffer_persistent" in value.__dict__


__all__ = ["Buffer", "Parameter"]
