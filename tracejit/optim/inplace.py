"""addcmul_/addcdiv_/lerp_ as compositions of tracejit ops, for the optimizers' update math.

They are attached to Tensor only where no op module defines them, so a traced step records
plain elementwise ops. Each follows the evaluation order of torch's CPU kernel.
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor

__all__ = ["addcdiv", "addcdiv_", "addcmul", "addcmul_", "lerp", "lerp_"]


def _scaled(t1: Tensor, value: Any) -> Tensor:
    return t1 if (not isinstance(value, Tensor) and value == 1) else t1 * value


def addcmul(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """self + value * tensor1 * tensor2."""
    return self + _scaled(tensor1, value) * tensor2


def addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    return self.add_(_scaled(tensor1, value) * tensor2)


def addcdiv(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """self + value * tensor1 / tensor2."""
    return self + _scaled(tensor1, value) / tensor2


def addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    return self.add_(_scaled(tensor1, value) / tensor2)


def _lerp_value(self: Tensor, end: Tensor, weight: Any) -> Tensor:
    if isinstance(weight, Tensor):
        from ..ops.elementwise import where

        small = weight.abs() < 0.5
        return where(small, self + (end - self) * weight, end - (end - self) * (1 - weight))
    if abs(weight) < 0.5:
        return self + (end - self) * weight
    return end - (end - self) * (1 - weight)


def lerp(self: Tensor, end: Tensor, weight: Any) -> Tensor:
    """self + weight * (end - self), with torch's two-sided formula for accuracy."""
    return _lerp_value(self, end, weight)


def lerp_(self: Tensor, end: Tensor, weight: Any) -> Tensor:
    if not isinstance(weight, Tensor) and abs(weight) < 0.5:
        return self.add_((end - self) * weight)  # the optimizers' case: one in-place add
    return self.copy_(_lerp_value(self, end, weight))


for _name in __all__:
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, globals()[_name])
