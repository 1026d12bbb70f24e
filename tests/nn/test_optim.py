"""Optimizers and schedulers against torch.optim, and a whole training step under the JIT.

Each optimizer config runs 10 steps in both frameworks from the same parameters with the
same gradient sequence; the parameters must agree after every step (float64, rtol 1e-6).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tracejit as tj
import tracejit.nn as nn
from tracejit.optim import lr_scheduler as tj_sched

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (2, 2, 3)]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.3, maximize=True)),
]


def _params(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES]


def _grads(step: int) -> list[np.ndarray]:
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(s) for s in SHAPES]


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_optimizer_matches_torch_each_step(name: str, kw: dict) -> None:
    init = _params()
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    jp = [tj.nn.Parameter(tj.tensor(a)) for a in init]
    topt = getattr(torch.optim, name)(tp, **kw)
    jopt = getattr(tj.optim, name)(jp, **kw)
    for step in range(10):
        for t, j, g in zip(tp, jp, _grads(step)):
            t.grad = torch.tensor(g)
            j.grad = tj.tensor(g)
        topt.step()
        jopt.step()
        for t, j in zip(tp, jp):
            np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-6,
                                       atol=1e-12, err_msg=f"step {step}")
    # state layout and values match torch's
    tsd, jsd = topt.state_dict(), jopt.state_dict()
    assert tsd["param_groups"] == jsd["param_groups"]
    assert tsd["state"].keys() == jsd["state"].keys()
    for k in tsd["state"]:
        assert list(tsd["state"][k]) == list(jsd["state"][k])
        for key, tv in tsd["state"][k].items():
            np.testing.assert_allclose(jsd["state"][k][key].numpy(), tv.numpy(), rtol=1e-6,
                                       atol=1e-12)


def test_float32_adam_matches_torch() -> None:
    init = [a.astype(np.float32) for a in _params(1)]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    jp = [tj.nn.Parameter(tj.tensor(a)) for a in init]
    topt, jopt = torch.optim.Adam(tp, lr=0.01), tj.optim.Adam(jp, lr=0.01)
    for step in range(10):
        for t, j, g in zip(tp, jp, _grads(step)):
            t.grad = torch.tensor(g.astype(np.float32))
            j.grad = tj.tensor(g.astype(np.float32))
        topt.step()
        jopt.step()
    for t, j in zip(tp, jp):
        np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert jopt.state[jp[0]]["step"].dtype is tj.float32


def test_param_without_grad_is_skipped_and_groups_have_own_lr() -> None:
    a, b = tj.nn.Parameter(tj.ones(2)), tj.nn.Parameter(tj.ones(2))
    opt = tj.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    a.grad = tj.ones(2)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 0.9])
    np.testing.assert_allclose(b.detach().numpy(), [1.0, 1.0])
    assert b not in opt.state
    b.grad = tj.ones(2)
    opt.step()
    np.testing.assert_allclose(b.detach().numpy(), [0.5, 0.5])
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[0]["momentum"] == 0.9


def test_zero_grad_set_to_none_and_zero() -> None:
    p = tj.nn.Parameter(tj.ones(3))
    opt = tj.optim.Adam([p])
    p.grad = tj.ones(3)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0, 0, 0])
    opt.zero_grad()
    assert p.grad is None


def test_argument_errors_match_torch() -> None:
    p = [tj.nn.Parameter(tj.ones(1))]
    tpar = [torch.nn.Parameter(torch.ones(1))]
    cases = [("SGD", dict(lr=-1.0)), ("SGD", dict(lr=0.1, momentum=-1)),
             ("SGD", dict(lr=0.1, nesterov=True)), ("Adam", dict(betas=(1.0, 0.9))),
             ("Adam", dict(eps=-1.0)), ("AdamW", dict(weight_decay=-1.0)),
             ("RMSprop", dict(alpha=-1.0))]
    for name, kw in cases:
        with pytest.raises(ValueError) as te:
            getattr(torch.optim, name)(tpar, **kw)
        with pytest.raises(ValueError) as je:
            getattr(tj.optim, name)(p, **kw)
        assert str(je.value) == str(te.value)
    with pytest.raises(ValueError, match="empty parameter list"):
        tj.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        tj.optim.SGD(p[0], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        tj.optim.SGD([{"params": p}, {"params": p}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        tj.optim.SGD([{"params": {p[0]}}], lr=0.1)


def test_state_dict_round_trip_continues_identically() -> None:
    init = _params(2)
    ref = [tj.nn.Parameter(tj.tensor(a)) for a in init]
    opt = tj.optim.Adam(ref, lr=0.01, amsgrad=True)
    for step in range(3):
        for p, g in zip(ref, _grads(step)):
            p.grad = tj.tensor(g)
        opt.step()
    sd = opt.state_dict()
    clone = [tj.nn.Parameter(p.detach().clone()) for p in ref]
    opt2 = tj.optim.Adam(clone, lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01
    assert opt2.state[clone[0]]["exp_avg"] is not opt.state[ref[0]]["exp_avg"]
    for step in range(3, 6):
        for p, q, g in zip(ref, clone, _grads(step)):
            p.grad, q.grad = tj.tensor(g), tj.tensor(g)
        opt.step()
        opt2.step()
    for p, q in zip(ref, clone):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_torch_optimizer_state_dict() -> None:
    init = _params(3)
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    topt = torch.optim.SGD(tp, lr=0.1, momentum=0.9)
    for step in range(2):
        for t, g in zip(tp, _grads(step)):
            t.grad = torch.tensor(g)
        topt.step()
    tsd = topt.state_dict()
    sd = {"state": {k: {n: tj.tensor(v.numpy()) for n, v in s.items()}
                    for k, s in tsd["state"].items()},
          "param_groups": tsd["param_groups"]}
    jp = [tj.nn.Parameter(tj.tensor(t.detach().numpy())) for t in tp]
    jopt = tj.optim.SGD(jp, lr=0.1, momentum=0.9)
    jopt.load_state_dict(sd)
    for t, j, g in zip(tp, jp, _grads(5)):
        t.grad, j.grad = torch.tensor(g), tj.tensor(g)
    topt.step()
    jopt.step()
    for t, j in zip(tp, jp):
        np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        jopt.load_state_dict({"state": {}, "param_groups": []})


def test_repr_matches_torch() -> None:
    tp = [torch.nn.Parameter(torch.ones(1))]
    jp = [tj.nn.Parameter(tj.ones(1))]
    assert repr(tj.optim.Adam(jp, lr=0.1)) == repr(torch.optim.Adam(tp, lr=0.1))
    assert repr(tj.optim.SGD(jp, lr=0.1)) == repr(torch.optim.SGD(tp, lr=0.1))


# ---- schedulers ---------------------------------------------------------------------------

SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (e + 1))),
    ("LinearLR", dict(start_factor=0.25, total_iters=4)),
]


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_scheduler_lr_sequence_matches_torch(name: str, kw: dict) -> None:
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    jopt = tj.optim.SGD([tj.nn.Parameter(tj.ones(1))], lr=0.1)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    js = getattr(tj_sched, name)(jopt, **kw)
    tl, jl = [], []
    for _ in range(14):
        topt.step()
        jopt.step()
        ts.step()
        js.step()
        tl.append(ts.get_last_lr()[0])
        jl.append(js.get_last_lr()[0])
    np.testing.assert_allclose(jl, tl, rtol=1e-12)
    assert jopt.param_groups[0]["lr"] == jl[-1]


def test_scheduler_warns_when_stepped_before_optimizer() -> None:
    opt = tj.optim.SGD([tj.nn.Parameter(tj.ones(1))], lr=0.1)
    sched = tj_sched.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_scheduler_state_dict_round_trip() -> None:
    opt = tj.optim.SGD([tj.nn.Parameter(tj.ones(1))], lr=0.1)
    s = tj_sched.CosineAnnealingLR(opt, T_max=4)
    for _ in range(3):
        opt.step()
        s.step()
    sd = s.state_dict()
    opt2 = tj.optim.SGD([tj.nn.Parameter(tj.ones(1))], lr=0.1)
    s2 = tj_sched.CosineAnnealingLR(opt2, T_max=4)
    s2.load_state_dict(sd)
    assert s2.last_epoch == 3 and math.isclose(s2.get_last_lr()[0], s.get_last_lr()[0])


# ---- a training step under the JIT ----------------------------------------------------------

def _model(seed: int) -> nn.Module:
    tj.manual_seed(seed)
    # BatchNorm after the nonlinearity: a bias just before it would get ~0 gradients, which
    # Adam amplifies to full steps of rounding noise
    # (float64: centered RMSprop's E[g^2] - E[g]^2 amplifies float32 rounding differences)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.BatchNorm1d(8),
                         nn.Linear(8, 3)).double()


@pytest.mark.parametrize("opt_name,kw", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("RMSprop", dict(lr=0.01, centered=True))])
def test_jitted_training_step_matches_eager(opt_name: str, kw: dict) -> None:
    rng = np.random.default_rng(0)
    xs = [tj.tensor(rng.standard_normal((5, 6))) for _ in range(5)]
    ys = [tj.tensor(rng.integers(0, 3, 5)) for _ in range(5)]
    loss_fn = nn.CrossEntropyLoss()

    def make_step(model: nn.Module, opt: tj.optim.Optimizer):
        def step(x: tj.Tensor, y: tj.Tensor) -> tj.Tensor:
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss.detach()
        return step

    me, mj = _model(0), _model(0)
    eager = make_step(me, getattr(tj.optim, opt_name)(me.parameters(), **kw))
    jitted = tj.jit(make_step(mj, getattr(tj.optim, opt_name)(mj.parameters(), **kw)))
    for i in range(5):
        le, lj = eager(xs[i], ys[i]), jitted(xs[i], ys[i])
        np.testing.assert_allclose(lj.numpy(), le.numpy(), rtol=1e-9)
        for (name, a), b in zip(me.state_dict().items(), mj.state_dict().values()):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-8, atol=1e-12,
                                       err_msg=f"{name} after step {i}")
    assert all(p.grad is None for p in mj.parameters())
    info = jitted.cache_info()
    assert info.traces == 1 and info.hits == 4


def test_jitted_batchnorm_cumulative_average_keeps_counting() -> None:
    rng = np.random.default_rng(1)
    eager = nn.BatchNorm1d(3, momentum=None).double()
    traced = nn.BatchNorm1d(3, momentum=None).double()
    f = tj.jit(traced)
    for _ in range(4):
        x = tj.tensor(rng.standard_normal((5, 3)) * 2 + 1)
        np.testing.assert_allclose(f(x).numpy(force=True), eager(x).numpy(force=True),
                                   rtol=1e-12)
    for name, b in eager.named_buffers():
        np.testing.assert_allclose(getattr(traced, name).numpy(), b.numpy(), rtol=1e-12)
    assert int(traced.num_batches_tracked) == 4 and f.cache_info().traces == 1


def test_sgd_dampening_first_step_cannot_be_traced() -> None:
    p = tj.nn.Parameter(tj.ones(2))
    opt = tj.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)

    def step(x: tj.Tensor) -> None:
        (p * x).sum().backward()
        opt.step()
        opt.zero_grad()

    with pytest.raises(RuntimeError, match="run one eager step before tracing"):
        tj.jit(step)(tj.ones(2))
    p.grad = None
    ref = tj.nn.Parameter(tj.ones(2))
    ref_opt = tj.optim.SGD([ref], lr=0.1, momentum=0.9, dampening=0.5)
    step(tj.ones(2))  # the first step eagerly, then the later-step path is traced
    jitted = tj.jit(step)
    for k in range(4):
        x = tj.tensor([1.0, 2.0]) * (k + 1)
        jitted(x)
    (ref * tj.ones(2)).sum().backward()
    ref_opt.step()
    ref_opt.zero_grad()
    for k in range(4):
        (ref * (tj.tensor([1.0, 2.0]) * (k + 1))).sum().backward()
        ref_opt.step()
        ref_opt.zero_grad()
    np.testing.assert_allclose(p.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
