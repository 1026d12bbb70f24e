"""Reductions and matmul: tracejit.jit vs tracejit eager vs numpy vs torch, one group per
workload so `--benchmark-compare` lines the same workload up across commits."""
import numpy as np
import pytest

import tracejit as tj

RNG = np.random.default_rng(0)
X2 = RNG.standard_normal((2048, 1024)).astype(np.float32)
X1 = RNG.standard_normal(1 << 22).astype(np.float32)


def softmax(x):
    e = (x - x.amax(1, keepdim=True)).exp()
    return e / e.sum(1, keepdim=True)


def sumsq(x):
    return (x * x).sum()


def colmean(x):
    return x.mean(0)


CASES = {  # group: (tracejit/torch function, numpy function, input)
    "reduce-softmax-2048x1024": (softmax, lambda x: (lambda e: e / e.sum(1, keepdims=True))(
        np.exp(x - x.max(1, keepdims=True))), X2),
    "reduce-sumsq-4M": (sumsq, lambda x: np.dot(x, x), X1),
    "reduce-colmean-2048x1024": (colmean, lambda x: x.mean(0), X2),
}


def _params():
    out = []
    for group in CASES:
        for system in ("jit", "eager", "numpy", "torch"):
            out.append(pytest.param(group, system, id=f"{group}-{system}",
                                    marks=pytest.mark.benchmark(group=group)))
    return out


@pytest.mark.parametrize("group,system", _params())
def test_reduction(benchmark, group, system):
    fn, np_fn, x = CASES[group]
    if system == "numpy":
        benchmark(np_fn, x)
    elif system == "torch":
        torch = pytest.importorskip("torch")
        benchmark(fn, torch.from_numpy(x))
    else:
        t = tj.tensor(x)
        benchmark(tj.jit(fn) if system == "jit" else fn, t)


def dense(x, w, b):
    return (x @ w + b).relu()


@pytest.mark.parametrize("n", [64, 512])
@pytest.mark.parametrize("system", ["jit", "eager", "numpy", "torch"])
def test_dense(benchmark, n, system):
    benchmark.group = f"matmul-dense-{n}"
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, n, n)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    if system == "numpy":
        benchmark(lambda: np.maximum(x @ w + b, 0))
    elif system == "torch":
        torch = pytest.importorskip("torch")
        benchmark(lambda a, c, d: torch.relu(a @ c + d), *map(torch.from_numpy, (x, w, b)))
    else:
        args = [tj.tensor(a) for a in (x, w, b)]
        benchmark(tj.jit(dense) if system == "jit" else dense, *args)
