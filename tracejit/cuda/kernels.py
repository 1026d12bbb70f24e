"""Kernels on device arrays: the JIT's KernelPlans launched on cuda, copies and casts.

Why reuse the JIT's lowering: an eager cuda op is a one-node graph, so the same ``LOWER``
table and fusion rules build its kernel (one op = one small kernel); the codegen.cuda
program cache and the runtime's source-keyed module/disk caches make it compile once.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import codegen as cg
from ..codegen.cuda import Program, classify, launch_config, pack_params, program_for, symbol
from ..codegen.cuda.array import contiguous_strides
from ..codegen.cuda.emit import is_flat_variant
from ..kernels.cuda_launch import IR_DTYPE, copy_kernel
from .array import CudaArray

# ---- layout transforms on (shape, element strides) ---------------------------------------------


def broadcast(shape: Sequence[int], strides: Sequence[int], to: Sequence[int]) -> tuple:
    """numpy's broadcast_to on element strides (0 for stretched and new dims)."""
    pad = len(to) - len(shape)
    shape = (1,) * pad + tuple(shape)
    strides = (0,) * pad + tuple(strides)
    out = tuple(0 if n == 1 and t != 1 else s for n, s, t in zip(shape, strides, to))
    return tuple(to), out


def insert_ones(shape: Sequence[int], strides: Sequence[int], to: Sequence[int]) -> tuple:
    """Reshape that only inserts size-1 dims (a reduction's output seen with keepdim)."""
    out, j = [], 0
    for n in to:
        if j < len(shape) and (shape[j] == n):
            out.append(strides[j])
            j += 1
        else:
            out.append(0)
    return tuple(to), tuple(out)


def plan_views(plan: Any, layouts_of: Sequence[tuple]) -> list:
    """(shape, strides) of each kernel input after broadcast/keepdim/permutation."""
    views = []
    red_shape = plan.red_shape
    for (shape, strides), mode in zip(layouts_of, plan.in_modes):
        if mode == "scalar":
            views.append(((), ()))
            continue
        if mode == "outer":
            shape, strides = broadcast(shape, strides, red_shape)
            shape, strides = insert_ones(shape, strides, plan.keep_shape)
        if tuple(shape) != tuple(plan.full_shape):
            shape, strides = broadcast(shape, strides, plan.full_shape)
        if plan.perm is not None:
            shape = tuple(shape[d] for d in plan.perm)
            strides = tuple(strides[d] for d in plan.perm)
        views.append((tuple(shape), tuple(strides)))
    return views


def iter_shape(plan: Any) -> tuple:
    full = plan.full_shape
    return tuple(full[d] for d in plan.perm) if plan.perm is not None else tuple(full)


def inv_n(plan: Any) -> float:
    full, n = plan.full_shape, 1
    if plan.perm is not None:
        for d in plan.perm[len(plan.perm) - plan.kernel.nreduce:]:
            n *= full[d]
    return 1.0 / n if n else float("nan")


def predicted_layouts(plan: Any, shapes: Sequence[tuple]) -> tuple:
    """Layouts of a plan's inputs if every input is contiguous (compiled ahead in the JIT)."""
    views = plan_views(plan, [(s, contiguous_strides(s)) for s in shapes])
    return tuple(classify(s, st) for s, st in views)


# ---- launching -----------------------------------------------------------------------------


def to_device(a: Any) -> CudaArray:
    return a if type(a) is CudaArray else CudaArray.from_numpy(np.asarray(a))


