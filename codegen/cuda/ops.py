"""Code generation as a table: one small function per IR op, each returning a C expression.

Operands are always C identifiers or literals (the emitter binds every sub-expression to
a ``const`` temporary first), so a rule may mention an operand twice without duplicating
work or side effects.  The rules are plain C++ shared by the device (nvcc) and the CPU
simulator (g++): nothing here is specific to one compiler.  Semantics follow
``llvm_ops.py`` (numpy): python-style floordiv/mod, integer division by zero -> 0,
wrapping integer arithmetic, NaN-propagating max/min, round half to even, f16 stored as
half but computed in float.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..ir import FLOATS

STORAGE = {"f16": "tj_half", "f32": "float", "f64": "double", "i8": "signed char",
           "u8": "unsigned char", "i32": "int", "i64": "long long", "bool": "unsigned char"}
COMPUTE = {"f16": "float", "f32": "float", "f64": "double", "i8": "signed char",
           "u8": "unsigned char", "i32": "int", "i64": "long long", "bool": "bool"}
_WRAP = {"i32": "unsigned", "i64": "unsigned long long"}  # wrap-around arithmetic type
_BITS = {"i8": 8, "u8": 8, "i32": 32, "i64": 64}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _sfx(dtype: str) -> str:
    """libm suffix: float functions end in 'f' (f16 is computed in float)."""
    return "" if dtype == "f64" else "f"


def _unsigned(dtype: str) -> bool:
    return dtype in ("u8", "bool")


def _paren(text: str) -> str:
    """Negative literals in parentheses: ``-`` applied to them must not become ``--``."""
    return f"({text})" if text.startswith("-") else text


# -- constants -----------------------------------------------------------------------------
def const(dtype: str, value) -> str:
    """C literal of ``value`` rounded like the LLVM backend's constants."""
    ct = COMPUTE[dtype]
    if dtype in FLOATS:
        v = float(value)
        if math.isfinite(v) and dtype != "f64":
            v = float(np.float16(v)) if dtype == "f16" else float(np.float32(v))
        if math.isnan(v):
            return f"(({ct})NAN)"
        if math.isinf(v):
            return f"(({ct})INFINITY)" if v > 0 else f"(-({ct})INFINITY)"
        text = repr(v) + ("" if ct == "double" else "f")
        return f"({text})" if v < 0 or text.startswith("-") else text
    if dtype == "bool":
        return "true" if value else "false"
    bits = _BITS[dtype]
    v = int(value) & ((1 << bits) - 1)
    if not _unsigned(dtype) and v >= 1 << (bits - 1):
        v -= 1 << bits
    if dtype == "i64":
        return "(-9223372036854775807LL - 1)" if v == -(1 << 63) else _paren(f"{v}LL")
    if dtype == "i32":
        return "(-2147483647 - 1)" if v == -(1 << 31) else _paren(str(v))
    return f"(({ct}){v})"


# -- memory ----------------------------------------------------------------------------------
def load(dtype: str, ref: str) -> str:
    """Storage value at lvalue ``ref`` -> compute value."""
    if dtype == "f16":
        return f"tj_h2f({ref})"
    if dtype == "bool":
        return f"({ref} != 0)"
    return ref


def store(dtype: str, x: str) -> str:
    """Compute value -> storage value."""
    if dtype == "f16":
        return f"tj_f2h({x})"
    if dtype == "bool":
        return f"(unsigned char)({x})"
    return x


# -- casts -----------------------------------------------------------------------------------
def cast(x: str, src: str, dst: str) -> str:
    if src == dst:
        return x
    ct = COMPUTE[dst]
    if dst == "bool":
        return f"({x} != 0)"  # unordered for floats: NaN -> true, like the LLVM backend
    if dst == "f16":
        if src == "f64":
            return f"tj_h2f(tj_d2h({x}))"
        if src == "i32":
            return f"tj_h2f(tj_i2h({x}))"
        if src == "i64":
            return f"tj_h2f(tj_ll2h({x}))"
        return f"tj_h2f(tj_f2h((float)({x})))"  # f32 or exact small ints
    if src in FLOATS and dst in FLOATS:
        return x if COMPUTE[src] == ct else f"(({ct})({x}))"
    if src in FLOATS and dst in ("i8", "u8"):
        return f"(({ct})(int)({x}))"
    return f"(({ct})({x}))"


# -- unary -----------------------------------------------------------------------------------
def _libm(name: str) -> Callable[[str, str], str]:
    return lambda x, dt: f"{name}{_sfx(dt)}({x})"


_FLOAT_UNARY: dict[str, Callable[[str, str], str]] = {
    **{op: _libm(op) for op in
       "exp log log1p expm1 sqrt sin cos tan tanh erf floor ceil trunc".split()},
    "round": _libm("rint"),  # half to even under the default rounding mode
    "abs": _libm("fabs"),
    "neg": lambda x, dt: f"(-{x})",
    "rsqrt": lambda x, dt: f"(({COMPUTE[dt]})1 / sqrt{_sfx(dt)}({x}))",  # IEEE, not rsqrtf
    "reciprocal": lambda x, dt: f"(({COMPUTE[dt]})1 / {x})",
    "sign": lambda x, dt: f"tj_sign({x})",
    "sigmoid": lambda x, dt: f"tj_sigmoid({x})",
    "relu": lambda x, dt: f"({x} < 0 ? ({COMPUTE[dt]})0 : {x})",
    "isnan": lambda x, dt: f"({x} != {x})",
    "isinf": lambda x, dt: f"(fabs{_sfx(dt)}({x}) == ({COMPUTE[dt]})INFINITY)",
}


