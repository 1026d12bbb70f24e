"""Losses: torch oracle (values and gradients, all reductions and options), error messages,
and float64 finite-difference gradient checks that need no torch."""
from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import tracejit as tj
import tracejit.nn as nn
import tracejit.nn.functional as F

HAVE_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch (the oracle) is not installed")
F64 = {"rtol": 1e-10, "atol": 1e-12}
F32 = {"rtol": 1e-5, "atol": 1e-6}
REDUCTIONS = ["mean", "sum", "none"]

rng = np.random.default_rng(0)
LOGITS = rng.standard_normal((6, 5)) * 2
TARGET = np.array([1, 0, 4, 2, 2, 3])
WEIGHT = rng.random(5) + 0.2
PROBS = rng.random((6, 5)) * 0.98 + 0.01
SOFT = rng.dirichlet(np.ones(5), 6)
BIN = (rng.random((6, 5)) > 0.5).astype(np.float64)


def _run(lib, fn, arrays, grad_idx, device="cpu"):
    ts = []
    for i, a in enumerate(arrays):
        t = lib.tensor(a) if device == "cpu" else lib.tensor(a, device=device)
        if i in grad_idx:
            t.requires_grad_(True)
        ts.append(t)
    return ts, fn(lib, *ts)


def oracle(fn, *arrays, grad_idx=(0,), tol=F64, device="cpu") -> None:
    """fn(lib, *tensors) in both frameworks: same value, same gradients for grad_idx."""
    import torch

    tt, to = _run(torch, fn, arrays, grad_idx)
    jt, jo = _run(tj, fn, arrays, grad_idx, device)
    assert jo.device.type == device
    np.testing.assert_allclose(jo.detach().cpu().numpy(), to.detach().numpy(), **tol)
    assert tuple(jo.shape) == tuple(to.shape)
    w = np.random.default_rng(1).standard_normal(tuple(to.shape)).astype(arrays[0].dtype)
    to.backward(torch.tensor(w))
    jo.backward(tj.tensor(w, device=device))
    for i in grad_idx:
        np.testing.assert_allclose(jt[i].grad.cpu().numpy(), tt[i].grad.numpy(),
                                   err_msg=f"arg {i}", **tol)


def _F(lib):
    return lib.nn.functional


CASES = {
    "mse": (lambda L, x, t, r: _F(L).mse_loss(x, t, reduction=r), (LOGITS, SOFT), (0, 1)),
    "l1": (lambda L, x, t, r: _F(L).l1_loss(x, t, reduction=r), (LOGITS, SOFT), (0, 1)),
    "smooth_l1": (lambda L, x, t, r: _F(L).smooth_l1_loss(x, t, reduction=r, beta=0.7),
                  (LOGITS, SOFT), (0, 1)),
    "huber": (lambda L, x, t, r: _F(L).huber_loss(x, t, reduction=r, delta=0.6),
              (LOGITS, SOFT), (0, 1)),
    "ce": (lambda L, x, t, r: _F(L).cross_entropy(x, t, reduction=r), (LOGITS, TARGET), (0,)),
    "ce_weight_ignore": (lambda L, x, t, w, r: _F(L).cross_entropy(
        x, t, w, ignore_index=2, reduction=r), (LOGITS, TARGET, WEIGHT), (0,)),
    "ce_smoothing": (lambda L, x, t, r: _F(L).cross_entropy(
        x, t, ignore_index=4, label_smoothing=0.15, reduction=r), (LOGITS, TARGET), (0,)),
    "ce_smoothing_weight": (lambda L, x, t, w, r: _F(L).cross_entropy(
        x, t, w, ignore_index=0, label_smoothing=0.3, reduction=r),
        (LOGITS, TARGET, WEIGHT), (0,)),
    "ce_probs": (lambda L, x, t, r: _F(L).cross_entropy(x, t, reduction=r), (LOGITS, SOFT),
                 (0, 1)),
    "ce_probs_weight_smoothing": (lambda L, x, t, w, r: _F(L).cross_entropy(
        x, t, w, label_smoothing=0.2, reduction=r), (LOGITS, SOFT, WEIGHT), (0, 1)),
    "ce_kdim": (lambda L, x, t, r: _F(L).cross_entropy(x, t, reduction=r, ignore_index=1),
                (rng.standard_normal((2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))), (0,)),
    "ce_3d": (lambda L, x, t, w, r: _F(L).cross_entropy(x, t, w, reduction=r),
              (rng.standard_normal((2, 3, 4)), rng.integers(0, 3, (2, 4)), WEIGHT[:3]), (0,)),
    "ce_unbatched": (lambda L, x, t, r: _F(L).cross_entropy(x, t, reduction=r),
                     (LOGITS[0], np.array(3)), (0,)),
    "nll_weight": (lambda L, x, t, w, r: _F(L).nll_loss(x, t, w, reduction=r),
                   (LOGITS, TARGET, WEIGHT), (0,)),
    "bce": (lambda L, x, t, r: _F(L).binary_cross_entropy(x, t, reduction=r), (PROBS, SOFT),
            (0, 1)),
    "bce_weight": (lambda L, x, t, w, r: _F(L).binary_cross_entropy(x, t, w, reduction=r),
                   (PROBS, BIN, rng.random((6, 5))), (0,)),
    "bce_logits": (lambda L, x, t, r: _F(L).binary_cross_entropy_with_logits(
        x, t, reduction=r), (LOGITS, SOFT), (0, 1)),
    "bce_logits_pos_weight": (lambda L, x, t, w, pw, r: _F(L).binary_cross_entropy_with_logits(
        x, t, w, pos_weight=pw, reduction=r),
        (LOGITS, SOFT, rng.random((6, 5)), rng.random(5) * 3), (0, 1)),
    "kl_div": (lambda L, x, t, r: _F(L).kl_div(x, t, reduction=r), (LOGITS, SOFT), (0, 1)),
    "kl_div_log_target": (lambda L, x, t, r: _F(L).kl_div(x, t, reduction=r, log_target=True),
                          (LOGITS, np.log(SOFT)), (0, 1)),
}


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_loss_matches_torch(name: str, reduction: str, device: str) -> None:
    fn, arrays, grad_idx = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle(lambda L, *ts: fn(L, *ts, reduction), *arrays, grad_idx=grad_idx, device=device)
        arrays32 = tuple(a.astype(np.float32) if a.dtype == np.float64 else a for a in arrays)
        oracle(lambda L, *ts: fn(L, *ts, reduction), *arrays32, grad_idx=grad_idx, tol=F32,
               device=device)


