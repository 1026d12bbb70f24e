"""tracejit.codegen.cuda: the CUDA backend of the kernel IR.

* ``emit_module(kernels)``: CUDA C for any number of (Kernel, layouts) variants, one
  ``extern "C" __global__`` function each (``symbol(kernel, layouts)`` names it).
* Runtimes behind one interface (``runtime.Runtime``): pycuda on a real GPU, or the CPU
  simulator (``TRACEJIT_CUDA_SIM=1``) that builds the same source with g++ + OpenMP.
* ``CachingAllocator`` / ``DeviceArray`` for device memory, ``Program`` for one module
  of many kernels, ``run`` for numpy in / numpy out, ``compile_ptx`` to check with nvcc.

Nothing here imports pycuda until the pycuda runtime is selected.
"""

from __future__ import annotations

from .allocator import Block, CachingAllocator
from .array import DeviceArray
from .emit import LAYOUTS, emit_kernel, emit_module, symbol
from .launch import NP_DTYPES, classify, launch_config, pack_params
from .nvcc import compile_ptx, find_nvcc
from .program import Program, launch, program_for, run
from .runtime import (
    NOT_AVAILABLE,
    Limits,
    Runtime,
    device_count,
    get_runtime,
    is_available,
    sim_requested,
)
from .sim import SimRuntime

__all__ = [
    "LAYOUTS", "NOT_AVAILABLE", "NP_DTYPES", "Block", "CachingAllocator", "DeviceArray",
    "Limits", "Program", "Runtime", "SimRuntime", "classify", "compile_ptx", "device_count",
    "emit_kernel", "emit_module", "empty_cache", "find_nvcc", "get_runtime", "is_available",
    "launch", "launch_config", "memory_allocated", "memory_reserved", "pack_params",
    "program_for", "run", "sim_requested", "symbol", "synchronize",
]


def empty_cache() -> None:
    """Release the selected runtime's cached, unused device blocks."""
    get_runtime().allocator.empty_cache()


def memory_allocated() -> int:
    return get_runtime().allocator.memory_allocated()


def memory_reserved() -> int:
    return get_runtime().allocator.memory_reserved()


def synchronize() -> None:
    get_runtime().synchronize()
