"""Conv1d and Conv2d layers and the functional conv1d/conv2d.

Parameters, defaults, initialisation and repr follow ``torch.nn``: weight (out, in/groups,
*kernel) drawn by kaiming_uniform_(a=sqrt(5)), bias uniform in +-1/sqrt(fan_in), so a model
seeded the same way starts from the same distribution. The arithmetic is the ``convolution``
op of ``tracejit.ops.conv`` (im2col + BLAS, double-differentiable).
"""
from __future__ import annotations

import math
from typing import Any

from .. import ops
from ..ops.conv import conv1d, conv2d, ntuple, same_padding
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "conv1d", "conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared state and init of the N-d convolution layers (PyTorch's _ConvNd)."""

    _nd = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size")
        self.stride = ntuple(stride, nd, "stride")
        self.dilation = ntuple(dilation, nd, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
        else:
            self.padding = ntuple(padding, nd, "padding")
        self.transposed = False
        self.output_padding = (0,) * nd
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's order: last dim first, (lo, hi) per dim
        if isinstance(self.padding, str):
            pairs = same_padding(self.kernel_size, self.dilation) \
                if self.padding == "same" else ((0, 0),) * nd
        else:
            pairs = tuple((p, p) for p in self.padding)
        self._reversed_padding_repeated_twice = tuple(v for lo, hi in reversed(pairs)
                                                      for v in (lo, hi))
        kw = {"dtype": dtype} if dtype is not None else {}
        self.weight = Parameter(ops.empty((out_channels, in_channels // groups,
                                           *self.kernel_size), **kw))
        if bias:
            self.bias = Parameter(ops.empty((out_channels,), **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)), bias in +-1/sqrt(fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        nd = self._nd
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv_forward(self, input: Tensor, weight: Tensor,  # noqa: A002
                      bias: Tensor | None) -> Tensor:
        fn = conv1d if self._nd == 1 else conv2d
        if self.padding_mode != "zeros":
            from . import functional as F

            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            x = F.pad(input, self._reversed_padding_repeated_twice, mode=mode)
            return fn(x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) or (C_in, L) input."""

    _nd = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) input."""

    _nd = 2
