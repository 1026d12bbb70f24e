"""Elementwise ops: unary math, binary arithmetic, comparisons, logic, where, clamp, casts.

Each op is one ``Op``: numpy forward, backward in tracejit ops, PyTorch's node name. The JIT
fuses everything in the "unary"/"binary"/"where"/"cast" groups.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..dispatch import Op, apply, apply_inplace
from ..tensor import Tensor
from ._util import (
    _BY_NP,
    as_tensor_like,
    bcast_error,
    cast,
    grad_for,
    is_scalar,
    method,
    promote,
    scalar_tensor,
)

# ---------------------------------------------------------------------------------------------
# casts


def _cast_impl(x: np.ndarray, dtype: str) -> np.ndarray:
    return x.astype(dtype)


cast_op = Op("cast", _cast_impl, lambda g, ins, out, p: cast(g, ins[0].dtype),
             "ToCopyBackward0", save="i", group="cast")


def to_dtype(x: Tensor, dt: dtypes.dtype) -> Tensor:
    return apply(cast_op, (x,), {"dtype": dt.name})


# ---------------------------------------------------------------------------------------------
# unary ops

def _float_in(fn: Any) -> Any:
    """PyTorch computes float functions of integer tensors in the default float dtype."""

    def impl(x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            x = x.astype(dtypes.get_default_dtype().np)
        return fn(x)

    impl.__name__ = fn.__name__
    return impl


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """exp(min(x, 0)) / (1 + exp(-|x|)): neither exp overflows, no masked selects (masked
    numpy loops measured 10x slower than a second exp on random signs)."""
    e = np.abs(x, out=np.empty(x.shape, x.dtype))  # an array even for 0-d input
    np.negative(e, out=e)
    np.exp(e, out=e)
    e += 1
    num = np.minimum(x, 0, out=np.empty(x.shape, x.dtype))
    np.exp(num, out=num)
    return np.divide(num, e, out=num)


def _rsqrt(x: np.ndarray) -> np.ndarray:
    return 1 / np.sqrt(x)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def _erf(x: np.ndarray) -> np.ndarray:
    from math import erf

    return np.vectorize(erf, otypes=[np.float64])(x).astype(x.dtype)


def _zero_grad(g: Tensor, ins: Any, out: Any, p: Any) -> Tensor:
    return g * 0


def _sign_int(x: np.ndarray) -> np.ndarray:
    return np.sign(x) if x.dtype.kind != "b" else x.copy()


# name: (numpy impl, float-only, node name, saves, vjp(g, x, y))
_UNARY: dict[str, tuple] = {
    "neg": (np.negative, False, "NegBackward0", "", lambda g, x, y: -g),
    "abs": (np.abs, False, "AbsBackward0", "i", lambda g, x, y: g * x.sign()),
    "sign": (_sign_int, False, "SignBackward0", "", None),
    "exp": (np.exp, True, "ExpBackward0", "o", lambda g, x, y: g * y),
    "log": (np.log, True, "LogBackward0", "i", lambda g, x, y: g / x),
    "log1p": (np.log1p, True, "Log1PBackward0", "i", lambda g, x, y: g / (x + 1)),
    "expm1": (np.expm1, True, "Expm1Backward0", "o", lambda g, x, y: g * (y + 1)),
    "sqrt": (np.sqrt, True, "SqrtBackward0", "o", lambda g, x, y: g / (y * 2)),
    "rsqrt": (_rsqrt, True, "RsqrtBackward0", "o", lambda g, x, y: g * y.pow(3) * -0.5),
    "sin": (np.sin, True, "SinBackward0", "i", lambda g, x, y: g * x.cos()),
    "cos": (np.cos, True, "CosBackward0", "i", lambda g, x, y: -(g * x.sin())),
    "tan": (np.tan, True, "TanBackward0", "o", lambda g, x, y: g * (y * y + 1)),
    "tanh": (np.tanh, True, "TanhBackward0", "o", lambda g, x, y: g * (1 - y * y)),
    "sigmoid": (_sigmoid, True, "SigmoidBackward0", "o", lambda g, x, y: g * (y * (1 - y))),
    "relu": (_relu, False, "ReluBackward0", "o", lambda g, x, y: g * (y > 0)),
    "erf": (_erf, True, "ErfBackward0", "i",
            lambda g, x, y: g * (x * x * -1).exp() * 1.1283791670955126),
    "floor": (np.floor, False, "FloorBackward0", "", None),
    "ceil": (np.ceil, False, "CeilBackward0", "", None),
    "round": (np.round, False, "RoundBackward0", "", None),
    "trunc": (np.trunc, False, "TruncBackward0", "", None),
    "reciprocal": (np.reciprocal, True, "ReciprocalBackward0", "o",
                   lambda g, x, y: -(g * y * y)),
}

UNARY_OPS: dict[str, Op] = {}


_BOOL_ERRORS = {
    "neg": lambda: RuntimeError(
        "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
        "invert a mask, use the `~` or `logical_not()` operator instead."),
    "relu": lambda: RuntimeError("Boolean inputs not supported for relu"),
    **{n: (lambda n=n: NotImplementedError(f"\"{n}_cpu\" not implemented for 'Bool'"))
       for n in ("abs", "floor", "ceil", "round", "trunc")},
}


def _no_bool(name: str, impl: Any) -> Any:
    """PyTorch refuses these ops on bool tensors (numpy would compute them)."""
    err = _BOOL_ERRORS[name]

    def f(x: np.ndarray) -> np.ndarray:
        if x.dtype.kind == "b":
            raise err()
        return impl(x)

    f.__name__ = getattr(impl, "__name__", name)
    return f


def _make_unary(name: str, spec: tuple) -> None:
    impl, float_only, gname, save, rule = spec
    if float_only:
        impl = _float_in(impl)
    if name in _BOOL_ERRORS:
        impl = _no_bool(name, impl)
    if rule is None:
        vjp = _zero_grad
    else:
        def vjp(g: Tensor, ins: Any, out: Any, p: Any, rule: Any = rule) -> Tensor:
            return rule(g, ins[0] if ins else None, out)
    op = Op(name, impl, vjp, gname, save=save, group="unary")
    UNARY_OPS[name] = op

    def fn(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
        return apply(op, (input,))

    def fn_(self: Tensor) -> Tensor:
        return apply_inplace(op, self, ())

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, as torch.{name}."
    globals()[name] = fn
    method(name)(fn)
    method(name + "_")(fn_)


for _n, _s in _UNARY.items():
    _make_unary(_n, _s)

fix = trunc  # noqa: F821 - defined by the loop above
method("fix")(fix)
method("negative")(neg)  # noqa: F821
method("absolute")(abs)  # noqa: F821


def _isnan(x: np.ndarray) -> np.ndarray:
    return np.isnan(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)


def _isinf(x: np.ndarray) -> np.ndarray:
    return np.isinf(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)


def _isfinite(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x) if x.dtype.kind == "f" else np.ones(x.shape, bool)


def _logical_not(x: np.ndarray) -> np.ndarray:
    return np.logical_not(x)


def _bitwise_not(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind == "f":
        raise NotImplementedError(
            f"\"bitwise_not_cpu\" not implemented for '{_BY_NP[x.dtype].scalar_name}'"
        )
    return np.invert(x)


for _n, _impl in (("isnan", _isnan), ("isinf", _isinf), ("isfinite", _isfinite),
                  ("logical_not", _logical_not), ("bitwise_not", _bitwise_not)):
    _op = Op(_n, _impl, group="unary")
    UNARY_OPS[_n] = _op

    def _fn(input: Tensor, _op: Op = _op) -> Tensor:  # noqa: A002
        return apply(_op, (input,))

    _fn.__name__ = _n
    globals()[_n] = _fn
    method(_n)(_fn)



def _invert(self: Tensor) -> Tensor:
    if self._data.dtype.kind == "f":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return bitwise_not(self)  # noqa: F821


method("__invert__")(_invert)


# ---------------------------------------------------------------------------------------------
# binary ops

def _grad_add(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, y = ins
    alpha = p.get("alpha", 1)
    gy = g if alpha == 1 else g * alpha
    return grad_for(g, x) if x._rg else None, grad_for(gy, y) if y._rg else None


def _grad_sub(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, y = ins
    alpha = p.get("alpha", 1)
    gy = -g if alpha == 1 else g * -alpha
    return grad_for(g, x) if x._rg else None, grad_for(gy, y) if y._rg else None


def _grad_mul(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, y = ins
    return (grad_for(g * y, x) if x._rg else None, grad_for(g * x, y) if y._rg else None)


def _grad_div(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, y = ins
    gx = grad_for(g / y, x) if x._rg else None
    gy = grad_for(-g * x / (y * y), y) if y._rg else None
    return gx, gy


def _grad_pow(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, y = ins
    gx = gy = None
    if x._rg:
        gx = grad_for(g * y * x.pow(y - 1), x)
    if y._rg:
        # 0 ** y has zero gradient with respect to y for y >= 0, as in PyTorch
        safe = where(x == 0, 1.0, x)  # noqa: F821
        gy = grad_for(g * out * safe.log(), y)
    return gx, gy


def _grad_maxmin(g: Tensor, ins: Any, out: Any, p: dict, is_max: bool) -> tuple:
    x, y = ins
    pick_x = (x > y) if is_max else (x < y)
    tie = x == y
    half = g * 0.5
    gx = where(pick_x, g, where(tie, half, 0.0))  # noqa: F821
    gy = where(pick_x, 0.0, where(tie, half, g))  # noqa: F821
    return (grad_for(gx, x) if x._rg else None, grad_for(gy, y) if y._rg else None)


def _grad_remainder(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, y = ins
    gx = grad_for(g, x) if x._rg else None
    gy = grad_for(-g * (x / y).floor(), y) if y._rg else None
    return gx, gy


def _add(a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
    return np.add(a, b) if alpha == 1 else np.add(a, b * alpha)


def _sub(a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
    return np.subtract(a, b) if alpha == 1 else np.subtract(a, b * alpha)


def _sub_checked(a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
    if a.dtype.kind == "b":
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead."
        )
    return _sub(a, b, alpha)


def _is_bool(v: Any) -> bool:
    return (v._data.dtype.kind == "b") if isinstance(v, Tensor) else isinstance(v, (bool, np.bool_))


def _check_bool_sub(x: Any, y: Any) -> None:
    """PyTorch refuses subtraction with any bool operand, even one promoted to a number."""
    if _is_bool(x) or _is_bool(y):
        if _is_bool(x) and _is_bool(y):
            _sub_checked(np.zeros(0, bool), np.zeros(0, bool))
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


def _floor_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "b":
        raise NotImplementedError("\"div_floor_cpu\" not implemented for 'Bool'")
    if a.dtype.kind in "iu" and not np.all(b):
        raise RuntimeError("ZeroDivisionError")
    return np.floor_divide(a, b)


def _remainder(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "b":
        raise NotImplementedError("\"remainder_cpu\" not implemented for 'Bool'")
    if a.dtype.kind in "iu" and not np.all(b):
        raise RuntimeError("ZeroDivisionError")
    return np.remainder(a, b)


def _maximum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(a, b)


def _minimum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(a, b)


def _pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "b":
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if a.dtype.kind in "iu" and np.any(b < 0):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return np.power(a, b)


def _bitwise(fn: Any) -> Any:
    def impl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype.kind == "f":
            raise NotImplementedError(
                f"\"{fn.__name__}_cpu\" not implemented for '{_BY_NP[a.dtype].scalar_name}'"
            )
        return fn(a, b)

    return impl


# name: (impl, node name, saves, vjp, kind) where kind is "arith", "true_div", "cmp", "bits"
_BINARY: dict[str, tuple] = {
    "add": (np.add, "AddBackward0", "", _grad_add, "arith"),
    "sub": (_sub_checked, "SubBackward0", "", _grad_sub, "arith"),
    "mul": (np.multiply, "MulBackward0", "i", _grad_mul, "arith"),
    "div": (np.true_divide, "DivBackward0", "i", _grad_div, "true_div"),
    "pow": (_pow, "PowBackward1", "io", _grad_pow, "arith"),
    "maximum": (_maximum, "MaximumBackward0", "i",
                lambda g, i, o, p: _grad_maxmin(g, i, o, p, True), "arith"),
    "minimum": (_minimum, "MinimumBackward0", "i",
                lambda g, i, o, p: _grad_maxmin(g, i, o, p, False), "arith"),
    "remainder": (_remainder, "RemainderBackward1", "i", _grad_remainder, "arith"),
    "floor_divide": (_floor_divide, None, "", None, "arith"),
    "eq": (np.equal, None, "", None, "cmp"),
    "ne": (np.not_equal, None, "", None, "cmp"),
    "lt": (np.less, None, "", None, "cmp"),
    "le": (np.less_equal, None, "", None, "cmp"),
    "gt": (np.greater, None, "", None, "cmp"),
    "ge": (np.greater_equal, None, "", None, "cmp"),
    "logical_and": (np.logical_and, None, "", None, "cmp"),
    "logical_or": (np.logical_or, None, "", None, "cmp"),
    "logical_xor": (np.logical_xor, None, "", None, "cmp"),
    "bitwise_and": (_bitwise(np.bitwise_and), None, "", None, "bits"),
    "bitwise_or": (_bitwise(np.bitwise_or), None, "", None, "bits"),
    "bitwise_xor": (_bitwise(np.bitwise_xor), None, "", None, "bits"),
}

BINARY_OPS: dict[str, Op] = {}


_scalar_cache: dict[tuple, Tensor] = {}


def _wrap_same(y: Any, dt: np.dtype) -> Tensor:
    """A Python number as a 0-d tensor of dt, shared (wrapped scalars are never written)."""
    key = (type(y), y, dt)
    t = _scalar_cache.get(key)
    if t is None:
        if len(_scalar_cache) > 4096:
            _scalar_cache.clear()
        t = _scalar_cache[key] = scalar_tensor(y, _BY_NP[dt])
    return t


def binary(op: Op, kind: str, x: Any, y: Any, params: dict | None = None) -> Tensor:
    """Promote dtypes PyTorch's way, wrap scalars, then apply. The hot path of eager math."""
    ty = type(y)
    if type(x) is Tensor and (ty is float or ty is int) and kind != "bits":
        xd = x._data.dtype
        if xd.kind == "f" or (ty is int and xd.kind in "iu" and kind != "true_div"):
            return _apply_bin(op, x, _wrap_same(y, xd), params)
    if type(x) is Tensor and type(y) is Tensor and x._data.dtype == y._data.dtype:
        dt = None if kind != "true_div" or x._data.dtype.kind == "f" else \
            dtypes.get_default_dtype()
        if dt is not None:
            x, y = cast(x, dt), cast(y, dt)
    else:
        if op.name == "sub":
            _check_bool_sub(x, y)
        if not isinstance(x, Tensor):
            if not isinstance(y, Tensor):
                raise TypeError(f"{op.name}(): expected a Tensor, got {type(x).__name__}")
            x, y = _swap_scalar(x, y, op, kind)
            return _apply_bin(op, x, y, params)
        dt = promote(x, y)
        if kind == "true_div" and dt._cat < 2:
            dt = dtypes.get_default_dtype()
        if is_scalar(y):
            y = scalar_tensor(y, dt)
        elif not isinstance(y, Tensor):
            y = as_tensor_like(y, dt)
        x, y = cast(x, dt), cast(y, dt)
    return _apply_bin(op, x, y, params)


