"""Load rules for shapes and data movement: reshapes, slices, gathers, joins, constants.

Shape-describing inputs (targets, axes, bounds) are read with ``ctx.static``; ``Shape``,
``Size``, ``Constant``, ``ConstantOfShape`` and ``Range`` produce numpy values, so shape
arithmetic in the graph is computed while tracing and only the data ops are traced.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops as T
from ..dispatch import apply
from ..nn.primitives import pad_op
from ..tensor import Tensor
from .load_ctx import NodeCtx, rule_table
from .load_ops import _cast, _dt

TABLE, rule = rule_table()


def _norm_idx(t: Tensor, n: int) -> Tensor:
    """Indices that may count from the end (ONNX allows -n..n-1), as int64 in 0..n-1."""
    t = _cast(t, np.int64)
    return T.where(t < 0, t + n, t)


@rule("Transpose")
def _transpose(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    perm = a.get("perm") or list(range(t.ndim))[::-1]
    return T.permute(t, [int(p) for p in perm])


@rule("Reshape")
def _reshape(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    target = c.ints(x[1], "target shape")
    if not a.get("allowzero", 0):
        target = [t.shape[i] if s == 0 else s for i, s in enumerate(target)]
    return T.reshape(t, tuple(target))


@rule("Flatten")
def _flatten(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    axis = a.get("axis", 1)
    axis = axis + t.ndim if axis < 0 else axis
    shape = tuple(t.shape)
    return T.reshape(t, (math.prod(shape[:axis]), math.prod(shape[axis:])))


@rule("Squeeze")
def _squeeze(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    if len(x) < 2 or x[1] is None:
        return T.squeeze(t)
    axes = tuple(ax % t.ndim for ax in c.ints(x[1], "axes"))
    if any(t.shape[d] != 1 for d in axes):
        raise c.fail(f"squeezes axes {axes} of shape {list(t.shape)}, not all of size 1")
    return T.squeeze(t, axes) if axes else t


@rule("Unsqueeze")
def _unsqueeze(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    axes = c.ints(x[1], "axes")
    nd = t.ndim + len(axes)
    for ax in sorted(ax % nd for ax in axes):
        t = T.unsqueeze(t, ax)
    return t


@rule("Concat")
def _concat(c: NodeCtx, x: list, a: dict) -> Tensor:
    return T.cat([c.t(v) for v in x if v is not None], a["axis"])


@rule("Split")
def _split(c: NodeCtx, x: list, a: dict) -> list[Tensor]:
    t = c.t(x[0])
    axis = a.get("axis", 0) % t.ndim
    k = len(c.outs)
    if len(x) > 1 and x[1] is not None:
        sizes = c.ints(x[1], "split sizes")
    elif "split" in a:
        sizes = list(a["split"])
    else:
        k = a.get("num_outputs", k)
        n = t.shape[axis]
        step = -(-n // k)
        sizes = [step] * (n // step) + ([n % step] if n % step else [])
    if sum(sizes) != t.shape[axis]:
        raise c.fail(f"split sizes {sizes} do not add up to {t.shape[axis]}")
    return list(T.split(t, sizes, axis))


@rule("Slice")
def _slice(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    starts, ends = c.ints(x[1], "starts"), c.ints(x[2], "ends")
    axes = c.ints(x[3], "axes") if len(x) > 3 and x[3] is not None else list(range(len(starts)))
    steps = c.ints(x[4], "steps") if len(x) > 4 and x[4] is not None else [1] * len(starts)
    index: list[Any] = [slice(None)] * t.ndim
    flip = []
    for s, e, ax, st in zip(starts, ends, axes, steps):
        ax %= t.ndim
        if st == 0:
            raise c.fail("a slice step of 0")
        r = range(*slice(s, e, st).indices(t.shape[ax]))
        if st < 0:
            flip.append(ax)
            r = r[::-1]
        index[ax] = slice(r.start, r.stop, r.step) if len(r) else slice(0, 0)
    out = t[tuple(index)]
    return T.flip(out, tuple(flip)) if flip else out


@rule("Gather")
def _gather(c: NodeCtx, x: list, a: dict) -> Tensor:
    t, idx = c.t(x[0]), c.t(x[1])
    axis = a.get("axis", 0) % t.ndim
    shape = tuple(t.shape[:axis]) + tuple(idx.shape) + tuple(t.shape[axis + 1:])
    flat = T.reshape(_norm_idx(idx, t.shape[axis]), (-1,))
    return T.reshape(T.index_select(t, axis, flat), shape)


@rule("GatherElements")
def _gather_elements(c: NodeCtx, x: list, a: dict) -> Tensor:
    t, idx = c.t(x[0]), c.t(x[1])
    axis = a.get("axis", 0) % t.ndim
    return T.gather(t, axis, _norm_idx(idx, t.shape[axis]))


@rule("ScatterElements")
def _scatter_elements(c: NodeCtx, x: list, a: dict) -> Tensor:
    t, idx, upd = c.t(x[0]), c.t(x[1]), c.t(x[2])
    axis = a.get("axis", 0) % t.ndim
    idx = _norm_idx(idx, t.shape[axis])
    red = a.get("reduction", "none")
    if red == "none":
        return T.scatter(t, axis, idx, upd)
    if red == "add":
        return T.scatter_add(t, axis, idx, upd)
    if red == "mul":
        return T.scatter(t, axis, idx, upd, reduce="multiply")
    raise c.fail(f"ScatterElements reduction {red!r} is not supported")


@rule("Expand")
def _expand(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    shape = np.broadcast_shapes(tuple(t.shape), tuple(c.ints(x[1], "shape")))
    return T.expand(t, shape) if tuple(shape) != tuple(t.shape) else t


@rule("Tile")
def _tile(c: NodeCtx, x: list, a: dict) -> Tensor:
    return c.t(x[0]).repeat(*c.ints(x[1], "repeats"))


@rule("Pad")
def _pad(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    mode = a.get("mode", "constant")
    pads = c.ints(x[1], "pads")
    value = 0
    if len(x) > 2 and x[2] is not None and np.asarray(c.static(x[2], "pad value")).size:
        value = np.asarray(c.static(x[2], "pad value")).reshape(-1)[0].item()
    nd = t.ndim
    axes = c.ints(x[3], "axes") if len(x) > 3 and x[3] is not None else list(range(nd))
    k = len(axes)
    if mode != "constant":
        return _pad_index(c, t, [ax % nd for ax in axes], pads, mode)
    torch_pad = [0] * (2 * nd)
    for i, ax in enumerate(axes):
        d = nd - 1 - ax % nd
        torch_pad[2 * d], torch_pad[2 * d + 1] = pads[i], pads[i + k]
    return apply(pad_op, (t,), {"pad": tuple(torch_pad), "value": value})


def _pad_index(c: NodeCtx, t: Tensor, axes: list[int], pads: list[int], mode: str) -> Tensor:
    """edge/reflect/wrap padding: a gather along each axis with indices computed now."""
    k = len(axes)
    for i, ax in enumerate(axes):
        n, lo, hi = t.shape[ax], pads[i], pads[i + k]
        pos = np.arange(-lo, n + hi)
        if mode == "edge":
            pos = np.clip(pos, 0, n - 1)
        elif mode == "wrap":
            pos = pos % n
        elif mode == "reflect" and n > 1:
            period = 2 * (n - 1)
            pos = pos % period
            pos = np.where(pos >= n, period - pos, pos)
        elif mode == "reflect":
            pos = np.zeros_like(pos)
        else:
            raise c.fail(f"Pad mode {mode!r} is not supported")
        t = T.index_select(t, ax, c.t(pos.astype(np.int64)))
    return t


@rule("Shape")
def _shape(c: NodeCtx, x: list, a: dict) -> np.ndarray:
    shape = np.asarray(x[0].shape, np.int64)
    n = len(shape)
    start, end = a.get("start", 0), a.get("end", n)
    return shape[slice(max(min(start + n if start < 0 else start, n), 0),
                       max(min(end + n if end < 0 else end, n), 0))]


@rule("Size")
def _size(c: NodeCtx, x: list, a: dict) -> np.ndarray:
    return np.asarray(math.prod(x[0].shape), np.int64)


@rule("Constant")
def _constant(c: NodeCtx, x: list, a: dict) -> np.ndarray:
    for key, dt in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                    ("value_int", np.int64), ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dtype=dt)
    raise c.fail(f"Constant with attribute {sorted(a)} is not supported")


@rule("ConstantOfShape")
def _constant_of_shape(c: NodeCtx, x: list, a: dict) -> np.ndarray:
    shape = c.ints(x[0], "shape")
    if math.prod(shape) > 2 ** 31:
        raise c.fail(f"ConstantOfShape of {shape} is too large")
    value = a.get("value", np.zeros(1, np.float32))
    return np.full(shape, value.reshape(-1)[0], dtype=value.dtype)


@rule("Range")
def _range(c: NodeCtx, x: list, a: dict) -> np.ndarray:
    start, limit, delta = (c.static(v, "bound") for v in x[:3])
    n = max(int(math.ceil((limit - start) / delta)), 0)
    if n > 2 ** 31:
        raise c.fail("Range is too large")
    return (start + np.arange(n) * delta).astype(np.asarray(start).dtype)


@rule("OneHot")
def _one_hot(c: NodeCtx, x: list, a: dict) -> Tensor:
    idx, values = c.t(x[0]), c.t(x[2])
    depth = int(np.asarray(c.static(x[1], "depth")).reshape(-1)[0])
    nd = idx.ndim + 1
    axis = a.get("axis", -1) % nd
    idx = _cast(idx, np.int64)
    idx = T.where(idx < 0, idx + depth, idx)
    classes = T.reshape(T.arange(depth), [depth if k == axis else 1 for k in range(nd)])
    hit = T.eq(T.unsqueeze(idx, axis), classes)
    return T.where(hit, values[1], values[0])


@rule("CumSum")
def _cumsum(c: NodeCtx, x: list, a: dict) -> Tensor:
    t = c.t(x[0])
    axis = c.ints(x[1], "axis")[0] % t.ndim
    if a.get("reverse", 0):
        t = T.flip(t, (axis,))
    r = T.cumsum(t, axis)
    if a.get("exclusive", 0):
        r = r - t
    if a.get("reverse", 0):
        r = T.flip(r, (axis,))
    return _cast(r, _dt(t))


@rule("TopK")
def _topk(c: NodeCtx, x: list, a: dict) -> list[Tensor]:
    t = c.t(x[0])
    k = c.ints(x[1], "k")[0]
    axis = a.get("axis", -1) % t.ndim
    vals, idx = T.topk(t, k, axis, largest=bool(a.get("largest", 1)))
    return [vals, idx]


@rule("Dropout")
def _dropout(c: NodeCtx, x: list, a: dict) -> list[Any]:
    if len(x) > 2 and x[2] is not None and bool(np.asarray(c.static(x[2], "training_mode"))):
        raise c.fail("Dropout in training mode is not supported (inference only)")
    return [x[0], np.ones(tuple(x[0].shape), np.bool_)]
