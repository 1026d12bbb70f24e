"""Fused chains, reductions, matmul, a training step and compile latency under the JIT."""
import numpy as np
import pytest

import tracejit as tj
from tracejit import codegen


def chain(x, y):
    return (x * y + 0.5).tanh() * x.sigmoid() - y.relu() * 0.1 + (-(x * x)).exp()


@pytest.fixture(params=[1 << 16, 1 << 20])
def xy(request):
    rng = np.random.default_rng(0)
    n = request.param
    return (tj.tensor(rng.standard_normal(n, dtype=np.float32)),
            tj.tensor(rng.standard_normal(n, dtype=np.float32)))


@pytest.mark.benchmark(group="chain")
def test_chain_jit(benchmark, xy):
    f = tj.jit(chain)
    benchmark(f, *xy)


@pytest.mark.benchmark(group="chain")
def test_chain_eager(benchmark, xy):
    benchmark(chain, *xy)


@pytest.mark.benchmark(group="reduction")
def test_softmax_like_jit(benchmark):
    x = tj.randn(256, 1024)
    f = tj.jit(lambda v: (v - v.amax(1, keepdim=True)).exp().sum(1))
    benchmark(f, x)


@pytest.mark.benchmark(group="matmul")
def test_matmul_bias_relu_jit(benchmark):
    x, w, b = tj.randn(256, 512), tj.randn(512, 512), tj.randn(512)
    f = tj.jit(lambda x, w, b: (x @ w + b).relu())
    benchmark(f, x, w, b)


@pytest.mark.benchmark(group="jit-overhead")
def test_jit_overhead_16(benchmark):
    x = tj.ones(16)
    f = tj.jit(lambda v: (v + 1) * 2)
    benchmark(f, x)


@pytest.mark.benchmark(group="compile-latency")
def test_first_call_latency(benchmark, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEJIT_CACHE", "0")
    x, y = tj.randn(1024), tj.randn(1024)

    def first_call():
        codegen.clear_memory_cache()
        tj.jit(lambda a, b: chain(a, b) * 1.0)(x, y)

    benchmark.pedantic(first_call, rounds=5, iterations=1)
