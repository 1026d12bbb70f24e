"""Autograd: grad modes, tape nodes, the backward engine and custom Functions.

tracejit/__init__ imports this package before the tensor module; the engine's import of the
tensor module then finds grad_mode and node already loaded.
"""
from .grad_mode import (  # noqa: I001 - the order matters, see above
    enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled,
)
from .node import AccumulateGrad, Node
from .engine import backward, grad  # noqa: I001
from .function import Function, FunctionCtx

__all__ = ["AccumulateGrad", "Node", "enable_grad", "inference_mode", "is_grad_enabled",
           "no_grad", "set_grad_enabled", "backward", "grad", "Function", "FunctionCtx"]
