"""The one oracle helper of the core suite (tinygrad's helper_test_op, micrograd style).

``check_op(fn, *arrays)`` runs ``fn(lib, *tensors)`` with ``lib`` = tracejit and ``lib`` = torch
on the same numpy inputs and compares forward values, dtypes and shapes, then the gradients of
a random-weighted sum of the outputs (``out.backward(w)`` is exactly d(sum(w * out))/d(input)).

``fd_grad_check(fn, *arrays)`` needs no torch: central finite differences in float64 with
eps = 1e-6 against tracejit's gradient, passing when |numeric - analytic| <= 1e-6 + 1e-6 *
|analytic| elementwise (the default ``atol``/``rtol``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import tracejit

FD_EPS = 1e-6
FD_ATOL = 1e-6
FD_RTOL = 1e-6


# ---- layouts --------------------------------------------------------------------------------

def clone_layout(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` with the same strides (transposed, stepped and expanded views survive).

    The memory spanned by ``a`` (first to last element) is copied and viewed with a's strides;
    zero-stride (expanded) copies stay read-only like ``np.broadcast_to``'s result.
    """
    if not isinstance(a, np.ndarray) or a.ndim == 0 or a.size == 0 or a.flags.c_contiguous:
        return np.array(a, copy=True)
    item = a.itemsize
    if any(s < 0 or s % item for s in a.strides):
        return np.array(a, copy=True)
    span = sum((n - 1) * (s // item) for n, s in zip(a.shape, a.strides)) + 1
    flat = np.lib.stride_tricks.as_strided(a, shape=(span,), strides=(item,))
    buf = np.array(flat, copy=True)
    out = np.lib.stride_tricks.as_strided(buf, shape=a.shape, strides=a.strides,
                                          writeable=0 not in a.strides)
    assert np.array_equal(out, a, equal_nan=True)
    return out


def tj_input(a: Any, requires_grad: bool = False, device: str = "cpu") -> Any:
    """A tracejit tensor over a private copy of ``a`` that keeps a's layout (non-arrays pass)."""
    if not isinstance(a, np.ndarray):
        return a
    t = tracejit.from_numpy(clone_layout(a))
    if device != "cpu":
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def torch_input(torch: Any, a: Any, requires_grad: bool = False) -> Any:
    if not isinstance(a, np.ndarray):
        return a
    t = torch.from_numpy(np.array(a, copy=True, order="C"))  # ascontiguousarray: 0-d→1-d
    if requires_grad:
        t.requires_grad_(True)
    return t


# ---- output normalisation -------------------------------------------------------------------

def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flat(o))
        return res
    return [out]


def _np(t: Any) -> np.ndarray:
    """Values of a tracejit or torch tensor (or a number) as a numpy array."""
    if hasattr(t, "detach"):
        t = t.detach()
        if hasattr(t, "cpu"):
            t = t.cpu()
        return np.asarray(t.numpy())
    return np.asarray(t)


def dtype_name(d: Any) -> str:
    """'float32' for tracejit.float32, torch.float32 and np.float32 alike."""
    s = str(d)
    for prefix in ("tracejit.", "torch."):
        if s.startswith(prefix):
            return s[len(prefix):]
    return np.dtype(d).name


def assert_close(actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float,
                 what: str) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind in "fc" or expected.dtype.kind in "fc":
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                                   atol=atol, rtol=rtol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def _wants_grad(a: Any, requires_grad: Any, i: int, grad: bool) -> bool:
    if not grad or not isinstance(a, np.ndarray) or a.dtype.kind != "f":
        return False
    if requires_grad is None:
        return True
    if isinstance(requires_grad, bool):
        return requires_grad
    return bool(requires_grad[i])


# ---- the oracle helper ----------------------------------------------------------------------

def check_op(
    fn: Callable[..., Any],
    *arrays: Any,
    requires_grad: bool | Sequence[bool] | None = None,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    grad: bool = True,
    grad_atol: float | None = None,
    grad_rtol: float | None = None,
    check_dtype: bool = True,
    seed: int = 0,
    device: str = "cpu",
) -> Any:
    """Run ``fn(lib, *tensors)`` in tracejit and torch; compare values, dtypes, shapes, grads.

    ``arrays`` are numpy arrays (made into tensors; non-contiguous layouts are kept for
    tracejit) or anything else (passed to ``fn`` unchanged). ``requires_grad``: None means
    every floating array, else one bool for all or one per argument. Gradients are compared
    after backward of ``sum(w * out)`` with random w, for every floating output that requires
    grad. Returns tracejit's output. Without torch the tracejit side still runs, then the test
    is skipped.
    """
    rg = [_wants_grad(a, requires_grad, i, grad) for i, a in enumerate(arrays)]
    tj_args = [tj_input(a, r, device) for a, r in zip(arrays, rg)]
    tj_out = fn(tracejit, *tj_args)
    torch = pytest.importorskip("torch")
    t_args = [torch_input(torch, a, r) for a, r in zip(arrays, rg)]
    t_out = fn(torch, *t_args)

    tj_outs, t_outs = _flat(tj_out), _flat(t_out)
    assert len(tj_outs) == len(t_outs), f"{len(tj_outs)} outputs, torch gives {len(t_outs)}"
    for k, (a, b) in enumerate(zip(tj_outs, t_outs)):
        is_t = isinstance(b, torch.Tensor)
        assert isinstance(a, tracejit.Tensor) == is_t, f"output {k}: {type(a)} vs {type(b)}"
        if not is_t:
            assert a == b, f"output {k}: {a!r} != {b!r}"
            continue
        assert tuple(a.shape) == tuple(b.shape), f"output {k}: shape {a.shape} vs {b.shape}"
        assert a.device.type == device, f"output {k}: on {a.device}, expected {device}"
        assert type(a.shape) is tracejit.Size
        if check_dtype:
            assert dtype_name(a.dtype) == dtype_name(b.dtype), \
                f"output {k}: dtype {a.dtype} vs {b.dtype}"
        assert_close(_np(a), _np(b), atol, rtol, f"forward output {k}")
        assert a.requires_grad == b.requires_grad, \
            f"output {k}: requires_grad {a.requires_grad} vs torch {b.requires_grad}"

    if not grad or not any(rg):
        return tj_out
    rng = np.random.default_rng(seed)
    tj_roots, tj_ws, t_roots, t_ws = [], [], [], []
    for a, b in zip(tj_outs, t_outs):
        if isinstance(b, torch.Tensor) and b.requires_grad and b.dtype.is_floating_point:
            w = rng.standard_normal(tuple(b.shape))
            tj_roots.append(a)
            tj_ws.append(tracejit.tensor(w, dtype=a.dtype, device=a.device))
            t_roots.append(b)
            t_ws.append(torch.tensor(w, dtype=b.dtype))
    if not t_roots:
        return tj_out
    tracejit.autograd.backward(tj_roots, tj_ws)
    torch.autograd.backward(t_roots, t_ws)
    gatol = atol if grad_atol is None else grad_atol
    grtol = rtol if grad_rtol is None else grad_rtol
    for i, (a, b) in enumerate(zip(tj_args, t_args)):
        if not rg[i]:
            continue
        if b.grad is None:
            assert a.grad is None, f"input {i}: torch has no grad, tracejit has one"
            continue
        assert a.grad is not None, f"input {i}: tracejit computed no gradient"
        assert dtype_name(a.grad.dtype) == dtype_name(b.grad.dtype), f"input {i}: grad dtype"
        assert_close(_np(a.grad), _np(b.grad), gatol, grtol, f"gradient of input {i}")
    return tj_out


# ---- finite differences ---------------------------------------------------------------------

def fd_grad_check(
    fn: Callable[..., Any],
    *arrays: Any,
    eps: float = FD_EPS,
    atol: float = FD_ATOL,
    rtol: float = FD_RTOL,
    requires_grad: bool | Sequence[bool] | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> None:
    """Compare tracejit's gradient of ``sum(w * fn(tracejit, *xs))`` with central differences.

    Inputs are converted to float64; ``fn`` must return one tensor. Works without torch.
    """
    xs = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) else a for a in arrays]
    rg = [_wants_grad(a, requires_grad, i, True) for i, a in enumerate(xs)]
    args = [tj_input(a, r, device) for a, r in zip(xs, rg)]
    out = fn(tracejit, *args)
    assert out.dtype is tracejit.float64, f"fd_grad_check needs float64 outputs, got {out.dtype}"
    assert out.device.type == device, f"output on {out.device}, expected {device}"
    w = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    out.backward(tracejit.tensor(w, device=out.device))

    def objective(vals: list) -> float:
        with tracejit.no_grad():
            o = fn(tracejit, *[tj_input(v, False, device) for v in vals])
        return float(np.sum(w * _np(o)))

    for i, x in enumerate(xs):
        if not rg[i]:
            continue
        analytic = args[i].grad
        assert analytic is not None, f"input {i}: no gradient"
        assert analytic.device.type == device, f"input {i}: gradient on {analytic.device}"
        analytic = _np(analytic)
        numeric = np.zeros_like(x)
        for idx in np.ndindex(*x.shape):
            plus, minus = [v.copy() if isinstance(v, np.ndarray) else v for v in xs], None
            minus = [v.copy() if isinstance(v, np.ndarray) else v for v in xs]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            numeric[idx] = (objective(plus) - objective(minus)) / (2 * eps)
        err = np.abs(numeric - analytic)
        bad = err > atol + rtol * np.abs(analytic)
        assert not bad.any(), (
            f"input {i}: finite differences disagree at {np.argwhere(bad)[:5].tolist()}\n"
            f"numeric={numeric}\nanalytic={analytic}"
        )