@needs_torch
def test_edge_values_match_torch() -> None:
    # exact 0 and 1 probabilities (logs clamped at -100), logits of 0 and large magnitude
    probs = np.array([0.0, 1.0, 0.5, 1e-30, 1 - 1e-12])
    target = np.array([0.0, 1.0, 1.0, 1.0, 0.0])
    oracle(lambda L, x, t: _F(L).binary_cross_entropy(x, t, reduction="sum"), probs, target,
           tol={"rtol": 1e-8, "atol": 1e-10})
    logits = np.array([0.0, -800.0, 800.0, 30.0, -30.0])
    oracle(lambda L, x, t: _F(L).binary_cross_entropy_with_logits(x, t, reduction="sum"),
           logits, target)
    oracle(lambda L, x, t: _F(L).cross_entropy(x, t), np.array([[1000.0, -1000.0, 0.0]]),
           np.array([1]))
    # every target ignored: torch's mean is 0/0 = nan
    import torch

    t = torch.nn.functional.cross_entropy(torch.tensor(LOGITS), torch.full((6,), -100))
    j = F.cross_entropy(tj.tensor(LOGITS), tj.full((6,), -100, dtype=tj.int64))
    assert np.isnan(t.item()) and np.isnan(j.item())


@needs_torch
def test_loss_modules_match_functional_and_torch() -> None:
    import torch

    w = tj.tensor(WEIGHT)
    pairs = [
        (nn.CrossEntropyLoss(weight=w, ignore_index=2, label_smoothing=0.1),
         torch.nn.CrossEntropyLoss(weight=torch.tensor(WEIGHT), ignore_index=2,
                                   label_smoothing=0.1), LOGITS, TARGET),
        (nn.NLLLoss(reduction="sum"), torch.nn.NLLLoss(reduction="sum"), LOGITS, TARGET),
        (nn.MSELoss(), torch.nn.MSELoss(), LOGITS, SOFT),
        (nn.L1Loss(reduction="none"), torch.nn.L1Loss(reduction="none"), LOGITS, SOFT),
        (nn.BCELoss(), torch.nn.BCELoss(), PROBS, SOFT),
        (nn.BCEWithLogitsLoss(pos_weight=tj.tensor(WEIGHT)),
         torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(WEIGHT)), LOGITS, SOFT),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), LOGITS, SOFT),
        (nn.HuberLoss(delta=2.0), torch.nn.HuberLoss(delta=2.0), LOGITS, SOFT),
        (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"),
         LOGITS, SOFT),
    ]
    for jm, tm, x, t in pairs:
        jo, to = jm(tj.tensor(x), tj.tensor(t)), tm(torch.tensor(x), torch.tensor(t))
        np.testing.assert_allclose(jo.numpy(), to.numpy(), **F64)
        assert list(jm.state_dict()) == list(tm.state_dict())
        assert repr(jm) == repr(tm)
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert F.cross_entropy(tj.tensor(LOGITS, requires_grad=True),
                           tj.tensor(TARGET)).grad_fn.name() == "NllLossBackward0"


