"""Export rules for views, reshapes, indexing, joins and gathers.

These are the ops whose parameters hold sizes and positions, so several are marked dynamic:
with dynamic axes they compare the example trace with the probe trace and write a reshape
target as ``0`` (copy that input dim), a run-time dim or ``-1``, an expand target as ``1``
where the input already has the size, and an index that moved with the axis as an offset
from the end.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import INT64_MAX, INT64_MIN
from .emitter import Emitter

TABLE: dict[str, Callable] = {}


def rule(*names: str, dynamic: bool = False) -> Callable:
    def deco(fn: Callable) -> Callable:
        fn.dynamic = dynamic  # type: ignore[attr-defined]
        for nm in names:
            TABLE[nm] = fn
        return fn

    return deco


@rule("view", "reshape_copy", dynamic=True)
def _reshape(ctx: Emitter, n: Any) -> None:
    x, y = n.ins[0], n.outs[0]
    out_shape, sym, in_nd = ctx.shape(y), ctx.sym(y), len(ctx.shape(x))
    entries: list[Any] = []
    inferred = 0
    for j, s in enumerate(out_shape):
        p = ctx.pair(y, j)
        if not sym[j]:
            entries.append(int(s))
        elif j < in_nd and ctx.pair(x, j) == p:
            entries.append(0)  # ONNX: copy the input's dim j
        else:
            d = ctx.find_dim(p, (x,))
            entries.append(-1 if d is None else d)
            inferred += d is None
    if inferred > 1:
        raise ctx.fail(n, "more than one dimension of the reshape target follows a dynamic "
                          "axis as a product of sizes; ONNX can infer only one (-1)")
    zero = any(isinstance(e, int) and e == 0 and not sym[j] for j, e in enumerate(entries))
    if zero and any(sym):
        raise ctx.fail(n, "a reshape to a zero-size dimension next to a dynamic one")
    allow = 1 if zero and ctx.opset >= 14 else None
    ctx.add1("Reshape", [ctx.name(x), ctx.shape_vec(entries)], ctx.out(n), allowzero=allow)


@rule("permute", "transpose", "t")
def _transpose(ctx: Emitter, n: Any) -> None:
    nd = len(ctx.shape(n.ins[0]))
    if n.op.name == "permute":
        perm = list(n.params["dims"])
    elif n.op.name == "transpose":
        perm = list(range(nd))
        a, b = n.params["dim0"], n.params["dim1"]
        perm[a], perm[b] = perm[b], perm[a]
    else:
        perm = list(range(nd))[::-1]
    if perm == list(range(nd)):
        ctx.add1("Identity", [ctx.inp(n)], ctx.out(n))
    else:
        ctx.add1("Transpose", [ctx.inp(n)], ctx.out(n), perm=perm)


@rule("unsqueeze")
def _unsqueeze(ctx: Emitter, n: Any) -> None:
    ctx.add1("Unsqueeze", [ctx.inp(n), ctx.i64([n.params["dim"]])], ctx.out(n))


@rule("squeeze")
def _squeeze(ctx: Emitter, n: Any) -> None:
    dims = list(n.params["dims"])
    if not dims:
        ctx.add1("Identity", [ctx.inp(n)], ctx.out(n))
    else:
        ctx.add1("Squeeze", [ctx.inp(n), ctx.i64(dims)], ctx.out(n))


@rule("expand", dynamic=True)
def _expand(ctx: Emitter, n: Any) -> None:
    x, y = n.ins[0], n.outs[0]
    out_shape, sym = ctx.shape(y), ctx.sym(y)
    lead = len(out_shape) - len(ctx.shape(x))
    entries: list[Any] = []
    for j, s in enumerate(out_shape):
        if not sym[j]:
            entries.append(int(s))
        elif j >= lead and ctx.pair(x, j - lead) == ctx.pair(y, j):
            entries.append(1)  # the input has this size already: broadcasting keeps it
        else:
            d = ctx.find_dim(ctx.pair(y, j), (x,))
            if d is None:
                raise ctx.fail(n, "expands to a size that follows a dynamic axis but matches "
                                  "no input dimension")
            entries.append(d)
    ctx.add1("Expand", [ctx.name(x), ctx.shape_vec(entries)], ctx.out(n))


def _index(ctx: Emitter, n: Any, a: int, b: int, size: tuple[int, int], what: str) -> int:
    v = ctx.rel(n, a, b, size, what)
    assert v is not None
    return v


@rule("select", dynamic=True)
def _select(ctx: Emitter, n: Any) -> None:
    pb = ctx.probe_params(n) or n.params
    d = n.params["dim"]
    i = _index(ctx, n, n.params["index"], pb["index"], ctx.pair(n.ins[0], d), "index")
    idx = ctx.const(np.asarray(i, np.int64))
    ctx.add1("Gather", [ctx.inp(n), idx], ctx.out(n), axis=int(d))


def _bound(ctx: Emitter, n: Any, a: Any, b: Any, size: tuple[int, int], default: int,
           what: str) -> int:
    if a is None and b is None:
        return default
    v = ctx.rel(n, a, b, size, what)
    if a != b and v == 0:
        return INT64_MAX  # "as far from the end as the size": the end itself
    assert v is not None
    return v


@rule("slice", dynamic=True)
def _slice(ctx: Emitter, n: Any) -> None:
    p, pb = n.params, ctx.probe_params(n) or n.params
    size = ctx.pair(n.ins[0], p["dim"])
    start = _bound(ctx, n, p["start"], pb["start"], size, 0, "slice start")
    stop = _bound(ctx, n, p["stop"], pb["stop"], size, INT64_MAX, "slice end")
    ctx.add1("Slice", [ctx.inp(n), ctx.i64([start]), ctx.i64([stop]), ctx.i64([p["dim"]]),
                       ctx.i64([p["step"] or 1])], ctx.out(n))


def basic_index(ctx: Emitter, n: Any, x: str, vid: int, tmpl: tuple, ptmpl: tuple,
                out: str | None) -> str:
    """x[tmpl] for a basic index template: one Slice, a Squeeze for ints, an Unsqueeze for
    None. ``ptmpl`` is the probe trace's template (indices that follow a dynamic axis)."""
    nd = len(ctx.shape(vid))
    consumed = sum(1 for it in tmpl if it is not None and it is not Ellipsis)
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    d = o = 0
    for it, pt in zip(tmpl, ptmpl):
        if it is Ellipsis:
            d += nd - consumed
            o += nd - consumed
        elif it is None:
            new.append(o)
            o += 1
        elif isinstance(it, int):
            i = _index(ctx, n, it, pt, ctx.pair(vid, d), "index")
            starts.append(i)
            ends.append(i + 1 if i != -1 else INT64_MAX)
            axes.append(d)
            steps.append(1)
            drop.append(d)
            d += 1
        else:
            size = ctx.pair(vid, d)
            lo = _bound(ctx, n, it[1], pt[1], size, 0, "slice start")
            hi = _bound(ctx, n, it[2], pt[2], size, INT64_MAX, "slice end")
            if (lo, hi, it[3] or 1) != (0, INT64_MAX, 1):
                starts.append(lo)
                ends.append(hi)
                axes.append(d)
                steps.append(it[3] or 1)
            d += 1
            o += 1
    steps_ops = [(bool(axes), "Slice"), (bool(drop), "Squeeze"), (bool(new), "Unsqueeze")]
    last = max((k for k, (on, _) in enumerate(steps_ops) if on), default=-1)
    if last < 0:
        return ctx.add1("Identity", [x], out)
    if axes:
        x = ctx.add1("Slice", [x, ctx.i64(starts), ctx.i64(ends), ctx.i64(axes),
                               ctx.i64(steps)], out if last == 0 else None)
    if drop:
        x = ctx.add1("Squeeze", [x, ctx.i64(drop)], out if last == 1 else None)
    if new:
        x = ctx.add1("Unsqueeze", [x, ctx.i64(new)], out)
    return x


