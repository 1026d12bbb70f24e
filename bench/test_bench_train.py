"""Training steps (forward, backward, optimizer): the MLP, the digits CNN and the varlen
LSTM at one length, jitted and eager, with torch eager alongside."""
import numpy as np
import pytest

import tracejit as tj

try:
    import models
except ImportError:  # run from the repository root: bench/ is on sys.path via conftest
    models = None


def _mlp_step(lib, ps):
    def step(x, y):
        w1, b1, w2, b2 = ps
        h = (x @ w1 + b1).tanh()
        loss = ((h @ w2 + b2) - y).pow(2).mean()
        loss.backward()
        with lib.no_grad():
            for p in ps:
                p.sub_(0.05 * p.grad)
                p.grad = None
        return loss

    return step


@pytest.mark.benchmark(group="train-mlp-64-256-10")
@pytest.mark.parametrize("system", ["jit", "eager", "torch"])
def test_mlp_step(benchmark, system):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) * 0.1
              for s in ((64, 256), (256,), (256, 10), (10,))]
    x = rng.standard_normal((256, 64)).astype(np.float32)
    y = rng.standard_normal((256, 10)).astype(np.float32)
    lib = pytest.importorskip("torch") if system == "torch" else tj
    ps = [lib.tensor(a, requires_grad=True) for a in arrays]
    step = _mlp_step(lib, ps)
    if system == "jit":
        step = tj.jit(step)
    benchmark(step, lib.tensor(x), lib.tensor(y))


@pytest.mark.benchmark(group="train-digits-cnn-epoch")
@pytest.mark.parametrize("system", ["jit", "eager", "torch"])
def test_cnn_epoch(benchmark, system):
    if models is None:
        pytest.skip("bench/models.py not importable")
    batches = models.digits_batches()[:8]
    if system == "torch":
        pytest.importorskip("torch")
        epoch = models.cnn_epoch_torch(batches, False)
    else:
        epoch = models.cnn_epoch_tracejit(batches, system == "jit")
    epoch()  # traces and compiles outside the timing
    benchmark.pedantic(epoch, rounds=5, iterations=1)


@pytest.mark.benchmark(group="train-lstm-epoch")
@pytest.mark.parametrize("system", ["jit", "eager", "torch"])
def test_lstm_epoch(benchmark, system):
    if models is None:
        pytest.skip("bench/models.py not importable")
    batches = models.lstm_batches()[:6]
    if system == "torch":
        pytest.importorskip("torch")
        epoch = models.lstm_epoch_torch(batches)
    else:
        epoch = models.lstm_epoch_tracejit(batches, system == "jit")
    epoch()
    benchmark.pedantic(epoch, rounds=5, iterations=1)