def _neg_int(x: str, dt: str) -> str:
    if dt in _WRAP:
        return f"(({COMPUTE[dt]})(0 - ({_WRAP[dt]}){x}))"
    return f"(({COMPUTE[dt]})(-{x}))"


def _int_unary(op: str, x: str, dt: str) -> str:
    ct = COMPUTE[dt]
    if op == "not":
        return f"(!{x})" if dt == "bool" else f"(({ct})~{x})"
    if op in ("isnan", "isinf"):
        return "false"
    if dt == "bool":
        if op in ("abs", "floor", "ceil", "round", "trunc", "relu", "sign"):
            return x
        raise NotImplementedError(f"unary {op} on bool")
    if op in ("floor", "ceil", "round", "trunc"):
        return x
    unsigned = _unsigned(dt)
    if op == "neg":
        return _neg_int(x, dt)
    if op == "abs":
        return x if unsigned else f"({x} < 0 ? {_neg_int(x, dt)} : {x})"
    if op == "sign":
        return f"(({ct})({x} != 0))" if unsigned else f"(({ct})(({x} > 0) - ({x} < 0)))"
    if op == "relu":
        return x if unsigned else f"({x} < 0 ? ({ct})0 : {x})"
    raise NotImplementedError(f"unary {op} on {dt}; cast to a float dtype first")


def unary(op: str, x: str, dtype: str) -> str:
    if dtype in FLOATS:
        if op not in _FLOAT_UNARY:
            raise NotImplementedError(f"unary {op} on floats")
        return _FLOAT_UNARY[op](x, dtype)
    return _int_unary(op, x, dtype)


# -- binary ----------------------------------------------------------------------------------
_FLOAT_BINARY: dict[str, Callable[[str, str, str], str]] = {
    "add": lambda a, b, dt: f"({a} + {b})",
    "sub": lambda a, b, dt: f"({a} - {b})",
    "mul": lambda a, b, dt: f"({a} * {b})",
    "div": lambda a, b, dt: f"({a} / {b})",
    "pow": lambda a, b, dt: f"pow{_sfx(dt)}({a}, {b})",
    "max": lambda a, b, dt: f"tj_fmax({a}, {b})",
    "min": lambda a, b, dt: f"tj_fmin({a}, {b})",
    "mod": lambda a, b, dt: f"tj_pymod({a}, {b})",
    "floordiv": lambda a, b, dt: f"tj_pyfloordiv({a}, {b})",
}


def _int_binary(op: str, a: str, b: str, dt: str) -> str:
    ct = COMPUTE[dt]
    if dt == "bool":
        rules = {"and": "&&", "or": "||", "xor": "!=", "add": "||", "max": "||",
                 "mul": "&&", "min": "&&"}
        if op not in rules:
            raise NotImplementedError(f"binary {op} on bool")
        return f"({a} {rules[op]} {b})"
    if op in ("and", "or", "xor"):
        sym = {"and": "&", "or": "|", "xor": "^"}[op]
        return f"(({ct})({a} {sym} {b}))"
    if op in ("add", "sub", "mul"):
        sym = {"add": "+", "sub": "-", "mul": "*"}[op]
        if dt in _WRAP:  # unsigned arithmetic wraps; signed overflow would be UB
            w = _WRAP[dt]
            return f"(({ct})(({w}){a} {sym} ({w}){b}))"
        return f"(({ct})({a} {sym} {b}))"  # 8-bit operands are promoted to int
    if op == "max":
        return f"({a} > {b} ? {a} : {b})"
    if op == "min":
        return f"({a} < {b} ? {a} : {b})"
    if op in ("div", "floordiv"):
        return f"tj_{'u' if _unsigned(dt) else 's'}floordiv({a}, {b})"
    if op == "mod":
        return f"tj_{'u' if _unsigned(dt) else 's'}mod({a}, {b})"
    raise NotImplementedError(f"binary {op} on {dt}")


def binary(op: str, a: str, b: str, dtype: str) -> str:
    if op in _CMP:
        return f"({a} {_CMP[op]} {b})"  # C '!=' is unordered, the others ordered: as LLVM
    if dtype in FLOATS:
        if op not in _FLOAT_BINARY:
            raise NotImplementedError(f"binary {op} on floats")
        return _FLOAT_BINARY[op](a, b, dtype)
    return _int_binary(op, a, b, dtype)


def where(c: str, a: str, b: str) -> str:
    return f"({c} ? {a} : {b})"


# -- reductions --------------------------------------------------------------------------------
def identity(op: str, dtype: str) -> str:
    if dtype == "bool":
        return const(dtype, op in ("prod", "min"))
    if op in ("sum", "prod"):
        return const(dtype, 0 if op == "sum" else 1)
    if dtype in FLOATS:
        return const(dtype, -math.inf if op == "max" else math.inf)
    bits = _BITS[dtype]
    if _unsigned(dtype):
        return const(dtype, 0 if op == "max" else (1 << bits) - 1)
    return const(dtype, -(1 << (bits - 1)) if op == "max" else (1 << (bits - 1)) - 1)


def combine(op: str, acc: str, v: str, dtype: str) -> str:
    """acc (op) v: sum/prod accumulate in the reduction's dtype (f16 in float)."""
    return binary({"sum": "add", "prod": "mul"}.get(op, op), acc, v, dtype)