@rule("getitem", dynamic=True)
def _getitem(ctx: Emitter, n: Any) -> None:
    tmpl = n.params["index"]
    ptmpl = (ctx.probe_params(n) or n.params)["index"]
    basic_index(ctx, n, ctx.inp(n), n.ins[0], tmpl, ptmpl, ctx.out(n))


@rule("index", dynamic=True)
def _adv_index(ctx: Emitter, n: Any) -> None:
    """x[..., idx, ...] with one integer index tensor (after the basic part): a Gather."""
    _, basic, adv = n.params["index"]
    _, pbasic, _ = (ctx.probe_params(n) or n.params)["index"]
    tensors = [k for k, it in enumerate(adv) if it is not None]
    if len(tensors) != 1 or adv[tensors[0]][0] != "t" or len(n.ins) != 2:
        raise ctx.fail(n, "advanced indexing with more than one index tensor has no mapping")
    if ctx.dtype(n.ins[1]).kind != "i":
        raise ctx.fail(n, "boolean mask indexing has no ONNX mapping (data-dependent shape)")
    x = basic_index(ctx, n, ctx.inp(n), n.ins[0], basic, pbasic, None) if basic else ctx.inp(n)
    ctx.add1("Gather", [x, ctx.inp(n, 1)], ctx.out(n), axis=tensors[0])


