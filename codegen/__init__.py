"""tracejit.codegen: fused-kernel IR and its LLVM (CPU) code generator.

Self-contained on purpose: only relative imports, so it works under any package name
and a CUDA backend can consume the same IR.
"""

from __future__ import annotations

from collections.abc import Sequence

from .compiler import llvm_source
from .compiler import stats as _stats
from .ir import (
    BINARY_OPS,
    DTYPES,
    REDUCE_OPS,
    UNARY_OPS,
    Binary,
    Cast,
    Const,
    Expr,
    Kernel,
    Load,
    Reduce,
    ReduceRef,
    Unary,
    Where,
)
from .llvm_jit import assembly_of, optimized_ir
from .runtime import (
    NP_DTYPES,
    PreparedKernel,
    classify,
    clear_memory_cache,
    get_num_threads,
    prepare,
    run,
    set_num_threads,
    set_parallel_threshold,
)

__all__ = [
    "BINARY_OPS", "DTYPES", "REDUCE_OPS", "UNARY_OPS", "Binary", "Cast", "Const", "Expr",
    "Kernel", "Load", "NP_DTYPES", "PreparedKernel", "Reduce", "ReduceRef", "Unary",
    "Where", "assembly", "cache_stats", "classify", "clear_memory_cache",
    "get_num_threads", "prepare", "run", "set_num_threads", "set_parallel_threshold",
    "source",
]


def _layouts(kernel: Kernel, layouts: Sequence[str] | None) -> tuple:
    return tuple(layouts) if layouts is not None else ("flat",) * len(kernel.inputs)


def source(kernel: Kernel, layouts: Sequence[str] | None = None,
           kind: str = "llvm") -> str:
    """Generated code as text: kind "llvm" (as emitted) or "llvm-opt" (after O3)."""
    text = llvm_source(kernel, _layouts(kernel, layouts))
    if kind == "llvm":
        return text
    if kind == "llvm-opt":
        return optimized_ir(text)
    raise ValueError(f"unknown source kind {kind!r} (this backend has 'llvm', 'llvm-opt')")


def assembly(kernel: Kernel, layouts: Sequence[str] | None = None) -> str:
    """Host assembly of the optimised variant (for inspection and tests)."""
    return assembly_of(llvm_source(kernel, _layouts(kernel, layouts)))


def cache_stats() -> dict:
    """Counters: compiled, disk_loads, memory_hits, compile_seconds, disk_load_seconds."""
    return _stats()
