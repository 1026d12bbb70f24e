"""Export rules for elementwise math, comparisons, casts, softmax, reductions and matmul.

Each rule reads a traced node (``n.op.name``, ``n.params``, ``n.ins``/``n.outs`` value ids) and
writes ONNX nodes through the ``Emitter``. tracejit casts operands to one dtype before a binary
op, so most rules map one to one; where an op computes in another dtype than its input
(``exp`` of an int tensor, ``sum`` of bools) the input is cast to the output dtype first.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .emitter import Emitter

TABLE: dict[str, Callable] = {}


def rule(*names: str) -> Callable:
    def deco(fn: Callable) -> Callable:
        for nm in names:
            TABLE[nm] = fn
        return fn

    return deco


def to_out(ctx: Emitter, n: Any, k: int = 0) -> str:
    """Input k, cast to the node's output dtype."""
    return ctx.cast(ctx.inp(n, k), ctx.dtype(n.ins[k]), ctx.dtype(n.outs[0]))


def _is_float(ctx: Emitter, vid: int) -> bool:
    return ctx.dtype(vid).kind == "f"


# ---- unary ----------------------------------------------------------------------------------

_UNARY = {"neg": "Neg", "abs": "Abs", "sign": "Sign", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "sin": "Sin", "cos": "Cos", "tan": "Tan", "tanh": "Tanh", "sigmoid": "Sigmoid",
          "relu": "Relu", "erf": "Erf", "reciprocal": "Reciprocal"}


def _unary(op_type: str) -> Callable:
    def fn(ctx: Emitter, n: Any) -> None:
        ctx.add1(op_type, [to_out(ctx, n)], ctx.out(n))

    return fn


for _name, _ot in _UNARY.items():
    TABLE[_name] = _unary(_ot)


@rule("floor", "ceil", "round", "trunc")
def _rounding(ctx: Emitter, n: Any) -> None:
    x = to_out(ctx, n)
    if not _is_float(ctx, n.outs[0]):
        ctx.add1("Identity", [x], ctx.out(n))
    elif n.op.name == "trunc":
        neg = ctx.add1("Less", [x, ctx.scalar(0, ctx.dtype(n.outs[0]))])
        ctx.add1("Where", [neg, ctx.add1("Ceil", [x]), ctx.add1("Floor", [x])], ctx.out(n))
    else:
        ctx.add1(n.op.name.capitalize(), [x], ctx.out(n))


@rule("log1p", "expm1", "rsqrt")
def _composed_unary(ctx: Emitter, n: Any) -> None:
    x, dt = to_out(ctx, n), ctx.dtype(n.outs[0])
    if n.op.name == "log1p":
        ctx.add1("Log", [ctx.add1("Add", [x, ctx.scalar(1, dt)])], ctx.out(n))
    elif n.op.name == "expm1":
        ctx.add1("Sub", [ctx.add1("Exp", [x]), ctx.scalar(1, dt)], ctx.out(n))
    else:
        ctx.add1("Reciprocal", [ctx.add1("Sqrt", [x])], ctx.out(n))


@rule("isnan", "isinf", "isfinite")
def _isnan(ctx: Emitter, n: Any) -> None:
    x, name = ctx.inp(n), n.op.name
    if not _is_float(ctx, n.ins[0]):  # integers are never nan or inf
        same = ctx.add1("Equal", [x, x])
        ctx.add1("Identity" if name == "isfinite" else "Not", [same], ctx.out(n))
    elif name == "isfinite":
        bad = ctx.add1("Or", [ctx.add1("IsNaN", [x]), ctx.add1("IsInf", [x])])
        ctx.add1("Not", [bad], ctx.out(n))
    else:
        ctx.add1("IsNaN" if name == "isnan" else "IsInf", [x], ctx.out(n))


def as_bool(ctx: Emitter, n: Any, k: int) -> str:
    return ctx.cast(ctx.inp(n, k), ctx.dtype(n.ins[k]), np.bool_)


@rule("logical_not")
def _logical_not(ctx: Emitter, n: Any) -> None:
    ctx.cast(ctx.add1("Not", [as_bool(ctx, n, 0)]), np.bool_, ctx.dtype(n.outs[0]), ctx.out(n))


def _bitwise_type(ctx: Emitter, n: Any, bool_op: str, int_op: str) -> str:
    if ctx.dtype(n.ins[0]) == np.bool_:
        return bool_op
    if ctx.opset < 18:
        raise ctx.fail(n, f"bitwise ops on integers need opset 18 or newer ({int_op})")
    return int_op


