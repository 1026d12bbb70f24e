"""Load rules for elementwise math, comparisons, casts, activations, matmul and reductions.

ONNX gives both operands of a binary op one dtype and broadcasts like numpy, as tracejit does,
so most rules are one call. Where ONNX keeps a dtype PyTorch would widen (integer sums become
int64 in PyTorch, int32 in ONNX; integer Div truncates) the rule casts back or computes the
ONNX way.
"""
from __future__ import annotations

import math
from functools import reduce
from typing import Any

import numpy as np

from .. import ops as T
from ..dispatch import apply
from ..nn import functional as F
from ..ops.reduce import prod_dim_op
from ..tensor import Tensor
from ._common import np_dtype
from .load_ctx import NodeCtx, rule_table

TABLE, rule = rule_table()


def _dt(x: Tensor) -> np.dtype:
    return x._data.dtype


def _tj_dtype(dt: Any) -> Any:
    from .. import dtypes

    return dtypes.from_numpy_dtype(np.dtype(dt))


def _cast(x: Tensor, dt: Any) -> Tensor:
    return x if _dt(x) == np.dtype(dt) else x.to(_tj_dtype(dt))


# ---- elementwise ----------------------------------------------------------------------------

_UNARY = {"Neg": T.neg, "Abs": T.abs, "Exp": T.exp, "Log": T.log, "Sqrt": T.sqrt,
          "Tanh": T.tanh, "Sigmoid": T.sigmoid, "Relu": T.relu, "Reciprocal": T.reciprocal,
          "Sin": T.sin, "Cos": T.cos, "Tan": T.tan, "Erf": T.erf, "Sign": T.sign,
          "Not": T.logical_not, "IsNaN": T.isnan, "BitwiseNot": T.bitwise_not}
_BINARY = {"Add": T.add, "Sub": T.sub, "Mul": T.mul, "Equal": T.eq, "Less": T.lt,
           "Greater": T.gt, "LessOrEqual": T.le, "GreaterOrEqual": T.ge,
           "And": T.logical_and, "Or": T.logical_or, "Xor": T.logical_xor,
           "BitwiseAnd": T.bitwise_and, "BitwiseOr": T.bitwise_or, "BitwiseXor": T.bitwise_xor}


def _unary(fn: Any) -> Any:
    def run(c: NodeCtx, x: list, a: dict) -> Tensor:
        return fn(c.t(x[0]))

    return run


def _binary(fn: Any) -> Any:
    def run(c: NodeCtx, x: list, a: dict) -> Tensor:
        return fn(c.t(x[0]), c.t(x[1]))

    return run


for _k, _f in _UNARY.items():
    TABLE[_k] = _unary(_f)
for _k, _f in _BINARY.items():
    TABLE[_k] = _binary(_f)


