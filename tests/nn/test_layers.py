"""Layers and functional ops against torch.nn: outputs, input and parameter gradients, init
statistics, dropout, batch-norm running statistics, and the JIT on a layer stack."""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import tracejit as tj
import tracejit.nn as nn
import tracejit.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
F32 = {"rtol": 1e-5, "atol": 1e-6}
F64 = {"rtol": 1e-10, "atol": 1e-12}


def _tol(dtype: np.dtype) -> dict:
    return F64 if dtype == np.float64 else F32


def check_module(make, x: np.ndarray, *, train: bool = True, extra=(), tol=None,
                 device: str = "cpu") -> tuple:
    """Build make(torch) and make(tj), copy torch's state in, compare out and all grads."""
    tm, jm = make(torch), make(tj)
    if x.dtype == np.float64:
        tm.double()
        jm.double()
    tm.train(train)
    jm.train(train)
    sd = OrderedDict((k, tj.tensor(v.detach().numpy())) for k, v in tm.state_dict().items())
    jm.load_state_dict(sd)
    jm.to(device)
    tol = tol or _tol(x.dtype)
    tx = torch.tensor(x, requires_grad=x.dtype.kind == "f")
    jx = tj.tensor(x, requires_grad=x.dtype.kind == "f", device=device)
    to, jo = tm(tx, *extra), jm(jx, *extra)
    assert jo.device.type == device
    np.testing.assert_allclose(jo.detach().cpu().numpy(), to.detach().numpy(), **tol)
    w = np.random.default_rng(7).standard_normal(tuple(to.shape)).astype(x.dtype
                                                                          if x.dtype.kind == "f"
                                                                          else np.float32)
    to.backward(torch.tensor(w))
    jo.backward(tj.tensor(w, device=device))
    if x.dtype.kind == "f":
        np.testing.assert_allclose(jx.grad.cpu().numpy(), tx.grad.numpy(), **tol)
    for (name, tp), jp in zip(tm.named_parameters(), jm.parameters()):
        if tp.grad is None:
            assert jp.grad is None, name
            continue
        np.testing.assert_allclose(jp.grad.cpu().numpy(), tp.grad.numpy(), err_msg=name,
                                   **tol)
    for (name, tb), jb in zip(tm.named_buffers(), jm.buffers()):
        np.testing.assert_allclose(jb.cpu().numpy(), tb.numpy(), err_msg=name, **tol)
    return tm, jm


