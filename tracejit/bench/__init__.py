"""tracejit.bench: time jitted and eager functions against this machine's measured peak.

    from tracejit import bench
    r = bench.benchmark(f, x, y)        # median, min, IQR, GB/s, GFLOP/s, % of peak
    print(bench.roofline())             # measured copy bandwidth and arithmetic rate
    print(f.kernels(x, y))              # per-kernel time, bytes, flops (f = tracejit.jit(...))

``python -m tracejit.bench FILE.py:function --shape 1024x1024 --compare numpy,torch,jax``
runs the same from the command line (see ``tracejit.bench.cli``).
"""
from __future__ import annotations

from .costs import StepCost, expr_flops, kernel_bytes, kernel_flops, program_costs
from .kernels import KernelReport, KernelTiming, kernel_report
from .roofline import Roofline, roofline
from .timer import BenchResult, benchmark, work_of

kernels = kernel_report

__all__ = ["BenchResult", "KernelReport", "KernelTiming", "Roofline", "StepCost", "benchmark",
           "expr_flops", "kernel_bytes", "kernel_flops", "kernel_report", "kernels",
           "program_costs", "roofline", "work_of"]
