"""Fusion: connected elementwise ops become one kernel; a reduction absorbs the elementwise
ops feeding it (its prologue) and those consuming its result (its epilogue).

The output is a schedule of ``Group``s in dependency order. A group of kind "kernel" is lowered
to one codegen Kernel; kind "op" runs the op's own forward (views, matmul via BLAS, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .graph import Graph
from .trace import ELEMENTWISE_GROUPS, GraphNode

FUSIBLE_DTYPES = {np.dtype(d) for d in
                  ("float16", "float32", "float64", "int8", "uint8", "int32", "int64", "bool")}
REDUCE_OPS = {"sum": "sum", "mean": "sum", "amax": "max", "amin": "min", "prod": "prod",
              "max": "max", "min": "min"}


@dataclass
class Group:
    kind: str  # "kernel" | "op"
    nodes: list[GraphNode] = field(default_factory=list)
    shape: tuple[int, ...] = ()  # iteration shape of elementwise members (or reduce output)
    reduce: GraphNode | None = None  # the reduction, when this is a reduction kernel
    prologue: list[GraphNode] = field(default_factory=list)
    id: int = 0


def is_elementwise(node: GraphNode, g: Graph) -> bool:
    if node.op.group not in ELEMENTWISE_GROUPS or node.op.nout != 1:
        return False
    vals = list(node.ins) + node.outs
    if node.op.name in ("pow", "pow_scalar", "rpow") and g.dtypes[node.outs[0]].kind in "iub":
        return False  # the kernel IR has float pow only; integer powers run numpy's
    return all(g.dtypes[v] in FUSIBLE_DTYPES for v in vals)


def reduce_dims(node: GraphNode, g: Graph) -> tuple[tuple[int, ...], bool] | None:
    """The reduced dims and keepdim of a fusible reduction node, else None."""
    if node.op.group != "reduce" or node.op.nout != 1 or node.op.name not in REDUCE_OPS:
        return None
    if len(node.ins) != 1:
        return None
    x = node.ins[0]
    if g.dtypes[x] not in FUSIBLE_DTYPES or g.dtypes[node.outs[0]] not in FUSIBLE_DTYPES:
        return None
    ndim = len(g.shapes[x])
    dim = node.params.get("dim")
    if dim is None:
        dims = tuple(range(ndim))
    elif isinstance(dim, int):
        dims = (dim % max(ndim, 1),)
    else:
        dims = tuple(sorted(d % max(ndim, 1) for d in dim))
    if ndim == 0 or not dims:
        return None  # nothing reduced: the op's own forward handles it
    if node.params.get("dtype") is not None:
        return None
    return dims, bool(node.params.get("keepdim", False))


class _Scheduler:
    def __init__(self, g: Graph, any_reduce: bool = False) -> None:
        self.g = g
        self.any_reduce = any_reduce
        self.groups: list[Group] = []
        self.producer: dict[int, Group] = {}  # value -> group producing it
        self.reads: dict[int, set[int]] = {}  # group id -> ids of groups it reads from
        self.readers: dict[int, set[int]] = {}  # group id -> ids of groups reading it
        self.anc: dict[int, int] = {}  # group id -> bitset of groups it depends on
        self.users = g.users()
        self.index = {id(n): k for k, n in enumerate(g.nodes)}
        self.consumers: dict[int, list[GraphNode]] = {}
        for n in g.nodes:
            for i in n.ins:
                self.consumers.setdefault(i, []).append(n)

    def _new(self, kind: str, node: GraphNode, shape: tuple[int, ...] = ()) -> Group:
        grp = Group(kind, [node], shape, id=len(self.groups))
        self.groups.append(grp)
        self.reads[grp.id] = set()
        self.readers[grp.id] = set()
        self.anc[grp.id] = 0
        self._add(grp, node)
        return grp

    def _add(self, grp: Group, node: GraphNode) -> None:
        """Put node in grp and keep every group's transitive-ancestor bitset exact."""
        if node not in grp.nodes:
            grp.nodes.append(node)
        delta = 0
        for i in node.ins:
            p = self.producer.get(i)
            if p is not None and p is not grp:
                self.reads[grp.id].add(p.id)
                self.readers[p.id].add(grp.id)
                delta |= self.anc[p.id] | (1 << p.id)
        for o in node.outs:
            self.producer[o] = grp
        new = delta & ~self.anc[grp.id]
        if new:
            self.anc[grp.id] |= new
            self._propagate(grp.id, new)

    def _propagate(self, gid: int, new: int) -> None:
        """Groups reading gid (transitively) now depend on ``new`` too."""
        stack = list(self.readers[gid])
        while stack:
            d = stack.pop()
            add = new & ~self.anc[d]
            if add:
                self.anc[d] |= add
                stack.extend(self.readers[d])

    def _can_join(self, grp: Group, node: GraphNode) -> bool:
        """Joining is legal unless an input comes from a group that depends on grp."""
        for i in node.ins:
            p = self.producer.get(i)
            if p is not None and p is not grp and (self.anc[p.id] >> grp.id) & 1:
                return False
        return True

    def run(self) -> list[Group]:
        g = self.g
        for node in g.nodes:
            if is_elementwise(node, g):
                self._place_elementwise(node)
            elif reduce_dims(node, g) is not None:
                self._place_reduce(node)
            else:
                self._new("op", node)
        return self._order()

    def _place_elementwise(self, node: GraphNode) -> None:
        shape = self.g.shapes[node.outs[0]]
        home = None
        for i in node.ins:
            p = self.producer.get(i)
            if p is None or p is home or p.kind != "kernel" or p.shape != shape:
                continue
            if p.reduce is not None and not self._epilogue_ok(p, node):
                continue
            if home is None:
                if self._can_join(p, node):
                    home = p
            elif p.reduce is None and home.reduce is None and self._can_merge(home, p):
                self._merge(home, p)
        if home is None:
            self._new("kernel", node, shape)
        elif self._can_join(home, node):
            self._add(home, node)
        else:
            self._new("kernel", node, shape)

    def _can_merge(self, a: Group, b: Group) -> bool:
        """Merging is legal unless a third group sits on a path between a and b."""
        for x, y in ((a.id, b.id), (b.id, a.id)):
            for p in self.reads[x]:
                if p != y and (self.anc[p] >> y) & 1:
                    return False
        return True

    def _merge(self, a: Group, b: Group) -> None:
        a.nodes.extend(b.nodes)
        a.nodes.sort(key=lambda n: self.index[id(n)])
        for n in b.nodes:
            for o in n.outs:
                self.producer[o] = a
        for r in self.readers[b.id]:
            self.reads[r].discard(b.id)
            if r != a.id:
                self.reads[r].add(a.id)
                self.readers[a.id].add(r)
        for p in self.reads[b.id]:
            self.readers[p].discard(b.id)
            if p != a.id:
                self.readers[p].add(a.id)
                self.reads[a.id].add(p)
        self.reads[a.id].discard(b.id)
        self.readers[a.id].discard(b.id)
        ab, bb = 1 << a.id, 1 << b.id
        for gid, m in self.anc.items():
            if m & bb:
                self.anc[gid] = (m & ~bb) | ab
        combined = (self.anc[a.id] | self.anc[b.id]) & ~(ab | bb)
        self.anc[a.id] = combined
        del self.reads[b.id], self.readers[b.id], self.anc[b.id]
        self._propagate(a.id, combined | ab)
        b.kind = "dead"

    def _epilogue_ok(self, grp: Group, node: GraphNode) -> bool:
        """Epilogue inputs must be the reduce result's shape (loaded at the outer index)."""
        shape = grp.shape
        for i in node.ins:
            s = self.g.shapes[i]
            if self.producer.get(i) is grp:
                continue
            if len(s) > len(shape) or any(a not in (1, b) for a, b in zip(s[::-1], shape[::-1])):
                return False
        return True

    def _place_reduce(self, node: GraphNode) -> None:
        g = self.g
        x = node.ins[0]
        out_shape = g.shapes[node.outs[0]]
        p = self.producer.get(x)
        if (p is not None and p.kind == "kernel" and p.reduce is None
                and p.shape == g.shapes[x] and self._only_feeds(p, x, node)):
            p.prologue = list(p.nodes)
            p.reduce = node
            p.shape = out_shape
            self._add(p, node)
            return
        dims, _ = reduce_dims(node, g)
        if len(g.shapes[x]) - 1 not in dims and not self.any_reduce:
            # nothing to fuse and the reduced dims are not innermost: numpy's own reduction
            # walks memory in order, which the kernel's strided inner loop would not
            self._new("op", node)
            return
        grp = self._new("kernel", node, out_shape)
        grp.nodes = [node]
        grp.reduce = node

    def _only_feeds(self, grp: Group, x: int, node: GraphNode) -> bool:
        """The prologue's values must not be needed outside (they are never written)."""
        members = set(id(n) for n in grp.nodes)
        for n in grp.nodes:
            for o in n.outs:
                if o in self.g.outputs:
                    return False
                for c in self.consumers.get(o, []):
                    if id(c) not in members and not (c is node and o == x):
                        return False
        return True

    def _order(self) -> list[Group]:
        """Topological order of groups (a group runs once all groups it reads have run)."""
        order, done = [], set()
        self.groups = [grp for grp in self.groups if grp.kind != "dead"]
        index = {grp.id: grp for grp in self.groups}

        def visit(gid: int) -> None:
            stack = [(gid, False)]
            while stack:
                cur, expanded = stack.pop()
                if cur in done:
                    continue
                if expanded:
                    done.add(cur)
                    order.append(index[cur])
                    continue
                stack.append((cur, True))
                for r in self.reads[cur]:
                    if r not in done:
                        stack.append((r, False))

        for grp in self.groups:
            visit(grp.id)
        return order


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def schedule(g: Graph, any_reduce: bool = False) -> list[Group]:
    """Groups in execution order; ``any_reduce`` makes every fusible reduction a kernel.

    On the CPU a standalone reduction over outer dims is left to numpy (see _place_reduce);
    the cuda device has no numpy to leave it to, so it passes ``any_reduce=True``.
    """
    return _Scheduler(g, any_reduce).run()
