"""Lowering: a fused group of tracejit ops → one codegen Kernel (the kernel IR).

Each elementwise op's lowering is one small function in ``LOWER``: the table is the only place
that knows how a tracejit op reads in the kernel IR.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import codegen as cg
from .fusion import REDUCE_OPS, Group, reduce_dims
from .graph import Graph
from .trace import GraphNode

IR_DTYPE = {np.dtype(k): v for k, v in (
    ("float16", "f16"), ("float32", "f32"), ("float64", "f64"), ("int8", "i8"),
    ("uint8", "u8"), ("int32", "i32"), ("int64", "i64"), ("bool", "bool"))}


def _c(value: Any, dt: str) -> cg.Expr:
    if dt == "bool":
        value = bool(value)
    elif dt in ("f16", "f32", "f64"):
        value = float(value)
    else:
        value = int(value)
    return cg.Const(value, dt)


def _cast(e: cg.Expr, dt: str) -> cg.Expr:
    return e if e.dtype == dt else cg.Cast(e, dt)


def _same(a: cg.Expr, b: cg.Expr, dt: str) -> tuple[cg.Expr, cg.Expr]:
    return _cast(a, dt), _cast(b, dt)


def _promoted(a: cg.Expr, b: cg.Expr) -> str:
    inv = {v: k for k, v in IR_DTYPE.items()}
    return IR_DTYPE[np.promote_types(inv[a.dtype], inv[b.dtype])]


def _unary(name: str) -> Callable:
    def f(args: list, p: dict, dt: str) -> cg.Expr:
        return cg.Unary(name, _cast(args[0], dt))

    return f


def _binary(name: str) -> Callable:
    def f(args: list, p: dict, dt: str) -> cg.Expr:
        a, b = _same(args[0], args[1], dt)
        return cg.Binary(name, a, b)

    return f


def _cmp(name: str) -> Callable:
    def f(args: list, p: dict, dt: str) -> cg.Expr:
        a, b = args
        a, b = _same(a, b, _promoted(a, b))
        return cg.Binary(name, a, b)

    return f


def _logical(name: str) -> Callable:
    def f(args: list, p: dict, dt: str) -> cg.Expr:
        return cg.Binary(name, _cast(args[0], "bool"), _cast(args[1], "bool"))

    return f


def _add_sub(name: str) -> Callable:
    def f(args: list, p: dict, dt: str) -> cg.Expr:
        a, b = _same(args[0], args[1], dt)
        alpha = p.get("alpha", 1)
        if alpha != 1:
            b = cg.Binary("mul", b, _c(alpha, dt))
        return cg.Binary(name, a, b)

    return f


def _pow_scalar(args: list, p: dict, dt: str) -> cg.Expr:
    x = _cast(args[0], dt)
    e = p["exponent"]
    if e == 2:
        return cg.Binary("mul", x, x)
    if e == 1:
        return x
    if e == 0.5 and dt in ("f16", "f32", "f64"):
        return cg.Unary("sqrt", x)
    if e == 3:
        return cg.Binary("mul", cg.Binary("mul", x, x), x)
    return cg.Binary("pow", x, _c(e, dt))


def _clamp(args: list, p: dict, dt: str) -> cg.Expr:
    x = _cast(args[0], dt)
    if p.get("min") is not None:
        x = cg.Binary("max", x, _c(p["min"], dt))
    if p.get("max") is not None:
        x = cg.Binary("min", x, _c(p["max"], dt))
    return x


def _isfinite(args: list, p: dict, dt: str) -> cg.Expr:
    x = args[0]
    if x.dtype not in ("f16", "f32", "f64"):
        return _c(True, "bool")
    bad = cg.Binary("or", cg.Unary("isnan", x), cg.Unary("isinf", x))
    return cg.Unary("not", bad)


def _pred(name: str) -> Callable:
    def f(args: list, p: dict, dt: str) -> cg.Expr:
        x = args[0]
        if x.dtype not in ("f16", "f32", "f64"):
            return _c(False, "bool")
        return cg.Unary(name, x)

    return f


LOWER: dict[str, Callable[[list, dict, str], cg.Expr]] = {
    **{n: _unary(n) for n in (
        "neg abs sign exp log log1p expm1 sqrt rsqrt sin cos tan tanh sigmoid relu floor "
        "ceil round trunc reciprocal erf".split())},
    "add": _add_sub("add"), "sub": _add_sub("sub"), "mul": _binary("mul"),
    "div": _binary("div"), "pow": _binary("pow"), "maximum": _binary("max"),
    "minimum": _binary("min"), "remainder": _binary("mod"), "floor_divide": _binary("floordiv"),
    **{n: _cmp(n) for n in ("eq", "ne", "lt", "le", "gt", "ge")},
    "logical_and": _logical("and"), "logical_or": _logical("or"),
    "logical_xor": _logical("xor"),
    "bitwise_and": _binary("and"), "bitwise_or": _binary("or"), "bitwise_xor": _binary("xor"),
    "logical_not": lambda a, p, dt: cg.Unary("not", _cast(a[0], "bool")),
    "bitwise_not": lambda a, p, dt: cg.Unary("not", a[0]),
    "isnan": _pred("isnan"), "isinf": _pred("isinf"), "isfinite": _isfinite,
    "cast": lambda a, p, dt: _cast(a[0], dt),
    "where": lambda a, p, dt: cg.Where(_cast(a[0], "bool"), _cast(a[1], dt), _cast(a[2], dt)),
    "pow_scalar": _pow_scalar,
    "rpow": lambda a, p, dt: cg.Binary("pow", _c(p["base"], dt), _cast(a[0], dt)),
    "rsub": lambda a, p, dt: cg.Binary(
        "sub", _c(p["other"], dt),
        _cast(a[0], dt) if p.get("alpha", 1) == 1
        else cg.Binary("mul", _cast(a[0], dt), _c(p["alpha"], dt))),
    "clamp": _clamp,
    "fill": lambda a, p, dt: _c(p["value"], dt),
    "copy": lambda a, p, dt: _cast(a[1], dt),
}


def lowerable(node: GraphNode) -> bool:
    return node.op.name in LOWER or node.op.name in REDUCE_OPS


@dataclass
class KernelPlan:
    """A lowered group: the kernel and how to feed it from the value table."""

    kernel: cg.Kernel
    in_ids: list[int]  # value ids; -1 marks the runtime 1/N scalar of a mean
    in_modes: list[str]  # "full" | "outer" | "scalar"
    out_ids: list[int]
    full_shape: tuple[int, ...]  # iteration shape before permutation
    perm: tuple[int, ...] | None  # kept dims then reduced dims
    keep_shape: tuple[int, ...]  # reduce output with keepdim (epilogue loads broadcast to it)
    red_shape: tuple[int, ...] = ()  # the reduction's output shape


def lower_group(grp: Group, g: Graph, outside: set[int]) -> KernelPlan:
    """Build the kernel for ``grp``; ``outside`` are values read outside it (to write)."""
    loads: dict[int, cg.Expr] = {}
    in_ids: list[int] = []
    in_modes: list[str] = []
    exprs: dict[int, cg.Expr] = {}

    def load(vid: int, mode: str) -> cg.Expr:
        if vid in exprs:
            return exprs[vid]
        if vid in g.consts and g.consts[vid].ndim == 0:
            return _c(g.consts[vid].item(), IR_DTYPE[g.dtypes[vid]])
        key = (vid, mode)
        if key not in loads:
            loads[key] = cg.Load(len(in_ids), IR_DTYPE[g.dtypes[vid]])
            in_ids.append(vid)
            in_modes.append(mode)
        return loads[key]

    def emit(node: GraphNode, mode: str) -> None:
        args = [load(i, mode) for i in node.ins]
        out = node.outs[0]
        exprs[out] = LOWER[node.op.name](args, node.params, IR_DTYPE[g.dtypes[out]])

    perm = None
    full_shape = grp.shape
    keep_shape = grp.shape
    reductions: tuple = ()
    nreduce = 0
    if grp.reduce is None:
        for node in grp.nodes:
            emit(node, "full")
    else:
        r = grp.reduce
        x = r.ins[0]
        full_shape = g.shapes[x]
        dims, _keep = reduce_dims(r, g)
        kept = tuple(d for d in range(len(full_shape)) if d not in dims)
        perm = kept + dims
        nreduce = len(dims)
        keep_shape = tuple(1 if d in dims else s for d, s in enumerate(full_shape))
        for node in grp.prologue:
            emit(node, "full")
        xe = load(x, "full")
        rdt = IR_DTYPE[g.dtypes[r.outs[0]]]
        reductions = (cg.Reduce(REDUCE_OPS[r.op.name], _cast(xe, rdt), rdt),)
        ref: cg.Expr = cg.ReduceRef(0, rdt)
        if r.op.name == "mean":
            ref = cg.Binary("mul", ref, _scalar_in(in_ids, in_modes, loads, rdt))
        exprs[r.outs[0]] = ref
        for node in grp.nodes:
            if node is r or node in grp.prologue:
                continue
            emit(node, "outer")
    produced = [o for n in grp.nodes for o in n.outs if o in exprs]
    out_ids = [o for o in produced if o in outside]
    if grp.reduce is not None and grp.reduce.outs[0] not in out_ids and not out_ids:
        out_ids = [grp.reduce.outs[0]]
    outputs = tuple(exprs[o] for o in out_ids)
    names = [n.op.name for n in grp.nodes][:4]
    kernel = cg.Kernel(
        name="k_" + "_".join(names),
        ndim=len(full_shape),
        inputs=tuple(e.dtype for e in sorted(loads.values(), key=lambda e: e.arg)),
        nreduce=nreduce,
        reductions=reductions,
        outputs=outputs,
    )
    red_shape = tuple(g.shapes[grp.reduce.outs[0]]) if grp.reduce is not None else ()
    return KernelPlan(kernel, in_ids, in_modes, out_ids, tuple(full_shape), perm, keep_shape,
                      red_shape)


def _scalar_in(in_ids: list, in_modes: list, loads: dict, dt: str) -> cg.Expr:
    """A run-time scalar input (1/N for mean), so the kernel serves every size."""
    key = (-1, "scalar")
    if key not in loads:
        loads[key] = cg.Load(len(in_ids), dt)
        in_ids.append(-1)
        in_modes.append("scalar")
    return loads[key]


def np_dtype(name: str) -> np.dtype:
    return {v: k for k, v in IR_DTYPE.items()}[name]