def _swap_scalar(x: Any, y: Tensor, op: Op, kind: str) -> tuple[Tensor, Tensor]:
    dt = promote(x, y)
    if kind == "true_div" and dt._cat < 2:
        dt = dtypes.get_default_dtype()
    return as_tensor_like(x, dt), cast(y, dt)


def _apply_bin(op: Op, x: Tensor, y: Tensor, params: dict | None) -> Tensor:
    try:
        return apply(op, (x, y), params)
    except ValueError:
        xs, ys = tuple(x._data.shape), tuple(y._data.shape)
        try:
            np.broadcast_shapes(xs, ys)
        except ValueError:
            raise bcast_error(xs, ys) from None
        raise


kind_of: dict[str, str] = {}


def _make_binary(name: str, spec: tuple) -> None:
    impl, gname, save, vjp, kind = spec
    op = Op(name, impl, vjp, gname, save=save, group="binary")
    BINARY_OPS[name] = op
    kind_of[name] = kind

    fast = kind != "true_div" and kind != "bits"
    # add/sub(x, y, alpha=a): one node, as PyTorch (the alpha form has its own impl so the
    # common form stays a bare numpy ufunc)
    alpha_op = Op(name, _add if name == "add" else _sub_checked, vjp, gname, save=save,
                  group="binary") if name in ("add", "sub") else None

    def fn(input: Any, other: Any, **kw: Any) -> Tensor:  # noqa: A002
        # hot path: same-dtype tensors, no keywords
        if (fast and not kw and type(input) is Tensor and type(other) is Tensor
                and input._data.dtype is other._data.dtype):
            try:
                return apply(op, (input, other))
            except ValueError:
                pass  # fall through to the full path for PyTorch's error message
        alpha = kw.pop("alpha", 1)
        if alpha != 1 and alpha_op is not None:
            return binary(alpha_op, kind, input, other, {"alpha": alpha, **kw})
        return binary(op, kind, input, other, kw or None)

    def fn_(self: Tensor, other: Any, **kw: Any) -> Tensor:
        if name == "sub":
            _check_bool_sub(self, other)
        dt = promote(self, other)
        if kind == "true_div" and dt._cat < 2:
            dt = dtypes.get_default_dtype()
        if dt._cat > self.dtype._cat and kind != "cmp":
            raise RuntimeError(
                f"result type {dt.scalar_name} can't be cast to the desired output "
                f"type {self.dtype.scalar_name}"
            )
        alpha = kw.pop("alpha", 1)
        if alpha != 1 and alpha_op is not None:
            return apply_inplace(alpha_op, self, (as_tensor_like(other, dt),),
                                 {"alpha": alpha, **kw})
        return apply_inplace(op, self, (as_tensor_like(other, dt),), kw or None)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} with broadcasting and PyTorch's type promotion."
    globals()[name] = fn
    method(name)(fn)
    method(name + "_")(fn_)


