"""A compiled graph: a list of steps over a value table, replayed without re-running Python."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import codegen as cg
from . import debug
from .fusion import Group, schedule
from .graph import Graph
from .lower import KernelPlan, lower_group


class KernelStep:
    """Run one fused kernel: broadcast/permute its inputs, call the compiled code."""

    __slots__ = ("plan", "bound", "inv_n", "out_shapes", "iter_shape", "red_shape", "scalar",
                 "same_shapes")

    def __init__(self, plan: KernelPlan, g: Graph) -> None:
        self.plan = plan
        self.bound: dict[tuple, Any] = {}
        full = plan.full_shape
        n = 1
        if plan.perm is not None:
            for d in plan.perm[len(plan.perm) - plan.kernel.nreduce:]:
                n *= full[d]
        self.inv_n = 1.0 / n if n else float("nan")
        self.out_shapes = [g.shapes[o] for o in plan.out_ids]
        self.red_shape = plan.red_shape
        self.iter_shape = tuple(full[d] for d in plan.perm) if plan.perm is not None else full
        outer = self.iter_shape[:len(self.iter_shape) - plan.kernel.nreduce]
        self.same_shapes = all(tuple(sh) == tuple(outer) for sh in self.out_shapes)
        self.scalar = None
        for mode, dt in zip(plan.in_modes, plan.kernel.inputs):
            if mode == "scalar":
                self.scalar = np.array(self.inv_n, dtype=cg.NP_DTYPES[dt])

    def run(self, env: list) -> None:
        raw = [env[v] if v >= 0 else self.scalar for v in self.plan.in_ids]
        key = tuple([a.strides for a in raw])
        bound = self.bound.get(key)
        if bound is None:
            bound = self.bound[key] = self._bind(raw)
        # broadcasting, reshaping and permuting change strides, never the data pointer
        outs = bound(raw)
        if self.same_shapes:
            for vid, o in zip(self.plan.out_ids, outs):
                env[vid] = o
        else:
            for vid, o, shape in zip(self.plan.out_ids, outs, self.out_shapes):
                env[vid] = o.reshape(shape)

    def _bind(self, raw: list) -> Any:
        """The kernel variant and call for these input strides (once per layout seen)."""
        p = self.plan
        full, perm = p.full_shape, p.perm
        views = []
        for a, mode in zip(raw, p.in_modes):
            if mode == "outer":
                a = np.broadcast_to(a, self.red_shape).reshape(p.keep_shape)
            if mode != "scalar" and a.shape != full:
                a = np.broadcast_to(a, full)
            if perm is not None and mode != "scalar":
                a = a.transpose(perm)
            views.append(a)
        layouts = tuple(_classify(a) for a in views)
        pk = cg.prepare(p.kernel, layouts)
        return pk.bind(self.iter_shape, [a.strides for a in views])


_classify = cg.classify


class OpStep:
    """Run an op's own forward (views, BLAS matmul, gathers, sorts, ...)."""

    __slots__ = ("node",)

    def __init__(self, node: Any) -> None:
        self.node = node

    def run(self, env: list) -> None:
        n = self.node
        res = n.op.impl(*[env[i] for i in n.ins], **n.params)
        if n.op.nout == 1:
            env[n.outs[0]] = res if type(res) is np.ndarray else np.asarray(res)
        else:
            for o, r in zip(n.outs, res):
                env[o] = r if type(r) is np.ndarray else np.asarray(r)


