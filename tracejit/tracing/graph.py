"""The traced graph and its passes: dead code, common subexpressions, constant folding."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .trace import GraphNode


@dataclass
class Graph:
    """Ops over numbered values; ``inputs`` are read each call, ``outputs`` returned."""

    nodes: list[GraphNode]
    shapes: list[tuple[int, ...]]
    dtypes: list[np.dtype]
    consts: dict[int, np.ndarray]
    inputs: list[int]
    outputs: list[int]
    input_names: dict[int, str] = field(default_factory=dict)

    def users(self) -> dict[int, int]:
        """How many times each value is read (graph outputs count)."""
        n: dict[int, int] = {}
        for node in self.nodes:
            for i in node.ins:
                n[i] = n.get(i, 0) + 1
        for o in self.outputs:
            n[o] = n.get(o, 0) + 1
        return n

    def pretty(self) -> str:
        def v(i: int) -> str:
            if i in self.consts:
                return repr(self.consts[i].item())
            return f"%{i}"

        def ty(i: int) -> str:
            return f"{self.dtypes[i]}{list(self.shapes[i])}"

        lines = ["graph(" + ", ".join(
            f"%{i}: {ty(i)}" + (f" {self.input_names[i]}" if i in self.input_names else "")
            for i in self.inputs) + "):"]
        for n in self.nodes:
            outs = ", ".join(f"%{o}: {ty(o)}" for o in n.outs)
            args = ", ".join(v(i) for i in n.ins)
            ps = ", ".join(f"{k}={p!r}" for k, p in n.params.items())
            lines.append(f"  {outs} = {n.op.name}({args}{', ' if ps and args else ''}{ps})")
        lines.append("  return " + ", ".join(v(o) for o in self.outputs))
        return "\n".join(lines)

    __str__ = pretty


def dce(g: Graph) -> Graph:
    """Drop nodes whose outputs nobody reads."""
    live = set(g.outputs)
    kept = []
    for n in reversed(g.nodes):
        if any(o in live for o in n.outs):
            kept.append(n)
            live.update(n.ins)
    g.nodes = kept[::-1]
    return g


def _param_key(params: dict) -> object:
    try:
        key = tuple(sorted(params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def cse(g: Graph) -> Graph:
    """Merge nodes that apply the same op with the same params to the same values."""
    seen: dict[tuple, list[int]] = {}
    rename: dict[int, int] = {}
    const_by_val: dict[tuple, int] = {}
    for vid, arr in g.consts.items():
        k = (arr.dtype.str, arr.item())
        if k in const_by_val:
            rename[vid] = const_by_val[k]
        else:
            const_by_val[k] = vid
    kept = []
    for n in g.nodes:
        n.ins = [rename.get(i, i) for i in n.ins]
        pk = _param_key(n.params) if n.op.group != "random" else None
        key = (n.op, tuple(n.ins), pk) if pk is not None else None
        if key is not None and key in seen:
            for o, prev in zip(n.outs, seen[key]):
                rename[o] = prev
            continue
        if key is not None:
            seen[key] = n.outs
        kept.append(n)
    g.nodes = kept
    g.outputs = [rename.get(o, o) for o in g.outputs]
    return g


def fold_constants(g: Graph, max_elems: int = 64) -> Graph:
    """Evaluate small nodes whose inputs are all constants (scalar arithmetic)."""
    kept = []
    for n in g.nodes:
        if n.ins and all(i in g.consts for i in n.ins) and n.op.nout == 1 \
                and int(np.prod(g.shapes[n.outs[0]])) <= max_elems and n.op.group != "random":
            out = np.asarray(n.op.impl(*[g.consts[i] for i in n.ins], **n.params))
            g.consts[n.outs[0]] = out.astype(g.dtypes[n.outs[0]], copy=False)
            continue
        kept.append(n)
    g.nodes = kept
    return g


def optimize(g: Graph) -> Graph:
    return dce(fold_constants(cse(dce(g))))
