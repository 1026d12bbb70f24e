"""Pictures of a small model's graphs: the autograd tape and the jitted training step.

    python examples/visualize.py [--out DIR] [--format svg|png|pdf]

Writes DIR/tape.{dot,FORMAT} (the backward nodes recorded by one eager forward) and
DIR/jit_step.{dot,FORMAT} (the traced and compiled training step: forward, backward and
optimizer update, with each fused kernel boxed and labelled with its name). Without
Graphviz's ``dot`` only the .dot files are written; install it with
``apt-get install graphviz`` (or ``brew install graphviz`` / ``conda install graphviz``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import tracejit as torch
from tracejit import nn, viz


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.tanh(self.fc1(x)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="viz_out")
    ap.add_argument("--format", default="svg", choices=["svg", "png", "pdf"])
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = MLP()
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    loss_fn = nn.CrossEntropyLoss()
    params = dict(model.named_parameters())

    tape = viz.draw_graph(loss_fn(model(x), y), params=params)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    jstep = torch.jit(step)
    jstep(x, y)
    traced = viz.draw_graph(jstep, x, y, params=params)
    for name, pic in (("tape", tape), ("jit_step", traced)):
        written = [pic.save(out / f"{name}.dot")]
        if viz.have_dot():
            written.append(pic.save(out / f"{name}.{args.format}"))
        print(f"{name}: " + ", ".join(str(p) for p in written))
    if not viz.have_dot():
        print("Graphviz's `dot` is not installed, so only DOT text was written: "
              "apt-get install graphviz (or brew/conda install graphviz) to render it.")
    print(f"the jitted step compiled {len(jstep.lower(x, y).kernels)} forward kernels; "
          f"per-kernel times: jstep.kernels(x, y)")


if __name__ == "__main__":
    main()
