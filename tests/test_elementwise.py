"""Elementwise ops: forward vs numpy (hypothesis: dtypes, broadcasting, layouts, empty, 0-d),
gradients vs finite differences and vs torch, PyTorch's type promotion, in-place forms,
where, clamp and the three forms of pow."""
from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from helpers import check_op, dtype_name, fd_grad_check, tj_input
from hypothesis import given
from hypothesis import strategies as st
from strategies import FAST, arrays, broadcastable_shapes, describe, float_dtypes

import tracejit

_erf = np.vectorize(math.erf, otypes=[np.float64])

# name: (numpy reference on float64, lo, hi) -- [lo, hi] is the domain the tests draw from
UNARY = {
    "neg": (np.negative, -10, 10),
    "abs": (np.abs, -10, 10),
    "sign": (np.sign, -10, 10),
    "exp": (np.exp, -10, 10),
    "log": (np.log, 0.01, 10),
    "log1p": (np.log1p, -0.99, 10),
    "expm1": (np.expm1, -10, 10),
    "sqrt": (np.sqrt, 0.01, 10),
    "rsqrt": (lambda x: 1 / np.sqrt(x), 0.01, 10),
    "sin": (np.sin, -10, 10),
    "cos": (np.cos, -10, 10),
    "tan": (np.tan, -1.4, 1.4),
    "tanh": (np.tanh, -10, 10),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), -10, 10),
    "relu": (lambda x: np.maximum(x, 0), -10, 10),
    "erf": (_erf, -3, 3),
    "floor": (np.floor, -10, 10),
    "ceil": (np.ceil, -10, 10),
    "round": (np.round, -10, 10),
    "trunc": (np.trunc, -10, 10),
    "reciprocal": (np.reciprocal, 0.1, 10),
    "square": (np.square, -10, 10),
}
DIFFERENTIABLE_UNARY = [n for n in UNARY if n not in ("sign", "floor", "ceil", "round", "trunc")]
PREDICATES = {"isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite,
              "logical_not": np.logical_not}

# name: (numpy reference, operator form or None, x domain, y domain, integral values)
BINARY = {
    "add": (np.add, operator.add, (-10, 10), (-10, 10), False),
    "sub": (np.subtract, operator.sub, (-10, 10), (-10, 10), False),
    "mul": (np.multiply, operator.mul, (-10, 10), (-10, 10), False),
    "div": (np.true_divide, operator.truediv, (-10, 10), (0.5, 10), False),
    "pow": (np.power, operator.pow, (0.1, 4), (-3, 3), False),
    "maximum": (np.maximum, None, (-3, 3), (-3, 3), True),
    "minimum": (np.minimum, None, (-3, 3), (-3, 3), True),
    "remainder": (np.remainder, operator.mod, (-10, 10), (0.5, 10), False),
    "floor_divide": (np.floor_divide, operator.floordiv, (-10, 10), (0.5, 10), False),
    "eq": (np.equal, operator.eq, (-2, 2), (-2, 2), True),
    "ne": (np.not_equal, operator.ne, (-2, 2), (-2, 2), True),
    "lt": (np.less, operator.lt, (-2, 2), (-2, 2), True),
    "le": (np.less_equal, operator.le, (-2, 2), (-2, 2), True),
    "gt": (np.greater, operator.gt, (-2, 2), (-2, 2), True),
    "ge": (np.greater_equal, operator.ge, (-2, 2), (-2, 2), True),
    "logical_and": (np.logical_and, None, (-1, 1), (-1, 1), True),
    "logical_or": (np.logical_or, None, (-1, 1), (-1, 1), True),
    "logical_xor": (np.logical_xor, None, (-1, 1), (-1, 1), True),
}
BOOL_RESULT = {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"}
DIFFERENTIABLE_BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder"]
BITWISE = {"bitwise_and": (np.bitwise_and, operator.and_),
           "bitwise_or": (np.bitwise_or, operator.or_),
           "bitwise_xor": (np.bitwise_xor, operator.xor)}


def _tol(dt: np.dtype) -> dict:
    return dict(rtol=2e-6, atol=1e-6) if np.dtype(dt) == np.float32 else dict(rtol=1e-12,
                                                                             atol=1e-12)


def _check_against(out: tracejit.Tensor, expected: np.ndarray, what: str) -> None:
    assert isinstance(out, tracejit.Tensor), what
    assert type(out.shape) is tracejit.Size
    assert tuple(out.shape) == expected.shape, f"{what}: shape {out.shape} vs {expected.shape}"
    assert dtype_name(out.dtype) == expected.dtype.name, f"{what}: dtype {out.dtype}"
    got = out.numpy()
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, equal_nan=True, err_msg=what,
                                   **_tol(expected.dtype))
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


