"""Device helpers shared by the library kernels of ``kernels/``: launching the hand-written
CUDA C kernels (grid-stride loops over one index) and the IR kernels every one of them needs
(copies, casts, fills).

Hand-written sources are loaded once per runtime (``Runtime.load_module`` caches by text, and
the simulator and pycuda cache compiled modules on disk); a launch covers ``total`` elements
with 256-thread blocks, at most the runtime's grid limit (the loops stride over the rest).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import numpy as np
from tracejit.codegen.cuda import DeviceArray, Runtime, launch

from tracejit import codegen as cg

BLOCK = 256
IR_DTYPE = {dt: name for name, dt in cg.NP_DTYPES.items()}

__all__ = ["BLOCK", "IR_DTYPE", "contiguous", "copy_kernel", "fill", "launch_1d"]


def launch_1d(runtime: Runtime, source: str, name: str, total: int, args: Sequence) -> None:
    """Run kernel ``name`` of ``source`` over ``total`` elements (nothing when 0)."""
    if total <= 0:
        return
    blocks = max(1, min(math.ceil(total / BLOCK), runtime.limits.max_grid))
    runtime.launch(runtime.load_module(source), name, (blocks,), (BLOCK,), list(args))


@cache
def copy_kernel(ndim: int, src: str, dst: str) -> cg.Kernel:
    """The IR kernel copying (and casting ``src`` to ``dst``) an ``ndim``-d array."""
    e: cg.Expr = cg.Load(0, src)
    if src != dst:
        e = cg.Cast(e, dst)
    return cg.Kernel(f"k_copy_{src}_{dst}", ndim, (src,), outputs=(e,))


def contiguous(a: DeviceArray) -> DeviceArray:
    """``a`` if C-contiguous, else a contiguous copy made by the IR copy kernel."""
    if a.is_contiguous:
        return a
    dt = IR_DTYPE[np.dtype(a.dtype)]
    return launch(copy_kernel(a.ndim, dt, dt), [a], shape=a.shape)[0]


def fill(out: DeviceArray, value: float) -> None:
    """out[...] = value for a contiguous ``out``."""
    dt = IR_DTYPE[np.dtype(out.dtype)]
    k = cg.Kernel(f"k_fill_{dt}", out.ndim, (), outputs=(cg.Const(value, dt),))
    launch(k, [], [out], shape=out.shape, runtime=out.runtime)
