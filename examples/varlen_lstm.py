"""An LSTM over sequences of varying length, no padding: eager vs a jitted training step.

    python examples/varlen_lstm.py [--epochs N] [--quick]

Each batch holds 16 sequences of one length between 10 and 50, so the Python loop of the
LSTM runs as long as the sequence. The jitted step traces once per length (a new shape) but
compiles kernels only for the first: the fused gate kernels have the same structure at every
length and time step, and sizes are run-time arguments.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tracejit as torch
from tracejit import codegen, nn


class Regressor(nn.Module):
    """Reads a sequence, predicts a number from the last hidden state."""

    def __init__(self, inp: int = 32, hidden: int = 64) -> None:
        super().__init__()
        self.lstm = nn.LSTM(inp, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1]).squeeze(1)


def make_data(n_batches: int, batch: int, lengths: list[int], seed: int = 0) -> list:
    """Target: the mean of the first feature over the sequence (needs the whole sequence)."""
    rng = np.random.default_rng(seed)
    data = []
    for i in range(n_batches):
        L = lengths[i % len(lengths)]
        x = rng.standard_normal((batch, L, 32)).astype(np.float32)
        y = x[:, :, 0].mean(axis=1) * 3.0
        data.append((torch.tensor(x), torch.tensor(y.astype(np.float32))))
    return data


def train(jit: bool, data: list, epochs: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = Regressor()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.detach()

    run = torch.jit(step) if jit else step
    before = codegen.cache_stats()
    times, losses = [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        epoch_losses = [run(x, y).item() for x, y in data]
        times.append(time.perf_counter() - t0)
        losses.append(float(np.mean(epoch_losses)))
    after = codegen.cache_stats()
    res = {"epoch_s": times, "loss": losses}
    if jit:
        info = run.cache_info()
        res.update(traces=info.traces, compiled=after["compiled"] - before["compiled"],
                   loaded=after["disk_loads"] - before["disk_loads"])
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    lengths = list(range(10, 51, 2))  # 21 lengths
    n_batches = 21 if args.quick else 42
    epochs = 2 if args.quick else args.epochs
    data = make_data(n_batches, 16, lengths)
    print(f"LSTM(32 -> 64), batch 16, {n_batches} batches over {len(lengths)} lengths "
          f"(10..50), {epochs} epochs")
    eager = train(False, data, epochs)
    jitted = train(True, data, epochs)
    for name, r in (("eager", eager), ("jit", jitted)):
        per = " ".join(f"{t:6.2f}s" for t in r["epoch_s"])
        print(f"{name:6s} epochs: {per}   total {sum(r['epoch_s']):6.2f}s   "
              f"final loss {r['loss'][-1]:.4f}")
    print(f"jit: {jitted['traces']} traces (one per length), {jitted['compiled']} kernels "
          f"compiled, {jitted['loaded']} loaded from the disk cache")
    print(f"same losses as eager: {np.allclose(eager['loss'], jitted['loss'], rtol=1e-3)}")


if __name__ == "__main__":
    main()
