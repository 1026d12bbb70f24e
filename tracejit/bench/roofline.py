"""The machine's measured peaks: copy bandwidth and arithmetic throughput.

Peaks are measured, not taken from a spec sheet, because what a tracejit kernel can reach
depends on this machine's memory, its vector width, the threads tracejit may use and the code
our generator emits. Figures are cached per machine in ``$TRACEJIT_CACHE_DIR/roofline.json``
(default ``~/.cache/tracejit``), so they are measured once; ``refresh=True`` measures again.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import codegen as cg

CACHE_VERSION = 2
COPY_BYTES = 256 << 20  # far beyond the last-level cache: the copy streams from DRAM
FMA_ELEMS = 1 << 19  # 2 MiB of f32: stays in cache, so the FMA kernel is compute-bound
FMA_CHAINS, FMA_STEPS = 16, 24  # independent chains hide the mul/add latency


@dataclass
class Roofline:
    """Peak copy bandwidth (GB/s) and f32 arithmetic rate (GFLOP/s), and how each was got."""

    device: str
    machine: str
    threads: int
    bandwidth_gbs: float
    gflops: float
    bandwidth_method: str
    flops_method: str
    measured: str  # ISO timestamp
    components: dict = field(default_factory=dict)  # each measurement behind the peaks
    cached: bool = False

    @property
    def ridge(self) -> float:
        """Flops per byte above which a kernel is compute-bound rather than memory-bound."""
        return self.gflops / self.bandwidth_gbs

    def fraction(self, gbs: float, gflops: float) -> float:
        """Fraction of the roofline reached: achieved / min(peak flops, intensity * peak bw)."""
        return max(gbs / self.bandwidth_gbs, gflops / self.gflops)

    def __str__(self) -> str:
        return (f"{self.device} peak ({self.machine}, {self.threads} threads, measured "
                f"{self.measured[:10]}{', cached' if self.cached else ''}):\n"
                f"  bandwidth {self.bandwidth_gbs:8.1f} GB/s   {self.bandwidth_method}\n"
                f"  compute   {self.gflops:8.1f} GFLOP/s {self.flops_method}")

    def to_dict(self) -> dict:
        return asdict(self)


def cache_file() -> Path:
    d = os.environ.get("TRACEJIT_CACHE_DIR")
    return (Path(d) if d else Path.home() / ".cache" / "tracejit") / "roofline.json"


def machine_key(device: str = "cpu") -> str:
    """Identifies the hardware and thread count the figures hold for."""
    if device == "cpu":
        cpu = platform.processor() or platform.machine()
        return f"cpu:{platform.node()}:{cpu}:{os.cpu_count()}cpu:{cg.get_num_threads()}t"
    return f"{device}:{platform.node()}"


def _best(fn: Any, repeats: int, min_s: float = 0.0) -> float:
    """Fastest of ``repeats`` timed calls (peaks are best cases), at least ``min_s`` total."""
    fn()
    best, spent, k = float("inf"), 0.0, 0
    while k < repeats or spent < min_s:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent, k = min(best, dt), spent + dt, k + 1
    return best


def _copy_kernel() -> cg.Kernel:
    return cg.Kernel("roofline_copy", 1, ("f32",), outputs=(cg.Load(0, "f32"),))


def fma_kernel(chains: int = FMA_CHAINS, steps: int = FMA_STEPS) -> tuple[cg.Kernel, int]:
    """A kernel doing ``chains`` independent x = x*a + b chains per element, and its flops.

    The IR has no fused multiply-add and LLVM does not contract without fast-math, so each
    step is a vector mul and a vector add (2 flops): the rate the generated code can reach.
    """
    x = cg.Load(0, "f32")
    a, b = cg.Const(0.999, "f32"), cg.Const(0.001, "f32")
    cs = [cg.Binary("mul", x, cg.Const(1.0 + j / 64, "f32")) for j in range(chains)]
    for _ in range(steps):
        cs = [cg.Binary("add", cg.Binary("mul", c, a), b) for c in cs]
        for c in cs:
            hash(c)  # cache hashes bottom-up: the tree is deep
    out = cs[0]
    for c in cs[1:]:
        out = cg.Binary("add", out, c)
    flops = chains * (1 + 2 * steps) + chains - 1
    return cg.Kernel("roofline_fma", 1, ("f32",), outputs=(out,)), flops


def _measure_cpu(quick: bool) -> dict:
    n = (COPY_BYTES >> (4 if quick else 0)) // 4
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    reps = 3 if quick else 7
    t_np = _best(lambda: np.copyto(dst, src), reps)
    pk = cg.prepare(_copy_kernel())
    t_k = _best(lambda: pk([src], [dst]), reps)
    nbytes = 2 * src.nbytes
    bw = nbytes / min(t_np, t_k) / 1e9
    how = ("numpy.copyto" if t_np <= t_k
           else f"generated copy kernel, {cg.get_num_threads()} threads")
    bw_method = (f"best of {reps} copies of {src.nbytes >> 20} MiB f32, read + write counted "
                 f"(STREAM convention, write-allocate traffic not counted); numpy.copyto "
                 f"{nbytes / t_np / 1e9:.1f}, generated copy kernel "
                 f"{nbytes / t_k / 1e9:.1f} GB/s; peak = {how}")
    kernel, per = fma_kernel()
    m = FMA_ELEMS >> (2 if quick else 0)
    xs = np.full(m, 0.5, np.float32)
    out = np.empty_like(xs)
    pk = cg.prepare(kernel)
    old = cg.set_parallel_threshold(0)  # use every thread even on this small, hot array
    try:
        t = _best(lambda: pk([xs], [out]), reps, 0.05 if quick else 0.3)
    finally:
        cg.set_parallel_threshold(old)
    k_gflops = per * m / t / 1e9
    s = 512 if quick else 1024
    a = np.full((s, s), 0.5, np.float32)
    t_mm = _best(lambda: a @ a, reps, 0.05 if quick else 0.3)
    mm_gflops = 2 * s ** 3 / t_mm / 1e9
    fl_method = (f"max of: a generated LLVM kernel, {FMA_CHAINS} independent mul+add chains "
                 f"x {FMA_STEPS} steps = {per} f32 flops per element on {m} elements "
                 f"({m * 4 >> 10} KiB, in cache; separate vector mul and add, as fused "
                 f"kernels are emitted) {k_gflops:.1f} GFLOP/s, and numpy/BLAS sgemm "
                 f"{s}x{s}x{s} (vector FMA) {mm_gflops:.1f} GFLOP/s; "
                 f"{cg.get_num_threads()} threads, best times")
    return {"bandwidth_gbs": bw, "gflops": max(k_gflops, mm_gflops),
            "bandwidth_method": bw_method, "flops_method": fl_method,
            "components": {"numpy_copy_gbs": nbytes / t_np / 1e9,
                           "kernel_copy_gbs": nbytes / t_k / 1e9,
                           "kernel_mul_add_gflops": k_gflops, "sgemm_gflops": mm_gflops}}


def _measure_cuda(quick: bool) -> dict:
    """Device-to-device copy and an FMA kernel on the GPU, timed with CUDA events."""
    from . import cuda_support

    return cuda_support.measure_peaks(quick, fma_kernel)


def _load() -> dict:
    try:
        data = json.loads(cache_file().read_text())
        return data if data.get("version") == CACHE_VERSION else {"version": CACHE_VERSION}
    except (OSError, ValueError):
        return {"version": CACHE_VERSION}


def roofline(device: str = "cpu", refresh: bool = False, quick: bool = False) -> Roofline:
    """This machine's measured peaks for ``device`` ("cpu" or "cuda"), cached per machine.

    ``quick`` measures on smaller arrays (for tests); quick figures are not cached.
    """
    device = str(device).split(":")[0]
    if device not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r} (expected 'cpu' or 'cuda')")
    key = machine_key(device)
    data = _load()
    if not refresh and not quick and key in data:
        return Roofline(**{**data[key], "cached": True})
    figures = _measure_cuda(quick) if device == "cuda" else _measure_cpu(quick)
    threads = cg.get_num_threads() if device == "cpu" else 1
    if device == "cpu":
        name = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus"
    else:
        name = figures.pop("name", key)
    now = datetime.datetime.now().isoformat(timespec="seconds")
    rl = Roofline(device, name, threads, measured=now, **figures)
    if not quick:
        data[key] = {k: v for k, v in rl.to_dict().items() if k != "cached"}
        path = cache_file()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1))
            os.replace(tmp, path)
        except OSError:  # a read-only home still gets figures, just not cached
            pass
    return rl