# ---- forward vs numpy (hypothesis) ----------------------------------------------------------

@pytest.mark.parametrize("name", list(UNARY))
@FAST
@given(data=st.data())
def test_unary_forward_vs_numpy(name: str, data: st.DataObject) -> None:
    ref, lo, hi = UNARY[name]
    a = data.draw(arrays(lo=lo, hi=hi), label="a")
    expected = np.asarray(ref(a.astype(np.float64))).astype(a.dtype)
    x = tj_input(a)
    _check_against(getattr(tracejit, name)(x), expected, f"tracejit.{name} {describe(a)}")
    _check_against(getattr(x, name)(), expected, f"Tensor.{name} {describe(a)}")
    np.testing.assert_array_equal(x.numpy(), a)  # the input is untouched


@pytest.mark.parametrize("name", list(PREDICATES))
@FAST
@given(a=arrays())
def test_predicates_vs_numpy(name: str, a: np.ndarray) -> None:
    a = a.copy()
    if a.size:
        a.reshape(-1)[0] = np.nan
        a.reshape(-1)[-1] = -np.inf
    _check_against(getattr(tracejit, name)(tj_input(a)), PREDICATES[name](a), name)


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(data=st.data())
def test_binary_forward_vs_numpy(name: str, data: st.DataObject) -> None:
    ref, op, (xlo, xhi), (ylo, yhi), integral = BINARY[name]
    shapes = data.draw(broadcastable_shapes(), label="shapes")
    a = data.draw(arrays(shape=shapes.input_shapes[0], lo=xlo, hi=xhi, integral=integral), "a")
    b = data.draw(arrays(shape=shapes.input_shapes[1], lo=ylo, hi=yhi, integral=integral), "b")
    # PyTorch: a 0-d tensor does not decide the dtype against a sized one of the same category
    sized = [v.dtype for v in (a, b) if v.ndim]
    rdt = np.result_type(*(sized if len(sized) == 1 else (a.dtype, b.dtype)))
    expected = ref(a.astype(rdt), b.astype(rdt))  # computed in the result dtype, as torch does
    x, y = tj_input(a), tj_input(b)
    what = f"{name}({describe(a)}, {describe(b)})"
    _check_against(getattr(tracejit, name)(x, y), expected, what)
    _check_against(getattr(x, name)(y), expected, "method " + what)
    if op is not None:
        _check_against(op(x, y), expected, "operator " + what)


@pytest.mark.parametrize("name", list(BITWISE))
@FAST
@given(data=st.data())
def test_bitwise_forward_vs_numpy(name: str, data: st.DataObject) -> None:
    ref, op = BITWISE[name]
    shapes = data.draw(broadcastable_shapes())
    dt = data.draw(st.sampled_from([np.bool_, np.uint8, np.int32, np.int64]))
    from hypothesis.extra import numpy as hnp

    a = data.draw(hnp.arrays(dt, shapes.input_shapes[0]))
    b = data.draw(hnp.arrays(dt, shapes.input_shapes[1]))
    x, y = tracejit.from_numpy(a), tracejit.from_numpy(b)
    _check_against(getattr(tracejit, name)(x, y), ref(a, b), name)
    _check_against(op(x, y), ref(a, b), name)
    _check_against(~x, np.invert(a), "bitwise_not")


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1, 0)])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_empty_and_0d_all_ops(shape: tuple, dt: type) -> None:
    rng = np.random.default_rng(1)
    for name, (ref, lo, hi) in UNARY.items():
        a = rng.uniform(lo, hi, shape).astype(dt)
        out = getattr(tracejit, name)(tracejit.from_numpy(a))
        _check_against(out, np.asarray(ref(a.astype(np.float64))).astype(dt), name)
    for name, (ref, _, (xlo, xhi), (ylo, yhi), _) in BINARY.items():
        a = rng.uniform(xlo, xhi, shape).astype(dt)
        b = rng.uniform(ylo, yhi, shape).astype(dt)
        out = getattr(tracejit, name)(tracejit.from_numpy(a), tracejit.from_numpy(b))
        expected = np.asarray(ref(a.astype(np.float64), b.astype(np.float64)))
        expected = expected if name in BOOL_RESULT else expected.astype(dt)
        _check_against(out, expected, name)


def test_zero_dim_results_stay_zero_dim() -> None:
    x = tracejit.tensor(2.0)
    for out in (x + 1, x * x, x.exp(), -x, x > 1, tracejit.where(x > 0, x, 0.0)):
        assert out.shape == () and out.dim() == 0
    assert (x + 1).item() == 3.0


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "erf",
                                  "reciprocal", "rsqrt"])
