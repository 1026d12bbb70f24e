"""More compare.py workloads: reductions, matmul, the digits CNN epoch, the varlen LSTM epoch,
and the numba version of the fused chain. Each ``bench_*`` returns result sections
(title, {system: stats}, reference system) for compare.py's report.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import models
import numpy as np
import timing

import tracejit as tj

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    import jax
    import jax.numpy as jnp
except ImportError:  # pragma: no cover
    jax = None
try:
    import numba
except ImportError:  # pragma: no cover
    numba = None

Section = tuple[str, dict[str, dict[str, float]], str]


def _check(ref: Any, got: Any, what: str) -> None:
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(ref, np.float64),
                               rtol=2e-3, atol=1e-3, err_msg=what)


def _systems(tj_fn: Callable, np_fn: Callable, torch_fn: Callable | None,
             jax_fn: Callable | None, arrays: list[np.ndarray]) -> dict[str, Callable]:
    """tracejit (jit, eager), numpy, torch (eager, compile) and jax.jit on the same inputs,
    each checked against numpy once."""
    ref = np_fn(*arrays)
    xs = [tj.tensor(a) for a in arrays]
    f = tj.jit(tj_fn)
    _check(ref, f(*xs).numpy(), "tracejit.jit")
    systems = {"tracejit.jit": lambda: f(*xs), "tracejit eager": lambda: tj_fn(*xs),
               "numpy": lambda: np_fn(*arrays)}
    if torch is not None and torch_fn is not None:
        ts = [torch.from_numpy(a) for a in arrays]
        tc = torch.compile(torch_fn)
        _check(ref, tc(*ts).numpy(), "torch.compile")
        systems["torch eager"] = lambda: torch_fn(*ts)
        systems["torch.compile"] = lambda: tc(*ts)
    if jax is not None and jax_fn is not None:
        jf = jax.jit(jax_fn)
        js = [jnp.asarray(a) for a in arrays]
        _check(ref, jf(*js), "jax.jit")
        systems["jax.jit"] = lambda: jf(*js).block_until_ready()
    return systems


def _softmax(x: Any, lib: Any = None) -> Any:
    if lib is None:  # tracejit and torch tensors share the method names
        e = (x - x.amax(1, keepdim=True)).exp()
        return e / e.sum(1, keepdim=True)
    e = lib.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def bench_reductions(quick: bool) -> list[Section]:
    """Row softmax (two fused reductions), sum of squares, column mean."""
    rng = np.random.default_rng(2)
    x2 = rng.standard_normal((2048, 1024)).astype(np.float32)
    x1 = rng.standard_normal(1 << 22).astype(np.float32)
    cases = [
        ("row softmax, 2048x1024 float32", _softmax, lambda x: _softmax(x, np),
         _softmax, (lambda x: _softmax(x, jnp)) if jax else None, [x2]),
        ("sum of squares, 2^22 float32", lambda x: (x * x).sum(),
         lambda x: np.dot(x, x), lambda x: (x * x).sum(), lambda x: (x * x).sum(), [x1]),
        ("column mean, 2048x1024 float32", lambda x: x.mean(0), lambda x: x.mean(0),
         lambda x: x.mean(0), lambda x: x.mean(0), [x2]),
    ]
    out = []
    for title, f_tj, f_np, f_t, f_j, arrays in cases:
        systems = _systems(f_tj, f_np, f_t, f_j, arrays)
        out.append((title, timing.compare(systems, 7 if quick else 11, 0.05), "tracejit.jit"))
    return out


def bench_matmul(quick: bool) -> list[Section]:
    """A dense layer, relu(x @ w + b): BLAS product plus one fused epilogue kernel."""
    out = []
    for m, k, n in ((64, 64, 64), (512, 512, 512)) if not quick else ((512, 512, 512),):
        rng = np.random.default_rng(3)
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        systems = _systems(lambda x, w, b: (x @ w + b).relu(),
                           lambda x, w, b: np.maximum(x @ w + b, 0),
                           (lambda x, w, b: torch.relu(x @ w + b)) if torch else None,
                           (lambda x, w, b: jax.nn.relu(x @ w + b)) if jax else None,
                           [x, w, b])
        out.append((f"dense layer relu(x @ w + b), {m}x{k} @ {k}x{n} float32",
                    timing.compare(systems, 7 if quick else 11, 0.05), "tracejit.jit"))
    return out


if numba is not None:
    @numba.njit(parallel=True, fastmath=True)
    def _chain_numba_kernel(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
        for i in numba.prange(x.size):
            a, b = x[i], y[i]
            s = np.float32(1) / (np.float32(1) + np.exp(-a))
            out[i] = (np.tanh(a * b + np.float32(0.5)) * s - max(b, np.float32(0))
                      * np.float32(0.1) + np.exp(-a * a))


def numba_chain(xn: np.ndarray, yn: np.ndarray) -> Callable[[], Any] | None:
    """numba's parallel loop version of compare.py's fused chain (None without numba)."""
    if numba is None:
        return None
    out = np.empty_like(xn)

    def run() -> np.ndarray:
        _chain_numba_kernel(xn, yn, out)
        return out

    return run


def bench_cnn_epoch(quick: bool) -> list[Section]:
    """One epoch of the digits CNN (22 Adam steps of batch 64): tracejit vs torch."""
    batches = models.digits_batches()
    systems = {"tracejit.jit": models.cnn_epoch_tracejit(batches, True),
               "tracejit eager": models.cnn_epoch_tracejit(batches, False)}
    if torch is not None:
        systems["torch eager"] = models.cnn_epoch_torch(batches, False)
        systems["torch.compile"] = models.cnn_epoch_torch(batches, True)
    return [(f"digits CNN, one training epoch ({len(batches)} steps, batch 64)",
             timing.compare(systems, 3 if quick else 7, 0.0), "tracejit.jit")]


def bench_lstm_epoch(quick: bool) -> list[Section]:
    """One epoch of the varlen LSTM (21 steps, lengths 10..50): every length replays."""
    batches = models.lstm_batches()
    systems = {"tracejit.jit": models.lstm_epoch_tracejit(batches, True),
               "tracejit eager": models.lstm_epoch_tracejit(batches, False)}
    if torch is not None:
        systems["torch eager (nn.LSTM)"] = models.lstm_epoch_torch(batches)
    return [("varlen LSTM 32->64, one training epoch (21 lengths 10..50, batch 16)",
             timing.compare(systems, 3 if quick else 7, 0.0), "tracejit.jit")]
