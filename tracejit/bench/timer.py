"""``benchmark``: time a jitted or eager function, or one generated kernel, for its device.

On the CPU every call is synchronous, so a monotonic clock around a batch of calls is right;
batches are sized so one sample is far above the clock's resolution and the call overhead of
the timing loop, and samples are collected until ``min_time`` has passed. On cuda the batch
is bracketed by CUDA events (see ``cuda_support``). The result carries the work the call does
(bytes and flops, counted from the compiled graph) so it can say how close to the machine's
measured peak it ran.
"""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import codegen as cg
from . import costs
from .roofline import Roofline, roofline

MIN_SAMPLE_S = 1e-3  # one sample: far above perf_counter's ~100 ns resolution
MIN_SAMPLES = 5


@dataclass
class BenchResult:
    """Seconds per call (median, min, IQR over samples) and the rates they imply."""

    name: str
    device: str
    samples: list[float]  # seconds per call, one per sample
    repeats: int  # calls per sample
    bytes: int | None = None  # per call, from the compiled graph
    flops: int | None = None
    peak: Roofline | None = None
    timer: str = "time.perf_counter"
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def iqr(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        q = statistics.quantiles(self.samples, n=4)
        return q[2] - q[0]

    @property
    def calls(self) -> int:
        return self.repeats * len(self.samples)

    @property
    def gbps(self) -> float | None:
        """Achieved GB/s at the median time (10^9 bytes per second)."""
        return None if self.bytes is None else self.bytes / self.median / 1e9

    @property
    def gflops(self) -> float | None:
        return None if self.flops is None else self.flops / self.median / 1e9

    @property
    def peak_fraction(self) -> float | None:
        """Fraction of the roofline bound at this kernel's arithmetic intensity."""
        if self.peak is None or self.bytes is None:
            return None
        return self.peak.fraction(self.gbps or 0.0, self.gflops or 0.0)

    def to_dict(self) -> dict:
        keys = ("name", "device", "median", "min", "iqr", "repeats", "calls", "bytes",
                "flops", "gbps", "gflops", "peak_fraction", "timer")
        d = {k: getattr(self, k) for k in keys}
        d["samples"] = list(self.samples)
        d.update(self.extra)
        return d

    def __str__(self) -> str:
        from .report import fmt_time

        s = (f"{self.name}: median {fmt_time(self.median)}, min {fmt_time(self.min)}, "
             f"IQR {fmt_time(self.iqr)} ({len(self.samples)} samples x {self.repeats} calls, "
             f"{self.device})")
        if self.gbps is not None:
            s += f"; {self.gbps:.2f} GB/s, {self.gflops:.2f} GFLOP/s"
        if self.peak_fraction is not None:
            s += f", {100 * self.peak_fraction:.1f}% of peak"
        return s


def _device_of(args: tuple, device: str | None) -> str:
    if device is not None:
        return str(device).split(":")[0]
    for a in args:
        dev = getattr(a, "device", None)
        if dev is not None and getattr(dev, "type", None) in ("cpu", "cuda"):
            return dev.type
    return "cpu"


def work_of(fn: Any, args: tuple, kwargs: dict) -> tuple[int | None, int | None, str]:
    """(bytes, flops, how) of one call of ``fn``, or Nones when it cannot be counted.

    A jitted function is counted from its compiled forward program; a plain function is
    traced once with the eager backend (one step per op, as eager execution runs it); a
    codegen Kernel from its IR and the input shape.
    """
    from ..tracing.api import JitFunction, jit

    if isinstance(fn, cg.Kernel):
        shape = tuple(np.asarray(args[0]).shape) if args else tuple(kwargs.get("shape", ()))
        return costs.kernel_bytes(fn, shape), costs.kernel_flops(fn, shape), "kernel IR"
    try:
        if isinstance(fn, JitFunction):
            prog = fn._entry_for(args, kwargs).fwd
            how = "compiled kernels"
        else:
            prog = jit(fn, backend="eager", cache=False)._entry_for(args, kwargs).fwd
            how = "eager ops (traced)"
    except Exception:  # data-dependent Python, unsupported ops: time it, count nothing
        return None, None, "not countable"
    if not prog.steps:
        return None, None, "no tensor ops"
    nbytes, flops = costs.totals(costs.program_costs(prog))
    return nbytes, flops, how


def _caller(fn: Any, args: tuple, kwargs: dict) -> Callable[[], Any]:
    if isinstance(fn, cg.Kernel):
        arrays = [np.ascontiguousarray(a) for a in args]
        pk = cg.prepare(fn, [cg.classify(a) for a in arrays])
        outer = arrays[0].shape[:fn.outer_ndim] if arrays else ()
        outs = [np.empty(outer, cg.NP_DTYPES[e.dtype]) for e in fn.outputs]
        shape = kwargs.get("shape")
        return lambda: pk(arrays, outs, shape)
    return lambda: fn(*args, **kwargs)


def _sample(call: Callable[[], Any], n: int, timer: Any) -> float:
    """Seconds per call over a batch of ``n`` calls."""
    if timer is not None:
        timer.start()
        for _ in range(n):
            call()
        return timer.stop() / n
    t0 = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - t0) / n


def benchmark(fn: Any, *args: Any, warmup: int = 3, min_time: float = 0.2,
              device: str | None = None, max_samples: int = 200, name: str | None = None,
              count: bool = True, peak: bool | Roofline = True,
              kwargs: dict | None = None) -> BenchResult:
    """Time ``fn(*args)`` (a jitted or eager function, or a codegen Kernel on numpy arrays).

    ``warmup`` calls run first (the first compiles); then calls are batched so one sample
    lasts at least 1 ms and samples are taken until ``min_time`` seconds have passed (and at
    least 5). ``peak`` compares against the machine's measured roofline (cached after the
    first measurement); pass a ``Roofline`` to reuse one or False to skip it.
    """
    kwargs = dict(kwargs or {})
    dev = _device_of(args, device)
    timer = None
    if dev == "cuda":
        from . import cuda_support

        cuda_support.require_cuda()
        timer = cuda_support.EventTimer()
    call = _caller(fn, args, kwargs)
    for _ in range(max(1, warmup)):
        call()
    t1 = _sample(call, 1, timer)
    n = max(1, math.ceil(MIN_SAMPLE_S / max(t1, 1e-9)))
    n = min(n, 1 << 20)
    samples: list[float] = []
    t_end = time.perf_counter() + min_time
    while len(samples) < MIN_SAMPLES or (time.perf_counter() < t_end
                                         and len(samples) < max_samples):
        samples.append(_sample(call, n, timer))
    nbytes = flops = None
    how = "not counted"
    if count:
        nbytes, flops, how = work_of(fn, args, kwargs)
    rl = peak if isinstance(peak, Roofline) else roofline(dev) if peak else None
    label = name or getattr(fn, "__name__", None) or getattr(fn, "name", "fn")
    return BenchResult(label, dev, samples, n, nbytes, flops, rl,
                       timer.method if timer is not None else "time.perf_counter",
                       {"counted_from": how})