rng = np.random.default_rng(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear(dtype, device) -> None:
    check_module(lambda L: L.nn.Linear(5, 3), rng.standard_normal((4, 5)).astype(dtype),
                 device=device)
    check_module(lambda L: L.nn.Linear(5, 3, bias=False),
                 rng.standard_normal((2, 4, 5)).astype(dtype), device=device)
    check_module(lambda L: L.nn.Linear(5, 3), rng.standard_normal(5).astype(dtype),
                 device=device)


def test_bilinear_identity_flatten() -> None:
    x1 = rng.standard_normal((4, 3))
    x2 = tj.tensor(rng.standard_normal((4, 2)))
    tm, jm = torch.nn.Bilinear(3, 2, 5).double(), nn.Bilinear(3, 2, 5).double()
    jm.load_state_dict({k: tj.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    np.testing.assert_allclose(jm(tj.tensor(x1), x2).detach().numpy(),
                               tm(torch.tensor(x1), torch.tensor(x2.numpy())).detach().numpy(),
                               **F64)
    x = rng.standard_normal((2, 3, 4, 5))
    check_module(lambda L: L.nn.Identity(54, unused=True), x)
    check_module(lambda L: L.nn.Flatten(), x)
    check_module(lambda L: L.nn.Flatten(0, 2), x)
    check_module(lambda L: L.nn.Unflatten(1, (1, 3)), x)


ACTIVATIONS = [
    lambda L: L.nn.ReLU(), lambda L: L.nn.ReLU6(), lambda L: L.nn.Tanh(),
    lambda L: L.nn.Sigmoid(), lambda L: L.nn.GELU(), lambda L: L.nn.GELU(approximate="tanh"),
    lambda L: L.nn.LeakyReLU(0.2), lambda L: L.nn.ELU(alpha=0.7), lambda L: L.nn.SiLU(),
    lambda L: L.nn.Softmax(dim=1), lambda L: L.nn.LogSoftmax(dim=-1),
    lambda L: L.nn.Softmin(dim=0), lambda L: L.nn.CELU(1.3), lambda L: L.nn.SELU(),
    lambda L: L.nn.Softplus(beta=2.0, threshold=3.0), lambda L: L.nn.Mish(),
    lambda L: L.nn.LogSigmoid(), lambda L: L.nn.Hardsigmoid(), lambda L: L.nn.Hardswish(),
    lambda L: L.nn.Hardtanh(-0.5, 0.5), lambda L: L.nn.Softsign(),
    lambda L: L.nn.Tanhshrink(), lambda L: L.nn.Hardshrink(0.3), lambda L: L.nn.Softshrink(0.3),
    lambda L: L.nn.Threshold(0.1, -2.0), lambda L: L.nn.PReLU(4), lambda L: L.nn.GLU(1),
]


@pytest.mark.parametrize("i", range(len(ACTIVATIONS)))
def test_activation(i: int, device) -> None:
    x = rng.standard_normal((3, 4, 2)) * 3
    # the kinks and cut-overs themselves, where composed gradients go wrong most easily
    x.reshape(-1)[:8] = [0.0, -3.0, 3.0, 6.0, 1.0, -1.0, 0.3, -0.5]
    # torch's CELU (1/alpha) and Hardsigmoid (1/6) backward use float32 constants even in
    # float64, so they are 1e-8 off the exact gradient
    loose = {"rtol": 1e-6, "atol": 1e-9} if i in (12, 17) else None
    check_module(ACTIVATIONS[i], x, tol=loose, device=device)
    check_module(ACTIVATIONS[i], x.astype(np.float32), device=device)


def test_activation_large_inputs_have_finite_gradients() -> None:
    x = tj.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], requires_grad=True)
    for f in (F.elu, F.selu, F.celu, F.softplus, F.log_sigmoid, F.mish, F.silu, F.gelu):
        x.grad = None
        f(x).sum().backward()
        assert np.isfinite(x.grad.numpy()).all(), f.__name__


def test_inplace_activation() -> None:
    x = tj.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 2.0]
    x = tj.tensor([-1.0, 2.0])
    nn.LeakyReLU(0.5, inplace=True)(x)
    assert x.tolist() == [-0.5, 2.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_and_group_and_rms_norm(dtype, device) -> None:
    x = (rng.standard_normal((3, 4, 6)) * 2 + 1).astype(dtype)
    check_module(lambda L: L.nn.LayerNorm(6), x, device=device)
    check_module(lambda L: L.nn.LayerNorm((4, 6), elementwise_affine=False), x, device=device)
    check_module(lambda L: L.nn.LayerNorm(6, bias=False), x, device=device)
    check_module(lambda L: L.nn.GroupNorm(2, 4), x, device=device)
    check_module(lambda L: L.nn.RMSNorm(6), x, device=device)
    with pytest.raises(RuntimeError, match="expected input with shape"):
        F.layer_norm(tj.tensor(x), (5,))


@pytest.mark.parametrize("kind,shape", [("BatchNorm1d", (6, 4)), ("BatchNorm1d", (5, 4, 3)),
                                        ("BatchNorm2d", (3, 4, 2, 3))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_train_and_eval(kind: str, shape: tuple, dtype, device) -> None:
    def make(L):
        m = getattr(L.nn, kind)(4, momentum=0.3)
        with (torch.no_grad() if L is torch else tj.no_grad()):
            m.weight.copy_(L.tensor(np.linspace(0.5, 2.0, 4)))
            m.bias.copy_(L.tensor(np.linspace(-1.0, 1.0, 4)))
        return m

    tm, jm = make(torch), make(tj)
    if dtype == np.float64:
        tm.double()
        jm.double()
    jm.load_state_dict({k: tj.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    jm.to(device)
    tol = _tol(np.dtype(dtype))
    for _ in range(4):  # running statistics after several training steps
        x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
        tx = torch.tensor(x, requires_grad=True)
        jx = tj.tensor(x, requires_grad=True, device=device)
        to, jo = tm(tx), jm(jx)
        np.testing.assert_allclose(jo.detach().cpu().numpy(), to.detach().numpy(), **tol)
        w = rng.standard_normal(shape).astype(dtype)
        to.backward(torch.tensor(w))
        jo.backward(tj.tensor(w, device=device))
        for ours, theirs in ((jx, tx), (jm.weight, tm.weight), (jm.bias, tm.bias)):
            np.testing.assert_allclose(ours.grad.cpu().numpy(), theirs.grad.numpy(), **tol)
    for name, tb in tm.named_buffers():
        np.testing.assert_allclose(getattr(jm, name).cpu().numpy(), tb.numpy(), **tol,
                                   err_msg=name)
    assert int(jm.num_batches_tracked) == 4
    x = rng.standard_normal(shape).astype(dtype)
    tm.eval()
    jm.eval()
    np.testing.assert_allclose(jm(tj.tensor(x, device=device)).detach().cpu().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), **tol)


@pytest.mark.parametrize("kw", [dict(momentum=None), dict(affine=False),
                                dict(track_running_stats=False), dict(bias=False)])
def test_batchnorm_options(kw: dict) -> None:
    tm, jm = torch.nn.BatchNorm1d(3, **kw).double(), nn.BatchNorm1d(3, **kw).double()
    assert list(jm.state_dict()) == list(tm.state_dict())
    for _ in range(3):
        x = rng.standard_normal((5, 3)) * 2 + 1
        np.testing.assert_allclose(jm(tj.tensor(x)).numpy(force=True),
                                   tm(torch.tensor(x)).detach().numpy(), **F64)
    for name, tb in tm.named_buffers():
        np.testing.assert_allclose(getattr(jm, name).numpy(), tb.numpy(), **F64)
    tm.eval()
    jm.eval()
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(jm(tj.tensor(x)).numpy(force=True),
                               tm(torch.tensor(x)).detach().numpy(), **F64)


def test_batchnorm_errors() -> None:
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(tj.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        bn(tj.ones(1, 3))
    bn.eval()
    assert bn(tj.ones(1, 3)).shape == (1, 3)
    # old checkpoints without num_batches_tracked load (torch's version-1 rule)
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    sd._metadata[""] = {"version": 1}
    bn.load_state_dict(sd)


def test_embedding() -> None:
    idx = rng.integers(0, 7, (3, 4))
    idx[0, 0] = 2
    check_module(lambda L: L.nn.Embedding(7, 5, padding_idx=2), idx)
    check_module(lambda L: L.nn.Embedding(7, 5), idx.astype(np.int32))
    e = nn.Embedding(7, 3, padding_idx=-1)
    assert e.padding_idx == 6 and e.weight[6].tolist() == [0.0, 0.0, 0.0]
    pre = nn.Embedding.from_pretrained(tj.ones(4, 2))
    assert not pre.weight.requires_grad and pre(tj.tensor([1, 3])).tolist() == [[1, 1], [1, 1]]
    with pytest.raises(RuntimeError, match="indices"):
        e(tj.tensor([1.0]))


def test_embedding_double_backward() -> None:
    w = tj.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = tj.tensor([[0, 2], [2, 4]])
    (g,) = tj.autograd.grad(F.embedding(idx, w).pow(2).sum(), w, create_graph=True)
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    (tg,) = torch.autograd.grad(TF.embedding(torch.tensor(idx.numpy()), tw).pow(2).sum(), tw,
                                create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), **F64)
    g.pow(2).sum().backward()
    tg.pow(2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), **F64)


def test_dropout() -> None:
    tj.manual_seed(0)
    d = nn.Dropout(0.25)
    x = tj.ones(200, 100, requires_grad=True)
    y = d(x)
    vals = np.unique(y.detach().numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.75], rtol=1e-6)
    keep = (y.detach().numpy() != 0).mean()
    assert abs(keep - 0.75) < 0.01
    assert abs(y.detach().numpy().mean() - 1.0) < 0.02
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy(), rtol=1e-6)
    d2 = d(x)
    assert not np.array_equal(d2.detach().numpy(), y.detach().numpy())
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert float(nn.Dropout(1.0)(x).abs().sum()) == 0.0
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    z = F.dropout2d(tj.ones(4, 50, 3, 3), 0.5).numpy()
    assert all(len(np.unique(c)) == 1 for c in z.reshape(200, 9))


def test_dropout_redraws_under_jit() -> None:
    d = nn.Dropout(0.5)
    f = tj.jit(lambda x: d(x))
    a, b = f(tj.ones(64, 64)).numpy().copy(), f(tj.ones(64, 64)).numpy().copy()
    assert not np.array_equal(a, b)
    assert abs((a != 0).mean() - 0.5) < 0.05


def test_init_functions_statistics() -> None:
    tj.manual_seed(1)
    w = tj.empty(400, 300, requires_grad=True)
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    assert (fan_in, fan_out) == (300, 400)
    conv_w = tj.empty(8, 4, 3, 3)
    assert nn.init._calculate_fan_in_and_fan_out(conv_w) == (36, 72)
    nn.init.uniform_(w, -2, 3)
    a = w.detach().numpy()
    assert a.min() >= -2 and a.max() < 3 and abs(a.mean() - 0.5) < 0.02
    nn.init.normal_(w, 1.0, 2.0)
    assert abs(w.detach().numpy().mean() - 1.0) < 0.02
    assert abs(w.detach().numpy().std() - 2.0) < 0.02
    cases = [
        (nn.init.xavier_uniform_, {}, math.sqrt(2 / 700), math.sqrt(6 / 700)),
        (nn.init.xavier_normal_, {"gain": 2.0}, 2 * math.sqrt(2 / 700), None),
        (nn.init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(3 * 300),
         1 / math.sqrt(300)),
        (nn.init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"},
         math.sqrt(2 / 400), None),
    ]
    for fn, kw, std, bound in cases:
        fn(w, **kw)
        a = w.detach().numpy()
        assert abs(a.std() - std) / std < 0.02, fn.__name__
        assert abs(a.mean()) < 0.1 * std
        if bound is not None:
            assert np.abs(a).max() <= bound
    nn.init.trunc_normal_(w, 0.5, 1.0, -1.0, 2.0)
    a = w.detach().numpy()
    assert a.min() >= -1.0 and a.max() <= 2.0 and abs(a.mean() - 0.5) < 0.03
    nn.init.constant_(w, 0.3)
    assert np.all(w.detach().numpy() == np.float32(0.3))
    nn.init.zeros_(w)
    nn.init.ones_(w)
    assert w.detach().numpy().sum() == 120000 and w.grad is None and w.is_leaf
    q = tj.empty(5, 3)
    nn.init.orthogonal_(q)
    np.testing.assert_allclose(q.numpy().T @ q.numpy(), np.eye(3), atol=1e-5)
    nn.init.eye_(q)
    np.testing.assert_array_equal(q.numpy(), np.eye(5, 3))
    for name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert nn.init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == \
        torch.nn.init.calculate_gain("leaky_relu", 0.2)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("nope")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(tj.empty(3))


def test_linear_default_init_bounds() -> None:
    lin = nn.Linear(50, 400)
    bound = 1 / math.sqrt(50)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound * 3


def test_functional_misc() -> None:
    x = rng.standard_normal((3, 4))
    tx = torch.tensor(x, requires_grad=True)
    jx = tj.tensor(x, requires_grad=True)
    for tf, jf in [(lambda a: TF.pad(a, (1, 2)), lambda a: F.pad(a, (1, 2))),
                   (lambda a: TF.pad(a, (-1, 1, 2, 0), value=3.0),
                    lambda a: F.pad(a, (-1, 1, 2, 0), value=3.0)),
                   (lambda a: TF.normalize(a, dim=0), lambda a: F.normalize(a, dim=0)),
                   (lambda a: TF.cosine_similarity(a, a * 2 + 1),
                    lambda a: F.cosine_similarity(a, a * 2 + 1))]:
        to, jo = tf(tx), jf(jx)
        np.testing.assert_allclose(jo.detach().numpy(), to.detach().numpy(), **F64)
        tx.grad = None
        jx.grad = None
        to.sum().backward()
        jo.sum().backward()
        np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), **F64)
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(tj.tensor(idx), 5).numpy(),
                                  TF.one_hot(torch.tensor(idx), 5).numpy())
    assert F.one_hot(tj.tensor(idx)).shape == (2, 2, 4)
    with pytest.raises(NotImplementedError, match="reflect"):
        F.pad(jx, (1, 1), mode="reflect")