@pytest.mark.parametrize("dt", [tracejit.int64, tracejit.int32, tracejit.uint8, tracejit.bool])
def test_float_functions_of_integer_tensors_give_default_float(name: str, dt: object) -> None:
    x = tracejit.tensor([1, 2, 3], dtype=dt) if dt is not tracejit.bool else \
        tracejit.tensor([True, False, True])
    with np.errstate(divide="ignore"):  # log(0), 1/0 of the False entries
        out = getattr(x, name)()
        assert out.dtype is tracejit.float32
        ref = UNARY[name][0](x.numpy().astype(np.float64)).astype(np.float32)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)
        tracejit.set_default_dtype(tracejit.float64)
        assert getattr(x, name)().dtype is tracejit.float64


def test_integer_ops_keep_integer_dtype() -> None:
    x = tracejit.tensor([-3, 2, 5])
    assert (-x).dtype is tracejit.int64 and (-x).tolist() == [3, -2, -5]
    assert x.abs().tolist() == [3, 2, 5] and x.abs().dtype is tracejit.int64
    assert x.sign().tolist() == [-1, 1, 1]
    assert (x // 2).tolist() == [-2, 1, 2] and (x // 2).dtype is tracejit.int64
    assert (x % 2).tolist() == [1, 0, 1]
    assert (x ** 2).tolist() == [9, 4, 25] and (x ** 2).dtype is tracejit.int64
    assert x.relu().tolist() == [0, 2, 5]


def test_special_values() -> None:
    x = tracejit.tensor([0.0, -0.0, 1.0, -1.0])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal((1 / x).numpy(), [np.inf, -np.inf, 1, -1])
        assert np.isnan(tracejit.tensor([-1.0]).log().item())
        assert tracejit.tensor([0.0]).log().item() == -np.inf
    big = tracejit.tensor([-1000.0, 1000.0])
    np.testing.assert_array_equal(big.sigmoid().numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(big.tanh().numpy(), [-1.0, 1.0])
    np.testing.assert_array_equal(tracejit.tensor([0.5, 1.5, 2.5, -0.5]).round().numpy(),
                                  [0.0, 2.0, 2.0, -0.0])  # half to even, like PyTorch


# ---- gradients vs finite differences (float64, no torch needed) -----------------------------

def _domain_array(rng: np.random.Generator, lo: float, hi: float, shape: tuple) -> np.ndarray:
    a = rng.uniform(lo, hi, shape)
    # keep away from the kinks of abs/relu/sign at 0 so that differences are one-sided-free
    return np.where(np.abs(a) < 0.05, 0.3, a)


@pytest.mark.parametrize("name", DIFFERENTIABLE_UNARY + ["floor", "round", "sign"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_unary_grad_vs_finite_differences(name: str, shape: tuple, device: str) -> None:
    _, lo, hi = UNARY[name]
    a = _domain_array(np.random.default_rng(2), max(lo, -3), min(hi, 3), shape)
    fd_grad_check(lambda lib, x: getattr(lib, name)(x), a, device=device)
    fd_grad_check(lambda lib, x: getattr(x, name)(), a, device=device)


BCAST_PAIRS = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)), ((3,), ())]


@pytest.mark.parametrize("name", DIFFERENTIABLE_BINARY)
@pytest.mark.parametrize("shapes", BCAST_PAIRS, ids=str)
def test_binary_grad_vs_finite_differences(name: str, shapes: tuple, device: str) -> None:
    _, _, (xlo, xhi), (ylo, yhi), _ = BINARY[name]
    rng = np.random.default_rng(3)
    a = _domain_array(rng, xlo, xhi, shapes[0])
    b = _domain_array(rng, ylo, yhi, shapes[1])
    fd_grad_check(lambda lib, x, y: getattr(lib, name)(x, y), a, b, device=device)


@pytest.mark.parametrize("expr", [
    lambda lib, x: x + 2.5, lambda lib, x: 2.5 - x, lambda lib, x: x * -3,
    lambda lib, x: 3 / x, lambda lib, x: x / 4, lambda lib, x: x ** 3, lambda lib, x: x ** 0.5,
    lambda lib, x: 2 ** x, lambda lib, x: x ** -1, lambda lib, x: x % 0.7,
    lambda lib, x: (x * x).exp().log() * x.sin(),
    lambda lib, x: lib.where(x > 1, x * x, -x), lambda lib, x: x.clamp(0.5, 1.5),
    lambda lib, x: x.clamp(min=1.0), lambda lib, x: x.clamp(max=1.0),
], ids=lambda f: f"expr{id(f) % 997}")
def test_scalar_forms_grad_vs_finite_differences(expr: object, device: str) -> None:
    a = np.random.default_rng(4).uniform(0.2, 2.0, (2, 3))
    fd_grad_check(expr, a, device=device)


def test_where_grad_vs_finite_differences() -> None:
    rng = np.random.default_rng(5)
    c = rng.random((2, 3)) > 0.5
    fd_grad_check(lambda lib, x, y: lib.where(lib.from_numpy(c), x, y),
                  rng.standard_normal((2, 3)), rng.standard_normal((3,)))


def test_clamp_tensor_bounds_grad_vs_finite_differences() -> None:
    rng = np.random.default_rng(6)
    fd_grad_check(lambda lib, x, lo, hi: x.clamp(lo, hi), rng.standard_normal((2, 3)),
                  rng.uniform(-1, -0.1, (3,)), rng.uniform(0.1, 1, (2, 1)))


# ---- vs torch (values, dtypes and gradients) ------------------------------------------------

def _layouts(rng: np.random.Generator, shape: tuple, lo: float, hi: float) -> list:
    """The same values as contiguous, transposed, stepped-slice and expanded arrays."""
    a = rng.uniform(lo, hi, shape).astype(np.float32)
    big = rng.uniform(lo, hi, (shape[0] * 2, shape[1] * 3)).astype(np.float32)
    return [a, rng.uniform(lo, hi, shape[::-1]).astype(np.float32).T, big[::2, 1::3],
            np.broadcast_to(rng.uniform(lo, hi, (1, shape[1])).astype(np.float32), shape)]


@pytest.mark.requires_torch
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_vs_torch(name: str, device: str) -> None:
    _, lo, hi = UNARY[name]
    rng = np.random.default_rng(7)
    for a in _layouts(rng, (3, 4), max(lo, -3), min(hi, 3)):
        a = np.where(np.abs(a) < 0.05, np.float32(0.3), a).astype(np.float32)
        check_op(lambda lib, x: getattr(lib, name)(x), a, atol=1e-5, rtol=1e-5, device=device)
        check_op(lambda lib, x: getattr(x, name)(), a, atol=1e-5, rtol=1e-5, device=device)


@pytest.mark.requires_torch
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_vs_torch(name: str, device: str) -> None:
    _, op, (xlo, xhi), (ylo, yhi), integral = BINARY[name]
    rng = np.random.default_rng(8)
    xs = _layouts(rng, (3, 4), xlo, xhi)
    ys = _layouts(rng, (3, 4), ylo, yhi)
    if integral:
        xs, ys = [np.round(v) for v in xs], [np.round(v) for v in ys]
    # torch marks floor_divide's output as requiring grad but cannot differentiate it;
    # tracejit treats it as not differentiable: compare it forward only
    kw = dict(atol=1e-5, rtol=1e-5, grad=name != "floor_divide", device=device)
    for a, b in zip(xs, ys[::-1]):
        check_op(lambda lib, x, y: getattr(lib, name)(x, y), a, b, **kw)
        check_op(lambda lib, x, y: getattr(lib, name)(x, y), a, b[0], **kw)
        if op is not None:
            check_op(lambda lib, x, y: op(x, y), a[:, :1], b, **kw)


@pytest.mark.requires_torch
@pytest.mark.parametrize("expr", [lambda lib, x: x // 0.3, lambda lib, x: 7 // x,
                                  lambda lib, x: 7 % x, lambda lib, x: lib.floor_divide(x, x)],
                         ids=["floordiv", "rfloordiv", "rmod", "floor_divide"])
def test_not_differentiable_forms_forward_vs_torch(expr: object) -> None:
    a = np.random.default_rng(9).uniform(0.5, 3, (2, 3)).astype(np.float32)
    check_op(expr, a, grad=False)


@pytest.mark.requires_torch
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
@FAST
@given(data=st.data())
def test_binary_broadcast_grads_vs_torch(name: str, data: st.DataObject) -> None:
    _, _, (xlo, xhi), (ylo, yhi), integral = BINARY[name]
    shapes = data.draw(broadcastable_shapes(max_dims=3, max_side=3), label="shapes")
    dt = data.draw(float_dtypes, label="dtype")
    a = data.draw(arrays(dtype=dt, shape=shapes.input_shapes[0], lo=xlo, hi=xhi), "a")
    b = data.draw(arrays(dtype=dt, shape=shapes.input_shapes[1], lo=ylo, hi=yhi), "b")
    if name in ("maximum", "minimum"):  # ties split the gradient differently; avoid them
        b = np.asarray(b + b.dtype.type(0.123))
    tol = 1e-4 if dt == np.float32 else 1e-10
    check_op(lambda lib, x, y: getattr(lib, name)(x, y), a, b, atol=tol, rtol=tol)


@pytest.mark.requires_torch
@pytest.mark.parametrize("expr", [
    lambda lib, x: x + 2, lambda lib, x: 2 + x, lambda lib, x: x - 2, lambda lib, x: 2 - x,
    lambda lib, x: x * 1.5, lambda lib, x: 1.5 * x, lambda lib, x: x / 2, lambda lib, x: 2 / x,
    lambda lib, x: x % 0.3,
    lambda lib, x: x ** 2, lambda lib, x: x ** 2.5, lambda lib, x: 2 ** x,
    lambda lib, x: x ** x, lambda lib, x: x > 1, lambda lib, x: 1 < x, lambda lib, x: x == 1,
    lambda lib, x: -x, lambda lib, x: +x, lambda lib, x: abs(x), lambda lib, x: x.square(),
    lambda lib, x: lib.pow(x, 3), lambda lib, x: lib.pow(2.0, x), lambda lib, x: x.pow(x),
    lambda lib, x: lib.true_divide(x, 3), lambda lib, x: lib.multiply(x, x),
    lambda lib, x: x.add(x, alpha=2), lambda lib, x: x.sub(x * x, alpha=0.5),
    lambda lib, x: lib.add(x, 1, alpha=3),
], ids=lambda f: f"expr{id(f) % 997}")
def test_scalar_and_operator_forms_vs_torch(expr: object) -> None:
    a = np.random.default_rng(9).uniform(0.5, 3, (2, 3)).astype(np.float32)
    check_op(expr, a, atol=1e-5, rtol=1e-5)


# ---- type promotion -------------------------------------------------------------------------

def _names(lib: object) -> list:
    return [getattr(lib, n) for n in ("bool", "uint8", "int8", "int16", "int32", "int64",
                                      "float16", "float32", "float64")]


def _make(lib: object, kind: str, dt: object) -> object:
    if kind == "tensor":
        return lib.ones(2, dtype=dt)
    return lib.ones((), dtype=dt)


def test_promotion_examples() -> None:
    t = tracejit
    i = t.tensor([1, 2, 3])
    assert (i + 2.5).dtype is t.float32
    assert (i * 2).dtype is t.int64
    assert (i / i).dtype is t.float32
    assert (i / 2).dtype is t.float32
    np.testing.assert_allclose((i / 2).numpy(), [0.5, 1.0, 1.5])
    b = t.tensor([True, False])
    assert (b + b).dtype is t.bool and (b + b).tolist() == [True, False]
    assert (b * b).dtype is t.bool
    assert (b + 1).dtype is t.int64 and (b + 1.0).dtype is t.float32
    i8 = t.ones(2, dtype=t.int8)
    u8 = t.ones(2, dtype=t.uint8)
    assert (i8 + u8).dtype is t.int16
    h = t.ones(2, dtype=t.float16)
    assert (h + t.tensor(1.0, dtype=t.float64)).dtype is t.float16
    assert (t.tensor(1.0, dtype=t.float64) + i).dtype is t.float64
    assert (t.tensor(1.0, dtype=t.float64) + t.ones(2)).dtype is t.float32
    assert (t.tensor(1, dtype=t.int64) + u8).dtype is t.uint8
    assert (t.ones(2, dtype=t.int32) + 5).dtype is t.int32
    assert (t.ones(2, dtype=t.float64) + 2.5).dtype is t.float64
    assert (h * 1.5).dtype is t.float16
    for cmp in (i > 1, i == 1.5, h < h, b != b, i >= 2.0):
        assert cmp.dtype is t.bool
    t.set_default_dtype(t.float64)
    assert (i + 2.5).dtype is t.float64 and (i / i).dtype is t.float64
    assert t.tensor([1.0]).dtype is t.float64


@pytest.mark.requires_torch
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "eq", "lt", "maximum", "pow",
                                "where", "add_", "mul_", "div_", "remainder", "floor_divide",
                                "bitwise_and", "logical_and", "minimum"])