@rule("unbind")
def _unbind(ctx: Emitter, n: Any) -> None:
    d, k = n.params["dim"], len(n.outs)
    parts = ctx.add("Split", [ctx.inp(n), ctx.i64([1] * k)], n_out=k, axis=int(d)) \
        if k > 1 else [ctx.inp(n)]
    for i, part in enumerate(parts):
        ctx.add1("Squeeze", [part, ctx.i64([d])], ctx.out(n, i))


@rule("split")
def _split(ctx: Emitter, n: Any) -> None:
    outs = [ctx.out(n, i) for i in range(len(n.outs))]
    if len(outs) == 1:
        ctx.add1("Identity", [ctx.inp(n)], outs[0])
        return
    ctx.add("Split", [ctx.inp(n), ctx.i64(n.params["sizes"])], outputs=outs,
            axis=int(n.params["dim"]))


@rule("flip")
def _flip(ctx: Emitter, n: Any) -> None:
    dims = list(n.params["dims"])
    if not dims:
        ctx.add1("Identity", [ctx.inp(n)], ctx.out(n))
        return
    k = len(dims)
    ctx.add1("Slice", [ctx.inp(n), ctx.i64([-1] * k), ctx.i64([INT64_MIN] * k), ctx.i64(dims),
                       ctx.i64([-1] * k)], ctx.out(n))


@rule("roll")
def _roll(ctx: Emitter, n: Any) -> None:
    x, vid = ctx.inp(n), n.ins[0]
    shifts, dims = n.params["shifts"], n.params["dims"]
    flat = dims is None
    if flat:
        x, dims = ctx.add1("Reshape", [x, ctx.i64([-1])]), (0,)
    sizes = [int(np.prod(ctx.shape(vid)))] if flat else [ctx.shape(vid)[d] for d in dims]
    sym = [any(ctx.sym(vid))] if flat else [ctx.sym(vid)[d] for d in dims]
    for s, d, size, dyn in zip(shifts, dims, sizes, sym):
        if dyn:
            raise ctx.fail(n, "roll along a dimension that follows a dynamic axis")
        s = s % size if size else 0
        if s:
            a = ctx.add1("Slice", [x, ctx.i64([-s]), ctx.i64([INT64_MAX]), ctx.i64([d])])
            b = ctx.add1("Slice", [x, ctx.i64([0]), ctx.i64([-s]), ctx.i64([d])])
            x = ctx.add1("Concat", [a, b], axis=int(d))
    if flat:
        x = ctx.add1("Reshape", [x, ctx.add1("Shape", [ctx.inp(n)])])
    ctx.add1("Identity", [x], ctx.out(n))


@rule("cat", "stack")
def _cat(ctx: Emitter, n: Any) -> None:
    dt, d = np.dtype(n.params["dtype"]), int(n.params["dim"])
    parts = []
    for v in n.ins:
        if n.op.name == "cat" and ctx.shape(v) == (0,) and n.params["nd"] != 1:
            continue  # PyTorch's legacy rule: a 1-D empty tensor is skipped
        p = ctx.cast(ctx.name(v), ctx.dtype(v), dt)
        if n.op.name == "stack":
            p = ctx.add1("Unsqueeze", [p, ctx.i64([d])])
        parts.append(p)
    ctx.add1("Concat" if len(parts) > 1 else "Identity", parts, ctx.out(n),
             axis=d if len(parts) > 1 else None)


