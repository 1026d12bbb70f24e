"""The nn ops that are not compositions: each an ``Op`` (numpy forward, vjp in tracejit ops,
PyTorch's node name) so eager mode, the tape and the JIT all see one op.

embedding, nll_loss, binary_cross_entropy(_with_logits), constant pad, one_hot and the
dropout noise (a "random" op: the JIT re-draws it on every replay instead of freezing it).
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..dispatch import Op, apply
from ..tensor import Tensor

# ---- embedding --------------------------------------------------------------------------------


def _embedding_impl(w: np.ndarray, idx: np.ndarray, padding_idx: int) -> np.ndarray:
    return w[idx]


def _embedding_bwd_impl(g: np.ndarray, idx: np.ndarray, num_weights: int,
                        padding_idx: int) -> np.ndarray:
    d = g.shape[idx.ndim:]
    out = np.zeros((num_weights, *d), g.dtype)
    np.add.at(out, idx.reshape(-1), g.reshape(-1, *d))
    if padding_idx >= 0:
        out[padding_idx] = 0
    return out


def _embedding_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    w, idx = ins
    gw = apply(embedding_backward_op, (g, idx),
               {"num_weights": w.shape[0], "padding_idx": p["padding_idx"]})
    return gw, None


def _embedding_bwd_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    # d/dg of a scatter-add is the gather of gg at the same rows (padding rows got no grad)
    g, idx = ins
    res = apply(embedding_op, (gg, idx), {"padding_idx": -1})
    if p["padding_idx"] >= 0:
        res = res * (idx != p["padding_idx"]).unsqueeze(-1).to(res.dtype)
    return res, None


embedding_op = Op("embedding", _embedding_impl, _embedding_vjp, "EmbeddingBackward0", save="i")
embedding_backward_op = Op("embedding_dense_backward", _embedding_bwd_impl, _embedding_bwd_vjp,
                           "EmbeddingDenseBackwardBackward0", save="i")


# ---- nll_loss ---------------------------------------------------------------------------------

def _nll_parts(x: np.ndarray, t: np.ndarray, w: np.ndarray | None,
               ignore_index: int) -> tuple:
    """Class-last view of x, safe targets and per-sample weights (0 where ignored)."""
    if x.ndim == 1:
        x, t = x[None], t[None]
    xm = np.moveaxis(x, 1, -1)
    mask = t != ignore_index
    tt = np.where(mask, t, 0)
    c = xm.shape[-1]
    bad = mask & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    ws = (w[tt] if w is not None else np.ones(tt.shape, x.dtype)) * mask
    return xm, tt, ws.astype(x.dtype, copy=False)


def _nll_impl(x: np.ndarray, t: np.ndarray, w: np.ndarray | None = None, *, reduction: str,
              ignore_index: int) -> np.ndarray:
    xm, tt, ws = _nll_parts(x, t, w, ignore_index)
    picked = np.take_along_axis(xm, tt[..., None], -1)[..., 0]
    losses = -picked * ws
    if reduction == "none":
        return losses.reshape(t.shape) if x.ndim > 1 else losses.reshape(())
    total = losses.sum(dtype=x.dtype)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / ws.sum(dtype=x.dtype))


def _nll_bwd_impl(g: np.ndarray, t: np.ndarray, w: np.ndarray | None = None, *, shape: tuple,
                  reduction: str, ignore_index: int) -> np.ndarray:
    out = np.zeros(shape, g.dtype)
    xm, tt, ws = _nll_parts(out, t, w, ignore_index)
    if reduction == "none":
        coef = -ws * g.reshape(tt.shape)
    elif reduction == "sum":
        coef = -ws * g
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = -ws * (g / ws.sum(dtype=g.dtype))
    gm = np.zeros(xm.shape, g.dtype)
    np.put_along_axis(gm, tt[..., None], coef[..., None].astype(g.dtype), -1)
    if len(shape) == 1:
        return gm[0]
    return np.ascontiguousarray(np.moveaxis(gm, -1, 1))


def _nll_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, t = ins[0], ins[1]
    rest = tuple(ins[2:])
    gx = apply(nll_backward_op, (g, t, *rest), {"shape": tuple(x.shape), **p})
    return (gx, None, *(None for _ in rest))


def _nll_bwd_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    t = ins[1]
    rest = tuple(ins[2:])
    q = {k: v for k, v in p.items() if k != "shape"}
    return (apply(nll_op, (gg, t, *rest), q), None, *(None for _ in rest))


nll_op = Op("nll_loss", _nll_impl, _nll_vjp, "NllLossBackward0", save="i")
nll2d_op = Op("nll_loss2d", _nll_impl, _nll_vjp, "NllLoss2DBackward0", save="i")
nll_backward_op = Op("nll_loss_backward", _nll_bwd_impl, _nll_bwd_vjp,
                     "NllLossBackwardBackward0", save="i")


# ---- binary cross entropy -------------------------------------------------------------------

def _bce_impl(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    if ((x < 0) | (x > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.maximum(np.log(x), -100)
        l1x = np.maximum(np.log1p(-x), -100)
    return (-(t * lx + (1 - t) * l1x)).astype(x.dtype, copy=False)


def _bce_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, t = ins
    gx = gt = None
    if x._rg:
        gx = g * (x - t) / ((1 - x) * x).clamp(min=1e-12)
    if t._rg:
        gt = g * ((1 - x).log().clamp(min=-100) - x.log().clamp(min=-100))
    return gx, gt


bce_op = Op("binary_cross_entropy", _bce_impl, _bce_vjp, "BinaryCrossEntropyBackward0",
            save="i")


def _softplus_neg(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(-x)) without overflow."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)


def _bcel_impl(x: np.ndarray, t: np.ndarray, pw: np.ndarray | None = None) -> np.ndarray:
    if pw is None:
        out = (1 - t) * x + _softplus_neg(x)
    else:
        lw = (pw - 1) * t + 1
        out = (1 - t) * x + lw * _softplus_neg(x)
    return out.astype(x.dtype, copy=False)


def _bcel_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    from ..ops._util import grad_for

    x, t = ins[0], ins[1]
    pw = ins[2] if len(ins) > 2 else None
    gx = gt = gpw = None
    if x._rg:
        if pw is None:
            gx = g * (x.sigmoid() - t)
        else:
            tp = pw * t
            gx = g * ((tp + 1 - t) * x.sigmoid() - tp)
        gx = grad_for(gx, x)
    sp = None
    if t._rg or (pw is not None and pw._rg):
        sp = -(_log_sigmoid(x))
    if t._rg:
        gt = grad_for(g * (-x if pw is None else (pw - 1) * sp - x), t)
    if pw is not None and pw._rg:
        gpw = grad_for(g * t * sp, pw)
    return (gx, gt) if pw is None else (gx, gt, gpw)


def _log_sigmoid(x: Tensor) -> Tensor:
    from ..ops.elementwise import minimum

    return minimum(x, 0.0) - (-(x.abs())).exp().log1p()


bce_logits_op = Op("binary_cross_entropy_with_logits", _bcel_impl, _bcel_vjp,
                   "BinaryCrossEntropyWithLogitsBackward0", save="i")


# ---- constant pad -----------------------------------------------------------------------------

def _pad_impl(x: np.ndarray, pad: tuple, value: Any) -> np.ndarray:
    """torch pad order: last dim first, (before, after) pairs; negative entries crop."""
    nd = x.ndim
    widths = [(0, 0)] * nd
    crops = [slice(None)] * nd
    for i in range(len(pad) // 2):
        d = nd - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        widths[d] = (max(lo, 0), max(hi, 0))
        n = x.shape[d]
        crops[d] = slice(max(-lo, 0), n - max(-hi, 0))
    x = x[tuple(crops)]
    if any(w != (0, 0) for w in widths):
        return np.pad(x, widths, mode="constant", constant_values=value)
    return x.copy()


def _pad_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return apply(pad_op, (g,), {"pad": tuple(-v for v in p["pad"]), "value": 0})


pad_op = Op("constant_pad_nd", _pad_impl, _pad_vjp, "ConstantPadNdBackward0")


# ---- one_hot (no gradient) --------------------------------------------------------------------

def _one_hot_impl(x: np.ndarray, num_classes: int) -> np.ndarray:
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes.")
    return (x[..., None] == np.arange(num_classes)).astype(np.int64)


one_hot_op = Op("one_hot", _one_hot_impl)


# ---- dropout noise ----------------------------------------------------------------------------

_noise_key = itertools.count()


def _noise_impl(x: np.ndarray, p: float, shape: tuple, key: int) -> np.ndarray:
    """Bernoulli(1-p) / (1-p) noise of ``shape``, drawn from tracejit's default generator."""
    from ..ops.creation import default_generator

    keep = default_generator._rng.random(shape) >= p
    if p >= 1:
        return np.zeros(shape, x.dtype)
    return (keep / (1 - p)).astype(x.dtype)


noise_op = Op("dropout_noise", _noise_impl, group="random")


def dropout_noise(x: Tensor, p: float, shape: tuple[int, ...]) -> Tensor:
    """Fresh noise for each call (the key keeps the JIT's CSE from merging two draws)."""
    return apply(noise_op, (x.detach(),), {"p": float(p), "shape": tuple(shape),
                                           "key": next(_noise_key)})
