"""A whole training step (forward, backward, SGD update) traced into one graph."""
import numpy as np

import tracejit as tj


def _params(seed, device="cpu"):
    rng = np.random.default_rng(seed)
    shapes = [(16, 32), (32,), (32, 10), (10,)]
    return [tj.tensor(rng.standard_normal(s).astype(np.float32) * 0.3, requires_grad=True,
                      device=device) for s in shapes]


def _make_step(params, lr=0.1):
    w1, b1, w2, b2 = params

    def step(x, y):
        h = (x @ w1 + b1).tanh()
        logits = h @ w2 + b2
        logp = logits.log_softmax(dim=1)
        loss = -logp.gather(1, y.unsqueeze(1)).mean()
        loss.backward()
        with tj.no_grad():
            for p in params:
                p.sub_(lr * p.grad)
                p.grad = None
        return loss.detach()

    return step


def test_mlp_training_step_matches_eager_over_20_steps(device):
    rng = np.random.default_rng(1)
    xs = [tj.tensor(rng.standard_normal((64, 16)).astype(np.float32), device=device)
          for _ in range(4)]
    ys = [tj.tensor(rng.integers(0, 10, 64), device=device) for _ in range(4)]
    pe, pj = _params(0, device), _params(0, device)
    eager_step = _make_step(pe)
    jit_step = tj.jit(_make_step(pj))
    for i in range(20):
        le = eager_step(xs[i % 4], ys[i % 4])
        lj = jit_step(xs[i % 4], ys[i % 4])
        assert lj.device.type == device
        np.testing.assert_allclose(lj.cpu().numpy(), le.cpu().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(pe, pj):
        assert b.device.type == device
        np.testing.assert_allclose(b.detach().cpu().numpy(), a.detach().cpu().numpy(),
                                   rtol=1e-4, atol=1e-5)
        assert b.grad is None
    info = jit_step.cache_info()
    assert info.traces == 1 and info.hits == 19


def test_grad_accumulates_into_existing_grad_like_eager():
    w = tj.ones(3, requires_grad=True)

    @tj.jit
    def f(x):
        (w * x).sum().backward()

    x = tj.tensor([1.0, 2.0, 3.0])
    f(x)
    f(x)  # .grad is no longer None: a guard retraces and accumulates
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0, 6.0])
    f(x)
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 6.0, 9.0])
    assert f.cache_info().traces == 2


def test_jitted_forward_backward_through_matmul_and_reduction():
    rng = np.random.default_rng(2)
    xa = rng.standard_normal((8, 5))
    wa = rng.standard_normal((5, 3))

    def fn(x, w):
        return ((x @ w).relu() ** 2).sum(dim=1).mean()

    grads = []
    for f in (fn, tj.jit(fn)):
        x = tj.tensor(xa, requires_grad=True)
        w = tj.tensor(wa, requires_grad=True)
        f(x, w).backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_optimizer_and_scheduler_inside_jit_match_eager():
    """SGD with momentum and a StepLR schedule: the lr change retraces, values stay equal."""
    nn = tj.nn
    results = []
    for use_jit in (False, True):
        tj.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 3)).double()
        opt = tj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = tj.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        loss_fn = nn.CrossEntropyLoss()
        rng = np.random.default_rng(3)
        x = tj.tensor(rng.standard_normal((16, 6)))
        y = tj.tensor(rng.integers(0, 3, 16))

        def step(x, y, opt=opt, model=model, loss_fn=loss_fn):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()

        run = tj.jit(step) if use_jit else step
        losses = []
        for _ in range(8):
            losses.append(run(x, y).item())
            sched.step()
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
        if use_jit:
            reasons = run.cache_info().miss_reasons
            assert any("'lr'" in r for r in reasons)
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_cnn_training_step_with_conv_and_pools_matches_eager(device):
    """Conv, max/avg/adaptive pools and Adam in one jitted step: cpu, and cuda's kernels."""
    from tracejit import nn

    def model():
        tj.manual_seed(3)
        m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 6, 3, groups=2, stride=(1, 2)), nn.AvgPool2d(2, 1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3)).to(device)
        return m, tj.optim.Adam(m.parameters(), lr=1e-2)

    def make(m, opt):
        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            return loss.detach()
        return step

    rng = np.random.default_rng(4)
    x = tj.tensor(rng.standard_normal((8, 1, 10, 12)).astype(np.float32), device=device)
    y = tj.tensor(rng.integers(0, 3, 8), device=device)
    (me, oe), (mj, oj) = model(), model()
    eager, jitted = make(me, oe), tj.jit(make(mj, oj))
    for _ in range(5):
        np.testing.assert_allclose(jitted(x, y).cpu().numpy(), eager(x, y).cpu().numpy(),
                                   rtol=1e-4, atol=1e-5)
    for a, b in zip(me.parameters(), mj.parameters()):
        assert b.device.type == device
        np.testing.assert_allclose(b.detach().cpu().numpy(), a.detach().cpu().numpy(),
                                   rtol=1e-3, atol=1e-5)
