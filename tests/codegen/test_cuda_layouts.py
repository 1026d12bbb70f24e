"""Layouts (flat / scalar / strided), broadcasting, float4 path, odd shapes, the run API."""

import numpy as np
import pytest
from test_cuda_common import cuda, nvcc_check, sim, sim_env  # noqa: F401
from test_layouts import _fused

from kernels import binary, cg, unary

rng = np.random.default_rng(12)
R = lambda *s: rng.random(s, np.float32)  # noqa: E731
CASES = {
    "flat": lambda: (R(7, 13), R(7, 13)),
    "scalar": lambda: (R(7, 13), np.float32(0.5)),
    "row": lambda: (R(7, 13), R(13)),
    "col": lambda: (R(7, 13), R(7, 1)),
    "transposed": lambda: (R(13, 7).T, R(7, 13)),
    "sliced": lambda: (R(14, 30)[::2, 1::3], R(7, 10)),
    "negative": lambda: (R(7, 13)[::-1, ::-1], R(7, 13)),
    "3d": lambda: (R(4, 1, 6), np.transpose(R(6, 5, 4), (2, 1, 0))),
    "big": lambda: (R(3, 5000), R(5000)),  # many grid-stride iterations per thread
}
ARRAYS = {name: np.broadcast_arrays(*make()) for name, make in CASES.items()}


def _variant(x, y):
    k = _fused(x.ndim)
    return k, tuple(cuda.classify(a.shape, [s // a.itemsize for s in a.strides])
                    for a in (x, y))


@pytest.fixture(scope="module")
def prog(sim):  # noqa: F811
    p = cuda.Program([_variant(*xy) for xy in ARRAYS.values()], sim)
    nvcc_check(p.source)
    return p


def test_classify_matches_cpu():
    # the CPU splits "strided" by the last dim's stride (any, 1: "rows", 0: "bcast")
    coarse = {"rows": "strided", "bcast": "strided"}
    for x, y in ARRAYS.values():
        for a in (x, y):
            cpu = cg.classify(a)
            assert cuda.classify(a.shape, [s // 4 for s in a.strides]) == coarse.get(cpu, cpu)
    assert cuda.classify((3, 0), (0, 1)) == "strided"
    assert cuda.classify((1, 1), (5, 7)) == "scalar"
    assert cuda.classify((4, 1, 6), (6, 99, 1)) == "flat"


@pytest.mark.parametrize("case", list(CASES))
def test_layout_cases(prog, case):
    x, y = ARRAYS[case]
    out = prog.run(_fused(x.ndim), [x, y])
    np.testing.assert_allclose(out[0], x * y + np.exp(y), rtol=1e-6)
    np.testing.assert_array_equal(out[1], -x)
    assert out[0].flags.c_contiguous and out[0].shape == x.shape


def test_float4_path_aligned_and_misaligned(sim):  # noqa: F811
    k = _fused(1)
    prog = cuda.Program([(k, ("flat", "flat")), (k, ("flat", "scalar")),
                         (k, ("scalar", "scalar"))], sim)
    for n in (1, 3, 4, 5, 1001):
        host = R(2, n + 1)
        base = cuda.DeviceArray.from_numpy(host, sim)
        for off in (0, 1):  # ptr + 4 bytes: the kernel must fall back to scalar code
            x = base.view((n,), (1,), off)
            y = base.view((n,), (1,), n + 1 + off)
            out = prog.launch(k, [x, y])
            a, b = host[0, off:off + n], host[1, off:off + n]
            np.testing.assert_allclose(out[0].numpy(), a * b + np.exp(b), rtol=1e-6)
            s = base.view((n,), (0,), 0)
            out = prog.launch(k, [x, s])
            np.testing.assert_allclose(out[1].numpy(), -a)
            np.testing.assert_allclose(out[0].numpy(), a * host[0, 0] + np.exp(host[0, 0]),
                                       rtol=1e-6)


def test_scalar_variant_broadcasts(prog):
    x = np.broadcast_to(np.float32(3), (5, 6))
    y = np.broadcast_to(np.float32(2), (5, 6))
    out = cuda.run(_fused(2), [x, y])
    np.testing.assert_allclose(out[0], np.full((5, 6), 6 + np.exp(2), np.float32))


def test_zero_d_and_empty(sim):  # noqa: F811
    x = np.array(2.0, np.float32)
    out = cuda.run(_fused(0), [x, x])
    assert out[0].shape == () and np.isclose(out[0], 4 + np.exp(2))
    cuda.Program([(_fused(0), ("strided", "flat"))], sim)  # odd but legal variant compiles
    for shape in [(0,), (3, 0), (0, 5)]:
        e = np.ones(shape, np.float32)
        out = cuda.run(_fused(len(shape)), [e, e])
        assert out[0].shape == shape and out[1].shape == shape


def test_shape_kwarg_without_inputs():
    k = cg.Kernel("fill", 2, (), outputs=(cg.Const(1.5, "f32"), cg.Const(-7, "i64")))
    out = cuda.run(k, [], shape=(3, 40))
    np.testing.assert_array_equal(out[0], np.full((3, 40), 1.5, np.float32))
    np.testing.assert_array_equal(out[1], np.full((3, 40), -7, np.int64))
    with pytest.raises(ValueError):
        cuda.run(k, [])


def test_outputs_given_and_in_place():
    x = rng.random(100).astype(np.float32)
    y = rng.random(100).astype(np.float32)
    ref = x * y
    res = cuda.run(binary("mul", "f32"), [x, y], outputs=[x])
    assert res[0] is x
    np.testing.assert_array_equal(x, ref)


def test_device_resident_chain(sim):  # noqa: F811
    """Two kernels of one program, the second reading the first's device output."""
    k1 = binary("add", "f64", ndim=2)
    k2 = unary("sqrt", "f64", ndim=2)
    a, b = rng.random((30, 40)), rng.random((40, 30)).T
    prog = cuda.Program([(k1, ("flat", "strided")), (k2, ("flat",))], sim)
    da, db = cuda.DeviceArray.from_numpy(a, sim), cuda.DeviceArray.from_numpy(b, sim)
    (s,) = prog.launch(k1, [da, db])
    out = cuda.DeviceArray.empty((30, 40), np.float64, sim)
    prog.launch(k2, [s], [out])
    np.testing.assert_array_equal(out.numpy(), np.sqrt(a + b))
    assert prog.source.count('extern "C" __global__') == 2
    with pytest.raises(KeyError):
        prog.launch(k2, [db])  # strided variant was not compiled into this program


def test_errors():
    with pytest.raises(TypeError):
        cuda.run(unary("neg", "f32"), [np.ones(3)])
    with pytest.raises(ValueError):
        cuda.run(unary("neg", "f32", ndim=2), [np.ones(3, np.float32)])
    with pytest.raises(ValueError):
        cuda.run(binary("add", "f32"), [np.ones(3, np.float32), np.ones(4, np.float32)])
    with pytest.raises(NotImplementedError):
        cuda.emit_module([binary("pow", "i32")])
