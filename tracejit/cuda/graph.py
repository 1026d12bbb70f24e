"""A jitted graph on cuda: every fused kernel in ONE codegen.cuda Program (one compile).

Why predicted layouts: a variant per input layout is chosen at launch, but the module must
be built before the first run.  Each kernel gets the variant for contiguous inputs (the
common case) plus its all-"strided" variant, which serves any other layout at run time.
Library/view steps use the eager device dispatch (``ops.run_op``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .array import CudaArray
from .kernels import launch_plan, multi_program, predicted_layouts, to_device
from .ops import run_op


class CudaRunner:
    """Runs a ``tracing.execute.Program``'s steps on device arrays."""

    def __init__(self, prog: Any) -> None:
        self.prog = prog
        g = prog.graph
        items = []
        for plan in prog.kernels:
            shapes = [tuple(g.shapes[v]) if v >= 0 else () for v in plan.in_ids]
            items.append((plan.kernel, predicted_layouts(plan, shapes)))
            items.append((plan.kernel, ("strided",) * len(plan.kernel.inputs)))
        self.items = items
        self.module: Any = None

    def compile(self) -> None:
        """Build the graph's module now (one compiler invocation for all its kernels)."""
        if self.module is None and self.items:
            self.module = multi_program(self.items)

    def source(self) -> str:
        self.compile()
        return self.module.source if self.module is not None else ""

    def __call__(self, inputs: list) -> list:
        from ..tracing.execute import KernelStep

        self.compile()
        p = self.prog
        env: list[Any] = p._env_template.copy()
        for vid, a in zip(p._input_ids, inputs):
            env[vid] = a if type(a) is CudaArray else to_device(a)
        for step, frees in p._plan:
            if type(step) is KernelStep:
                plan = step.plan
                raw = [env[v] if v >= 0 else None for v in plan.in_ids]
                outs = launch_plan(plan, raw, self.module, step.out_shapes)
                for vid, o in zip(plan.out_ids, outs):
                    env[vid] = o
            else:
                n = step.node
                res = run_op(n.op, [env[i] for i in n.ins], n.params)
                if n.op.nout == 1:
                    env[n.outs[0]] = res
                else:
                    for o, r in zip(n.outs, res):
                        env[o] = r
            for v in frees:
                env[v] = None
        return [_out(env[o], c) for o, c in p._outs]


def _out(a: Any, copy: bool) -> CudaArray:
    if type(a) is not CudaArray:
        return CudaArray.from_numpy(np.asarray(a))
    return a.copy() if copy else a