@pytest.mark.parametrize("kinds", [("tensor", "tensor"), ("tensor", "zerodim"),
                                   ("zerodim", "tensor"), ("zerodim", "zerodim")], ids=str)
def test_promotion_grid_vs_torch(op: str, kinds: tuple) -> None:
    """Every dtype pair, sized and 0-d tensors: the same result dtype (or error) as torch."""
    torch = pytest.importorskip("torch")
    mismatches = []
    for da_t, da in zip(_names(torch), _names(tracejit)):
        for db_t, db in zip(_names(torch), _names(tracejit)):
            got = []
            for lib, x_dt, y_dt in ((torch, da_t, db_t), (tracejit, da, db)):
                x, y = _make(lib, kinds[0], x_dt), _make(lib, kinds[1], y_dt)
                got.append(_run(lib, op, x, y))
            if got[0] != got[1]:
                mismatches.append(f"{da.name} {op} {db.name}: torch {got[0]}, tracejit {got[1]}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.requires_torch
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "eq", "pow", "where", "radd",
                                "rsub", "rmul", "rdiv", "rpow", "add_", "clamp", "lt",
                                "remainder", "floor_divide", "rmod", "rfloordiv", "mul_",
                                "div_", "bitwise_and"])
@pytest.mark.parametrize("kind", ["tensor", "zerodim"])
def test_promotion_with_python_scalars_vs_torch(op: str, kind: str) -> None:
    torch = pytest.importorskip("torch")
    mismatches = []
    for da_t, da in zip(_names(torch), _names(tracejit)):
        for s in (True, 2, 2.5):
            got = [_run(lib, op, _make(lib, kind, d), s)
                   for lib, d in ((torch, da_t), (tracejit, da))]
            if got[0] != got[1]:
                mismatches.append(f"{da.name} {op} {s!r}: torch {got[0]}, tracejit {got[1]}")
    assert not mismatches, "\n".join(mismatches)