for _n, _s in _BINARY.items():
    _make_binary(_n, _s)

# PyTorch's aliases
true_divide = divide = div  # noqa: F821
multiply, subtract = mul, sub  # noqa: F821
greater, greater_equal, less, less_equal = gt, ge, lt, le  # noqa: F821
not_equal = ne  # noqa: F821
for _alias, _target in (("true_divide", "div"), ("divide", "div"), ("multiply", "mul"),
                        ("subtract", "sub"), ("greater", "gt"), ("greater_equal", "ge"),
                        ("less", "lt"), ("less_equal", "le"), ("not_equal", "ne")):
    method(_alias)(globals()[_target])


# scalar-exponent pow, x ** 2: one input, as PyTorch's PowBackward0
def _pow_scalar_impl(x: np.ndarray, exponent: Any) -> np.ndarray:
    if x.dtype.kind in "iu" and isinstance(exponent, int) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return np.power(x, np.asarray(exponent, dtype=x.dtype)).astype(x.dtype, copy=False)


def _grad_pow_scalar(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    e = p["exponent"]
    if e == 0:
        return g * 0
    x = ins[0]
    return g * (x.pow(e - 1) * e) if e != 2 else g * (x * 2)


pow_scalar_op = Op("pow_scalar", _pow_scalar_impl, _grad_pow_scalar, "PowBackward0", save="i",
                   group="unary")


def _rpow_impl(x: np.ndarray, base: Any) -> np.ndarray:
    if x.dtype.kind == "b":
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    return np.power(np.asarray(base, dtype=x.dtype), x)


def _grad_rpow(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    import math

    b = p["base"]
    return g * out * (math.log(b) if b > 0 else float("nan"))


rpow_op = Op("rpow", _rpow_impl, _grad_rpow, "PowBackward2", save="o", group="unary")


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001, A002
    """input ** exponent; a Python-number exponent gives PowBackward0 (one input)."""
    if isinstance(input, Tensor) and is_scalar(exponent):
        dt = promote(input, exponent)
        return apply(pow_scalar_op, (cast(input, dt),), {"exponent": exponent})
    if is_scalar(input) and isinstance(exponent, Tensor):
        dt = promote(input, exponent)
        return apply(rpow_op, (cast(exponent, dt),), {"base": input})
    return binary(BINARY_OPS["pow"], "arith", input, exponent)


method("pow")(pow)


def _rsub_impl(x: np.ndarray, other: Any, alpha: Any) -> np.ndarray:
    return np.subtract(np.asarray(other, dtype=x.dtype), x * alpha if alpha != 1 else x)


rsub_op = Op("rsub", _rsub_impl, lambda g, i, o, p: -g if p["alpha"] == 1 else g * -p["alpha"],
             "RsubBackward1", group="unary")


def _rsub(self: Tensor, other: Any) -> Tensor:
    _check_bool_sub(self, other)
    if is_scalar(other):
        dt = promote(self, other)
        return apply(rsub_op, (cast(self, dt),), {"other": other, "alpha": 1})
    return sub(other, self)  # noqa: F821


def _rtruediv(self: Tensor, other: Any) -> Tensor:
    if is_scalar(other):
        return reciprocal(self) * other  # noqa: F821
    return div(other, self)  # noqa: F821


def _rpow(self: Tensor, other: Any) -> Tensor:
    return pow(other, self)


def _rop(name: str) -> Any:
    f = globals()[name]
    return lambda self, other: f(other, self)


_OPERATORS = {
    "__add__": add, "__radd__": add, "__sub__": sub, "__rsub__": _rsub,  # noqa: F821
    "__mul__": mul, "__rmul__": mul, "__truediv__": div,  # noqa: F821
    "__rtruediv__": _rtruediv, "__floordiv__": floor_divide,  # noqa: F821
    "__rfloordiv__": _rop("floor_divide"), "__mod__": remainder,  # noqa: F821
    "__rmod__": _rop("remainder"), "__pow__": pow, "__rpow__": _rpow,
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt,  # noqa: F821
    "__ge__": ge, "__and__": bitwise_and, "__rand__": bitwise_and,  # noqa: F821
    "__or__": bitwise_or, "__ror__": bitwise_or, "__xor__": bitwise_xor,  # noqa: F821
    "__rxor__": bitwise_xor, "__neg__": neg, "__abs__": abs, "__pos__": lambda s: s,  # noqa: F821
}
for _n, _f in _OPERATORS.items():
    setattr(Tensor, _n, _f)
for _n, _name in (("__iadd__", "add_"), ("__isub__", "sub_"), ("__imul__", "mul_"),
                  ("__itruediv__", "div_"), ("__ifloordiv__", "floor_divide_"),
                  ("__imod__", "remainder_"), ("__ipow__", "pow_"), ("__iand__", "bitwise_and_"),
                  ("__ior__", "bitwise_or_"), ("__ixor__", "bitwise_xor_")):
    setattr(Tensor, _n, getattr(Tensor, _name))
Tensor.__hash__ = object.__hash__


# ---------------------------------------------------------------------------------------------
# where, clamp

def _grad_where(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    c, x, y = ins
    gx = grad_for(where(c, g, 0.0), x) if x._rg else None
    gy = grad_for(where(c, 0.0, g), y) if y._rg else None
    return gx, gy


def _where_impl(c: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(c, x, y)


where_op = Op("where", _where_impl, _grad_where, "WhereBackward0", save="i", group="where",
              diff_ins=(1, 2))


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """Select from input where condition holds, else other (broadcasting, PyTorch dtypes)."""
    if input is None and other is None:
        from .masked import nonzero

        return nonzero(condition, as_tuple=True)
    if condition.dtype is not dtypes.bool_:
        if condition.dtype is dtypes.uint8:
            condition = cast(condition, dtypes.bool_)
        else:
            raise RuntimeError(
                f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{condition.dtype.scalar_name}"
            )
    dt = promote(*(a for a in (input, other)))
    x = as_tensor_like(input, dt)
    y = as_tensor_like(other, dt)
    try:
        return apply(where_op, (condition, x, y))
    except ValueError:
        shapes = [tuple(t.shape) for t in (condition, x, y)]
        raise RuntimeError(f"where: shapes {shapes} cannot be broadcast together") from None


method("where")(lambda self, condition, y: where(condition, self, y))


def _clamp_impl(x: np.ndarray, min: Any, max: Any) -> np.ndarray:  # noqa: A002
    if x.dtype.kind == "b":
        raise NotImplementedError("\"clamp\" not implemented for 'Bool'")
    out = x
    if min is not None:
        out = np.maximum(out, np.asarray(min, dtype=x.dtype))
    if max is not None:
        out = np.minimum(out, np.asarray(max, dtype=x.dtype))
    return out if out is not x else x.copy()


def _grad_clamp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    x = ins[0]
    keep = None
    if p["min"] is not None:
        keep = x >= p["min"]
    if p["max"] is not None:
        m = x <= p["max"]
        keep = m if keep is None else keep & m
    return where(keep, g, 0.0)


clamp_op = Op("clamp", _clamp_impl, _grad_clamp, "ClampBackward1", save="i", group="unary")


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A001, A002
    """Clamp to [min, max]; tensor bounds go through maximum/minimum."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)  # noqa: F821
        if max is not None:
            out = minimum(out, max)  # noqa: F821
        return out
    dt = promote(input, *(v for v in (min, max) if v is not None))
    return apply(clamp_op, (cast(input, dt),), {"min": min, "max": max})


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return apply_inplace(clamp_op, self, (), {"min": min, "max": max})


clip = clamp
method("clamp", "clip")(clamp)
method("clamp_", "clip_")(clamp_)
method("clamp_min")(lambda self, min: clamp(self, min=min))
method("clamp_max")(lambda self, max: clamp(self, max=max))
method("clamp_min_")(lambda self, min: clamp_(self, min=min))
method("clamp_max_")(lambda self, max: clamp_(self, max=max))


def square(input: Tensor) -> Tensor:  # noqa: A002
    return pow(input, 2)  # PowBackward0, as PyTorch


method("square")(square)


def _as_bin_dtype(x: Tensor) -> Any:
    return _BY_NP[x._data.dtype]


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
