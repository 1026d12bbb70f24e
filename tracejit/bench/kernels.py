"""Per-kernel profile of a jitted function: ``fn.kernels(*args)``.

Each step of the compiled forward (and backward, when the outputs need gradients) is timed
alone on the real intermediate values, so the table shows which kernel dominates a call,
how many bytes and flops it does, and how close to the machine's peak it runs.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import costs
from .report import fmt_bytes, fmt_num, fmt_time, table
from .roofline import Roofline, roofline


@dataclass
class KernelTiming:
    """One step of a compiled program, its counts and its median time alone."""

    phase: str  # "fwd" | "bwd"
    cost: costs.StepCost
    time: float  # seconds, median
    peak: Roofline | None = None

    name = property(lambda self: self.cost.name)
    kind = property(lambda self: self.cost.kind)
    bytes = property(lambda self: self.cost.bytes)
    flops = property(lambda self: self.cost.flops)

    @property
    def gbps(self) -> float:
        return self.cost.bytes / self.time / 1e9 if self.time > 0 else 0.0

    @property
    def gflops(self) -> float:
        return self.cost.flops / self.time / 1e9 if self.time > 0 else 0.0

    @property
    def peak_fraction(self) -> float | None:
        if self.peak is None or self.kind == "view":
            return None
        return self.peak.fraction(self.gbps, self.gflops)

    def ir(self) -> str:
        return self.cost.ir()

    def source(self, kind: str = "llvm") -> str:
        return self.cost.source(kind)

    def to_dict(self) -> dict:
        return {"phase": self.phase, "index": self.cost.index, "name": self.name,
                "kind": self.kind, "time": self.time, "bytes": self.bytes, "flops": self.flops,
                "shape": list(self.cost.shape), "gbps": self.gbps, "gflops": self.gflops,
                "peak_fraction": self.peak_fraction}


class KernelReport(list):
    """KernelTimings in run order; ``str()`` is a table sorted by time, biggest first."""

    peak: Roofline | None = None

    @property
    def total(self) -> float:
        return sum(k.time for k in self)

    def top(self, n: int = 5) -> list[KernelTiming]:
        return sorted(self, key=lambda k: -k.time)[:n]

    def __str__(self) -> str:
        tot = self.total or 1.0
        rows = []
        for k in sorted(self, key=lambda k: -k.time):
            frac = k.peak_fraction
            rows.append([k.cost.index, k.phase, k.kind, k.name, fmt_time(k.time),
                         f"{100 * k.time / tot:.1f}%", fmt_bytes(k.bytes),
                         f"{k.flops:.3g}", fmt_num(k.gbps), fmt_num(k.gflops),
                         "-" if frac is None else f"{100 * frac:.1f}%"])
        head = ["#", "phase", "kind", "name", "time", "share", "bytes", "flops", "GB/s",
                "GFLOP/s", "% peak"]
        n_k = sum(k.kind == "kernel" for k in self)
        foot = (f"{len(self)} steps ({n_k} generated kernels), {fmt_time(self.total)} "
                f"summed over steps timed alone")
        if any((k.peak_fraction or 0) > 1 for k in self):
            foot += ("\n% peak above 100%: the step's data sat in cache, and the bandwidth "
                     "peak is a copy streaming from DRAM")
        return table(head, rows) + "\n" + foot

    def to_dict(self) -> list[dict]:
        return [k.to_dict() for k in self]


def _time_step(step: Any, env: list, budget: float) -> float:
    """Median seconds of ``step.run(env)``, batched to about ``budget`` per sample."""
    step.run(env)  # binds the kernel variant for these strides
    t0 = time.perf_counter()
    step.run(env)
    t1 = time.perf_counter() - t0
    n = max(1, min(10000, math.ceil(budget / max(t1, 1e-7))))
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            step.run(env)
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def _profile(program: Any, inputs: list, phase: str, budget: float,
             peak: Roofline | None) -> tuple[list[KernelTiming], list]:
    """Time each step of ``program`` in order; returns timings and the program's outputs."""
    env: list[Any] = program._env_template.copy()
    for vid, a in zip(program._input_ids, inputs):
        env[vid] = a
    cost_of = {c.index: c for c in costs.program_costs(program)}
    per = budget / max(1, len(program.steps)) / 5
    out = []
    for k, step in enumerate(program.steps):
        out.append(KernelTiming(phase, cost_of[k], _time_step(step, env, per), peak))
    return out, [env[o] for o in program.graph.outputs]


def kernel_report(fn: Any, *args: Any, min_time: float = 0.5, backward: bool = True,
                  peak: bool | Roofline = True, **kwargs: Any) -> KernelReport:
    """Profile each compiled step of jitted ``fn`` on these arguments.

    ``min_time`` is the rough total timing budget; ``backward`` also profiles the compiled
    backward (fed ones as output gradients) when the outputs need gradients.
    """
    from ..tracing.api import JitFunction

    if not isinstance(fn, JitFunction):
        raise TypeError(f"kernels() profiles a tracejit.jit function, got {type(fn).__name__}")
    key, tensors = fn._signature(args, kwargs)
    entry = fn._entry_for(args, kwargs)
    rl = peak if isinstance(peak, Roofline) else roofline("cpu") if peak else None
    ins = [t._data for t in tensors] + list(entry.capture_arrays)
    report = KernelReport()
    report.peak = rl
    nb = sum(len(p.steps) for p in (entry.fwd, entry.bwd) if p is not None and backward)
    share = len(entry.fwd.steps) / max(1, nb)
    timings, outs = _profile(entry.fwd, ins, "fwd", min_time * share, rl)
    report.extend(timings)
    if backward and entry.bwd is not None:
        gins = [np.ones(shape, dt) for shape, dt in entry.diff_out_meta]
        saved = [outs[k] if src == "out" else ins[k] for src, k in entry.saved_index]
        timings, _ = _profile(entry.bwd, gins + saved, "bwd", min_time * (1 - share), rl)
        report.extend(timings)
    return report