@rule("repeat")
def _repeat(ctx: Emitter, n: Any) -> None:
    sizes = list(n.params["sizes"])
    x, extra = ctx.inp(n), len(sizes) - len(ctx.shape(n.ins[0]))
    if extra > 0:
        x = ctx.add1("Unsqueeze", [x, ctx.i64(list(range(extra)))])
    ctx.add1("Tile", [x, ctx.i64(sizes)], ctx.out(n))


@rule("index_select")
def _index_select(ctx: Emitter, n: Any) -> None:
    idx = ctx.cast(ctx.inp(n, 1), ctx.dtype(n.ins[1]), np.int64)
    if not ctx.shape(n.ins[1]):
        idx = ctx.add1("Reshape", [idx, ctx.i64([1])])
    ctx.add1("Gather", [ctx.inp(n), idx], ctx.out(n), axis=int(n.params["dim"]))


@rule("embedding")
def _embedding(ctx: Emitter, n: Any) -> None:
    ctx.add1("Gather", [ctx.inp(n, 0), ctx.inp(n, 1)], ctx.out(n), axis=0)


@rule("gather")
def _gather(ctx: Emitter, n: Any) -> None:
    if not ctx.shape(n.ins[0]):
        ctx.add1("Expand", [ctx.inp(n), ctx.add1("Shape", [ctx.inp(n, 1)])], ctx.out(n))
        return
    ctx.add1("GatherElements", [ctx.inp(n, 0), ctx.inp(n, 1)], ctx.out(n),
             axis=int(n.params["dim"]))


@rule("scatter", "scatter_value", "scatter_add", "scatter_reduce")
def _scatter(ctx: Emitter, n: Any) -> None:
    if not ctx.shape(n.ins[0]):
        raise ctx.fail(n, "scatter into a 0-d tensor")
    x, idx, dt = ctx.inp(n, 0), ctx.inp(n, 1), ctx.dtype(n.outs[0])
    shape = ctx.add1("Shape", [idx])
    if n.op.name == "scatter_value":
        src = ctx.add1("Expand", [ctx.scalar(n.params["value"], dt), shape])
    else:
        nd = len(ctx.shape(n.ins[1]))
        src = ctx.add1("Slice", [ctx.inp(n, 2), ctx.i64([0] * nd), shape])
    red = "add" if n.op.name == "scatter_add" else None
    if n.op.name == "scatter_reduce":
        red = {"add": "add", "multiply": "mul"}[n.params["reduce"]]
    if red and ctx.opset < 16:
        raise ctx.fail(n, f"{n.op.name} needs opset 16 or newer (ScatterElements reduction)")
    ctx.add1("ScatterElements", [x, idx, src], ctx.out(n), axis=int(n.params["dim"]),
             reduction=red)


@rule("topk", "sort", "argsort", dynamic=True)
def _topk(ctx: Emitter, n: Any) -> None:
    p, vid = n.params, n.ins[0]
    d = int(p["dim"])
    if not ctx.shape(vid):
        raise ctx.fail(n, "sorting a 0-d tensor")
    if n.op.name == "topk":
        if ctx.probe_params(n) is not None:
            raise ctx.fail(n, "topk's k follows a dynamic axis")
        k, largest = ctx.i64([p["k"]]), p["largest"]
    else:
        largest = p["descending"]
        k = ctx.dim(vid, d) if ctx.sym(vid)[d] else ctx.i64([ctx.shape(vid)[d]])
    if n.op.name == "argsort":
        outs = [ctx.fresh("values"), ctx.out(n)]
    else:
        outs = [ctx.out(n, 0), ctx.out(n, 1)]
    ctx.add("TopK", [ctx.inp(n), k], outputs=outs, axis=d, largest=int(largest), sorted=1)
