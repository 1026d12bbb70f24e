"""Elementwise ops against numpy, per dtype."""

import math
import warnings

import numpy as np
import pytest

from kernels import binary, cg, unary

rng = np.random.default_rng(1)
FLOAT_VALUES = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.7, -3.7, 1e-30,
                         -1e-30, 1e30, -1e30, np.inf, -np.inf, np.nan, 100.0, -100.0, 7.0])
EXACT_UNARY = {"neg": np.negative, "abs": np.abs, "sign": np.sign, "sqrt": np.sqrt,
               "floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc,
               "reciprocal": np.reciprocal, "isnan": np.isnan, "isinf": np.isinf,
               "relu": lambda x: np.where(x < 0, 0, x).astype(x.dtype),
               "rsqrt": lambda x: (1 / np.sqrt(x)).astype(x.dtype)}
APPROX_UNARY = {"exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1,
                "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
                "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
                "erf": np.vectorize(math.erf, otypes=[np.float64])}


def _values(dt):
    x = np.concatenate([FLOAT_VALUES, rng.normal(0, 3, 200), rng.uniform(-50, 50, 200)])
    return x.astype(cg.NP_DTYPES[dt])


@pytest.mark.parametrize("dt", ["f32", "f64"])
@pytest.mark.parametrize("op", sorted(EXACT_UNARY))
def test_float_unary_exact(op, dt):
    x = _values(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = EXACT_UNARY[op](x)
    out = cg.run(unary(op, dt), [x])[0]
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dt", ["f32", "f64"])
@pytest.mark.parametrize("op", sorted(APPROX_UNARY))
def test_float_unary_transcendental(op, dt):
    x = _values(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = APPROX_UNARY[op](x.astype(np.float64))
    if op in ("sin", "cos", "tan"):  # documented: |x| > ~8e8 gives NaN (no Payne-Hanek)
        x = x[~(np.abs(x) > 1e8)]
        ref = APPROX_UNARY[op](x.astype(np.float64))
    out = cg.run(unary(op, dt), [x])[0]
    rtol = 2e-6 if dt == "f32" else 1e-14
    with np.errstate(over="ignore"):
        ref = ref.astype(x.dtype)
    np.testing.assert_allclose(out, ref, rtol=rtol, atol=1e-37)


def test_special_values():
    x = np.array([100.0, -200.0, 0.0, -1.0, np.inf, -np.inf, np.nan, 30.0, -30.0],
                 np.float32)
    run = lambda op: cg.run(unary(op, "f32"), [x])[0]  # noqa: E731
    assert run("exp")[0] == np.inf and run("exp")[1] == 0.0 and np.isnan(run("exp")[6])
    lg = run("log")
    assert lg[2] == -np.inf and np.isnan(lg[3]) and lg[4] == np.inf and np.isnan(lg[5])
    th = run("tanh")
    assert th[7] == 1.0 and th[8] == -1.0 and th[4] == 1.0 and th[5] == -1.0
    assert np.isnan(run("sin")[4]) and np.isnan(run("cos")[5])
    assert run("sigmoid")[4] == 1.0 and run("sigmoid")[5] == 0.0
    assert run("erf")[4] == 1.0 and run("erf")[5] == -1.0
    assert run("expm1")[5] == -1.0 and run("expm1")[4] == np.inf
    assert run("log1p")[3] == -np.inf and run("log1p")[4] == np.inf


FLOAT_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
                "floordiv": np.floor_divide, "mod": np.mod, "max": np.maximum,
                "min": np.minimum, "eq": np.equal, "ne": np.not_equal, "lt": np.less,
                "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}


def _pairs(dt):
    v = FLOAT_VALUES
    a, b = np.meshgrid(v, v)
    a = np.concatenate([a.ravel(), rng.normal(0, 10, 300)])
    b = np.concatenate([b.ravel(), rng.normal(0, 3, 300)])
    return a.astype(cg.NP_DTYPES[dt]), b.astype(cg.NP_DTYPES[dt])


@pytest.mark.parametrize("dt", ["f32", "f64"])
@pytest.mark.parametrize("op", sorted(FLOAT_BINARY))
def test_float_binary(op, dt):
    a, b = _pairs(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = FLOAT_BINARY[op](a, b)
    out = cg.run(binary(op, dt), [a, b])[0]
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dt", ["f32", "f64"])
def test_pow(dt):
    a, b = _pairs(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.power(a.astype(np.float64), b.astype(np.float64)).astype(a.dtype)
    out = cg.run(binary("pow", dt), [a, b])[0]
    np.testing.assert_allclose(out, ref, rtol=4e-7 if dt == "f32" else 1e-13, atol=0)
    x = rng.uniform(0, 10, 1000).astype(a.dtype)
    y = rng.uniform(-5, 5, 1000).astype(a.dtype)
    ref = np.power(x.astype(np.float64), y.astype(np.float64)).astype(a.dtype)
    out = cg.run(binary("pow", dt), [x, y])[0]
    np.testing.assert_allclose(out, ref, rtol=4e-7 if dt == "f32" else 1e-14)


INT_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply,
              "floordiv": np.floor_divide, "mod": np.mod, "max": np.maximum,
              "min": np.minimum, "eq": np.equal, "ne": np.not_equal, "lt": np.less,
              "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
              "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}


@pytest.mark.parametrize("dt", ["i8", "u8", "i32", "i64"])
@pytest.mark.parametrize("op", sorted(INT_BINARY))
def test_int_binary(op, dt):
    npdt = cg.NP_DTYPES[dt]
    info = np.iinfo(npdt)
    edge = np.array([0, 1, -1, 2, -2, 3, -7, 7, info.min, info.max], dtype=np.int64)
    a, b = np.meshgrid(edge, edge)
    a = np.concatenate([a.ravel(), rng.integers(info.min, info.max, 300, endpoint=True)])
    b = np.concatenate([b.ravel(), rng.integers(info.min, info.max, 300, endpoint=True)])
    a, b = a.astype(npdt), b.astype(npdt)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ref = INT_BINARY[op](a, b)
    out = cg.run(binary(op, dt), [a, b])[0]
    if op in ("floordiv", "mod"):  # numpy differs from itself on MIN // -1 across versions
        ok = ~((a == info.min) & (b == -1))
        out, ref = out[ok], ref[ok]
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dt", ["i8", "u8", "i32", "i64"])
@pytest.mark.parametrize("op", ["neg", "abs", "sign", "not", "relu", "floor"])
def test_int_unary(op, dt):
    npdt = cg.NP_DTYPES[dt]
    info = np.iinfo(npdt)
    x = np.concatenate([[0, 1, 2, info.max, info.min + 1],
                        rng.integers(info.min + 1, info.max, 200)]).astype(npdt)
    ref = {"neg": np.negative, "abs": np.abs, "sign": np.sign, "not": np.invert,
           "relu": lambda v: np.maximum(v, 0).astype(npdt), "floor": lambda v: v}[op](x)
    np.testing.assert_array_equal(cg.run(unary(op, dt), [x])[0], ref)


@pytest.mark.parametrize("op,ref", [("and", np.logical_and), ("or", np.logical_or),
                                    ("xor", np.logical_xor), ("eq", np.equal),
                                    ("ne", np.not_equal)])
def test_bool_binary(op, ref):
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    np.testing.assert_array_equal(cg.run(binary(op, "bool"), [a, b])[0], ref(a, b))
    np.testing.assert_array_equal(cg.run(unary("not", "bool"), [a])[0], ~a)


def test_where_and_casts():
    x = rng.normal(0, 100, 1000).astype(np.float32)
    L = cg.Load(0, "f32")
    outs = (cg.Where(cg.Binary("gt", L, cg.Const(0.0, "f32")), L, cg.Const(-1.0, "f32")),
            cg.Cast(L, "i32"), cg.Cast(L, "f64"), cg.Cast(L, "f16"), cg.Cast(L, "bool"),
            cg.Cast(cg.Cast(L, "i64"), "u8"), cg.Cast(cg.Cast(L, "f16"), "f32"))
    k = cg.Kernel("casts", 1, ("f32",), outputs=outs)
    r = cg.run(k, [x])
    np.testing.assert_array_equal(r[0], np.where(x > 0, x, -1))
    np.testing.assert_array_equal(r[1], x.astype(np.int32))
    np.testing.assert_array_equal(r[2], x.astype(np.float64))
    np.testing.assert_array_equal(r[3], x.astype(np.float16))
    np.testing.assert_array_equal(r[4], x.astype(bool))
    np.testing.assert_array_equal(r[5], x.astype(np.int64).astype(np.uint8))
    np.testing.assert_array_equal(r[6], x.astype(np.float16).astype(np.float32))


def test_f16_computed_in_f32():
    x = rng.normal(0, 2, 500).astype(np.float16)
    y = rng.normal(0, 2, 500).astype(np.float16)
    k = cg.Kernel("h", 1, ("f16", "f16"), outputs=(
        cg.Binary("add", cg.Binary("mul", cg.Load(0, "f16"), cg.Load(1, "f16")),
                  cg.Unary("exp", cg.Load(0, "f16"))),))
    ref = (x.astype(np.float32) * y.astype(np.float32) + np.exp(x.astype(np.float32)))
    out = cg.run(k, [x, y])[0]
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, ref.astype(np.float16))


def test_int_to_bool_and_bool_to_float():
    x = np.array([0, 3, -2, 0], np.int32)
    k = cg.Kernel("ib", 1, ("i32",), outputs=(
        cg.Cast(cg.Cast(cg.Load(0, "i32"), "bool"), "f32"),))
    np.testing.assert_array_equal(cg.run(k, [x])[0], [0, 1, 1, 0])