def launch_plan(plan: Any, raw: Sequence[Any], module: Program | None = None,
                out_shapes: Sequence[tuple] | None = None) -> list:
    """Run a KernelPlan on device arrays (numpy inputs are uploaded); returns CudaArrays.

    ``module``: a multi-kernel program holding this plan's variants (the JIT's); a layout it
    lacks runs its all-"strided" variant.  Otherwise the cached single-variant program.
    """
    k = plan.kernel
    arrs = []
    for a, mode in zip(raw, plan.in_modes):
        if mode == "scalar" and a is None:
            a = np.array(inv_n(plan), cg.NP_DTYPES[k.inputs[len(arrs)]])
        arrs.append(to_device(a))
    views = plan_views(plan, [(a.shape, a.estrides) for a in arrs])
    devs = [a.dev.view(s, st) for a, (s, st) in zip(arrs, views)]
    shape = iter_shape(plan)
    outer = shape[:k.ndim - k.nreduce]
    outs = [CudaArray.empty(outer, cg.NP_DTYPES[e.dtype]) for e in k.outputs]
    layouts = tuple(classify(d.shape, d.strides) for d in devs)
    if module is None:
        module = program_for(k, layouts, devs[0].runtime if devs else None)
    elif (k, layouts) not in module._symbols:
        layouts = ("strided",) * len(devs)
    _launch(module, k, layouts, devs, [o.dev for o in outs], shape)
    if out_shapes is None:
        out_shapes = [plan_out_shape(plan)] * len(outs)
    return [o if o.shape == tuple(s) else CudaArray(o.dev.view(s, contiguous_strides(s)))
            for o, s in zip(outs, out_shapes)]


def plan_out_shape(plan: Any) -> tuple:
    return tuple(plan.red_shape) if plan.kernel.nreduce else tuple(plan.full_shape)


def _launch(prog: Program, k: cg.Kernel, layouts: tuple, ins: list, outs: list,
            shape: tuple) -> None:
    outer = shape[:k.ndim - k.nreduce]
    if math.prod(outer) == 0 or (is_flat_variant(k, layouts) and math.prod(shape) == 0):
        return
    rt = prog.runtime
    grid, block = launch_config(k, shape, rt.limits)
    rt.launch(prog.module, prog._symbols[(k, layouts)], grid, block,
              pack_params(k, layouts, shape, ins, outs))


def multi_program(items: Sequence[tuple]) -> Program:
    """One module (one compiler invocation) for many (kernel, layouts) variants."""
    return Program(list(dict.fromkeys(items)))


# ---- copies --------------------------------------------------------------------------------

def copy_into(dst: CudaArray, src: CudaArray) -> None:
    """dst[...] = src (broadcast, cast) with a copy kernel; dst must be contiguous."""
    shape, strides = broadcast(src.shape, src.estrides, dst.shape)
    view = src.dev.view(shape, strides)
    k = copy_kernel(len(shape), IR_DTYPE[src.dtype], IR_DTYPE[dst.dtype])
    layouts = (classify(shape, strides),)
    prog = program_for(k, layouts, view.runtime)
    _launch(prog, k, layouts, [view], [dst.dev], tuple(shape))


def copy_array(a: CudaArray, dtype: np.dtype | None = None) -> CudaArray:
    """A contiguous device copy (optionally cast)."""
    out = CudaArray.empty(a.shape, a.dtype if dtype is None else dtype)
    if out.size:
        copy_into(out, a)
    return out


def write_into_array(dst: CudaArray, src: Any) -> None:
    """np.copyto(dst, src, casting="unsafe") for a cuda dst (in-place ops, jit effects)."""
    if type(src) is not CudaArray:
        dst.write_host(np.asarray(src))
        return
    if not dst.size:
        return
    if dst.flags.c_contiguous:
        if src.dev.block is dst.dev.block:
            src = copy_array(src)  # the source may alias the destination
        copy_into(dst, src)
    else:
        from ..kernels.cuda_copy import strided_copy

        tmp = CudaArray.empty(dst.shape, dst.dtype)
        copy_into(tmp, src)  # broadcast and cast, then into the strided destination
        if not strided_copy(dst.dev, tmp.dev):
            dst.write_host(tmp.numpy())


__all__ = ["broadcast", "copy_array", "copy_into", "insert_ones", "launch_plan",
           "multi_program", "plan_views", "predicted_layouts", "symbol", "write_into_array"]
