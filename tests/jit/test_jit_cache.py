"""Cache behaviour: signatures, retraces, kernel reuse across shapes, the on-disk cache."""
import os
import subprocess
import sys
import textwrap

import numpy as np

import tracejit as tj
from tracejit import codegen


def _chain(x, y):
    return (x * y + 0.5).tanh() * x.sigmoid() - y.relu() * 0.1 + (-(x * x)).exp()


def test_same_signature_does_not_retrace():
    f = tj.jit(_chain)
    x, y = tj.randn(64), tj.randn(64)
    f(x, y)
    f(x, y)
    f(tj.randn(64), tj.randn(64))
    info = f.cache_info()
    assert info.traces == 1 and info.hits == 2 and info.misses == 1
    assert info.miss_reasons == ["first call"]


def test_new_shape_retraces_but_compiles_no_kernel():
    f = tj.jit(_chain)
    f(tj.randn(64), tj.randn(64))
    compiled = f.cache_info().kernels_compiled + f.cache_info().kernels_loaded
    f(tj.randn(1000), tj.randn(1000))
    info = f.cache_info()
    assert info.traces == 2
    assert "shape (64,) -> (1000,)" in info.miss_reasons[1]
    # the kernel for the new shape is the same structure: neither compiled nor loaded again
    assert info.kernels_compiled + info.kernels_loaded == compiled


def test_dtype_and_requires_grad_changes_are_reported():
    f = tj.jit(lambda x: x * 2)
    f(tj.ones(3))
    f(tj.ones(3, dtype=tj.float64))
    f(tj.ones(3, requires_grad=True))
    reasons = f.cache_info().miss_reasons
    assert "dtype" in reasons[1] and "requires_grad" in reasons[2]


def test_captured_tensor_is_read_each_call():
    w = tj.ones(4)

    @tj.jit
    def f(x):
        return x * w

    x = tj.ones(4)
    np.testing.assert_array_equal(f(x).numpy(), np.ones(4))
    with tj.no_grad():
        w.mul_(3)  # an optimizer-style update between calls
    np.testing.assert_array_equal(f(x).numpy(), 3 * np.ones(4))
    assert f.cache_info().traces == 1


def test_non_tensor_arguments_are_part_of_the_key():
    f = tj.jit(lambda x, k: x * k)
    np.testing.assert_array_equal(f(tj.ones(2), 2.0).numpy(), [2, 2])
    np.testing.assert_array_equal(f(tj.ones(2), 3.0).numpy(), [3, 3])
    assert f.cache_info().traces == 2


def test_lru_bound():
    f = tj.jit(lambda x: x + 1, maxsize=2)
    for n in range(1, 5):
        f(tj.ones(n))
    assert f.cache_info().currsize == 2


_SCRIPT = textwrap.dedent("""
    import tracejit as tj
    from tracejit import codegen
    f = tj.jit(lambda x, y: ((x * y + 0.25).tanh() - y.exp() * 0.5).sigmoid())
    f(tj.ones(1000), tj.ones(1000))
    s = codegen.cache_stats()
    print(s["compiled"], s["disk_loads"])
""")


def _run(cache_dir):
    env = dict(os.environ, TRACEJIT_CACHE_DIR=str(cache_dir))
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True,
                         text=True, check=True)
    return [int(v) for v in out.stdout.split()]


def test_second_process_compiles_nothing(tmp_path):
    first = _run(tmp_path)
    assert first[0] >= 1
    second = _run(tmp_path)
    assert second == [0, first[0]]


def test_corrupted_cache_entry_is_recompiled(tmp_path):
    first = _run(tmp_path)
    files = [os.path.join(r, f) for r, _, fs in os.walk(tmp_path) for f in fs]
    assert files
    for path in files:
        with open(path, "r+b") as fh:
            data = fh.read()
            fh.seek(len(data) // 2)
            fh.write(b"\x00garbage\xff" * 4)
    again = _run(tmp_path)
    assert again[0] == first[0]  # recompiled, did not crash


def test_kernel_cache_is_shared_across_functions():
    codegen.clear_memory_cache()
    f = tj.jit(lambda x: (x * 2 + 1).exp())
    g = tj.jit(lambda z: (z * 2 + 1).exp())
    f(tj.ones(10))
    g(tj.ones(10))
    assert g.cache_info().kernels_compiled == 0
