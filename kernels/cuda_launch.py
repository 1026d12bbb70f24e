"""Launching the hand-written CUDA C kernels of ``kernels/`` (grid-stride loops over one index).

Each module's source is loaded once per runtime (``Runtime.load_module`` caches by text, and
the simulator and pycuda cache compiled modules on disk); a launch covers ``total`` elements
with 256-thread blocks, at most the runtime's grid limit (the loops stride over the rest).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from tracejit.codegen.cuda import Runtime

BLOCK = 256

__all__ = ["BLOCK", "launch_1d"]


def launch_1d(runtime: Runtime, source: str, name: str, total: int, args: Sequence) -> None:
    """Run kernel ``name`` of ``source`` over ``total`` elements (nothing when 0)."""
    if total <= 0:
        return
    blocks = max(1, min(math.ceil(total / BLOCK), runtime.limits.max_grid))
    runtime.launch(runtime.load_module(source), name, (blocks,), (BLOCK,), list(args))
