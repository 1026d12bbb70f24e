"""Host-side rules shared by both runtimes: layouts, launch shapes, parameter packing.

Keeping them in one place means the simulator launches exactly what a GPU would, only
with the smaller block/grid preferences of its ``Limits``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..ir import Kernel
from .emit import WARP
from .runtime import Limits

NP_DTYPES = {"f16": np.dtype(np.float16), "f32": np.dtype(np.float32),
             "f64": np.dtype(np.float64), "i8": np.dtype(np.int8), "u8": np.dtype(np.uint8),
             "i32": np.dtype(np.int32), "i64": np.dtype(np.int64), "bool": np.dtype(np.bool_)}


def is_c_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """Element strides describe a dense C-order array (size-1 dims are ignored)."""
    if 0 in shape:
        return True
    expect = 1
    for n, s in zip(reversed(shape), reversed(strides)):
        if n != 1 and s != expect:
            return False
        expect *= n
    return True


def classify(shape: Sequence[int], strides: Sequence[int]) -> str:
    """Layout of an input broadcast to the iteration shape (same rules as the CPU side)."""
    size = math.prod(shape)
    if size == 0:
        return "strided"
    if not any(strides) or size == 1:
        return "scalar"
    return "flat" if is_c_contiguous(shape, strides) else "strided"


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def launch_config(kernel: Kernel, shape: Sequence[int], limits: Limits) -> tuple:
    """((grid x, 1, 1), (block x, 1, 1)) for one launch of ``kernel`` over ``shape``.

    Elementwise: enough blocks to cover the elements, capped (grid-stride loop).
    Reductions: one block per outer element, capped (block-stride loop); the block is
    the reduced size rounded up to a power of two, between one warp and the limit.
    """
    outer = math.prod(shape[:kernel.outer_ndim])
    if kernel.nreduce == 0:
        n = math.prod(shape)
        block = max(WARP, min(limits.block, _round_up(max(n, 1), WARP)))
        grid = max(1, min(-(-n // block), limits.max_grid))
        return (grid, 1, 1), (block, 1, 1)
    red = math.prod(shape[kernel.outer_ndim:])
    block = WARP
    while block < red and block < limits.reduce_block:
        block *= 2
    grid = max(1, min(outer, limits.max_grid))
    return (grid, 1, 1), (block, 1, 1)


def pack_params(kernel: Kernel, layouts: Sequence[str], shape: Sequence[int],
                inputs: Sequence, outputs: Sequence) -> list:
    """Kernel arguments in the emitter's order: sizes, pointers, strided inputs' strides.

    ``inputs``/``outputs`` are anything with ``ptr`` and element ``strides``.
    """
    params = [int(s) for s in shape]
    params += [int(a.ptr) for a in inputs]
    params += [int(o.ptr) for o in outputs]
    for a, lay in zip(inputs, layouts):
        if lay == "strided":
            params += [int(s) for s in a.strides]
    return params
