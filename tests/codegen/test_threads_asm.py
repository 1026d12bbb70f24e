"""Threaded launches agree with single-threaded ones; generated code is vectorised."""

import re

import numpy as np
import pytest

from kernels import binary, cg, reduce_kernel

rng = np.random.default_rng(4)


@pytest.fixture
def many_threads():
    old_n = cg.get_num_threads()
    old_t = cg.set_parallel_threshold(1)
    cg.set_num_threads(4)
    yield
    cg.set_num_threads(old_n)
    cg.set_parallel_threshold(old_t)


def test_num_threads_api():
    old = cg.get_num_threads()
    cg.set_num_threads(3)
    assert cg.get_num_threads() == 3
    cg.set_num_threads(old)


def test_threaded_elementwise(many_threads):
    for shape in [(100_003,), (7, 3001), (2, 5, 999)]:
        a = rng.random(shape)
        b = rng.random(shape[::-1]).T  # strided variant, chunked on the linear index
        out = cg.run(binary("mul", "f64", len(shape)), [a, b])[0]
        np.testing.assert_array_equal(out, a * b)
        out = cg.run(binary("add", "f64", len(shape)), [a, a])[0]
        np.testing.assert_array_equal(out, a + a)


def test_threaded_reduction(many_threads):
    x = rng.random((257, 333)).astype(np.float32)
    out = cg.run(reduce_kernel("sum", "f32", 2, 1), [x])[0]
    np.testing.assert_allclose(out, x.astype(np.float64).sum(1), rtol=1e-5)
    xt = rng.random((333, 257)).astype(np.float32).T
    out = cg.run(reduce_kernel("max", "f32", 2, 1), [xt])[0]
    np.testing.assert_array_equal(out, xt.max(1))


def _packed(asm: str) -> list:
    return re.findall(r"\bv?(?:mul|add|fmadd\w*)ps\s+%[xyz]mm", asm)


def test_flat_kernel_is_vectorised():
    L0, L1 = cg.Load(0, "f32"), cg.Load(1, "f32")
    k = cg.Kernel("xy1", 1, ("f32", "f32"), outputs=(
        cg.Binary("add", cg.Binary("mul", L0, L1), cg.Const(1.0, "f32")),))
    asm = cg.assembly(k, ("flat", "flat"))
    assert _packed(asm), asm[:2000]
    assert re.search(r"%[yz]mm", asm) or re.search(r"mulps", asm)


def test_transcendental_kernel_is_vectorised():
    k = cg.Kernel("ex", 1, ("f32",), outputs=(cg.Unary("exp", cg.Load(0, "f32")),))
    asm = cg.assembly(k)
    assert _packed(asm)
    assert "call" not in re.sub(r"#.*", "", asm)  # no libm calls


def test_sum_reduction_is_vectorised():
    asm = cg.assembly(reduce_kernel("sum", "f32", 2, 1), ("flat",))
    assert re.search(r"\bv?addps\s+", asm)


def test_source_text():
    k = binary("add", "f32")
    assert "define void" in cg.source(k) and "fadd" in cg.source(k)
    assert "<" in cg.source(k, kind="llvm-opt")  # vector types after O3
    with pytest.raises(ValueError):
        cg.source(k, kind="cuda")
