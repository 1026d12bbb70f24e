"""RNN, LSTM, GRU and their cells against torch: outputs, final states and every gradient.

Torch's weights are copied in (numpy), so parameter names, shapes, gate order and the GRU's
r * (W_hn h + b_hn) are checked by the numbers matching.
"""
from __future__ import annotations

import importlib.util
import itertools
import math

import numpy as np
import pytest

import tracejit as tj
from tracejit.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                reason="PyTorch (the oracle) is not installed")

F32 = {"rtol": 1e-4, "atol": 1e-5}
F64 = {"rtol": 1e-10, "atol": 1e-12}
rng = np.random.default_rng(99)
L, N, IN, H = 5, 3, 4, 6


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, tj.Tensor) else t.detach().numpy()


def _close(a, b, tol: dict) -> None:
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, **tol)


def _pair(kind: str, dtype=np.float32, **kw):
    """A tracejit layer and a torch layer of the same kind and arguments, torch's weights."""
    import torch

    tdt = torch.float64 if dtype == np.float64 else torch.float32
    jdt = tj.float64 if dtype == np.float64 else tj.float32
    ours_cls = {"LSTM": LSTM, "GRU": GRU, "RNN": RNN, "RNNCell": RNNCell,
                "LSTMCell": LSTMCell, "GRUCell": GRUCell}[kind]
    theirs = getattr(torch.nn, kind)(IN, H, dtype=tdt, **kw)
    ours = ours_cls(IN, H, dtype=jdt, **kw)
    tp = dict(theirs.named_parameters())
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tp.items()]
    for name, p in ours.named_parameters():
        with tj.no_grad():
            p.copy_(tj.tensor(_np(tp[name]).copy()))
    return ours, theirs


def _run_both(ours, theirs, x: np.ndarray, states: list[np.ndarray] | None, lstm: bool,
              tol: dict, device: str = "cpu") -> None:
    """Forward both, backward random cotangents of every output, compare all gradients."""
    import torch

    ours.to(device)
    tx, jx = torch.tensor(x, requires_grad=True), tj.tensor(x, requires_grad=True,
                                                             device=device)
    ts = [torch.tensor(s, requires_grad=True) for s in states] if states else None
    js = [tj.tensor(s, requires_grad=True, device=device) for s in states] if states else None
    if ts is None:
        t_out, j_out = theirs(tx), ours(jx)
    elif lstm:
        t_out, j_out = theirs(tx, tuple(ts)), ours(jx, tuple(js))
    else:
        t_out, j_out = theirs(tx, ts[0]), ours(jx, js[0])
    t_flat = [t_out[0], *t_out[1]] if lstm else list(t_out)
    j_flat = [j_out[0], *j_out[1]] if lstm else list(j_out)
    _compare_grads(ours, theirs, j_flat, t_flat, [jx, *(js or [])], [tx, *(ts or [])], tol,
                   device)


def _compare_grads(ours, theirs, j_flat: list, t_flat: list, j_in: list, t_in: list,
                   tol: dict, device: str) -> None:
    """Outputs equal; backward the same random cotangents; inputs' and parameters' grads equal."""
    import torch

    t_loss, j_loss = 0, 0
    for a, b in zip(j_flat, t_flat):
        _close(a, b, tol)
        assert a.device.type == device
        r = rng.standard_normal(tuple(b.shape)).astype(_np(b).dtype)
        t_loss = t_loss + (b * torch.tensor(r)).sum()
        j_loss = j_loss + (a * tj.tensor(r, device=device)).sum()
    t_loss.backward()
    j_loss.backward()
    for a, b in zip(j_in, t_in):
        _close(a.grad, b.grad, tol)
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, tp[name].grad, tol)


GRID = list(itertools.product(("LSTM", "GRU", "RNN_TANH", "RNN_RELU"), (1, 2), (False, True),
                              (False, True), (False, True)))


@pytest.mark.parametrize("mode,layers,batch_first,bidirectional,with_state", GRID)
def test_sequence_layers_vs_torch(mode, layers, batch_first, bidirectional, with_state,
                                  device):
    kind = "RNN" if mode.startswith("RNN") else mode
    kw = {"num_layers": layers, "batch_first": batch_first, "bidirectional": bidirectional}
    if kind == "RNN":
        kw["nonlinearity"] = "tanh" if mode == "RNN_TANH" else "relu"
    ours, theirs = _pair(kind, **kw)
    x = rng.standard_normal((N, L, IN) if batch_first else (L, N, IN)).astype(np.float32)
    d = 2 if bidirectional else 1
    states = None
    if with_state:
        states = [rng.standard_normal((layers * d, N, H)).astype(np.float32)
                  for _ in range(2 if kind == "LSTM" else 1)]
    _run_both(ours, theirs, x, states, kind == "LSTM", F32, device)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_sequence_layers_vs_torch_float64(kind):
    ours, theirs = _pair(kind, np.float64, num_layers=2, bidirectional=True)
    x = rng.standard_normal((L, N, IN))
    states = [rng.standard_normal((4, N, H)) for _ in range(2 if kind == "LSTM" else 1)]
    _run_both(ours, theirs, x, states, kind == "LSTM", F64)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_unbatched_and_no_bias(kind):
    ours, theirs = _pair(kind, np.float64, num_layers=2, bias=False)
    x = rng.standard_normal((L, IN))
    _run_both(ours, theirs, x, None, kind == "LSTM", F64)
    states = [rng.standard_normal((2, H)) for _ in range(2 if kind == "LSTM" else 1)]
    _run_both(ours, theirs, x, states, kind == "LSTM", F64)


