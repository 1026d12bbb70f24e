"""Elementwise ops on the CUDA backend (simulator) against numpy, as in test_cg_elementwise.

All variants live in ONE program (one module, one compiler invocation, one nvcc check);
the references, value sets and tolerances are the LLVM tests' own.
"""

import warnings

import numpy as np
import pytest
from test_cg_elementwise import (
    APPROX_UNARY,
    EXACT_UNARY,
    FLOAT_BINARY,
    INT_BINARY,
    _pairs,
    _values,
)
from test_cuda_common import cuda, nvcc_check, sim, sim_env  # noqa: F401

from kernels import binary, cg, unary

rng = np.random.default_rng(11)
INTS = ["i8", "u8", "i32", "i64"]
INT_UNARY = ["neg", "abs", "sign", "not", "relu", "floor"]
BOOL_BINARY = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor,
               "eq": np.equal, "ne": np.not_equal}


def _casts_kernel():
    L = cg.Load(0, "f32")
    outs = (cg.Where(cg.Binary("gt", L, cg.Const(0.0, "f32")), L, cg.Const(-1.0, "f32")),
            cg.Cast(L, "i32"), cg.Cast(L, "f64"), cg.Cast(L, "f16"), cg.Cast(L, "bool"),
            cg.Cast(cg.Cast(L, "i64"), "u8"), cg.Cast(cg.Cast(L, "f16"), "f32"))
    return cg.Kernel("casts", 1, ("f32",), outputs=outs)


def _f16_kernel():
    return cg.Kernel("h", 1, ("f16", "f16"), outputs=(
        cg.Binary("add", cg.Binary("mul", cg.Load(0, "f16"), cg.Load(1, "f16")),
                  cg.Unary("exp", cg.Load(0, "f16"))),))


def _int_bool_kernel():
    return cg.Kernel("ib", 1, ("i32",), outputs=(
        cg.Cast(cg.Cast(cg.Load(0, "i32"), "bool"), "f32"),))


def _all_kernels():
    ks = [unary(op, dt) for dt in ("f32", "f64") for op in {**EXACT_UNARY, **APPROX_UNARY}]
    ks += [binary(op, dt) for dt in ("f32", "f64") for op in [*FLOAT_BINARY, "pow"]]
    ks += [binary(op, dt) for dt in INTS for op in INT_BINARY]
    ks += [unary(op, dt) for dt in INTS for op in INT_UNARY]
    ks += [binary(op, "bool") for op in BOOL_BINARY] + [unary("not", "bool")]
    return ks + [_casts_kernel(), _f16_kernel(), _int_bool_kernel()]


@pytest.fixture(scope="module")
def prog(sim):  # noqa: F811
    p = cuda.Program(_all_kernels(), sim)
    nvcc_check(p.source)
    return p


def test_one_module_one_compile(sim):  # noqa: F811
    before = sim.stats["compiler_invocations"]
    sim.clear_module_cache()
    p = cuda.Program(_all_kernels(), sim)
    assert p.source.count('extern "C" __global__') == len(set(_all_kernels()))
    assert sim.stats["compiler_invocations"] - before <= 1  # 0 when the disk cache hit


