"""Functional activations, composed from tracejit ops (so the JIT fuses them).

Each composition is arranged so that its gradient equals PyTorch's at the kinks and stays
finite where an unselected branch would overflow (the branch input is clamped first).
"""
from __future__ import annotations

import math
from typing import Any

from .. import ops
from ..ops import activation as _act
from ..ops.elementwise import minimum, where
from ..tensor import Tensor

__all__ = [
    "celu", "elu", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
    "leaky_relu", "log_sigmoid", "log_softmax", "logsigmoid", "mish", "prelu", "relu", "relu6",
    "rrelu", "selu", "sigmoid", "silu", "softmax", "softmin", "softplus", "softshrink",
    "softsign", "tanh", "tanhshrink", "threshold",
]


def _inplace(x: Tensor, y: Tensor, inplace: bool) -> Tensor:
    return x.copy_(y) if inplace else y


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002 - torch's names
    return input.relu_() if inplace else input.relu()


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return hardtanh(input, 0.0, 6.0, inplace)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return input.tanh()


def threshold(input: Tensor, threshold: float, value: float,  # noqa: A002
              inplace: bool = False) -> Tensor:
    return _inplace(input, where(input > threshold, input, value), inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    # constant branches: the gradient is zero at the bounds, as torch's hardtanh_backward
    out = where(input <= min_val, min_val, where(input >= max_val, max_val, input))
    return _inplace(input, out, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01,  # noqa: A002
               inplace: bool = False) -> Tensor:
    return _inplace(input, where(input > 0, input, input * negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    neg = input.clamp(max=0.0).expm1() * alpha
    return _inplace(input, where(input > 0, input, neg), inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    neg = (input.clamp(max=0.0) / alpha).expm1() * alpha
    return _inplace(input, where(input > 0, input, neg), inplace)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    neg = input.clamp(max=0.0).expm1() * _SELU_ALPHA
    return _inplace(input, where(input > 0, input, neg) * _SELU_SCALE, inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """x * Phi(x) (erf form), or the tanh approximation when approximate="tanh"."""
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (inner.tanh() + 1.0)
    if approximate != "none":
        raise RuntimeError("approximate argument must be either none or tanh.")
    return input * 0.5 * ((input * 0.7071067811865476).erf() + 1.0)


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return _inplace(input, input * input.sigmoid(), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` (torch's cut-over)."""
    bx = input * beta if beta != 1 else input
    safe = bx.clamp(max=threshold)
    soft = safe.exp().log1p()
    if beta != 1:
        soft = soft / beta
    return where(bx > threshold, input, soft)


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return _inplace(input, input * softplus(input).tanh(), inplace)


def log_sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """min(x, 0) - log1p(exp(-|x|)): no overflow, and the gradient at 0 is 0.5 as torch's."""
    return minimum(input, 0.0) - (-(input.abs())).exp().log1p()


logsigmoid = log_sigmoid


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    out = where((input > -3.0) & (input < 3.0), input / 6.0 + 0.5,
                where(input >= 3.0, 1.0, 0.0).to(input.dtype))
    return _inplace(input, out, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    mid = input * (input + 3.0) / 6.0
    out = where(input <= -3.0, 0.0, where(input >= 3.0, input, mid))
    return _inplace(input, out, inplace)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    return where((input > lambd) | (input < -lambd), input, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    return input - input.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """max(0, x) + weight * min(0, x), weight broadcast over the channel dim (dim 1)."""
    w = weight
    if weight.numel() != 1 and input.ndim >= 2:
        w = weight.reshape((weight.numel(),) + (1,) * (input.ndim - 2))
    return where(input > 0, input, input * w)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,  # noqa: A002
          training: bool = False, inplace: bool = False) -> Tensor:
    if training:
        slope = ops.empty_like(input).uniform_(lower, upper)
        return _inplace(input, where(input >= 0, input, input * slope), inplace)
    return leaky_relu(input, (lower + upper) / 2, inplace)


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim % input.ndim} is size {n}"
        )
    a, b = input.split(n // 2, dim)
    return a * b.sigmoid()


def _softmax_dim(name: str, ndim: int) -> int:
    import warnings

    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.", UserWarning, stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
            dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return _act.softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
            dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    return _act.softmax(-input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
                dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return _act.log_softmax(input, dim, dtype=dtype)