def _run(lib: object, op: str, x: object, y: object) -> str:
    """The result dtype's name, or the exception type's name."""
    try:
        if op.startswith("r") and op not in ("remainder",):
            fn = {"radd": operator.add, "rsub": operator.sub, "rmul": operator.mul,
                  "rdiv": operator.truediv, "rpow": operator.pow, "rmod": operator.mod,
                  "rfloordiv": operator.floordiv}[op]
            out = fn(y, x)
        elif op == "where":
            out = lib.where(lib.ones((), dtype=lib.bool), x, y)
        elif op == "clamp":
            out = lib.clamp(x, min=y)
        elif op.endswith("_"):
            out = getattr(x.clone(), op)(y)
        else:
            out = getattr(lib, op)(x, y)
        return dtype_name(out.dtype)
    except Exception as e:  # noqa: BLE001 - the error type is the result being compared
        return type(e).__name__


# ---- in-place forms -------------------------------------------------------------------------

@pytest.mark.requires_torch
@pytest.mark.parametrize("expr", [
    lambda lib, x, y: x.clone().add_(y), lambda lib, x, y: x.clone().add_(y, alpha=2),
    lambda lib, x, y: x.clone().add_(1.5), lambda lib, x, y: x.clone().mul_(y),
    lambda lib, x, y: x.clone().mul_(2), lambda lib, x, y: x.clone().sub_(y),
    lambda lib, x, y: x.clone().div_(y), lambda lib, x, y: x.clone().clamp_(-0.5, 0.5),
    lambda lib, x, y: x.clone().clamp_(min=0.0), lambda lib, x, y: x.clone().clamp_(max=0.0),
    lambda lib, x, y: x.clone().zero_(), lambda lib, x, y: x.clone().fill_(3.0),
    lambda lib, x, y: x.clone().copy_(y), lambda lib, x, y: x.clone().copy_(lib.ones(4) * 2),
    lambda lib, x, y: (x * 2).exp_() + y, lambda lib, x, y: x.clone().neg_().abs_(),
    lambda lib, x, y: x.clone().mul_(y).add_(x).tanh_(),
], ids=lambda f: f"inplace{id(f) % 997}")
def test_inplace_vs_torch(expr: object) -> None:
    rng = np.random.default_rng(10)
    a = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    b = rng.uniform(0.5, 1, (3, 4)).astype(np.float32)
    check_op(expr, a, b, atol=1e-6, rtol=1e-5)


