"""Module dtype/device conversion and deep copies, applied to parameters and buffers in place.

``Parameter`` objects are kept (only their storage changes), so optimizers built before a
``.double()`` still hold the model's parameters, as in torch.
"""
from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from ..autograd import grad_mode
from ..tensor import Tensor

__all__ = ["ConversionMixin"]


def _copy_tensor(t: Tensor) -> Tensor:
    c = type(t)._make(t._data.copy(), t._rg)
    if t.grad is not None:
        c.grad = Tensor._make(t.grad._data.copy())
    return c


class ConversionMixin:
    """``to``/``float``/``double``/... and ``copy.deepcopy`` for modules."""

    _parameters: dict
    _buffers: dict
    children: Callable[[], Iterator[Any]]
    modules: Callable[[], Iterator[Any]]

    def __deepcopy__(self, memo: dict) -> Any:
        """Copies parameters and buffers (tracejit tensors themselves refuse to be pickled)."""
        for m in self.modules():
            for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                if t is not None and id(t) not in memo:
                    memo[id(t)] = _copy_tensor(t)
        new = object.__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            new.__dict__[k] = copy.deepcopy(v, memo)
        return new

    def _apply(self, fn: Callable[[Tensor], Tensor]) -> Any:
        """Convert every parameter and buffer in place (keeping the Parameter objects)."""
        for m in self.children():
            m._apply(fn)
        with grad_mode.no_grad():
            for p in self._parameters.values():
                if p is None:
                    continue
                new = fn(p)
                if new._data is not p._data:
                    p._data = new._data
                    p._vc[0] += 1
                if p.grad is not None:
                    g = fn(p.grad)
                    if g._data is not p.grad._data:
                        p.grad._data = g._data
            for k, b in self._buffers.items():
                if b is not None:
                    self._buffers[k] = fn(b)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """to(dtype), to(device), to(tensor): every tensor moves, floating ones change dtype."""
        from .. import dtypes
        from ..device import as_device

        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, dtypes.dtype):
                dtype = a
            elif a is not None:
                device = a
        if device is not None:
            device = as_device(device)
        if dtype is not None and dtype.np.kind != "f":
            raise TypeError(
                "nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={dtype}"
            )
        if dtype is None and device is None:
            return self

        def convert(t: Tensor) -> Tensor:
            if device is not None:
                t = t.to(device)
            return t.to(dtype) if dtype is not None and t.is_floating_point() else t

        return self._apply(convert)

    def _cast_all(self, dt: Any) -> Any:
        return self._apply(lambda t: t.to(dt) if t.is_floating_point() else t)

    def float(self) -> Any:
        from .. import dtypes

        return self._cast_all(dtypes.float32)

    def double(self) -> Any:
        from .. import dtypes

        return self._cast_all(dtypes.float64)

    def half(self) -> Any:
        from .. import dtypes

        return self._cast_all(dtypes.float16)

    def type(self, dst_type: Any) -> Any:
        return self._cast_all(dst_type)

    def cpu(self) -> Any:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> Any:
        return self.to("cuda" if device is None else device)