@rule("bitwise_not")
def _bitwise_not(ctx: Emitter, n: Any) -> None:
    ctx.add1(_bitwise_type(ctx, n, "Not", "BitwiseNot"), [ctx.inp(n)], ctx.out(n))


@rule("pow_scalar")
def _pow_scalar(ctx: Emitter, n: Any) -> None:
    dt = ctx.dtype(n.outs[0])
    ctx.add1("Pow", [to_out(ctx, n), ctx.scalar(n.params["exponent"], dt)], ctx.out(n))


@rule("rpow")
def _rpow(ctx: Emitter, n: Any) -> None:
    dt = ctx.dtype(n.outs[0])
    ctx.add1("Pow", [ctx.scalar(n.params["base"], dt), to_out(ctx, n)], ctx.out(n))


@rule("rsub")
def _rsub(ctx: Emitter, n: Any) -> None:
    dt, x, alpha = ctx.dtype(n.outs[0]), to_out(ctx, n), n.params["alpha"]
    if alpha != 1:
        x = ctx.add1("Mul", [x, ctx.scalar(alpha, dt)])
    ctx.add1("Sub", [ctx.scalar(n.params["other"], dt), x], ctx.out(n))


@rule("clamp")
def _clamp(ctx: Emitter, n: Any) -> None:
    dt = ctx.dtype(n.outs[0])
    lo, hi = n.params["min"], n.params["max"]
    ins = [to_out(ctx, n), "" if lo is None else ctx.scalar(lo, dt),
           "" if hi is None else ctx.scalar(hi, dt)]
    ctx.add1("Clip", ins[:3 if hi is not None else 2], ctx.out(n))


@rule("cast")
def _cast(ctx: Emitter, n: Any) -> None:
    ctx.cast(ctx.inp(n), ctx.dtype(n.ins[0]), ctx.dtype(n.outs[0]), ctx.out(n))


@rule("clone", "contiguous")
def _identity(ctx: Emitter, n: Any) -> None:
    ctx.add1("Identity", [ctx.inp(n)], ctx.out(n))


@rule("where")
def _where(ctx: Emitter, n: Any) -> None:
    dt = ctx.dtype(n.outs[0])
    ctx.add1("Where", [ctx.inp(n, 0), ctx.cast(ctx.inp(n, 1), ctx.dtype(n.ins[1]), dt),
                       ctx.cast(ctx.inp(n, 2), ctx.dtype(n.ins[2]), dt)], ctx.out(n))


@rule("fill")
def _fill(ctx: Emitter, n: Any) -> None:
    shape = ctx.add1("Shape", [ctx.inp(n)])
    val = ctx.scalar(n.params["value"], ctx.dtype(n.outs[0]))
    ctx.add1("Expand", [val, shape], ctx.out(n))


@rule("copy")
def _copy(ctx: Emitter, n: Any) -> None:
    src = ctx.cast(ctx.inp(n, 1), ctx.dtype(n.ins[1]), ctx.dtype(n.outs[0]))
    ctx.add1("Expand", [src, ctx.add1("Shape", [ctx.inp(n, 0)])], ctx.out(n))


@rule("masked_fill")
def _masked_fill(ctx: Emitter, n: Any) -> None:
    dt = ctx.dtype(n.outs[0])
    if len(n.ins) == 3:
        val = ctx.cast(ctx.inp(n, 2), ctx.dtype(n.ins[2]), dt)
    else:
        val = ctx.scalar(n.params["value"], dt)
    ctx.add1("Where", [ctx.inp(n, 1), val, to_out(ctx, n)], ctx.out(n))


# ---- binary ---------------------------------------------------------------------------------

_BINARY = {"mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max", "minimum": "Min",
           "eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
           "ge": "GreaterOrEqual"}


def _binary(op_type: str) -> Callable:
    def fn(ctx: Emitter, n: Any) -> None:
        a, b = ctx.inp(n, 0), ctx.inp(n, 1)
        if ctx.dtype(n.ins[0]) == np.bool_ and op_type not in ("Equal",):
            if op_type == "Mul":
                ctx.add1("And", [a, b], ctx.out(n))
                return
            a, b = (ctx.cast(v, np.bool_, np.int32) for v in (a, b))
            if ctx.dtype(n.outs[0]) == np.bool_ and op_type in ("Max", "Min"):
                r = ctx.add1(op_type, [a, b])
                ctx.cast(r, np.int32, np.bool_, ctx.out(n))
                return
        ctx.add1(op_type, [a, b], ctx.out(n))

    return fn