def test_inplace_returns_self_shares_storage_and_bumps_version() -> None:
    x = tracejit.zeros(2, 3)
    v = x._version
    view = x.detach()
    for call in (lambda: x.add_(1), lambda: x.mul_(3), lambda: x.clamp_(0, 2),
                 lambda: x.fill_(5), lambda: x.copy_(tracejit.ones(3)), lambda: x.zero_(),
                 lambda: x.sub_(tracejit.ones(2, 1)), lambda: x.exp_()):
        out = call()
        assert out is x
        assert x._version == v + 1
        v = x._version
    np.testing.assert_allclose(view.numpy(), np.full((2, 3), np.exp(-1.0)), rtol=1e-6)
    # (the detached view shares the storage)
    assert view._version == x._version  # ... and the version counter


def test_inplace_values() -> None:
    x = tracejit.tensor([[1.0, -2.0], [3.0, -4.0]])
    x.add_(tracejit.tensor([1.0, 1.0])).mul_(2)
    assert x.tolist() == [[4.0, -2.0], [8.0, -6.0]]
    x.clamp_(-3, 5)
    assert x.tolist() == [[4.0, -2.0], [5.0, -3.0]]
    x.fill_(tracejit.tensor(7.0))
    assert x.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    x.copy_(tracejit.tensor([1, 2]))  # int source is cast to x's dtype
    assert x.dtype is tracejit.float32 and x.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    x.zero_()
    assert x.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    i = tracejit.tensor([1, 2])
    i.add_(3)
    i *= 2
    assert i.tolist() == [8, 10] and i.dtype is tracejit.int64
    y = tracejit.ones(2)
    y += 1
    y /= 4
    assert y.tolist() == [0.5, 0.5]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        i.add_(1.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.div_(2)
    with pytest.raises(RuntimeError):
        tracejit.ones(3).add_(tracejit.ones(2, 3))  # the output would need broadcasting


def test_inplace_on_non_leaf_keeps_history() -> None:
    x = tracejit.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0"
    y.mul_(x)
    assert y.grad_fn.name() == "MulBackward0"
    y.backward(tracejit.ones(2))
    # y = (2x + 1) * x  =>  dy/dx = 4x + 1
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 9.0])


