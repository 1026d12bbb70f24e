"""Reductions on the CUDA backend (simulator): ops, dtypes, epilogues, accuracy, configs.

Block tree reductions with warp shuffles are exercised with 2 warps per block (the
simulator's default) and, in ``test_launch_configs_agree``, with 8 warps and few blocks.
"""

import numpy as np
import pytest
from test_cuda_common import cuda, nvcc_check, sim, sim_env  # noqa: F401
from test_reduce import NP_REDUCE, _softmax_kernels

from kernels import cg, reduce_kernel

rng = np.random.default_rng(13)
DTYPES = ["f32", "f64", "i32", "i64"]
OPS = ["sum", "prod", "max", "min"]
SHAPES = [((5, 37), 1), ((3, 4, 50), 2), ((1000,), 1), ((6, 5, 4), 1)]
SOFTMAX_SHAPES = [(8, 100), (3, 1), (1, 5000), (33, 70)]


def _moments_kernel():
    L = cg.Load(0, "f64")
    reds = (cg.Reduce("sum", L, "f64"), cg.Reduce("sum", cg.Binary("mul", L, L), "f64"),
            cg.Reduce("max", cg.Unary("abs", L), "f64"))
    n = cg.Const(77.0, "f64")
    mean = cg.Binary("div", cg.ReduceRef(0, "f64"), n)
    var = cg.Binary("sub", cg.Binary("div", cg.ReduceRef(1, "f64"), n),
                    cg.Binary("mul", mean, mean))
    return cg.Kernel("moments", 3, ("f64",), 2, reds, (mean, var, cg.ReduceRef(2, "f64")))


def _epilogue_kernel():
    """Epilogue reading a flat input (at the row start) and a broadcast one."""
    x, b = cg.Load(0, "f32"), cg.Load(1, "f32")
    r = cg.ReduceRef(0, "f32")
    return cg.Kernel("epi", 2, ("f32", "f32"), 1, (cg.Reduce("sum", x, "f32"),),
                     (cg.Binary("add", r, x), cg.Binary("mul", r, b)))


def _items():
    items = [reduce_kernel(op, dt, len(s), n) for op in OPS for dt in DTYPES
             for s, n in SHAPES]
    items += [(reduce_kernel("sum", "f32", 2, 1), ("strided",)),
              (reduce_kernel("sum", "f64", 3, 2), ("strided",)),
              reduce_kernel("sum", "f32", 1, 1), reduce_kernel("sum", "f32", 3, 3),
              (reduce_kernel("sum", "bool", 2, 1, acc="i64"), ("flat",)),
              reduce_kernel("max", "bool", 2, 1), reduce_kernel("min", "bool", 2, 1),
              reduce_kernel("sum", "f16", 2, 1, acc="f32"), reduce_kernel("sum", "i8", 2, 1),
              reduce_kernel("prod", "u8", 2, 1), _moments_kernel(),
              (_epilogue_kernel(), ("flat", "strided"))]
    items += [(reduce_kernel(op, "f32", 2, 1), ("strided",)) for op in OPS]
    k1, k2 = _softmax_kernels()
    for shape in SOFTMAX_SHAPES:  # the layouts the softmax test's arrays will have
        x = np.zeros(shape, np.float32)
        xt = np.ascontiguousarray(x.T).T
        mb = np.broadcast_to(x[:, :1], shape)
        items += [(k1, _lay(x)), (k2, _lay(x, mb)), (k1, _lay(xt)), (k2, _lay(xt, mb))]
    return items


