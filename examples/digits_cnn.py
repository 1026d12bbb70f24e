"""A small CNN on scikit-learn's bundled 8x8 digits, trained eagerly and with a jitted step.

    python examples/digits_cnn.py [--epochs N] [--quick] [--device cuda]

The jitted step is the whole training step (forward, loss, backward, Adam update) traced once
per batch shape and replayed as compiled code. Both runs start from the same weights and see
the same batches; the script prints test accuracy and seconds per epoch for each.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tracejit as torch
from tracejit import nn


class DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
                                  nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def load(seed: int = 0) -> tuple:
    from sklearn.datasets import load_digits  # the `examples` extra; the model needs neither

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    idx = np.random.default_rng(seed).permutation(len(x))
    n_test = 360
    test, train = idx[:n_test], idx[n_test:]
    return x[train], y[train], x[test], y[test]


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device: str = "cpu") -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.tensor(x, device=device)).argmax(dim=1).cpu().numpy()
    model.train()
    return float((pred == y).mean())


def train(jit: bool, epochs: int, batch: int, data: tuple, seed: int = 0,
          device: str = "cpu") -> dict:
    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    model = DigitsCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    from tqdm import tqdm

    run = torch.jit(step) if jit else step
    order_rng = np.random.default_rng(seed)
    times, losses = [], []
    label = "jit  " if jit else "eager"
    for epoch in range(epochs):
        order = order_rng.permutation(len(xtr))
        n = len(order) // batch * batch  # full batches only: one signature to trace
        t0 = time.perf_counter()
        bar = tqdm(range(0, n, batch), desc=f"{label} epoch {epoch + 1}/{epochs}",
                   leave=False, ncols=80)
        for i in bar:
            b = order[i:i + batch]
            loss = run(torch.tensor(xtr[b], device=device), torch.tensor(ytr[b], device=device))
            losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    result = {"accuracy": accuracy(model, xte, yte, device), "epoch_s": times,
              "final_loss": float(np.mean(losses[-10:]))}
    if jit:
        result["cache"] = run.cache_info()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="4 epochs (the README demo)")
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda (a GPU, or the simulator with TRACEJIT_CUDA_SIM=1)")
    args = ap.parse_args()
    epochs = 4 if args.quick else args.epochs
    data = load()
    print(f"digits: {len(data[0])} train / {len(data[2])} test images, {epochs} epochs, "
          f"batch {args.batch}, device {args.device}")
    res = {mode: train(mode == "jit", epochs, args.batch, data, device=args.device)
           for mode in ("eager", "jit")}
    print(f"{'':6s} {'test acc':>9s} {'first epoch':>12s} {'later epochs':>13s} {'loss':>8s}")
    for mode, r in res.items():
        later = np.median(r["epoch_s"][1:]) if len(r["epoch_s"]) > 1 else r["epoch_s"][0]
        print(f"{mode:6s} {100 * r['accuracy']:8.2f}% {r['epoch_s'][0]:11.2f}s "
              f"{later:12.2f}s {r['final_loss']:8.4f}")
    e, j = res["eager"], res["jit"]
    speedup = np.median(e["epoch_s"][1:] or e["epoch_s"]) / np.median(j["epoch_s"][1:]
                                                                      or j["epoch_s"])
    info = j["cache"]
    print(f"jit: {info.traces} traces, {info.hits} replays, {info.kernels_compiled} kernels "
          f"compiled, {info.kernels_loaded} loaded from disk; {speedup:.2f}x eager per epoch")


if __name__ == "__main__":
    main()