@needs_torch
def test_errors_match_torch() -> None:
    import torch

    def both(fn, *arrays, exc):
        with pytest.raises(exc) as te:
            fn(torch, *[torch.tensor(a) for a in arrays])
        with pytest.raises(exc) as je:
            fn(tj, *[tj.tensor(a) for a in arrays])
        assert str(je.value) == str(te.value).replace("torch.", "tracejit.")

    both(lambda L, x, t: _F(L).cross_entropy(x, t), LOGITS, TARGET[:4], exc=ValueError)
    both(lambda L, x, t: _F(L).cross_entropy(x, t, reduction="avg"), LOGITS, TARGET,
         exc=ValueError)
    both(lambda L, x, t: _F(L).binary_cross_entropy(x, t), PROBS, SOFT[:, :3], exc=ValueError)
    both(lambda L, x, t: _F(L).binary_cross_entropy_with_logits(x, t), LOGITS, SOFT[:3],
         exc=ValueError)
    both(lambda L, x, t: _F(L).binary_cross_entropy(x, t), LOGITS, SOFT, exc=RuntimeError)
    both(lambda L, x, t: _F(L).nll_loss(x, t), LOGITS, TARGET + 3, exc=IndexError)
    both(lambda L, x, t: _F(L).cross_entropy(x, t, label_smoothing=1.5), LOGITS, TARGET,
         exc=RuntimeError)
    both(lambda L, x, t: _F(L).cross_entropy(x, t), LOGITS, TARGET.astype(np.int32),
         exc=RuntimeError)
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(tj.tensor(LOGITS), tj.tensor(SOFT[:1]))


# ---- finite differences (no torch) -----------------------------------------------------------

def fd_check(fn, x: np.ndarray, eps: float = 1e-6) -> None:
    """d sum(w * fn(x)) / dx by central differences against tracejit's backward (float64)."""
    xt = tj.tensor(x, requires_grad=True)
    out = fn(xt)
    w = np.random.default_rng(5).standard_normal(tuple(out.shape))
    (out * tj.tensor(w)).sum().backward()
    num = np.zeros_like(x)
    flat = x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = float((fn(tj.tensor(x)) * tj.tensor(w)).sum())
        flat[i] = old - eps
        lo = float((fn(tj.tensor(x)) * tj.tensor(w)).sum())
        flat[i] = old
        num.reshape(-1)[i] = (hi - lo) / (2 * eps)
    np.testing.assert_allclose(xt.grad.numpy(), num, rtol=1e-6, atol=1e-6)


FD = {
    "cross_entropy": lambda x: F.cross_entropy(x, tj.tensor(TARGET[:3]), tj.tensor(WEIGHT),
                                               label_smoothing=0.2, ignore_index=0),
    "cross_entropy_probs": lambda x: F.cross_entropy(x, tj.tensor(SOFT[:3]), reduction="none"),
    "nll": lambda x: F.nll_loss(x, tj.tensor(TARGET[:3]), reduction="none"),
    "bce": lambda x: F.binary_cross_entropy(x.sigmoid(), tj.tensor(SOFT[:3])),
    "bce_logits": lambda x: F.binary_cross_entropy_with_logits(
        x, tj.tensor(SOFT[:3]), pos_weight=tj.tensor(WEIGHT), reduction="sum"),
    "mse": lambda x: F.mse_loss(x, tj.tensor(SOFT[:3])),
    "l1": lambda x: F.l1_loss(x, tj.tensor(SOFT[:3]), reduction="sum"),
    "smooth_l1": lambda x: F.smooth_l1_loss(x, tj.tensor(SOFT[:3]), beta=0.5),
    "huber": lambda x: F.huber_loss(x, tj.tensor(SOFT[:3]), reduction="none"),
    "kl_div": lambda x: F.kl_div(x.log_softmax(1), tj.tensor(SOFT[:3]), reduction="batchmean"),
}


@pytest.mark.parametrize("name", list(FD))
def test_finite_difference_gradients(name: str) -> None:
    fd_check(FD[name], LOGITS[:3].copy())


def test_target_and_pos_weight_gradients_by_finite_differences() -> None:
    x = tj.tensor(LOGITS[:2])
    fd_check(lambda t: F.binary_cross_entropy_with_logits(x, t, pos_weight=tj.tensor(WEIGHT)),
             SOFT[:2].copy())
    fd_check(lambda pw: F.binary_cross_entropy_with_logits(x, tj.tensor(SOFT[:2]),
                                                           pos_weight=pw), WEIGHT.copy())
    fd_check(lambda t: F.binary_cross_entropy(tj.tensor(PROBS[:2]), t), SOFT[:2].copy())


def test_second_order_gradient_of_cross_entropy() -> None:
    x = tj.tensor(LOGITS[:2].copy(), requires_grad=True)
    t = tj.tensor(TARGET[:2])
    (g,) = tj.autograd.grad(F.cross_entropy(x, t), x, create_graph=True)
    # d/dx of sum(g * v) equals the Hessian-vector product; check it by differences of g
    v = np.random.default_rng(2).standard_normal(x.shape)
    (hv,) = tj.autograd.grad((g * tj.tensor(v)).sum(), x)
    eps = 1e-6

    def grad_at(a):
        xa = tj.tensor(a, requires_grad=True)
        F.cross_entropy(xa, t).backward()
        return xa.grad.numpy()

    num = (grad_at(LOGITS[:2] + eps * v) - grad_at(LOGITS[:2] - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), num, rtol=1e-5, atol=1e-7)
