"""Reduction kernels: ops, multi-dim, multiple outputs, epilogues, accuracy."""

import numpy as np
import pytest

from kernels import cg, reduce_kernel

rng = np.random.default_rng(3)
NP_REDUCE = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min}


@pytest.mark.parametrize("dt", ["f32", "f64", "i32", "i64"])
@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
@pytest.mark.parametrize("shape,nred", [((5, 37), 1), ((3, 4, 50), 2), ((1000,), 1),
                                        ((6, 5, 4), 1)])
def test_reduce_ops(op, dt, shape, nred):
    npdt = cg.NP_DTYPES[dt]
    if op == "prod":
        x = rng.uniform(0.9, 1.1, shape) if dt[0] == "f" else rng.integers(-2, 3, shape)
    else:
        x = rng.normal(0, 10, shape) if dt[0] == "f" else rng.integers(-1000, 1000, shape)
    x = x.astype(npdt)
    out = cg.run(reduce_kernel(op, dt, len(shape), nred), [x])[0]
    axes = tuple(range(len(shape) - nred, len(shape)))
    ref = NP_REDUCE[op](x.astype(np.float64) if dt[0] == "f" else x, axis=axes)
    assert out.shape == ref.shape
    if dt[0] == "f":
        np.testing.assert_allclose(out, ref, rtol=1e-5 if dt == "f32" else 1e-12)
    else:
        np.testing.assert_array_equal(out, ref.astype(npdt))


def test_reduce_strided_input():
    x = rng.normal(size=(30, 20)).astype(np.float32).T  # reduce over a strided axis
    out = cg.run(reduce_kernel("sum", "f32", 2, 1), [x])[0]
    np.testing.assert_allclose(out, x.sum(1), rtol=1e-5, atol=1e-5)


def test_nan_propagation():
    x = rng.normal(size=(4, 9)).astype(np.float32)
    x[1, 3] = np.nan
    for op in ("max", "min", "sum"):
        out = cg.run(reduce_kernel(op, "f32", 2, 1), [x])[0]
        assert np.isnan(out[1]) and not np.isnan(out[[0, 2, 3]]).any()


def test_sum_f32_accuracy_1e6():
    x = rng.random(1_000_000).astype(np.float32)
    out = cg.run(reduce_kernel("sum", "f32", 1, 1), [x])[0]
    np.testing.assert_allclose(out, x.astype(np.float64).sum(), rtol=1e-5)
    x2 = x.reshape(10, 100_000)
    out = cg.run(reduce_kernel("sum", "f32", 2, 1), [x2])[0]
    np.testing.assert_allclose(out, x2.astype(np.float64).sum(1), rtol=1e-5)


def test_empty_reduction_gives_identity():
    x = np.ones((3, 0), np.float32)
    for op, ident in (("sum", 0.0), ("prod", 1.0), ("max", -np.inf), ("min", np.inf)):
        out = cg.run(reduce_kernel(op, "f32", 2, 1), [x])[0]
        np.testing.assert_array_equal(out, np.full(3, ident, np.float32))
    assert cg.run(reduce_kernel("sum", "f32", 2, 1), [np.ones((0, 4), np.float32)])[0].shape == (0,)


def test_bool_reductions_and_accumulate_cast():
    x = rng.random((5, 8)) > 0.7
    x[0] = False
    any_k = reduce_kernel("max", "bool", 2, 1)
    all_k = reduce_kernel("min", "bool", 2, 1)
    np.testing.assert_array_equal(cg.run(any_k, [x])[0], x.any(1))
    np.testing.assert_array_equal(cg.run(all_k, [x])[0], x.all(1))
    cnt = reduce_kernel("sum", "bool", 2, 1, acc="i64")
    np.testing.assert_array_equal(cg.run(cnt, [x])[0], x.sum(1))
    h = rng.normal(size=(4, 300)).astype(np.float16)
    k = reduce_kernel("sum", "f16", 2, 1, acc="f32")
    np.testing.assert_allclose(cg.run(k, [h])[0], h.astype(np.float64).sum(1), rtol=1e-5)


def _softmax_kernels():
    L = cg.Load(0, "f32")
    k1 = cg.Kernel("rowmax", 2, ("f32",), 1, (cg.Reduce("max", L, "f32"),),
                   (cg.ReduceRef(0, "f32"),))
    e = cg.Unary("exp", cg.Binary("sub", L, cg.Load(1, "f32")))
    k2 = cg.Kernel("softmax_tail", 2, ("f32", "f32"), 1, (cg.Reduce("sum", e, "f32"),),
                   (cg.ReduceRef(0, "f32"),
                    cg.Binary("add", cg.Unary("log", cg.ReduceRef(0, "f32")),
                              cg.Load(1, "f32"))))
    return k1, k2


@pytest.mark.parametrize("shape", [(8, 100), (3, 1), (1, 5000)])
def test_softmax_like_two_kernels(shape):
    x = rng.normal(0, 5, shape).astype(np.float32)
    k1, k2 = _softmax_kernels()
    (m,) = cg.run(k1, [x])
    mb = np.broadcast_to(m[:, None], x.shape)
    s, lse = cg.run(k2, [x, mb])
    ref_m = x.max(1)
    ref_s = np.exp(x.astype(np.float64) - ref_m[:, None]).sum(1)
    np.testing.assert_array_equal(m, ref_m)
    np.testing.assert_allclose(s, ref_s, rtol=1e-5)
    np.testing.assert_allclose(lse, np.log(ref_s) + ref_m, rtol=1e-5, atol=1e-6)


def test_multiple_reductions_and_outputs():
    x = rng.normal(size=(6, 7, 11)).astype(np.float64)
    L = cg.Load(0, "f64")
    reds = (cg.Reduce("sum", L, "f64"), cg.Reduce("sum", cg.Binary("mul", L, L), "f64"),
            cg.Reduce("max", cg.Unary("abs", L), "f64"))
    n = cg.Const(77.0, "f64")
    mean = cg.Binary("div", cg.ReduceRef(0, "f64"), n)
    var = cg.Binary("sub", cg.Binary("div", cg.ReduceRef(1, "f64"), n),
                    cg.Binary("mul", mean, mean))
    k = cg.Kernel("moments", 3, ("f64",), 2, reds, (mean, var, cg.ReduceRef(2, "f64")))
    mean_o, var_o, amax = cg.run(k, [x])
    np.testing.assert_allclose(mean_o, x.mean((1, 2)), rtol=1e-12)
    np.testing.assert_allclose(var_o, x.var((1, 2)), rtol=1e-10)
    np.testing.assert_array_equal(amax, np.abs(x).max((1, 2)))


def test_full_reduction_to_scalar():
    x = rng.normal(size=(10, 10, 10)).astype(np.float32)
    out = cg.run(reduce_kernel("sum", "f32", 3, 3), [x])[0]
    assert out.shape == ()
    np.testing.assert_allclose(out, x.astype(np.float64).sum(), rtol=1e-5, atol=1e-4)
