"""Adam (and the shared code of AdamW): torch's update, written as in-place tracejit ops.

The step counter is a 0-d float32 tensor in the state, as in torch, and the bias corrections
are computed from it with tensor ops (in float64), never read back as a Python number: a
traced training step then keeps counting steps on every replay instead of freezing the
counter it saw while tracing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import dtypes, ops
from ..ops._util import scalar_tensor
from ..tensor import Tensor
from ..tracing.trace import guard
from . import inplace  # noqa: F401 - attaches addcmul_/addcdiv_/lerp_
from .optimizer import Optimizer

__all__ = ["Adam", "step_tensor"]


def step_tensor() -> Tensor:
    """A fresh step counter, torch's ``tensor(0.)``."""
    return ops.tensor(0.0, dtype=dtypes.float32)


def _check_args(lr: Any, eps: float, betas: tuple[float, float], weight_decay: float) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adaptive moments: m, v running averages of g and g^2, bias-corrected."""

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_args(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for k, v in (("amsgrad", False), ("maximize", False), ("foreach", None),
                         ("capturable", False), ("differentiable", False), ("fused", None),
                         ("decoupled_weight_decay", False)):
                group.setdefault(k, v)

    def _init_state(self, p: Tensor, amsgrad: bool) -> dict:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = step_tensor()
            state["exp_avg"] = ops.zeros_like(p)
            state["exp_avg_sq"] = ops.zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = ops.zeros_like(p)
        return state

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, wd, eps = guard(group, "lr"), group["weight_decay"], group["eps"]
            amsgrad = group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self._init_state(p, amsgrad)
                grad = p.grad if not group["maximize"] else -p.grad
                step_t = state["step"]
                step_t.add_(1)
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        p.mul_(1 - lr * wd)
                    else:
                        grad = grad.add(p, alpha=wd)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step_size, bc2_sqrt = _bias_corrections(step_t, lr, beta1, beta2)
                if amsgrad:
                    max_sq = state["max_exp_avg_sq"]
                    max_sq.maximum_(exp_avg_sq)
                    denom = (max_sq.sqrt() / bc2_sqrt).add_(eps)
                else:
                    denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
                p.addcdiv_(exp_avg, denom, value=-step_size)
        return loss


def _bias_corrections(step_t: Tensor, lr: Any, beta1: float, beta2: float) -> tuple:
    """lr / (1 - beta1^t) and sqrt(1 - beta2^t) as 0-d float64 tensors (Python's math)."""
    step = step_t.to(dtypes.float64)
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    lr_t = lr.to(dtypes.float64) if isinstance(lr, Tensor) else \
        scalar_tensor(float(lr), dtypes.float64)
    return lr_t / bc1, bc2 ** 0.5
