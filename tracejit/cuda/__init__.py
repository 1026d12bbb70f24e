"""tracejit.cuda: torch.cuda's API over codegen.cuda (pycuda, or the CPU simulator).

Nothing here imports pycuda: ``codegen.cuda`` selects the runtime on first use.
"""
from __future__ import annotations

from ..codegen import cuda as _cg

from .array import CudaArray, OutOfMemoryError


def is_available() -> bool:
    """True with a driver and a GPU (pycuda), or with TRACEJIT_CUDA_SIM=1."""
    return _cg.is_available()


def device_count() -> int:
    return _cg.device_count()


def current_device() -> int:
    return 0


def get_device_name(device: object = None) -> str:
    rt = _cg.get_runtime()
    if rt.name == "sim":
        return "tracejit CUDA simulator (g++/OpenMP)"
    import pycuda.driver as drv

    return str(drv.Device(0).name())


def synchronize(device: object = None) -> None:
    if is_available():
        _cg.synchronize()


def memory_allocated(device: object = None) -> int:
    return _cg.memory_allocated() if is_available() else 0


def memory_reserved(device: object = None) -> int:
    return _cg.memory_reserved() if is_available() else 0


def empty_cache() -> None:
    if is_available():
        _cg.empty_cache()


__all__ = ["CudaArray", "OutOfMemoryError", "current_device", "device_count", "empty_cache",
           "get_device_name", "is_available", "memory_allocated", "memory_reserved",
           "synchronize"]
