"""Load rules for convolution, pooling, normalisation and the NLL loss.

Convolution and pooling run tracejit's own ops (``ops/conv.py``), called with explicit
per-side padding. Padding those ops cannot express (uneven sides, more than half a window)
is applied first with a pad op: -inf (the dtype's lowest value) before a max pool, zeros
before an average pool whose divisor is then counted the same way on a tensor of ones.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops as T
from ..dispatch import apply
from ..nn import functional as F
from ..nn.primitives import pad_op
from ..ops.conv import avg_pool_op, conv_op, max_pool_indices_op, max_pool_op
from ..tensor import Tensor
from .load_ctx import NodeCtx, rule_table
from .load_ops import _dt

TABLE, rule = rule_table()


def _geometry(c: NodeCtx, t: Tensor, a: dict, kernel: list[int]) -> tuple:
    """(strides, dilations, [(lo, hi)] per spatial dim) with auto_pad resolved."""
    nd = len(kernel)
    strides = list(a.get("strides", [1] * nd))
    dil = list(a.get("dilations", [1] * nd))
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        p = list(a.get("pads", [0] * (2 * nd)))
        return strides, dil, list(zip(p[:nd], p[nd:]))
    if auto == "VALID":
        return strides, dil, [(0, 0)] * nd
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise c.fail(f"auto_pad {auto!r}")
    pads = []
    for size, k, s, d in zip(t.shape[2:], kernel, strides, dil):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
        pads.append((lo, total - lo))
    return strides, dil, pads


def _torch_pad(pads: list[tuple[int, int]]) -> tuple[int, ...]:
    """Per-dim (lo, hi), first spatial dim first -> PyTorch's pad order (last dim first)."""
    out: list[int] = []
    for lo, hi in reversed(pads):
        out += [lo, hi]
    return tuple(out)


@rule("Conv")
def _conv(c: NodeCtx, x: list, a: dict) -> Tensor:
    t, w = c.t(x[0]), c.t(x[1])
    kernel = list(a.get("kernel_shape", w.shape[2:]))
    strides, dil, pads = _geometry(c, t, a, kernel)
    ins = (t, w) if len(x) < 3 or x[2] is None else (t, w, c.t(x[2]))
    return apply(conv_op, ins, {"stride": tuple(strides), "padding": tuple(pads),
                                "dilation": tuple(dil), "groups": int(a.get("group", 1))})


def _native(pads: list[tuple[int, int]], kernel: list[int], dil: list[int]) -> bool:
    """Does tracejit's pooling take this padding directly (even, at most half a window)?"""
    return all(lo == hi and lo <= ((k - 1) * d + 1) // 2
               for (lo, hi), k, d in zip(pads, kernel, dil))


def _lowest(dt: np.dtype) -> Any:
    return -math.inf if dt.kind == "f" else (False if dt.kind == "b" else np.iinfo(dt).min.item())


@rule("MaxPool")
def _max_pool(c: NodeCtx, x: list, a: dict) -> list[Any]:
    t = c.t(x[0])
    kernel = list(a["kernel_shape"])
    strides, dil, pads = _geometry(c, t, a, kernel)
    native = _native(pads, kernel, dil)
    if not native:
        if c.wants(1):
            raise c.fail("MaxPool indices with this padding are not supported")
        t = apply(pad_op, (t,), {"pad": _torch_pad(pads), "value": _lowest(_dt(t))})
        pads = [(0, 0)] * len(kernel)
    idx = apply(max_pool_indices_op, (t,), {
        "kernel_size": tuple(kernel), "stride": tuple(strides),
        "padding": tuple(lo for lo, _ in pads), "dilation": tuple(dil),
        "ceil_mode": bool(a.get("ceil_mode", 0))})
    y = apply(max_pool_op, (t, idx), {"nd": len(kernel)})
    if not c.wants(1):
        return [y]
    return [y, _onnx_indices(c, t, idx, a.get("storage_order", 0))]


def _onnx_indices(c: NodeCtx, t: Tensor, idx: Tensor, order: int) -> Tensor:
    """tracejit's per-plane flat indices -> ONNX's, flat over the whole (N, C, ...) tensor."""
    spatial = tuple(t.shape[2:])
    plane = math.prod(spatial)
    if order:
        if len(spatial) != 2:
            raise c.fail("storage_order=1 indices are supported for 2-D pooling only")
        h, w = T.floor_divide(idx, spatial[1]), T.remainder(idx, spatial[1])
        idx = w * spatial[0] + h
    n, ch = t.shape[0], t.shape[1]
    base = T.reshape(T.arange(n * ch) * plane, (n, ch) + (1,) * len(spatial))
    return idx + base


