"""Layout specialisation (flat / scalar / strided / rows / bcast), odd shapes, run/prepare."""

import numpy as np
import pytest

from kernels import binary, cg, unary

rng = np.random.default_rng(2)


def _fused(ndim):
    L0, L1 = cg.Load(0, "f32"), cg.Load(1, "f32")
    e = cg.Binary("add", cg.Binary("mul", L0, L1), cg.Unary("exp", L1))
    return cg.Kernel(f"fused{ndim}", ndim, ("f32", "f32"), outputs=(e, cg.Unary("neg", L0)))


def _check(x, y):
    x, y = np.broadcast_arrays(x, y)
    out = cg.run(_fused(x.ndim), [x, y])
    np.testing.assert_allclose(out[0], x * y + np.exp(y), rtol=1e-6)
    np.testing.assert_array_equal(out[1], -x)
    assert out[0].flags.c_contiguous and out[0].shape == x.shape


def test_classify():
    a = np.ones((3, 4), np.float32)
    assert cg.classify(a) == "flat"
    assert cg.classify(np.broadcast_to(np.float32(2), (3, 4))) == "scalar"
    assert cg.classify(a.T) == "strided"
    assert cg.classify(np.broadcast_to(a[:, :1], (3, 4))) == "bcast"  # a column, broadcast
    assert cg.classify(np.ones((3, 8), np.float32)[:, :4]) == "rows"  # contiguous rows
    assert cg.classify(np.float32(1.0) * np.ones((), np.float32)) == "scalar"


@pytest.mark.parametrize("case", ["flat", "scalar", "row", "col", "transposed", "sliced",
                                  "negative", "3d"])
def test_layout_cases(case):
    if case == "flat":
        _check(rng.random((7, 13), np.float32), rng.random((7, 13), np.float32))
    elif case == "scalar":
        _check(rng.random((7, 13), np.float32), np.float32(0.5))
    elif case == "row":
        _check(rng.random((7, 13), np.float32), rng.random((13,), np.float32))
    elif case == "col":
        _check(rng.random((7, 13), np.float32), rng.random((7, 1), np.float32))
    elif case == "transposed":
        _check(rng.random((13, 7), np.float32).T, rng.random((7, 13), np.float32))
    elif case == "sliced":
        _check(rng.random((14, 30), np.float32)[::2, 1::3],
               rng.random((7, 10), np.float32))
    elif case == "negative":
        _check(rng.random((7, 13), np.float32)[::-1, ::-1], rng.random((7, 13), np.float32))
    else:
        _check(rng.random((4, 1, 6), np.float32),
               np.transpose(rng.random((6, 5, 4), np.float32), (2, 1, 0)))


def test_scalar_variant_hoists_and_broadcasts():
    k = _fused(2)
    x = np.broadcast_to(np.float32(3), (5, 6))
    y = np.broadcast_to(np.float32(2), (5, 6))
    out = cg.run(k, [x, y])
    np.testing.assert_allclose(out[0], np.full((5, 6), 6 + np.exp(2), np.float32))


def test_zero_d_and_empty():
    x = np.array(2.0, np.float32)
    out = cg.run(_fused(0), [x, x])
    assert out[0].shape == () and np.isclose(out[0], 4 + np.exp(2))
    for shape in [(0,), (3, 0), (0, 5)]:
        e = np.ones(shape, np.float32)
        out = cg.run(_fused(len(shape)), [e, e])
        assert out[0].shape == shape


def test_shape_kwarg_without_inputs():
    k = cg.Kernel("fill", 2, (), outputs=(cg.Const(1.5, "f32"),))
    out = cg.run(k, [], shape=(3, 4))
    np.testing.assert_array_equal(out[0], np.full((3, 4), 1.5, np.float32))


def test_outputs_given_and_in_place():
    x = rng.random(100).astype(np.float32)
    y = rng.random(100).astype(np.float32)
    ref = x * y
    cg.run(binary("mul", "f32"), [x, y], outputs=[x])
    np.testing.assert_array_equal(x, ref)


def test_prepare_fast_path():
    k = binary("add", "f64", ndim=2)
    p = cg.prepare(k, ("flat", "strided"))
    a = rng.random((4, 5))
    b = rng.random((5, 4)).T
    np.testing.assert_array_equal(p([a, b])[0], a + b)
    assert cg.prepare(k, ("flat", "strided")) is p
    out = np.empty((4, 5))
    p([a, b], [out])
    np.testing.assert_array_equal(out, a + b)


def test_errors():
    with pytest.raises(TypeError):
        cg.run(unary("neg", "f32"), [np.ones(3)])
    with pytest.raises(ValueError):
        cg.Kernel("bad", 1, ("f32",), outputs=(cg.Load(1, "f32"),))
    with pytest.raises(ValueError):
        cg.Unary("nope", cg.Load(0, "f32"))


def test_key_is_structural_and_stable():
    a, b = _fused(2), _fused(2)
    assert a.key() == b.key() and hash(a) == hash(b) and a == b
    assert a.key() != _fused(3).key()
    assert "exp(in1)" in a.pretty()


@pytest.mark.parametrize("nreduce", [0, 1, 2])
def test_rows_and_bcast_variants_equal_the_generic_strided_one(nreduce):
    """The last-dim stride classes change the code of the inner loop, never the result."""
    x = rng.random((5, 6, 40), np.float32)[:, :, 3:35]  # rows of 32 contiguous elements
    col = np.broadcast_to(rng.random((5, 6, 1), np.float32), x.shape)  # inner stride 0
    L0, L1 = cg.Load(0, "f32"), cg.Load(1, "f32")
    e = cg.Unary("exp", cg.Binary("sub", L0, L1))
    if nreduce:
        k = cg.Kernel("rsum", 3, ("f32", "f32"), nreduce,
                      (cg.Reduce("sum", e, "f32"), cg.Reduce("max", L1, "f32")),
                      outputs=(cg.ReduceRef(0, "f32"), cg.ReduceRef(1, "f32")))
    else:
        k = cg.Kernel("esub", 3, ("f32", "f32"), outputs=(e,))
    assert (cg.classify(x), cg.classify(col)) == ("rows", "bcast")
    fast = cg.prepare(k, ("rows", "bcast"))([x, col])
    slow = cg.prepare(k, ("strided", "strided"))([x, col])
    for f, s in zip(fast, slow):
        np.testing.assert_allclose(f, s, rtol=1e-6)
    ref = np.exp(x - col)
    axes = tuple(range(3 - nreduce, 3))
    np.testing.assert_allclose(fast[0], ref.sum(axes) if nreduce else ref, rtol=1e-5)