class Program:
    """Steps in dependency order, with each intermediate dropped after its last use."""

    def __init__(self, g: Graph, backend: str = "llvm", label: str = "graph",
                 device: str = "cpu") -> None:
        self.graph = g
        self.backend = backend
        self.device = device
        t0 = time.perf_counter()
        if backend == "llvm" or device == "cuda":
            groups = schedule(g, any_reduce=device == "cuda")
        else:
            groups = [Group("op", [n]) for n in g.nodes]
        readers: dict[int, set[int]] = {}
        for gi, grp in enumerate(groups):
            for n in grp.nodes:
                for i in n.ins:
                    readers.setdefault(i, set()).add(gi)
        outputs = set(g.outputs)
        self.steps: list[Any] = []
        self.kernels: list[KernelPlan] = []
        for gi, grp in enumerate(groups):
            if grp.kind == "kernel":
                produced = {o for n in grp.nodes for o in n.outs}
                outside = {v for v in produced
                           if v in outputs or readers.get(v, set()) - {gi}}
                plan = lower_group(grp, g, outside)
                self.kernels.append(plan)
                self.steps.append(KernelStep(plan, g))
            else:
                self.steps.append(OpStep(grp.nodes[0]))
        self._plan_frees()
        self._finalize()
        self._cuda = None
        if device == "cuda":  # the same steps, run on device arrays (tracejit/cuda/graph.py)
            from ..cuda.graph import CudaRunner

            self._cuda = CudaRunner(self)
            self._direct = None
        self.lower_seconds = time.perf_counter() - t0
        debug.log(2, f"{label}: {len(g.nodes)} ops -> {len(self.kernels)} fused kernels, "
                     f"{len(self.steps) - len(self.kernels)} library/view steps")

    def _step_ins(self, step: Any) -> list[int]:
        if isinstance(step, KernelStep):
            return [i for i in step.plan.in_ids if i >= 0]
        return list(step.node.ins)

    def _step_outs(self, step: Any) -> list[int]:
        if isinstance(step, KernelStep):
            return list(step.plan.out_ids)
        return list(step.node.outs)

    def _plan_frees(self) -> None:
        last: dict[int, int] = {}
        for k, step in enumerate(self.steps):
            for i in self._step_ins(step):
                last[i] = k
        keep = set(self.graph.outputs) | set(self.graph.inputs) | set(self.graph.consts)
        self.frees: list[list[int]] = [[] for _ in self.steps]
        for v, k in last.items():
            if v not in keep:
                self.frees[k].append(v)

    def compile(self) -> None:
        """Compile (or load from the kernel cache) every kernel now, not on first run."""
        if self._cuda is not None:
            self._cuda.compile()
            return
        for plan in self.kernels:
            cg.prepare(plan.kernel, None)

    def __call__(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if self._direct is not None:  # one kernel straight from the inputs
            step, pos = self._direct
            raw = [inputs[i] for i in pos]
            bound = step.bound.get(tuple([a.strides for a in raw]))
            if bound is not None:
                return bound(raw)
        if self._cuda is not None:
            return self._cuda(inputs)
        env: list[Any] = self._env_template.copy()
        for vid, a in zip(self._input_ids, inputs):
            env[vid] = a
        for step, frees in self._plan:
            step.run(env)
            for v in frees:
                env[v] = None
        return [np.array(env[o], copy=True) if c else env[o] for o, c in self._outs]

    def _finalize(self) -> None:
        g = self.graph
        self._env_template: list[Any] = [None] * len(g.shapes)
        for vid, a in g.consts.items():
            self._env_template[vid] = a
        self._input_ids = list(g.inputs)
        self._plan = list(zip(self.steps, self.frees))
        ins = set(g.inputs) | set(g.consts)
        self._outs = [(o, o in ins) for o in g.outputs]
        self._direct = None
        if len(self.steps) == 1 and isinstance(self.steps[0], KernelStep):
            st = self.steps[0]
            pos = {v: k for k, v in enumerate(g.inputs)}
            if (all(v in pos for v in st.plan.in_ids) and st.same_shapes
                    and list(st.plan.out_ids) == list(g.outputs)):
                self._direct = (st, [pos[v] for v in st.plan.in_ids])

    def source(self, kind: str = "llvm") -> str:
        """The generated code of every kernel of this graph."""
        if kind == "cuda" and self._cuda is not None:
            return self._cuda.source()
        parts = []
        for plan in self.kernels:
            layouts = ["strided"] * len(plan.kernel.inputs)
            parts.append(f"; ---- {plan.kernel.name}\n" + cg.source(plan.kernel, layouts, kind))
        return "\n".join(parts)
