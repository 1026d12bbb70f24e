"""Functions to benchmark with ``python -m tracejit.bench``, with their peer versions.

    python -m tracejit.bench examples/bench_targets.py:chain --shape 1048576 \\
        --compare numpy,torch,jax --plot chain.png
    python -m tracejit.bench examples/bench_targets.py:softmax --shape 4096x1024 --kernels
    python -m tracejit.bench examples/bench_targets.py:dense --shape 512x512 --compare numpy,torch

Each function ``f`` is written against tracejit (``import tracejit as torch`` style, so the
same code also runs on torch tensors); ``f_numpy``, ``f_jax`` and ``f_numba`` are the peer
versions the CLI looks for by name.
"""
from __future__ import annotations

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError:  # pragma: no cover - jax is optional
    jax = None
try:
    import numba
except ImportError:  # pragma: no cover - numba is optional
    numba = None


# ---- a fused elementwise chain: memory-bound, one kernel under tracejit.jit --------------

def chain(x, y):
    return (x * y + 0.5).tanh() * x.sigmoid() - y.relu() * 0.1 + (-(x * x)).exp()


def chain_numpy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (np.tanh(x * y + 0.5) * (1 / (1 + np.exp(-x))) - np.maximum(y, 0) * 0.1
            + np.exp(-x * x))


def chain_jax(x, y):
    return jnp.tanh(x * y + 0.5) * jax.nn.sigmoid(x) - jax.nn.relu(y) * 0.1 + jnp.exp(-x * x)


if numba is not None:
    @numba.njit(parallel=True, fastmath=True)
    def _chain_numba(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
        one, half, tenth = np.float32(1), np.float32(0.5), np.float32(0.1)
        for i in numba.prange(x.size):
            a, b = x[i], y[i]
            s = one / (one + np.exp(-a))
            out[i] = np.tanh(a * b + half) * s - max(b, np.float32(0)) * tenth + np.exp(-a * a)

    def chain_numba(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        _chain_numba(x.ravel(), y.ravel(), out.ravel())
        return out


# ---- a row softmax: two reductions with fused prologue/epilogue ---------------------------

def softmax(x):
    e = (x - x.amax(1, keepdim=True)).exp()
    return e / e.sum(1, keepdim=True)


def softmax_numpy(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def softmax_jax(x):
    e = jnp.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# ---- a dense layer: BLAS matmul plus a fused bias/activation kernel -----------------------

def dense(x, w):
    return (x @ w + 0.1).relu()


def dense_numpy(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.maximum(x @ w + np.float32(0.1), 0)


def dense_jax(x, w):
    return jax.nn.relu(x @ w + 0.1)


# ---- a full reduction -----------------------------------------------------------------

def sumsq(x):
    return (x * x).sum()


def sumsq_numpy(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.dot(x.ravel(), x.ravel()), dtype=x.dtype)


def sumsq_jax(x):
    return (x * x).sum()