@pytest.mark.requires_torch
@pytest.mark.parametrize("method", ["add_", "mul_", "clamp_", "zero_", "fill_", "copy_",
                                    "exp_", "sub_", "div_"])
def test_inplace_node_names_vs_torch(method: str) -> None:
    torch = pytest.importorskip("torch")
    args = {"add_": (1.0,), "mul_": (2.0,), "clamp_": (0.0, 1.0), "zero_": (), "fill_": (2.0,),
            "copy_": None, "exp_": (), "sub_": (1.0,), "div_": (2.0,)}[method]
    names = []
    for lib in (torch, tracejit):
        x = lib.ones(2, requires_grad=True)
        y = x * 1
        a = args if args is not None else (lib.ones(2, requires_grad=True),)
        getattr(y, method)(*a)
        names.append(type(y.grad_fn).__name__)
    assert names[0] == names[1]


# ---- where, clamp, pow ----------------------------------------------------------------------

def test_where_forward() -> None:
    c = tracejit.tensor([[True, False, True]])
    x = tracejit.tensor([[1.0], [2.0]])
    y = tracejit.tensor([10.0, 20.0, 30.0])
    out = tracejit.where(c, x, y)
    assert out.shape == (2, 3)
    assert out.tolist() == [[1.0, 20.0, 1.0], [2.0, 20.0, 2.0]]
    assert tracejit.where(c, 1.0, 0.0).tolist() == [[1.0, 0.0, 1.0]]
    assert tracejit.where(c, 1.0, 0.0).dtype is tracejit.float32
    assert tracejit.where(c, tracejit.tensor([1, 2, 3]), 0).dtype is tracejit.int64
    assert tracejit.where(c, tracejit.tensor([1, 2, 3]), 2.5).dtype is tracejit.float32
    assert x.where(x > 1.5, 0.0).tolist() == [[0.0], [2.0]]


@pytest.mark.requires_torch
def test_where_vs_torch() -> None:
    rng = np.random.default_rng(11)
    c = rng.random((3, 4)) > 0.5
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4)
    check_op(lambda lib, x, y: lib.where(lib.from_numpy(c), x, y), a, b.astype(np.float32))
    check_op(lambda lib, x, y: lib.where(x > 0, x, y), a, b.astype(np.float32))
    check_op(lambda lib, x: lib.where(x > 0, x, 0.0), a)
    check_op(lambda lib, x: lib.where(x > 0, 1.0, x), a)
    check_op(lambda lib, x, y: lib.where(x > 0, x, y), a, b)  # float32 / float64 mix


def test_clamp_forward() -> None:
    x = tracejit.tensor([-2.0, -0.5, 0.5, 2.0])
    assert x.clamp(-1, 1).tolist() == [-1.0, -0.5, 0.5, 1.0]
    assert x.clamp(min=0).tolist() == [0.0, 0.0, 0.5, 2.0]
    assert x.clamp(max=0).tolist() == [-2.0, -0.5, 0.0, 0.0]
    assert tracejit.clip(x, -1, 1).tolist() == [-1.0, -0.5, 0.5, 1.0]
    assert x.clamp_min(0).tolist() == x.clamp(min=0).tolist()
    lo = tracejit.tensor([0.0, 0.0, 1.0, 1.0])
    assert x.clamp(min=lo).tolist() == [0.0, 0.0, 1.0, 2.0]
    i = tracejit.tensor([-3, 0, 3])
    assert i.clamp(-1, 1).tolist() == [-1, 0, 1] and i.clamp(-1, 1).dtype is tracejit.int64
    assert i.clamp(min=0.5).dtype is tracejit.float32
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        x.clamp()


@pytest.mark.requires_torch
def test_clamp_vs_torch() -> None:
    rng = np.random.default_rng(12)
    a = rng.uniform(-2, 2, (3, 4)).astype(np.float32)
    check_op(lambda lib, x: x.clamp(-1, 1), a)
    check_op(lambda lib, x: lib.clamp(x, min=-0.5), a)
    check_op(lambda lib, x: lib.clamp(x, max=0.5), a)
    check_op(lambda lib, x, lo, hi: x.clamp(lo, hi), a,
             rng.uniform(-1, -0.1, (4,)).astype(np.float32),
             rng.uniform(0.1, 1, (3, 1)).astype(np.float32))


