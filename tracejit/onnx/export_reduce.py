"""Export rules for reductions: sums, means, extrema, norms, variance, arg-extrema, cumsum.

Reduced dims come as explicit tuples in the traced params, so each maps to an ONNX Reduce*
with those axes (``Emitter.reduce`` writes them as an input or an attribute, by opset). A
count of elements over a dim that follows a dynamic axis is computed from ``Shape``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .emitter import Emitter
from .export_ops import as_bool, to_out

TABLE: dict[str, Callable] = {}


def rule(*names: str) -> Callable:
    def deco(fn: Callable) -> Callable:
        for nm in names:
            TABLE[nm] = fn
        return fn

    return deco


# ---- reductions ------------------------------------------------------------------------------

_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "prod": "ReduceProd", "amax": "ReduceMax",
           "max": "ReduceMax", "amin": "ReduceMin", "min": "ReduceMin"}


@rule(*_REDUCE)
def _reduce(ctx: Emitter, n: Any) -> None:
    x = to_out(ctx, n)
    ctx.reduce(_REDUCE[n.op.name], x, n.params["dim"], n.params["keepdim"], ctx.out(n))


@rule("nansum")
def _nansum(ctx: Emitter, n: Any) -> None:
    x, dt = to_out(ctx, n), ctx.dtype(n.outs[0])
    if dt.kind == "f":
        x = ctx.add1("Where", [ctx.add1("IsNaN", [x]), ctx.scalar(0, dt), x])
    ctx.reduce("ReduceSum", x, n.params["dim"], n.params["keepdim"], ctx.out(n))


@rule("all", "any")
def _all_any(ctx: Emitter, n: Any) -> None:
    b = ctx.cast(as_bool(ctx, n, 0), np.bool_, np.int32)
    r = ctx.reduce("ReduceMin" if n.op.name == "all" else "ReduceMax", b, n.params["dim"],
                   n.params["keepdim"])
    ctx.cast(ctx.cast(r, np.int32, np.bool_), np.bool_, ctx.dtype(n.outs[0]), ctx.out(n))


@rule("count_nonzero")
def _count_nonzero(ctx: Emitter, n: Any) -> None:
    nz = ctx.cast(as_bool(ctx, n, 0), np.bool_, np.int64)
    ctx.reduce("ReduceSum", nz, n.params["dim"], False, ctx.out(n))


def numel(ctx: Emitter, vid: int, dims: Any, dt: Any) -> str:
    """The number of elements over ``dims`` of ``vid`` as a scalar of dtype dt (computed at
    run time when one of those dims follows a dynamic axis)."""
    sym = ctx.sym(vid)
    if not any(sym[d] for d in dims):
        return ctx.scalar(math.prod(ctx.shape(vid)[d] for d in dims), dt)
    sizes = ctx.add1("Gather", [ctx.add1("Shape", [ctx.name(vid)]), ctx.i64(list(dims))],
                     axis=0)
    total = ctx.reduce("ReduceProd", sizes, [0], False)
    return ctx.cast(total, np.int64, dt)


@rule("var", "std")
def _var(ctx: Emitter, n: Any) -> None:
    dims, keep, corr = n.params["dim"], n.params["keepdim"], n.params["correction"]
    x, dt = to_out(ctx, n), ctx.dtype(n.outs[0])
    dev = ctx.add1("Sub", [x, ctx.reduce("ReduceMean", x, dims, True)])
    ss = ctx.reduce("ReduceSum", ctx.add1("Mul", [dev, dev]), dims, keep)
    denom = ctx.add1("Sub", [numel(ctx, n.ins[0], dims, dt), ctx.scalar(corr, dt)])
    denom = ctx.add1("Max", [denom, ctx.scalar(0, dt)])
    var = ctx.add1("Div", [ss, denom], None if n.op.name == "std" else ctx.out(n))
    if n.op.name == "std":
        ctx.add1("Sqrt", [var], ctx.out(n))


@rule("norm")
def _norm(ctx: Emitter, n: Any) -> None:
    dims, keep, o = n.params["dim"], n.params["keepdim"], n.params["ord"]
    x, dt = to_out(ctx, n), ctx.dtype(n.outs[0])
    a = ctx.add1("Abs", [x])
    if o == 2:
        ctx.reduce("ReduceL2", x, dims, keep, ctx.out(n))
    elif o == 1:
        ctx.reduce("ReduceL1", x, dims, keep, ctx.out(n))
    elif o in (math.inf, -math.inf):
        ctx.reduce("ReduceMax" if o > 0 else "ReduceMin", a, dims, keep, ctx.out(n))
    elif o == 0:
        nz = ctx.cast(ctx.add1("Not", [ctx.add1("Equal", [a, ctx.scalar(0, dt)])]), np.bool_, dt)
        ctx.reduce("ReduceSum", nz, dims, keep, ctx.out(n))
    else:
        s = ctx.reduce("ReduceSum", ctx.add1("Pow", [a, ctx.scalar(o, dt)]), dims, keep)
        ctx.add1("Pow", [s, ctx.scalar(1.0 / o, dt)], ctx.out(n))


@rule("logsumexp")
def _logsumexp(ctx: Emitter, n: Any) -> None:
    dims, keep = n.params["dim"], n.params["keepdim"]
    x, dt = to_out(ctx, n), ctx.dtype(n.outs[0])
    zero = ctx.scalar(0, dt)

    def safe(m: str) -> str:  # an all -inf slice: shift by 0, giving log(0) = -inf
        return ctx.add1("Where", [ctx.add1("IsInf", [m]), zero, m])

    m_keep = safe(ctx.reduce("ReduceMax", x, dims, True))
    s = ctx.reduce("ReduceSum", ctx.add1("Exp", [ctx.add1("Sub", [x, m_keep])]), dims, keep)
    m = m_keep if keep else safe(ctx.reduce("ReduceMax", x, dims, False))
    ctx.add1("Add", [ctx.add1("Log", [s]), m], ctx.out(n))


@rule("argmax", "argmin")
def _argmax(ctx: Emitter, n: Any) -> None:
    op_type = "ArgMax" if n.op.name == "argmax" else "ArgMin"
    d, keep, nd = n.params["dim"], n.params["keepdim"], len(ctx.shape(n.ins[0]))
    if nd == 0:
        ctx.add1("Identity", [ctx.const(np.zeros((), np.int64))], ctx.out(n))
    elif d is None:
        flat = ctx.add1("Reshape", [ctx.inp(n), ctx.i64([-1])])
        r = ctx.add1(op_type, [flat], None if keep else ctx.out(n), axis=0, keepdims=0)
        if keep:
            ctx.add1("Reshape", [r, ctx.i64([1] * nd)], ctx.out(n))
    else:
        ctx.add1(op_type, [ctx.inp(n)], ctx.out(n), axis=int(d), keepdims=int(keep))


@rule("max_dim", "min_dim")
def _max_dim(ctx: Emitter, n: Any) -> None:
    d, keep = n.params["dim"], n.params["keepdim"]
    if not ctx.shape(n.ins[0]):
        ctx.add1("Identity", [ctx.inp(n)], ctx.out(n, 0))
        ctx.add1("Identity", [ctx.const(np.zeros((), np.int64))], ctx.out(n, 1))
        return
    big = n.op.name == "max_dim"
    ctx.reduce("ReduceMax" if big else "ReduceMin", ctx.inp(n), [d], keep, ctx.out(n, 0))
    ctx.add1("ArgMax" if big else "ArgMin", [ctx.inp(n)], ctx.out(n, 1), axis=int(d),
             keepdims=int(keep))


@rule("cumsum")
def _cumsum(ctx: Emitter, n: Any) -> None:
    if not ctx.shape(n.ins[0]):
        ctx.add1("Identity", [to_out(ctx, n)], ctx.out(n))
        return
    axis = ctx.const(np.asarray(n.params["dim"], np.int64))
    ctx.add1("CumSum", [to_out(ctx, n), axis], ctx.out(n))
