"""Model workloads for compare.py: an epoch of the digits CNN and of the varlen LSTM.

The tracejit models are the examples' own (examples/digits_cnn.py, examples/varlen_lstm.py);
the torch versions mirror them layer for layer, so each system trains the same network on
the same batches with the same optimizer. One call of a returned function is one epoch.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import tracejit as tj

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
import digits_cnn  # noqa: E402
import varlen_lstm  # noqa: E402

Epoch = Callable[[], Any]


def digits_batches(batch: int = 64) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch of full batches of the digits training set, in a fixed order."""
    xtr, ytr, _, _ = digits_cnn.load()
    order = np.random.default_rng(0).permutation(len(xtr))
    n = len(order) // batch * batch
    return [(xtr[order[i:i + batch]], ytr[order[i:i + batch]]) for i in range(0, n, batch)]


def cnn_epoch_tracejit(batches: list, jit: bool) -> Epoch:
    tj.manual_seed(0)
    model = digits_cnn.DigitsCNN()
    opt = tj.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = tj.nn.CrossEntropyLoss()

    def step(x: tj.Tensor, y: tj.Tensor) -> tj.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    run = tj.jit(step) if jit else step
    data = [(tj.tensor(x), tj.tensor(y)) for x, y in batches]
    return lambda: [run(x, y) for x, y in data][-1].item()


def cnn_epoch_torch(batches: list, compiled: bool) -> Epoch:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    run = torch.compile(step) if compiled else step
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    return lambda: [run(x, y) for x, y in data][-1].item()


def lstm_batches() -> list[tuple[np.ndarray, np.ndarray]]:
    """21 batches of 16 sequences, one length each from 10 to 50 (as the example)."""
    data = varlen_lstm.make_data(21, 16, list(range(10, 51, 2)))
    return [(x.numpy(), y.numpy()) for x, y in data]


def lstm_epoch_tracejit(batches: list, jit: bool) -> Epoch:
    tj.manual_seed(0)
    model = varlen_lstm.Regressor()
    opt = tj.optim.Adam(model.parameters(), lr=3e-3)

    def step(x: tj.Tensor, y: tj.Tensor) -> tj.Tensor:
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.detach()

    run = tj.jit(step) if jit else step
    data = [(tj.tensor(x), tj.tensor(y)) for x, y in batches]
    return lambda: [run(x, y) for x, y in data][-1].item()


def lstm_epoch_torch(batches: list) -> Epoch:
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Regressor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(32, 64, batch_first=True)
            self.head = nn.Linear(64, 1)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.head(out[:, -1]).squeeze(1)

    model = Regressor()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.detach()

    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    return lambda: [step(x, y) for x, y in data][-1].item()