def test_lstm_proj_size():
    import torch

    ours, theirs = _pair("LSTM", np.float64, num_layers=2, bidirectional=True, proj_size=3,
                         batch_first=True)
    x = rng.standard_normal((N, L, IN))
    states = [rng.standard_normal((4, N, 3)), rng.standard_normal((4, N, H))]
    _run_both(ours, theirs, x, states, True, F64)
    assert repr(ours) == repr(theirs).replace("torch", "tracejit")
    del torch


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells_vs_torch(kind, batched, with_state, device):
    import torch

    ours, theirs = _pair(kind)
    ours.to(device)
    shape = (N,) if batched else ()
    x = rng.standard_normal(shape + (IN,)).astype(np.float32)
    n_states = 2 if kind == "LSTMCell" else 1
    states = [rng.standard_normal(shape + (H,)).astype(np.float32)
              for _ in range(n_states)] if with_state else None
    tx, jx = torch.tensor(x, requires_grad=True), tj.tensor(x, requires_grad=True,
                                                             device=device)
    ts = [torch.tensor(s, requires_grad=True) for s in states] if states else None
    js = [tj.tensor(s, requires_grad=True, device=device) for s in states] if states else None
    hx_t = None if ts is None else (tuple(ts) if n_states == 2 else ts[0])
    hx_j = None if js is None else (tuple(js) if n_states == 2 else js[0])
    t_out, j_out = theirs(tx, hx_t), ours(jx, hx_j)
    t_flat = list(t_out) if n_states == 2 else [t_out]
    j_flat = list(j_out) if n_states == 2 else [j_out]
    _compare_grads(ours, theirs, j_flat, t_flat, [jx, *(js or [])], [tx, *(ts or [])], F32,
                   device)
    assert repr(ours) == repr(theirs)


def test_relu_cell_and_repr():
    import torch

    ours, theirs = _pair("RNNCell", bias=False, nonlinearity="relu")
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal((N, IN)).astype(np.float32)
    _close(ours(tj.tensor(x)), theirs(torch.tensor(x)), F32)


def test_parameter_names_and_init():
    import torch

    for kw in ({"num_layers": 3, "bidirectional": True}, {"bias": False, "proj_size": 2}):
        ours, theirs = LSTM(5, 7, **kw), torch.nn.LSTM(5, 7, **kw)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert repr(ours) == repr(theirs)
    gru = GRU(10, 50, 2)
    bound = 1 / math.sqrt(50)
    for p in gru.parameters():
        a = _np(p)
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.8 * bound
    assert len(gru.all_weights) == 2 and len(gru.all_weights[0]) == 4


def test_dropout_between_layers():
    ours, theirs = _pair("GRU", num_layers=2, dropout=0.5)
    x = rng.standard_normal((L, N, IN)).astype(np.float32)
    ours.eval()
    theirs.eval()
    _run_both(ours, theirs, x, None, False, F32)
    ours.train()
    try:
        from tracejit.nn import functional as F

        F.dropout  # noqa: B018
    except (ImportError, AttributeError):
        pytest.skip("tracejit.nn.functional.dropout is not available yet")
    a, _ = ours(tj.tensor(x))
    b, _ = ours(tj.tensor(x))
    assert not np.allclose(_np(a), _np(b))  # two dropout masks


def test_errors_match_torch():
    import torch

    cases = [
        (lambda m, lib: m(lib.zeros(2, 3, 5)), RuntimeError),  # input size
        (lambda m, lib: m(lib.zeros(5)), ValueError),  # rank
        (lambda m, lib: m(lib.zeros(5, 3, 4), (lib.zeros(1, 3, 6), lib.zeros(2, 3, 6))),
         RuntimeError),
        (lambda m, lib: m(lib.zeros(5, 3, 4), (lib.zeros(2, 3, 6), lib.zeros(2, 6))),
         RuntimeError),
    ]
    ours, theirs = LSTM(4, 6, 2), torch.nn.LSTM(4, 6, 2)
    for case, exc in cases:
        with pytest.raises(exc) as t_err:
            case(theirs, torch)
        with pytest.raises(exc) as j_err:
            case(ours, tj)
        assert str(j_err.value) == str(t_err.value)


def test_jit_gru_matches_eager():
    gru = GRU(IN, H, 2, batch_first=True)
    x = tj.randn(N, L, IN)

    def step(x):
        out, h = gru(x)
        loss = (out * out).sum() + h.sum()
        loss.backward()
        return loss

    eager = step(x)
    grads = [p.grad.numpy().copy() for p in gru.parameters()]
    jitted = tj.jit(step)
    for _ in range(2):
        for p in gru.parameters():
            p.grad = None
        loss = jitted(x)
        np.testing.assert_allclose(loss.item(), eager.item(), rtol=1e-5)
        for p, g in zip(gru.parameters(), grads):
            np.testing.assert_allclose(p.grad.numpy(), g, **F32)
