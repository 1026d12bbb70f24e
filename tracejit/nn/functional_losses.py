"""Functional losses with PyTorch's formulas, reductions, argument checks and messages.

nll_loss and the two binary cross entropies are ``Op`` primitives (see primitives.py, for
torch's exact gradients at the edges); the rest are compositions of tracejit ops.
"""
from __future__ import annotations

import warnings
from typing import Any

from .. import dtypes
from ..dispatch import apply
from ..ops import activation as _act
from ..ops.elementwise import where
from ..ops.reduce import _torch_name
from ..tensor import Tensor
from . import primitives as P

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "huber_loss", "kl_div", "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
]


def _legacy(size_average: Any, reduce: Any, reduction: str) -> str:
    """The pre-1.0 size_average/reduce flags, mapped as torch's _Reduction does."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  f"reduction='{_legacy_string(size_average, reduce)}' instead.", stacklevel=3)
    return _legacy_string(size_average, reduce)


def _legacy_string(size_average: Any, reduce: Any) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _size_warning(input: Tensor, target: Tensor, name: str) -> None:  # noqa: A002
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3,
        )


# ---- regression -------------------------------------------------------------------------------

def mse_loss(input: Tensor, target: Tensor, size_average: Any = None,  # noqa: A002
             reduce: Any = None, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error: (input - target)^2, reduced."""
    reduction = _legacy(size_average, reduce, reduction)
    _size_warning(input, target, "mse_loss")
    loss = (input - target) ** 2
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None,  # noqa: A002
            reduce: Any = None, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error: |input - target|, reduced."""
    reduction = _legacy(size_average, reduce, reduction)
    _size_warning(input, target, "l1_loss")
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None,  # noqa: A002
                   reduce: Any = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta inside |d| < beta, |d| - beta/2 outside."""
    reduction = _legacy(size_average, reduce, reduction)
    _size_warning(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    loss = where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",  # noqa: A002
               delta: float = 1.0, weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 inside |d| < delta, delta (|d| - delta/2) outside."""
    _size_warning(input, target, "huber_loss")
    d = input - target
    a = d.abs()
    loss = where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None,  # noqa: A002
           reduce: Any = None, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target * (log target - input), with 0 log 0 = 0; 'batchmean' divides by the batch."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_string(size_average, reduce)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", stacklevel=2,
        )
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = where(target > 0, target, 1.0)
        loss = where(target > 0, target * safe.log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


# ---- classification ---------------------------------------------------------------------------

def _check_target(input: Tensor, target: Tensor) -> None:  # noqa: A002
    if target.dtype not in (dtypes.int64, dtypes.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_torch_name(target.dtype)}"
        )
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim == 1:
        if target.ndim != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        return
    tb = target.shape[0] if target.ndim else 0
    if input.shape[0] != tb:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({tb})."
        )
    if input.ndim == 2 and target.ndim != 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.ndim > 2 and tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(
            f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}"
        )


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """-input[n, target[n]] * weight[target[n]], reduced; mean divides by the summed weights."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_target(input, target)
    if target.dtype is not dtypes.int64:
        target = target.to(dtypes.int64)
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    inputs: tuple = (input, target)
    if weight is not None:
        if weight.ndim != 1 or weight.shape[0] != c:
            raise RuntimeError(
                f"weight tensor should be defined either for all {c} classes or no classes but "
                f"got weight tensor of shape: {list(weight.shape)}"
            )
        inputs = (input, target, weight.to(input.dtype))
    op = P.nll_op if input.ndim <= 2 else P.nll2d_op
    return apply(op, inputs, {"reduction": reduction, "ignore_index": int(ignore_index)})


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class dim then nll_loss, or soft (probability) targets."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim]
    logp = _act.log_softmax(input, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = c
    if target.is_floating_point():
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, cdim,
                                   wshape)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return nll
    if weight is not None:
        smooth = -(logp * weight.reshape(wshape)).sum(cdim)
    else:
        smooth = -logp.sum(cdim)
    ignore = target == ignore_index
    smooth = smooth.masked_fill(ignore, 0.0)
    if reduction == "mean":
        if weight is not None:
            safe = target.masked_fill(ignore, 0).reshape(-1)
            denom = (weight.gather(0, safe) * (~ignore).reshape(-1).to(weight.dtype)).sum()
        else:
            denom = (~ignore).sum()
        ret = smooth.sum() / denom
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return nll * (1 - label_smoothing) + ret * (label_smoothing / c)


def _soft_cross_entropy(logp: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                        label_smoothing: float, cdim: int, wshape: list[int]) -> Tensor:
    if tuple(target.shape) != tuple(logp.shape):
        raise RuntimeError(
            "Expected target size " + str(list(logp.shape)) + ", got "
            + str(list(target.shape))
        )
    c = logp.shape[cdim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape(wshape)
    if reduction == "mean":
        if logp.numel() == 0:
            return -(prod.sum()) * float("nan")
        return -(prod.sum()) / (logp.numel() // c)
    if reduction == "sum":
        return -(prod.sum())
    return -(prod.sum(cdim))


def binary_cross_entropy(input: Tensor, target: Tensor,  # noqa: A002
                         weight: Tensor | None = None, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-(t log x + (1 - t) log(1 - x)), logs clamped at -100 as torch does."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    loss = apply(P.bce_op, (input, target.to(input.dtype)))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,  # noqa: A002
                                     weight: Tensor | None = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + BCE in one stable formula; ``pos_weight`` scales the positive term."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    ins: tuple = (input, target.to(input.dtype))
    if pos_weight is not None:
        ins = (*ins, pos_weight.to(input.dtype))
    loss = apply(P.bce_logits_op, ins)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
