"""Scalar LLVM IR for every IR op, following numpy/torch semantics per dtype."""

from __future__ import annotations

import math

from llvmlite import ir

from .ir import FLOATS
from .llvm_math import Math, call_intrinsic, math_pow, math_unary

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F16 = ir.HalfType()
F32 = ir.FloatType()
F64 = ir.DoubleType()

_STORAGE = {"f16": F16, "f32": F32, "f64": F64, "i8": I8, "u8": I8, "i32": I32,
            "i64": I64, "bool": I8}
_COMPUTE = {"f16": F32, "f32": F32, "f64": F64, "i8": I8, "u8": I8, "i32": I32,
            "i64": I64, "bool": I1}
_TRANSCENDENTAL = frozenset("exp log log1p expm1 sin cos tan tanh sigmoid erf".split())
_INTRINSIC_UNARY = {"sqrt": "sqrt", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
                    "round": "roundeven", "abs": "fabs"}
_INT_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def storage_type(dtype: str) -> ir.Type:
    return _STORAGE[dtype]


def compute_type(dtype: str) -> ir.Type:
    """f16 is computed in f32 and bool as i1; everything else as stored."""
    return _COMPUTE[dtype]


def is_float(dtype: str) -> bool:
    return dtype in FLOATS


def is_unsigned(dtype: str) -> bool:
    return dtype in ("u8", "bool")


def const(dtype: str, value) -> ir.Constant:
    t = _COMPUTE[dtype]
    if dtype in FLOATS:
        v = float(value)
        if dtype != "f64" and math.isfinite(v):
            import numpy as np
            v = float(np.float16(v)) if dtype == "f16" else float(np.float32(v))
        return ir.Constant(t, v)
    if dtype == "bool":
        return ir.Constant(t, int(bool(value)))
    bits = t.width
    return ir.Constant(t, int(value) & ((1 << bits) - 1))


def load_convert(b: ir.IRBuilder, v, dtype: str):
    """Storage value -> compute value."""
    if dtype == "f16":
        return b.fpext(v, F32)
    if dtype == "bool":
        return b.icmp_unsigned("!=", v, ir.Constant(I8, 0))
    return v


def store_convert(b: ir.IRBuilder, v, dtype: str):
    """Compute value -> storage value."""
    if dtype == "f16":
        return b.fptrunc(v, F16)
    if dtype == "bool":
        return b.zext(v, I8)
    return v


def emit_cast(b: ir.IRBuilder, v, src: str, dst: str):
    if src == dst:
        return v
    st, dt = _COMPUTE[src], _COMPUTE[dst]
    if dst == "bool":
        if src in FLOATS:
            return b.fcmp_unordered("!=", v, ir.Constant(st, 0.0))
        return b.icmp_unsigned("!=", v, ir.Constant(st, 0))
    if src in FLOATS and dst in FLOATS:
        if dst == "f16":  # round to half precision, keep computing in f32
            v = b.fptrunc(v, F16)
            return b.fpext(v, F32)
        if st == dt:
            return v
        return b.fpext(v, dt) if dst == "f64" else b.fptrunc(v, dt)
    if src in FLOATS:
        return b.fptoui(v, dt) if dst == "u8" else b.fptosi(v, dt)
    if dst in FLOATS:
        if dst == "f16":
            v = b.uitofp(v, F16) if is_unsigned(src) else b.sitofp(v, F16)
            return b.fpext(v, F32)
        return b.uitofp(v, dt) if is_unsigned(src) else b.sitofp(v, dt)
    if st.width == dt.width:
        return v
    if st.width > dt.width:
        return b.trunc(v, dt)
    return b.zext(v, dt) if is_unsigned(src) else b.sext(v, dt)


def emit_unary(b: ir.IRBuilder, op: str, x, dtype: str):
    t = _COMPUTE[dtype]
    if dtype in FLOATS:
        return _float_unary(b, op, x, t)
    return _int_unary(b, op, x, t, dtype)


def _float_unary(b, op, x, t):
    m = Math(b, t)
    if op in _TRANSCENDENTAL:
        return math_unary(b, op, x, t)
    if op in _INTRINSIC_UNARY:
        return call_intrinsic(b, _INTRINSIC_UNARY[op], t, [x])
    if op == "neg":
        return b.fneg(x)
    if op == "rsqrt":
        return m.div(m.c(1.0), call_intrinsic(b, "sqrt", t, [x]))
    if op == "reciprocal":
        return m.div(m.c(1.0), x)
    if op == "sign":
        r = m.sel(m.gt(x, m.c(0.0)), m.c(1.0), x)
        return m.sel(m.lt(x, m.c(0.0)), m.c(-1.0), r)
    if op == "relu":
        return m.sel(m.lt(x, m.c(0.0)), m.c(0.0), x)
    if op == "isnan":
        return b.fcmp_unordered("uno", x, x)
    if op == "isinf":
        return m.eq(m.fabs(x), m.c(math.inf))
    raise NotImplementedError(f"unary {op} on floats")


