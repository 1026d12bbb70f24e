"""Eager op dispatch on cuda: kernels, views, cuBLAS, and the host fallback.

* elementwise and fusible reductions: the op's one-node graph lowered to a kernel;
* views: the op's numpy impl run on a probe with the input's layout and no data, the
  result's strides/offset read back as a view of the same device memory;
* library ops (matmul, conv, pooling, cat, index writes, embedding, ...): the device kernels
  of ``tracejit.kernels``, routed by ``library/``;
* every other op (sort, gather/scatter, advanced indexing, nll_loss, random, ...): the HOST
  FALLBACK — inputs copied to host, ``op.impl`` run, results copied back.  Correct on both
  runtimes; ``stats`` counts each path.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tracing.fusion import schedule
from ..tracing.graph import Graph
from ..tracing.lower import lower_group
from ..tracing.trace import ELEMENTWISE_GROUPS, GraphNode, abstract_eval
from . import library
from .array import MISMATCH, CudaArray
from .kernels import copy_array, launch_plan

KERNEL_GROUPS = ELEMENTWISE_GROUPS | {"reduce"}
_plans: dict = {}
_NO_PLAN = object()
stats = {"kernel": 0, "view": 0, "host": 0, "library": 0}


def check_devices(op: Any, inputs: tuple) -> None:
    """PyTorch's error when tensors of different devices meet.

    Allowed as in PyTorch: wrapped scalars, 0-d cpu tensors, cpu index tensors.
    """
    first = None
    index = op.name.startswith("index")
    for t in inputs:
        d = t._data
        if t._wrapped or (type(d) is np.ndarray and (d.ndim == 0 or (index and
                                                                       d.dtype.kind in "biu"))):
            continue
        dev = "cpu" if type(t._data) is np.ndarray else "cuda:0"
        if first is None:
            first = dev
        elif dev != first:
            raise RuntimeError(MISMATCH.format(first, dev))


def device_apply(op: Any, inputs: tuple, params: dict | None) -> Any:
    """dispatch.apply's eager path for an op with a cuda input."""
    check_devices(op, inputs)
    return run_op(op, [t._data for t in inputs], params or {})


def run_op(op: Any, datas: list, params: dict) -> Any:
    """Run ``op`` on device/host arrays; results are CudaArrays (tuples for multi-output)."""
    if not any(type(d) is CudaArray for d in datas):
        return _upload(op.impl(*datas, **params))
    group = op.group
    if group == "device":
        return op.impl(*datas, **params)
    if group in KERNEL_GROUPS and op.nout == 1:
        plan = _plan(op, datas, params)
        if plan is not None:
            stats["kernel"] += 1
            return launch_plan(plan, [datas[v] if v >= 0 else None for v in plan.in_ids])[0]
    if op.view and type(datas[0]) is CudaArray:
        out = view_apply(op, datas, params)
        if out is not None:
            stats["view"] += 1
            return out
    if group == "copy" and op.name in ("clone", "contiguous") and len(datas) == 1:
        stats["kernel"] += 1
        return copy_array(datas[0])
    lib = library.DEVICE_OPS.get(op.name)
    if lib is not None or op.name.startswith("embed_"):
        out = lib(datas, params) if lib is not None else library.embed(op, datas, params)
        if out is not None:
            stats["library"] += 1
            return out
    return host_apply(op, datas, params)


def _upload(out: Any) -> Any:
    if isinstance(out, tuple | list):
        return tuple(CudaArray.from_numpy(np.asarray(o)) for o in out)
    return CudaArray.from_numpy(np.asarray(out))


def host_apply(op: Any, datas: list, params: dict) -> Any:
    """The host fallback: download, run the numpy impl, upload the results."""
    stats["host"] += 1
    host = [d.numpy() if type(d) is CudaArray else d for d in datas]
    return _upload(op.impl(*host, **params))


def _param_key(params: dict) -> Any:
    try:
        key = tuple(sorted(params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def _plan(op: Any, datas: list, params: dict) -> Any:
    """The cached one-op KernelPlan for these input shapes/dtypes, or None (not fusible)."""
    pk = _param_key(params)
    avals = tuple((tuple(d.shape), np.dtype(d.dtype)) for d in datas)
    key = (op, pk, avals) if pk is not None else None
    plan = _plans.get(key, None) if key is not None else None
    if plan is None:
        plan = _build_plan(op, avals, params)
        if key is not None and len(_plans) < 50_000:
            _plans[key] = plan
    return None if plan is _NO_PLAN else plan


def _build_plan(op: Any, avals: tuple, params: dict) -> Any:
    (oshape, odt), = abstract_eval(op, list(avals), params)
    n = len(avals)
    node = GraphNode(op, list(range(n)), dict(params), [n], 0)
    g = Graph([node], [s for s, _ in avals] + [tuple(oshape)],
              [d for _, d in avals] + [np.dtype(odt)], {}, list(range(n)), [n])
    groups = schedule(g, any_reduce=True)
    if len(groups) != 1 or groups[0].kind != "kernel":
        return _NO_PLAN
    try:
        plan = lower_group(groups[0], g, {n})
    except (KeyError, ValueError, NotImplementedError):
        return _NO_PLAN
    if plan.out_ids != [n]:
        return _NO_PLAN
    return plan


# ---- views -----------------------------------------------------------------------------------


def view_apply(op: Any, datas: list, params: dict) -> Any:
    """A view op on device memory, or None when the impl copies (host fallback then)."""
    if any(type(d) is CudaArray for d in datas[1:]):
        return None
    a = datas[0]
    isz = a.itemsize
    probe = a.probe()
    buf = probe.base
    while getattr(buf, "base", None) is not None:
        buf = buf.base
    base = probe.__array_interface__["data"][0]
    res = op.impl(probe, *datas[1:], **params)
    outs = res if isinstance(res, tuple | list) else (res,)
    start = np.asarray(buf).__array_interface__["data"][0]
    end = start + np.asarray(buf).nbytes
    views = []
    for r in outs:
        r = np.asarray(r)
        addr = r.__array_interface__["data"][0]
        if r.dtype.itemsize != isz or any(s % isz for s in r.strides):
            return None
        if r.size and not start <= addr < end:
            return None  # the impl copied
        off = (addr - base) // isz if r.size else 0
        views.append(a.view(r.shape, tuple(s // isz for s in r.strides), off))
        if r.dtype != a.dtype:
            views[-1] = CudaArray(views[-1].dev.__class__(
                a.dev.block, views[-1].dev.ptr, r.shape, views[-1].dev.strides, r.dtype,
                a.dev.runtime))
    return tuple(views) if isinstance(res, tuple | list) else views[0]
