"""Work counts of compiled graphs: bytes each step reads and writes, and its flops.

Counts come from the graph, not from hardware counters, so they are exact for what the
program asks for and independent of caches.

Conventions (stated once, used everywhere):

* bytes of a step = the sizes of the values it reads plus the values it writes (a broadcast
  input counts at its own size, a view step moves nothing);
* flops of a fused kernel = floating-point IR ops per element, each distinct subexpression
  once (the code generator emits shared subtrees once), times the elements it runs on;
  every arithmetic op counts 1, including ``exp``/``tanh``/``sigmoid`` (these take 10-20
  instructions in the generated code, so GFLOP/s is a rate of *useful* ops); comparisons,
  casts, selects and integer ops count 0; a reduction adds 1 per element reduced;
* matrix products count 2*m*n*k, convolutions 2 * output elements * (Cin/groups * kernel).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import codegen as cg

FLOAT_IR = frozenset({"f16", "f32", "f64"})
FREE_UNARY = frozenset({"not", "isnan", "isinf"})
FREE_BINARY = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"})
MATMUL_OPS = frozenset({"mm", "mv", "dot", "bmm", "matmul", "addmm", "linear"})
CONV_OPS = frozenset({"convolution", "convolution_backward_input",
                      "convolution_backward_weight"})


def _nbytes(shape: Any, dtype: Any) -> int:
    return int(math.prod(shape)) * np.dtype(dtype).itemsize


def _count(e: Any, seen: set) -> int:
    """Flops of one element of ``e``, skipping subtrees already in ``seen``."""
    stack, n = [e], 0
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        if isinstance(x, cg.Unary):
            n += x.op not in FREE_UNARY and x.x.dtype in FLOAT_IR
            stack.append(x.x)
        elif isinstance(x, cg.Binary):
            n += x.op not in FREE_BINARY and x.a.dtype in FLOAT_IR
            stack += [x.a, x.b]
        elif isinstance(x, cg.Where):
            stack += [x.cond, x.a, x.b]
        elif isinstance(x, cg.Cast):
            stack.append(x.x)
    return int(n)


def expr_flops(*exprs: Any) -> int:
    """Flops per element of the given IR expressions taken together."""
    seen: set = set()
    return sum(_count(e, seen) for e in exprs)


def kernel_flops(kernel: cg.Kernel, shape: tuple[int, ...]) -> int:
    """Flops of one launch of ``kernel`` over the iteration ``shape``."""
    total = int(math.prod(shape))
    outer = int(math.prod(shape[:kernel.outer_ndim]))
    seen: set = set()
    per_elem = sum(_count(r.expr, seen) + 1 for r in kernel.reductions)
    per_outer = sum(_count(e, seen) for e in kernel.outputs)
    return per_elem * total + per_outer * (outer if kernel.nreduce else total)


def kernel_bytes(kernel: cg.Kernel, shape: tuple[int, ...]) -> int:
    """Bytes of one launch when every input is a full array of the iteration shape."""
    total = int(math.prod(shape))
    outer = int(math.prod(shape[:kernel.outer_ndim]))
    ins = sum(total * cg.NP_DTYPES[dt].itemsize for dt in kernel.inputs)
    return ins + sum(outer * cg.NP_DTYPES[e.dtype].itemsize for e in kernel.outputs)


@dataclass
class StepCost:
    """What one step of a compiled program costs and what it is."""

    index: int
    name: str
    kind: str  # "kernel" (generated), "library" (BLAS, conv, ...), "view" (no data moved)
    bytes: int
    flops: int
    shape: tuple[int, ...]
    step: Any

    @property
    def intensity(self) -> float:
        """Flops per byte (where the step sits on the roofline)."""
        return self.flops / self.bytes if self.bytes else 0.0

    def ir(self) -> str:
        """Readable kernel IR, or a one-line description of a library call."""
        if self.kind == "kernel":
            return self.step.plan.kernel.pretty()
        n = self.step.node
        return f"{n.op.name}({', '.join(f'%{i}' for i in n.ins)}) -> library call"

    def source(self, kind: str = "llvm") -> str:
        """The generated code of a kernel step (LLVM IR by default)."""
        if self.kind != "kernel":
            return self.ir()
        k = self.step.plan.kernel
        return cg.source(k, ["strided"] * len(k.inputs), kind)


def _node_flops(node: Any, g: Any) -> int:
    """Flops of an op that runs its own forward (not a generated kernel)."""
    name, group = node.op.name, node.op.group
    out = g.shapes[node.outs[0]] if node.outs else ()
    ins = [g.shapes[i] for i in node.ins]
    if name in MATMUL_OPS or group == "matmul":
        a = ins[1] if name == "addmm" else ins[0]
        k = a[-1] if a else 1
        extra = int(math.prod(out)) if name == "addmm" else 0
        return 2 * int(math.prod(out)) * int(k) + extra
    if name in CONV_OPS:
        w = ins[1] if name != "convolution_backward_weight" else node.params["weight_shape"]
        gy = out if name == "convolution" else ins[0] if name.endswith("input") else ins[1]
        return 2 * int(math.prod(gy)) * int(math.prod(w[1:]))
    floats = [g.dtypes[i] for i in node.ins if g.dtypes[i].kind == "f"]
    if group == "reduce":
        return int(math.prod(ins[0])) if ins and floats else 0
    if group in ("unary", "binary", "where") and (floats or g.dtypes[node.outs[0]].kind == "f"):
        return int(math.prod(out)) * _lowered_flops(node, g)
    return 0


def _lowered_flops(node: Any, g: Any) -> int:
    """Per-element flops of an elementwise op, by its lowering to kernel IR."""
    from ..tracing.lower import IR_DTYPE, LOWER

    try:
        args = [cg.Load(k, IR_DTYPE[g.dtypes[i]]) for k, i in enumerate(node.ins)]
        return expr_flops(LOWER[node.op.name](args, node.params, IR_DTYPE[g.dtypes[node.outs[0]]]))
    except (KeyError, TypeError, ValueError):
        return 1


def program_costs(program: Any) -> list[StepCost]:
    """Bytes and flops of each step of a compiled ``Program``, in run order."""
    from ..tracing.execute import KernelStep

    g = program.graph
    costs = []
    for k, step in enumerate(program.steps):
        if isinstance(step, KernelStep):
            p = step.plan
            nbytes = 0
            for vid in p.in_ids:
                if vid < 0:
                    nbytes += step.scalar.itemsize if step.scalar is not None else 0
                else:
                    nbytes += _nbytes(g.shapes[vid], g.dtypes[vid])
            nbytes += sum(_nbytes(g.shapes[o], g.dtypes[o]) for o in p.out_ids)
            flops = kernel_flops(p.kernel, step.iter_shape)
            costs.append(StepCost(k, p.kernel.name, "kernel", nbytes, flops,
                                  tuple(step.iter_shape), step))
            continue
        n = step.node
        out = tuple(g.shapes[n.outs[0]]) if n.outs else ()
        if n.op.view or n.op.group == "view":
            costs.append(StepCost(k, n.op.name, "view", 0, 0, out, step))
            continue
        nbytes = sum(_nbytes(g.shapes[i], g.dtypes[i]) for i in n.ins)
        nbytes += sum(_nbytes(g.shapes[o], g.dtypes[o]) for o in n.outs)
        costs.append(StepCost(k, n.op.name, "library", nbytes, _node_flops(n, g), out, step))
    return costs


def totals(costs: list[StepCost]) -> tuple[int, int]:
    """Total (bytes, flops) of a list of step costs."""
    return sum(c.bytes for c in costs), sum(c.flops for c in costs)