@pytest.mark.parametrize("dt", ["f32", "f64"])
@pytest.mark.parametrize("op", sorted(EXACT_UNARY))
def test_float_unary_exact(prog, op, dt):
    x = _values(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = EXACT_UNARY[op](x)
    np.testing.assert_array_equal(prog.run(unary(op, dt), [x])[0], ref)


@pytest.mark.parametrize("dt", ["f32", "f64"])
@pytest.mark.parametrize("op", sorted(APPROX_UNARY))
def test_float_unary_transcendental(prog, op, dt):
    x = _values(dt)  # device libm handles huge sin/cos/tan arguments: nothing filtered
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = APPROX_UNARY[op](x.astype(np.float64))
    out = prog.run(unary(op, dt), [x])[0]
    with np.errstate(over="ignore"):
        ref = ref.astype(x.dtype)
    np.testing.assert_allclose(out, ref, rtol=2e-6 if dt == "f32" else 1e-14, atol=1e-37)


@pytest.mark.parametrize("dt", ["f32", "f64"])
@pytest.mark.parametrize("op", sorted(FLOAT_BINARY))
def test_float_binary(prog, op, dt):
    a, b = _pairs(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = FLOAT_BINARY[op](a, b)
    np.testing.assert_array_equal(prog.run(binary(op, dt), [a, b])[0], ref)


@pytest.mark.parametrize("dt", ["f32", "f64"])
def test_pow(prog, dt):
    a, b = _pairs(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.power(a.astype(np.float64), b.astype(np.float64)).astype(a.dtype)
    out = prog.run(binary("pow", dt), [a, b])[0]
    np.testing.assert_allclose(out, ref, rtol=4e-7 if dt == "f32" else 1e-13, atol=0)


@pytest.mark.parametrize("dt", INTS)
@pytest.mark.parametrize("op", sorted(INT_BINARY))
def test_int_binary(prog, op, dt):
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
    out = prog.run(binary(op, dt), [a, b])[0]
    if op in ("floordiv", "mod"):
        ok = ~((a == info.min) & (b == -1))
        np.testing.assert_array_equal(out[~ok], 0 if op == "mod" else info.min)  # wraps
        out, ref = out[ok], ref[ok]
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dt", INTS)
@pytest.mark.parametrize("op", INT_UNARY)
def test_int_unary(prog, op, dt):
    npdt = cg.NP_DTYPES[dt]
    info = np.iinfo(npdt)
    x = np.concatenate([[0, 1, 2, info.max, info.min + 1],
                        rng.integers(info.min + 1, info.max, 200)]).astype(npdt)
    ref = {"neg": np.negative, "abs": np.abs, "sign": np.sign, "not": np.invert,
           "relu": lambda v: np.maximum(v, 0).astype(npdt), "floor": lambda v: v}[op](x)
    np.testing.assert_array_equal(prog.run(unary(op, dt), [x])[0], ref)


@pytest.mark.parametrize("op", sorted(BOOL_BINARY))
def test_bool_ops(prog, op):
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    np.testing.assert_array_equal(prog.run(binary(op, "bool"), [a, b])[0],
                                  BOOL_BINARY[op](a, b))
    np.testing.assert_array_equal(prog.run(unary("not", "bool"), [a])[0], ~a)


def test_special_values(prog):
    x = np.array([100.0, -200.0, 0.0, -1.0, np.inf, -np.inf, np.nan, 30.0, -30.0],
                 np.float32)
    run = lambda op: prog.run(unary(op, "f32"), [x])[0]  # noqa: E731
    assert run("exp")[0] == np.inf and run("exp")[1] == 0.0 and np.isnan(run("exp")[6])
    lg = run("log")
    assert lg[2] == -np.inf and np.isnan(lg[3]) and lg[4] == np.inf and np.isnan(lg[5])
    th = run("tanh")
    assert th[7] == 1.0 and th[8] == -1.0 and th[4] == 1.0 and th[5] == -1.0
    assert np.isnan(run("sin")[4]) and np.isnan(run("cos")[5])
    assert run("sigmoid")[4] == 1.0 and run("sigmoid")[5] == 0.0 and run("sigmoid")[1] == 0
    assert run("erf")[4] == 1.0 and run("erf")[5] == -1.0
    assert run("expm1")[5] == -1.0 and run("expm1")[4] == np.inf
    assert run("log1p")[3] == -np.inf and run("log1p")[4] == np.inf


def test_where_and_casts(prog):
    x = rng.normal(0, 100, 1000).astype(np.float32)
    x[:3] = [np.nan, 0.0, -0.0]
    r = prog.run(_casts_kernel(), [x])
    with np.errstate(invalid="ignore"):
        refs = [np.where(x > 0, x, -1), x.astype(np.int32), x.astype(np.float64),
                x.astype(np.float16), x.astype(bool), x.astype(np.int64).astype(np.uint8),
                x.astype(np.float16).astype(np.float32)]
    for i, (out, ref) in enumerate(zip(r, refs)):
        if i in (1, 5):  # float -> int of NaN is unspecified (as on the CPU backend)
            out, ref = out[3:], ref[3:]
        np.testing.assert_array_equal(out, ref)


def test_f16_computed_in_f32(prog):
    x = rng.normal(0, 2, 500).astype(np.float16)
    y = rng.normal(0, 2, 500).astype(np.float16)
    ref = (x.astype(np.float32) * y.astype(np.float32) + np.exp(x.astype(np.float32)))
    out = prog.run(_f16_kernel(), [x, y])[0]
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, ref.astype(np.float16))


def test_int_to_bool_and_bool_to_float(prog):
    x = np.array([0, 3, -2, 0], np.int32)
    np.testing.assert_array_equal(prog.run(_int_bool_kernel(), [x])[0], [0, 1, 1, 0])


def test_cast_edges_f16_and_ints(sim):  # noqa: F811
    L = cg.Load(0, "f64")
    k = cg.Kernel("c64", 1, ("f64",), outputs=(cg.Cast(L, "f16"), cg.Cast(L, "i8"),
                                                 cg.Cast(cg.Cast(L, "i64"), "f16")))
    x = np.array([0.1, 65504.0, 70000.0, -3.99, 1 + 2.0 ** -11 + 2.0 ** -30, 100.5])
    h, i8, lh = cuda.run(k, [x], runtime=sim)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(h, x.astype(np.float16))  # one rounding, not two
        np.testing.assert_array_equal(lh, x.astype(np.int64).astype(np.float16))
    np.testing.assert_array_equal(i8, x.astype(np.int64).astype(np.int8))