@rule("AveragePool")
def _avg_pool(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    kernel = list(a["kernel_shape"])
    strides, dil, pads = _geometry(c, t, a, kernel)
    include = bool(a.get("count_include_pad", 0))
    if any(d != 1 for d in dil):
        return _avg_pool_dilated(t, kernel, strides, dil, pads, include,
                                 bool(a.get("ceil_mode", 0)))
    p = {"kernel_size": tuple(kernel), "stride": tuple(strides),
         "ceil_mode": bool(a.get("ceil_mode", 0)), "count_include_pad": include}
    if _native(pads, kernel, dil):
        return apply(avg_pool_op, (t,), {**p, "padding": tuple(lo for lo, _ in pads),
                                         "divisor_override": None})
    # uneven padding: window sums over the zero-padded input / window element counts
    tp = _torch_pad(pads)
    flat = {**p, "padding": (0,) * len(kernel), "divisor_override": 1}
    sums = apply(avg_pool_op, (apply(pad_op, (t,), {"pad": tp, "value": 0}),), flat)
    ones = T.ones((1, 1) + tuple(t.shape[2:]), dtype=t.dtype)
    ones = apply(pad_op, (ones,), {"pad": tp, "value": 1 if include else 0})
    return sums / apply(avg_pool_op, (ones,), flat)


def _avg_pool_dilated(t: Tensor, kernel: list[int], strides: list[int], dil: list[int],
                      pads: list[tuple[int, int]], include: bool, ceil: bool) -> Tensor:
    """Dilated average pooling as two convolutions with a kernel of ones (window sums of the
    data, window counts of ones); ceil mode's last windows see extra zero padding."""
    spatial = tuple(t.shape[2:])
    ext = []
    for size, k, s, d, (lo, hi) in zip(spatial, kernel, strides, dil, pads):
        span = size + lo + hi - (k - 1) * d - 1
        out = (-(-span // s) if ceil else span // s) + 1
        if ceil and (out - 1) * s >= size + lo:
            out -= 1
        ext.append(max((out - 1) * s + (k - 1) * d + 1 - (size + lo + hi), 0))
    w = T.ones((1, 1) + tuple(kernel), dtype=t.dtype)
    p = {"stride": tuple(strides), "padding": tuple((0, 0) for _ in kernel),
         "dilation": tuple(dil), "groups": 1}
    pad_x = _torch_pad([(lo, hi + e) for (lo, hi), e in zip(pads, ext)])
    flat = T.reshape(t, (-1, 1) + spatial)
    sums = apply(conv_op, (apply(pad_op, (flat,), {"pad": pad_x, "value": 0}), w), p)
    ones = T.ones((1, 1) + spatial, dtype=t.dtype)
    if include:
        ones = apply(pad_op, (ones,), {"pad": _torch_pad(pads), "value": 1})
        extra = [(0, e) for e in ext]
    else:
        extra = [(lo, hi + e) for (lo, hi), e in zip(pads, ext)]
    counts = apply(conv_op, (apply(pad_op, (ones,), {"pad": _torch_pad(extra), "value": 0}),
                             w), p)
    y = sums / counts
    return T.reshape(y, tuple(t.shape[:2]) + tuple(y.shape[2:]))


@rule("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    dims = tuple(range(2, t.ndim))
    if c.op == "GlobalAveragePool":
        return T.mean(t, dims, keepdim=True)
    return T.amax(t, dims, keepdim=True)


@rule("BatchNormalization")
def _batch_norm(c: NodeCtx, x: list, a: dict) -> Tensor:
    if a.get("training_mode", 0):
        raise c.fail("BatchNormalization in training mode is not supported")
    t = c.t(x[0])
    shape = (1, -1) + (1,) * (t.ndim - 2)
    scale, bias, mean, var = (T.reshape(c.t(v), shape) for v in x[1:5])
    return (t - mean) / T.sqrt(var + a.get("epsilon", 1e-5)) * scale + bias


@rule("LayerNormalization")
def _layer_norm(c: NodeCtx, x: list, a: dict) -> list[Tensor]:
    t = c.t(x[0])
    axis = a.get("axis", -1) % t.ndim
    dims = tuple(range(axis, t.ndim))
    mean = T.mean(t, dims, keepdim=True)
    dev = t - mean
    inv = T.rsqrt(T.mean(dev * dev, dims, keepdim=True) + a.get("epsilon", 1e-5))
    y = dev * inv * c.t(x[1])
    if len(x) > 2 and x[2] is not None:
        y = y + c.t(x[2])
    return [y, mean, inv]


@rule("NegativeLogLikelihoodLoss")
def _nll(c: NodeCtx, x: list, a: dict) -> Tensor:
    weight = c.t(x[2]) if len(x) > 2 and x[2] is not None else None
    return F.nll_loss(c.t(x[0]), c.t(x[1]), weight, ignore_index=a.get("ignore_index", -100),
                      reduction=a.get("reduction", "mean"))
