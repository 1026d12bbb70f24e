"""SGD with momentum, dampening, Nesterov, weight decay and maximize (torch's update rule)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import dispatch, ops
from ..tensor import Tensor
from ..tracing.trace import guard
from . import inplace  # noqa: F401 - attaches addcmul_/addcdiv_/lerp_
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """p -= lr * g, where g is the (momentum-averaged, decayed) gradient."""

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, momentum = guard(group, "lr"), group["momentum"]
            dampening, wd = group["dampening"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if not group["maximize"] else -p.grad
                if wd != 0:
                    grad = grad.add(p, alpha=wd)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = _first_buffer(p, grad, momentum,
                                                                       dampening)
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                    grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
                p.add_(grad, alpha=-lr)
        return loss


def _first_buffer(p: Tensor, grad: Tensor, momentum: float, dampening: float) -> Tensor:
    """torch starts the buffer as a copy of the first gradient.

    The buffer is a concrete zeros tensor written in place, so a traced first step leaves
    real storage behind. Under a trace the first step takes the later steps' path (with
    dampening 0, 0 * m + g is exactly g), so replays of that trace stay right.
    """
    buf = ops.zeros_like(p, dtype=grad.dtype)
    if dispatch.tracer[0] is None:
        return buf.copy_(grad)
    if dampening != 0:
        raise RuntimeError(
            "SGD with dampening != 0 takes a different path on its first step than on later "
            "ones; run one eager step before tracing it with tracejit.jit"
        )
    return buf.mul_(momentum).add_(grad)
