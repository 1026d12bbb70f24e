"""Timing for side-by-side comparisons: systems alternate round by round to cancel drift."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def calibrate(fn: Callable[[], object], target_s: float = 0.02) -> int:
    """How many calls make one sample of about ``target_s`` seconds."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target_s or n >= 1 << 22:
            return max(1, int(n * target_s / max(dt, 1e-9)))
        n *= 4


def compare(systems: dict[str, Callable[[], object]], rounds: int = 15,
            target_s: float = 0.02) -> dict[str, dict[str, float]]:
    """Median seconds per call (and IQR) of each system, measured in alternating rounds."""
    for fn in systems.values():  # warm up: compiles, caches, allocator pools
        fn()
        fn()
    counts = {name: calibrate(fn, target_s) for name, fn in systems.items()}
    samples: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(rounds):
        for name, fn in systems.items():
            n = counts[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
    out = {}
    for name, s in samples.items():
        q = statistics.quantiles(s, n=4)
        out[name] = {"median": statistics.median(s), "iqr": q[2] - q[0], "min": min(s)}
    return out


def fmt_time(s: float) -> str:
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"