@rule("Floor", "Ceil", "Round")
def _rounding(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    return {"Floor": T.floor, "Ceil": T.ceil, "Round": T.round}[c.op](t)


@rule("Identity")
def _identity(c: NodeCtx, x: list, a: dict) -> Any:
    return x[0]


@rule("Div")
def _div(c: NodeCtx, x: list, a: dict) -> Tensor:
    p, q = c.t(x[0]), c.t(x[1])
    if _dt(p).kind == "f":
        return T.div(p, q)
    return _trunc_div(p, q)


def _trunc_div(p: Tensor, q: Tensor) -> Tensor:
    """Integer division rounding toward zero (ONNX), from floor division (PyTorch //)."""
    f = T.floor_divide(p, q)
    return T.where((f < 0) & (f * q != p), f + 1, f)


@rule("Mod")
def _mod(c: NodeCtx, x: list, a: dict) -> Tensor:
    p, q = c.t(x[0]), c.t(x[1])
    if not a.get("fmod", 0):
        return T.remainder(p, q)
    if _dt(p).kind == "f":  # C fmod: the dividend's sign
        return p - T.trunc(p / q) * q
    return p - _trunc_div(p, q) * q


@rule("Pow")
def _pow(c: NodeCtx, x: list, a: dict) -> Tensor:
    base, e = c.t(x[0]), c.t(x[1])
    if _dt(base) == _dt(e) and _dt(base).kind == "f":
        return T.pow(base, e)
    if _dt(base).kind == "f":
        return T.pow(base, _cast(e, _dt(base)))
    return _int_pow(base, e)


def _int_pow(base: Tensor, e: Tensor) -> Tensor:
    """An integer base: computed in float64 (the JIT has no integer pow kernel), results
    within rounding of an integer snapped to it, then truncated as ONNX's cast does."""
    r = T.pow(_cast(base, np.float64), _cast(e, np.float64))
    near = T.round(r)
    r = T.where(T.abs(r - near) <= T.abs(r) * 1e-12, near, r)
    return _cast(r, _dt(base))


@rule("Max", "Min", "Sum", "Mean")
def _variadic(c: NodeCtx, x: list, a: dict) -> Tensor:
    ts = [c.t(v) for v in x if v is not None]
    fn = {"Max": T.maximum, "Min": T.minimum}.get(c.op, T.add)
    r = reduce(fn, ts)
    return r / len(ts) if c.op == "Mean" else r


@rule("IsInf")
def _isinf(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    r = T.isinf(t)
    if not a.get("detect_negative", 1):
        r = r & (t > 0)
    if not a.get("detect_positive", 1):
        r = r & (t < 0)
    return r


@rule("Where")
def _where(c: NodeCtx, x: list, a: dict) -> Tensor:
    return T.where(c.t(x[0]), c.t(x[1]), c.t(x[2]))


@rule("Clip")
def _clip(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    for k, fn in ((1, T.maximum), (2, T.minimum)):
        if len(x) > k and x[k] is not None:
            bound = x[k]
            if isinstance(bound, np.ndarray) or type(bound._data) is np.ndarray:
                v = c.static(bound, "bound").item()
                t = T.clamp(t, min=v) if k == 1 else T.clamp(t, max=v)
            else:
                t = fn(t, _cast(bound, _dt(t)))
    return t


@rule("Cast", "CastLike")
def _cast_rule(c: NodeCtx, x: list, a: dict) -> Any:
    dt = np_dtype(a["to"], "Cast's target") if c.op == "Cast" else _dt(c.t(x[1]))
    if isinstance(x[0], np.ndarray):
        return x[0].astype(dt)
    return _cast(x[0], dt)


# ---- activations ------------------------------------------------------------------------------

@rule("LeakyRelu")
def _leaky(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    return T.where(t < 0, t * a.get("alpha", 0.01), t)


@rule("Elu", "Celu", "Selu")
def _elu(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    alpha = a.get("alpha", {"Selu": 1.67326319217681884765625}.get(c.op, 1.0))
    neg = T.minimum(t, T.zeros_like(t))
    if c.op == "Celu":
        return T.where(t > 0, t, T.expm1(neg / alpha) * alpha)
    r = T.where(t > 0, t, T.expm1(neg) * alpha)
    return r * a.get("gamma", 1.05070102214813232421875) if c.op == "Selu" else r


@rule("PRelu")
def _prelu(c: NodeCtx, x: list, a: dict) -> Tensor:
    t, s = c.t(x[0]), c.t(x[1])
    return T.where(t < 0, t * s, t)


@rule("HardSigmoid", "HardSwish")
def _hard_sigmoid(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    alpha, beta = (a.get("alpha", 0.2), a.get("beta", 0.5)) if c.op == "HardSigmoid" else \
        (1 / 6, 0.5)
    r = T.clamp(t * alpha + beta, min=0.0, max=1.0)
    return r if c.op == "HardSigmoid" else t * r


@rule("Softplus", "Softsign", "Mish", "ThresholdedRelu", "Gelu")
def _smooth(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    if c.op == "Softsign":
        return t / (T.abs(t) + 1)
    if c.op == "ThresholdedRelu":
        return T.where(t > a.get("alpha", 1.0), t, T.zeros_like(t))
    if c.op == "Gelu":
        return F.gelu(t, approximate=a.get("approximate", "none"))
    sp = T.relu(t) + T.log1p(T.exp(-T.abs(t)))
    return sp if c.op == "Softplus" else t * T.tanh(sp)


@rule("Softmax", "LogSoftmax")
def _softmax(c: NodeCtx, x: list, a: dict) -> Tensor:
    fn = T.softmax if c.op == "Softmax" else T.log_softmax
    return fn(c.t(x[0]), a.get("axis", -1))


# ---- matmul ---------------------------------------------------------------------------------

@rule("MatMul")
def _matmul(c: NodeCtx, x: list, a: dict) -> Tensor:
    return T.matmul(c.t(x[0]), c.t(x[1]))


@rule("Gemm")
def _gemm(c: NodeCtx, x: list, a: dict) -> Tensor:
    m1, m2 = c.t(x[0]), c.t(x[1])
    if a.get("transA", 0):
        m1 = m1.t()
    if a.get("transB", 0):
        m2 = m2.t()
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    cc = c.t(x[2]) if len(x) > 2 and x[2] is not None else None
    if cc is None or beta == 0:
        r = T.matmul(m1, m2)
        return r if alpha == 1 else r * alpha
    return T.addmm(cc, m1, m2, beta=beta, alpha=alpha)


# ---- reductions -------------------------------------------------------------------------------

def _axes(c: NodeCtx, x: list, a: dict, nd: int) -> tuple[int, ...] | None:
    """The reduced axes, or None for 'reduce nothing' (noop_with_empty_axes)."""
    if c.op == "ReduceSum" or c.opset >= 18:
        axes = c.ints(x[1], "axes") if len(x) > 1 and x[1] is not None else []
    else:
        axes = list(a.get("axes", []))
    if not axes:
        return None if a.get("noop_with_empty_axes", 0) else tuple(range(nd))
    return tuple(sorted({ax % nd for ax in axes})) if nd else ()


@rule("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
      "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")
def _reduce(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    nd, dt = t.ndim, _dt(t)
    axes = _axes(c, x, a, nd)
    if axes is None or (nd == 0 and c.op in ("ReduceSum", "ReduceMean", "ReduceMax",
                                             "ReduceMin", "ReduceProd")):
        return t
    keep = bool(a.get("keepdims", 1))
    op = c.op
    if op in ("ReduceMax", "ReduceMin") and any(t.shape[d] == 0 for d in axes):
        shape = [1 if d in axes else s for d, s in enumerate(t.shape)] if keep else \
            [s for d, s in enumerate(t.shape) if d not in axes]
        if dt.kind == "f":
            fill: Any = -math.inf if op == "ReduceMax" else math.inf
        elif dt.kind == "b":
            fill = op != "ReduceMax"
        else:
            fill = np.iinfo(dt).min if op == "ReduceMax" else np.iinfo(dt).max
        return T.full(shape, fill, dtype=_tj_dtype(dt))
    w = t if dt.kind == "f" or op in ("ReduceMax", "ReduceMin") else _cast(t, np.float64) \
        if op in ("ReduceMean", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp") else t
    if op in ("ReduceMax", "ReduceMin") and dt == np.bool_:
        w = _cast(t, np.int32)
    if op == "ReduceSum":
        r = T.sum(w, axes, keepdim=keep)
    elif op == "ReduceMean":
        r = T.mean(w, axes, keepdim=keep)
    elif op in ("ReduceMax", "ReduceMin"):
        r = (T.amax if op == "ReduceMax" else T.amin)(w, axes, keepdim=keep)
    elif op == "ReduceProd":
        r = apply(prod_dim_op, (w,), {"dim": axes, "keepdim": keep})
    elif op == "ReduceL1":
        r = T.sum(T.abs(w), axes, keepdim=keep)
    elif op in ("ReduceL2", "ReduceSumSquare"):
        r = T.sum(w * w, axes, keepdim=keep)
        r = T.sqrt(r) if op == "ReduceL2" else r
    elif op == "ReduceLogSum":
        r = T.log(T.sum(w, axes, keepdim=keep))
    else:
        r = T.logsumexp(w, axes, keepdim=keep)
    return _cast(r, dt)


@rule("ArgMax", "ArgMin")
def _argmax(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    axis, keep = a.get("axis", 0) % max(t.ndim, 1), bool(a.get("keepdims", 1))
    fn = T.argmax if c.op == "ArgMax" else T.argmin
    if a.get("select_last_index", 0):
        r = fn(T.flip(t, (axis,)), axis, keepdim=keep)
        return (t.shape[axis] - 1) - r
    return fn(t, axis, keepdim=keep)