def _lay(*arrays):
    return tuple(cuda.classify(a.shape, [s // a.itemsize for s in a.strides]) for a in arrays)


@pytest.fixture(scope="module")
def prog(sim):  # noqa: F811
    p = cuda.Program(_items(), sim)
    nvcc_check(p.source)
    return p


def _data(op, dt, shape):
    if op == "prod":
        x = rng.uniform(0.9, 1.1, shape) if dt[0] == "f" else rng.integers(-2, 3, shape)
    else:
        x = rng.normal(0, 10, shape) if dt[0] == "f" else rng.integers(-1000, 1000, shape)
    return x.astype(cg.NP_DTYPES[dt])


def _check(out, x, op, dt, nred):
    axes = tuple(range(x.ndim - nred, x.ndim))
    ref = NP_REDUCE[op](x.astype(np.float64) if dt[0] == "f" else x, axis=axes)
    assert out.shape == ref.shape
    if dt[0] == "f":
        np.testing.assert_allclose(out, ref, rtol=1e-5 if dt == "f32" else 1e-12)
    else:
        np.testing.assert_array_equal(out, ref.astype(x.dtype))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape,nred", SHAPES)
def test_reduce_ops(prog, op, dt, shape, nred):
    x = _data(op, dt, shape)
    _check(prog.run(reduce_kernel(op, dt, len(shape), nred), [x])[0], x, op, dt, nred)


def test_launch_configs_agree():
    """8 warps per block and 3 blocks striding over 30 rows: same answers."""
    rt = cuda.SimRuntime()
    rt.limits = cuda.Limits(block=128, reduce_block=256, max_grid=3)
    prog = cuda.Program([reduce_kernel(op, "f64", 3, 1) for op in OPS]
                        + [reduce_kernel("max", "f32", 2, 1)], rt)
    nvcc_check(prog.source)
    for op in OPS:
        x = _data(op, "f64", (6, 5, 300))
        _check(prog.run(reduce_kernel(op, "f64", 3, 1), [x])[0], x, op, "f64", 1)
    x = rng.normal(size=(40, 1000)).astype(np.float32)
    x[7, 999] = np.nan
    out = prog.run(reduce_kernel("max", "f32", 2, 1), [x])[0]
    np.testing.assert_array_equal(out, x.max(1))


@pytest.mark.parametrize("op", OPS)
def test_reduce_strided_input(prog, op):
    x = rng.normal(size=(30, 20)).astype(np.float32).T  # reduce over a strided axis
    if op == "prod":
        x = (1 + x / 100).astype(np.float32)
    out = prog.run(reduce_kernel(op, "f32", 2, 1), [x])[0]
    np.testing.assert_allclose(out, NP_REDUCE[op](x.astype(np.float64), axis=1), rtol=1e-5,
                               atol=1e-5)
    y = rng.normal(size=(4, 6, 7))[::-1, :, ::-2]  # negative strides, outer offsets
    out = prog.run(reduce_kernel("sum", "f64", 3, 2), [y])[0]
    np.testing.assert_allclose(out, y.sum((1, 2)), rtol=1e-12)


def test_nan_propagation(prog):
    x = rng.normal(size=(4, 9)).astype(np.float32)
    x[1, 3] = np.nan
    for op in ("max", "min", "sum"):
        out = prog.run(reduce_kernel(op, "f32", 2, 1), [np.ascontiguousarray(x.T).T])[0]
        assert np.isnan(out[1]) and not np.isnan(out[[0, 2, 3]]).any()


def test_sum_f32_accuracy_1e6(prog):
    x = rng.random(1_000_000).astype(np.float32)
    out = prog.run(reduce_kernel("sum", "f32", 1, 1), [x])[0]
    np.testing.assert_allclose(out, x.astype(np.float64).sum(), rtol=1e-5)
    x2 = x.reshape(10, 100_000)
    out = prog.run(reduce_kernel("sum", "f32", 2, 1), [x2])[0]
    np.testing.assert_allclose(out, x2.astype(np.float64).sum(1), rtol=1e-5)


def test_empty_reduction_gives_identity(prog):
    x = np.ones((3, 0), np.float32)
    for op, ident in (("sum", 0.0), ("prod", 1.0), ("max", -np.inf), ("min", np.inf)):
        out = prog.run(reduce_kernel(op, "f32", 2, 1), [x])[0]
        np.testing.assert_array_equal(out, np.full(3, ident, np.float32))
    out = prog.run(reduce_kernel("sum", "f32", 2, 1), [np.ones((0, 4), np.float32)])[0]
    assert out.shape == (0,)


def test_bool_small_int_and_half_accumulators(prog):
    x = rng.random((5, 80)) > 0.7
    x[0] = False
    x[1] = True
    np.testing.assert_array_equal(prog.run(reduce_kernel("max", "bool", 2, 1), [x])[0],
                                  x.any(1))
    np.testing.assert_array_equal(prog.run(reduce_kernel("min", "bool", 2, 1), [x])[0],
                                  x.all(1))
    cnt = reduce_kernel("sum", "bool", 2, 1, acc="i64")
    np.testing.assert_array_equal(prog.run(cnt, [x])[0], x.sum(1))
    h = rng.normal(size=(4, 300)).astype(np.float16)
    k = reduce_kernel("sum", "f16", 2, 1, acc="f32")
    np.testing.assert_allclose(prog.run(k, [h])[0], h.astype(np.float64).sum(1), rtol=1e-5)
    i8 = rng.integers(-128, 128, (3, 100)).astype(np.int8)  # sum wraps in 8 bits
    np.testing.assert_array_equal(prog.run(reduce_kernel("sum", "i8", 2, 1), [i8])[0],
                                  i8.sum(1, dtype=np.int8))
    u8 = rng.integers(0, 4, (3, 40)).astype(np.uint8)
    np.testing.assert_array_equal(prog.run(reduce_kernel("prod", "u8", 2, 1), [u8])[0],
                                  u8.prod(1, dtype=np.uint8))


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
def test_softmax_like_two_kernels(prog, shape):
    x = rng.normal(0, 5, shape).astype(np.float32)
    k1, k2 = _softmax_kernels()
    (m,) = prog.run(k1, [x])
    mb = np.broadcast_to(m[:, None], x.shape)
    s, lse = prog.run(k2, [x, mb])
    ref_m = x.max(1)
    ref_s = np.exp(x.astype(np.float64) - ref_m[:, None]).sum(1)
    np.testing.assert_array_equal(m, ref_m)
    np.testing.assert_allclose(s, ref_s, rtol=1e-5)
    np.testing.assert_allclose(lse, np.log(ref_s) + ref_m, rtol=1e-5, atol=1e-6)
    xt = np.ascontiguousarray(x.T).T  # same through the strided variants
    (m2,) = prog.run(k1, [xt])
    s2, _ = prog.run(k2, [xt, mb])
    np.testing.assert_array_equal(m2, ref_m)
    np.testing.assert_allclose(s2, ref_s, rtol=1e-5)


def test_multiple_reductions_and_outputs(prog):
    x = rng.normal(size=(6, 7, 11)).astype(np.float64)
    mean_o, var_o, amax = prog.run(_moments_kernel(), [x])
    np.testing.assert_allclose(mean_o, x.mean((1, 2)), rtol=1e-12)
    np.testing.assert_allclose(var_o, x.var((1, 2)), rtol=1e-10)
    np.testing.assert_array_equal(amax, np.abs(x).max((1, 2)))


def test_epilogue_loads_flat_and_broadcast(prog):
    x = rng.normal(size=(9, 50)).astype(np.float32)
    b = np.broadcast_to(rng.normal(size=(9, 1)).astype(np.float32), x.shape)
    a, m = prog.run(_epilogue_kernel(), [x, b])
    s = x.astype(np.float64).sum(1)
    np.testing.assert_allclose(a, s + x[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m, s * b[:, 0], rtol=1e-5, atol=1e-5)


def test_full_reduction_to_scalar(prog):
    x = rng.normal(size=(10, 10, 10)).astype(np.float32)
    out = prog.run(reduce_kernel("sum", "f32", 3, 3), [x])[0]
    assert out.shape == ()
    np.testing.assert_allclose(out, x.astype(np.float64).sum(), rtol=1e-5, atol=1e-4)