def _int_unary(b, op, x, t, dtype):
    zero = ir.Constant(t, 0)
    if op == "not":
        return b.not_(x)
    if dtype == "bool":
        if op in ("abs", "floor", "ceil", "round", "trunc", "relu", "sign"):
            return x
        if op in ("isnan", "isinf"):
            return ir.Constant(I1, 0)
        raise NotImplementedError(f"unary {op} on bool")
    unsigned = is_unsigned(dtype)
    if op in ("floor", "ceil", "round", "trunc"):
        return x
    if op == "neg":
        return b.sub(zero, x)
    if op == "abs":
        return x if unsigned else b.select(b.icmp_signed("<", x, zero), b.sub(zero, x), x)
    if op == "sign":
        if unsigned:
            return b.zext(b.icmp_unsigned("!=", x, zero), t)
        pos = b.zext(b.icmp_signed(">", x, zero), t)
        return b.sub(pos, b.zext(b.icmp_signed("<", x, zero), t))
    if op == "relu":
        return x if unsigned else b.select(b.icmp_signed("<", x, zero), zero, x)
    if op in ("isnan", "isinf"):
        return ir.Constant(I1, 0)
    raise NotImplementedError(f"unary {op} on {dtype}; cast to a float dtype first")


def emit_binary(b: ir.IRBuilder, op: str, x, y, dtype: str):
    t = _COMPUTE[dtype]
    if dtype in FLOATS:
        return _float_binary(b, op, x, y, t)
    return _int_binary(b, op, x, y, t, dtype)


def _float_binary(b, op, x, y, t):
    m = Math(b, t)
    simple = {"add": b.fadd, "sub": b.fsub, "mul": b.fmul, "div": b.fdiv}
    if op in simple:
        return simple[op](x, y)
    if op in _INT_CMP:
        if op == "ne":
            return b.fcmp_unordered("!=", x, y)
        return b.fcmp_ordered(_INT_CMP[op], x, y)
    if op == "max":
        return call_intrinsic(b, "maximum", t, [x, y])
    if op == "min":
        return call_intrinsic(b, "minimum", t, [x, y])
    if op == "pow":
        return math_pow(b, x, y, t)
    if op in ("mod", "floordiv"):
        return _float_divmod(b, m, x, y, op)
    raise NotImplementedError(f"binary {op} on floats")


def _float_divmod(b, m, x, y, op):
    """numpy's npy_divmod, so results match numpy bit for bit (frem is exact)."""
    zero = m.c(0.0)
    mod = b.frem(x, y)
    ybad = m.eq(y, zero)
    fix = b.and_(b.fcmp_ordered("!=", mod, zero),
                 b.xor(m.lt(y, zero), m.lt(mod, zero)))
    if op == "mod":
        r = m.sel(fix, m.add(mod, y), mod)
        r = m.sel(m.eq(r, zero), m.intrinsic("copysign", zero, y), r)
        return m.sel(ybad, mod, r)
    div = m.div(m.sub(x, mod), y)
    div = m.sel(fix, m.sub(div, m.c(1.0)), div)
    fl = m.intrinsic("floor", div)
    fl = m.sel(m.gt(m.sub(div, fl), m.c(0.5)), m.add(fl, m.c(1.0)), fl)
    fl = m.sel(m.eq(div, zero), m.intrinsic("copysign", zero, m.div(x, y)), fl)
    return m.sel(ybad, m.div(x, y), fl)


def _int_binary(b, op, x, y, t, dtype):
    unsigned = is_unsigned(dtype)
    if op in ("and", "or", "xor"):
        return {"and": b.and_, "or": b.or_, "xor": b.xor}[op](x, y)
    if op in _INT_CMP:
        cmp = b.icmp_unsigned if unsigned else b.icmp_signed
        return cmp(_INT_CMP[op], x, y)
    if dtype == "bool":
        if op in ("add", "max"):
            return b.or_(x, y)
        if op in ("mul", "min"):
            return b.and_(x, y)
        raise NotImplementedError(f"binary {op} on bool")
    if op == "add":
        return b.add(x, y)
    if op == "sub":
        return b.sub(x, y)
    if op == "mul":
        return b.mul(x, y)
    if op in ("max", "min"):
        name = ("u" if unsigned else "s") + op
        return call_intrinsic(b, name, t, [x, y])
    if op in ("div", "floordiv", "mod"):
        return _int_divmod(b, op, x, y, t, unsigned)
    raise NotImplementedError(f"binary {op} on {dtype}")


def _int_divmod(b, op, x, y, t, unsigned):
    """Python-style floor division / modulo; division by zero yields 0 (like numpy)."""
    zero = ir.Constant(t, 0)
    one = ir.Constant(t, 1)
    ybad = b.icmp_signed("==", y, zero)
    ys = b.select(ybad, one, y)
    if unsigned:
        r = b.udiv(x, ys) if op != "mod" else b.urem(x, ys)
        return b.select(ybad, zero, r)
    # avoid INT_MIN / -1 overflow trap: divide by 1 and negate instead
    mone = b.icmp_signed("==", ys, ir.Constant(t, -1))
    ys = b.select(mone, one, ys)
    q = b.sdiv(x, ys)
    q = b.select(mone, b.sub(zero, x), q)
    rem = b.srem(x, ys)
    rem = b.select(mone, zero, rem)
    fix = b.and_(b.icmp_signed("!=", rem, zero),
                 b.icmp_signed("!=", b.icmp_signed("<", rem, zero),
                               b.icmp_signed("<", ys, zero)))
    if op == "mod":
        r = b.select(fix, b.add(rem, ys), rem)
    else:
        r = b.select(fix, b.sub(q, one), q)
    return b.select(ybad, zero, r)