def test_pow_three_forms() -> None:
    x = tracejit.tensor([1.0, 2.0, 3.0], requires_grad=True)
    e = tracejit.tensor([2.0, 0.5, -1.0], requires_grad=True)
    p0, p1, p2 = x ** 2, x ** e, 2 ** x
    assert p0.grad_fn.name() == "PowBackward0"
    assert p1.grad_fn.name() == "PowBackward1"
    assert p2.grad_fn.name() == "PowBackward2"
    np.testing.assert_allclose(p0.detach().numpy(), [1, 4, 9])
    np.testing.assert_allclose(p1.detach().numpy(), [1, 2 ** 0.5, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(p2.detach().numpy(), [2, 4, 8])
    assert tracejit.pow(x, 2).grad_fn.name() == "PowBackward0"
    assert tracejit.pow(2, x).grad_fn.name() == "PowBackward2"
    assert tracejit.pow(x, e).grad_fn.name() == "PowBackward1"
    assert (x ** 0).detach().tolist() == [1.0, 1.0, 1.0]
    i = tracejit.tensor([2, 3])
    assert (i ** 2).dtype is tracejit.int64 and (2 ** i).dtype is tracejit.int64
    assert (i ** 0.5).dtype is tracejit.float32 and (2.0 ** i).dtype is tracejit.float32
    with pytest.raises(RuntimeError, match="negative integer powers"):
        i ** -1


@pytest.mark.requires_torch
def test_pow_vs_torch() -> None:
    rng = np.random.default_rng(13)
    a = rng.uniform(0.5, 2, (2, 3)).astype(np.float32)
    b = rng.uniform(-2, 2, (2, 3)).astype(np.float32)
    check_op(lambda lib, x: x ** 2, a)
    check_op(lambda lib, x: x ** 0, a)
    check_op(lambda lib, x: x ** -1.5, a)
    check_op(lambda lib, x, y: x ** y, a, b, atol=1e-5)
    check_op(lambda lib, x, y: x ** y, a, b[0], atol=1e-5)
    check_op(lambda lib, x: 3 ** x, b, atol=1e-5)
    check_op(lambda lib, x: lib.pow(1.5, x), b, atol=1e-5)
    check_op(lambda lib, x, y: lib.pow(x, y), a, b, requires_grad=[True, False])
    check_op(lambda lib, x, y: lib.pow(x, y), a, b, requires_grad=[False, True], atol=1e-5)
    z = np.array([0.0, 1.0, 2.0], dtype=np.float32)
    check_op(lambda lib, x, y: x ** y, z, np.array([2.0, 2.0, 0.0], np.float32))


@pytest.mark.requires_torch
def test_unary_dtype_grid_vs_torch() -> None:
    """Every unary op on every dtype: the same result dtype (or error type) as torch."""
    torch = pytest.importorskip("torch")
    names = list(UNARY) + list(PREDICATES) + ["bitwise_not", "sign", "relu"]
    mismatches = []
    for name in names:
        for d_t, d in zip(_names(torch), _names(tracejit)):
            got = []
            for lib, dt in ((torch, d_t), (tracejit, d)):
                try:
                    with np.errstate(all="ignore"):
                        got.append(dtype_name(getattr(lib.ones(2, dtype=dt), name)().dtype))
                except Exception as e:  # noqa: BLE001 - the error type is compared
                    got.append(type(e).__name__)
            if got[0] != got[1]:
                mismatches.append(f"{name}({d.name}): torch {got[0]}, tracejit {got[1]}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.requires_torch
@pytest.mark.parametrize("expr", [
    lambda lib, x, y: x + y, lambda lib, x, y: x * y, lambda lib, x, y: x / y,
    lambda lib, x, y: lib.maximum(x, y), lambda lib, x, y: x.exp(), lambda lib, x, y: x.tanh(),
    lambda lib, x, y: y.sqrt(), lambda lib, x, y: x.sigmoid() * y + 1.5,
    lambda lib, x, y: x ** 2, lambda lib, x, y: lib.where(x > 0, x, y),
], ids=["add", "mul", "div", "maximum", "exp", "tanh", "sqrt", "mixed", "pow", "where"])
def test_float16_vs_torch(expr: object) -> None:
    rng = np.random.default_rng(14)
    a = rng.uniform(-2, 2, (3, 4)).astype(np.float16)
    b = rng.uniform(0.5, 2, (3, 4)).astype(np.float16)
    check_op(expr, a, b, atol=2e-3, rtol=2e-3, grad_atol=1e-2, grad_rtol=1e-2)