for _name, _ot in _BINARY.items():
    TABLE[_name] = _binary(_ot)


@rule("add", "sub")
def _add_sub(ctx: Emitter, n: Any) -> None:
    a, b = ctx.inp(n, 0), ctx.inp(n, 1)
    alpha = n.params.get("alpha", 1)
    if alpha != 1:
        b = ctx.add1("Mul", [b, ctx.scalar(alpha, ctx.dtype(n.ins[1]))])
    if ctx.dtype(n.ins[0]) == np.bool_:
        ctx.add1("Or" if n.op.name == "add" else "Xor", [a, b], ctx.out(n))
        return
    ctx.add1("Add" if n.op.name == "add" else "Sub", [a, b], ctx.out(n))


@rule("ne")
def _ne(ctx: Emitter, n: Any) -> None:
    ctx.add1("Not", [ctx.add1("Equal", [ctx.inp(n, 0), ctx.inp(n, 1)])], ctx.out(n))


@rule("logical_and", "logical_or", "logical_xor")
def _logical(ctx: Emitter, n: Any) -> None:
    op_type = {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}[n.op.name]
    ctx.add1(op_type, [as_bool(ctx, n, 0), as_bool(ctx, n, 1)], ctx.out(n))


@rule("bitwise_and", "bitwise_or", "bitwise_xor")
def _bitwise(ctx: Emitter, n: Any) -> None:
    base = n.op.name.split("_")[1].capitalize()
    op_type = _bitwise_type(ctx, n, base, "Bitwise" + base)
    ctx.add1(op_type, [ctx.inp(n, 0), ctx.inp(n, 1)], ctx.out(n))


@rule("remainder", "floor_divide")
def _remainder(ctx: Emitter, n: Any) -> None:
    a, b = ctx.inp(n, 0), ctx.inp(n, 1)
    if _is_float(ctx, n.ins[0]):
        q = ctx.add1("Floor", [ctx.add1("Div", [a, b])])
        if n.op.name == "floor_divide":
            ctx.add1("Identity", [q], ctx.out(n))
        else:
            ctx.add1("Sub", [a, ctx.add1("Mul", [q, b])], ctx.out(n))
        return
    mod = ctx.add1("Mod", [a, b], fmod=0)  # integer Mod takes the divisor's sign, as Python
    if n.op.name == "remainder":
        ctx.add1("Identity", [mod], ctx.out(n))
    else:
        ctx.add1("Div", [ctx.add1("Sub", [a, mod]), b], ctx.out(n))


# ---- softmax --------------------------------------------------------------------------------

@rule("softmax", "log_softmax")
def _softmax(ctx: Emitter, n: Any) -> None:
    if not ctx.shape(n.ins[0]):
        raise ctx.fail(n, "softmax of a 0-d tensor")
    op_type = "Softmax" if n.op.name == "softmax" else "LogSoftmax"
    ctx.add1(op_type, [ctx.inp(n)], ctx.out(n), axis=int(n.params["dim"]))


# ---- matmul ---------------------------------------------------------------------------------

@rule("mm", "bmm", "matmul", "mv", "dot")
def _matmul(ctx: Emitter, n: Any) -> None:
    ctx.add1("MatMul", [ctx.inp(n, 0), ctx.inp(n, 1)], ctx.out(n))


def _transposed_source(ctx: Emitter, vid: int) -> int | None:
    """The value a 2-D transpose (``t``, ``transpose(0, 1)``) was taken of, if any."""
    p = ctx.producer.get(vid)
    if p is None or len(ctx.shape(vid)) != 2:
        return None
    if p.op.name == "t" or (p.op.name == "transpose" and {p.params["dim0"], p.params["dim1"]}
                            == {0, 1}) or (p.op.name == "permute" and p.params["dims"] == (1, 0)):
        return p.ins[0]
    return None


@rule("addmm")
def _addmm(ctx: Emitter, n: Any) -> None:
    """beta * input + alpha * mat1 @ mat2 as Gemm; a Linear's weight.t() becomes transB."""
    a, b, c = n.ins
    src = _transposed_source(ctx, b)
    beta, alpha = float(n.params["beta"]), float(n.params["alpha"])
    ins = [ctx.name(a), ctx.name(src if src is not None else b)]
    if beta != 0:
        ins.append(ctx.name(c))
    if ctx.dtype(n.outs[0]).kind != "f":
        raise ctx.fail(n, "Gemm needs floating point operands")
    ctx.add1("Gemm", ins, ctx.out(n), alpha=alpha, beta=beta, transB=int(src is not None))

