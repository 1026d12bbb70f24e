"""The device runtime interface, and choosing an implementation.

Everything above this layer (allocator, device arrays, programs) talks to a ``Runtime``
with plain integer device pointers, so the pycuda driver and the CPU simulator are
interchangeable.  Launch arguments are a sequence of Python ints (8-byte integers or
pointers), numpy scalars (passed with their own type) or objects with a ``ptr``
attribute.  Selection: ``TRACEJIT_CUDA_SIM=1`` picks the simulator; otherwise pycuda
when it imports and finds a driver and a device; otherwise a clear RuntimeError.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

SIM_ENV = "TRACEJIT_CUDA_SIM"
NOT_AVAILABLE = ("CUDA is not available: no NVIDIA driver (libcuda) found; "
                 "set TRACEJIT_CUDA_SIM=1 to use the CPU simulator")


class Limits(NamedTuple):
    """Launch-shape preferences of a runtime (see ``launch.launch_config``)."""

    block: int = 256         # threads per block of elementwise kernels
    reduce_block: int = 256  # most threads per block of reductions (a multiple of 32)
    max_grid: int = 65535    # most blocks; grid-/block-stride loops cover the rest


class Runtime(ABC):
    """Memory, modules and launches of one device; modules are cached by source text."""

    name = "abstract"
    limits = Limits()

    def __init__(self) -> None:
        self._modules: dict = {}
        self._module_lock = threading.Lock()
        self._allocator = None
        self.stats = {"compiled": 0, "compiler_invocations": 0, "disk_loads": 0,
                      "memory_hits": 0, "compile_seconds": 0.0}

    # -- memory ------------------------------------------------------------------------------
    @abstractmethod
    def allocate(self, nbytes: int) -> int:
        """Raw device allocation (no caching); returns the device address."""

    @abstractmethod
    def free(self, ptr: int) -> None: ...

    @abstractmethod
    def copy_htod(self, dst: int, src: np.ndarray) -> None:
        """Copy the bytes of a C-contiguous host array to device address ``dst``."""

    @abstractmethod
    def copy_dtoh(self, dst: np.ndarray, src: int) -> None:
        """Fill the C-contiguous host array ``dst`` from device address ``src``."""

    @abstractmethod
    def copy_dtod(self, dst: int, src: int, nbytes: int) -> None: ...

    # -- code ----------------------------------------------------------------------------------
    def load_module(self, source: str):
        """Compiled module of ``source`` (all its kernels); compiled once per process."""
        with self._module_lock:
            mod = self._modules.get(source)
            if mod is not None:
                self.stats["memory_hits"] += 1
                return mod
            mod = self._load_module(source)
            self._modules[source] = mod
            return mod

    def clear_module_cache(self) -> None:
        """Forget loaded modules (the next load goes to the disk cache or the compiler)."""
        with self._module_lock:
            self._modules.clear()

    @abstractmethod
    def _load_module(self, source: str): ...

    @abstractmethod
    def launch(self, module, name: str, grid: Sequence[int], block: Sequence[int],
               args: Sequence) -> None: ...

    @abstractmethod
    def synchronize(self) -> None: ...

    @property
    def allocator(self):
        """The caching allocator working over this runtime (created on first use)."""
        if self._allocator is None:
            from .allocator import CachingAllocator
            self._allocator = CachingAllocator(self)
        return self._allocator


def dims3(d) -> tuple:
    """(x, y, z) from an int or a 1- to 3-tuple."""
    t = (int(d),) if isinstance(d, int | np.integer) else tuple(int(v) for v in d)
    if not 1 <= len(t) <= 3:
        raise ValueError(f"launch dimensions must have 1 to 3 entries, got {d!r}")
    return t + (1,) * (3 - len(t))


def sim_requested() -> bool:
    return os.environ.get(SIM_ENV, "").strip().lower() not in ("", "0", "false", "off", "no")


_probe: dict = {}
_instances: dict = {}
_lock = threading.Lock()


def pycuda_device_count() -> int:
    """Devices pycuda sees (0 without pycuda, libcuda or a GPU); probed once."""
    if "n" not in _probe:
        n = 0
        if importlib.util.find_spec("pycuda") is not None:
            try:
                import pycuda.driver as drv
                drv.init()
                n = drv.Device.count()
            except Exception:  # ImportError for a missing libcuda, driver errors, ...
                n = 0
        _probe["n"] = n
    return _probe["n"]


def is_available() -> bool:
    return sim_requested() or pycuda_device_count() > 0


def device_count() -> int:
    return 1 if sim_requested() else pycuda_device_count()


def get_runtime(kind: str | None = None) -> Runtime:
    """The runtime for ``kind`` ("sim" or "pycuda"), or the selected one when None."""
    if kind is None:
        if sim_requested():
            kind = "sim"
        elif pycuda_device_count() > 0:
            kind = "pycuda"
        else:
            raise RuntimeError(NOT_AVAILABLE)
    with _lock:
        rt = _instances.get(kind)
        if rt is None:
            if kind == "sim":
                from .sim import SimRuntime
                rt = SimRuntime()
            elif kind == "pycuda":
                if pycuda_device_count() == 0:
                    raise RuntimeError(NOT_AVAILABLE)
                from .pycuda_rt import PycudaRuntime
                rt = PycudaRuntime()
            else:
                raise ValueError(f"unknown CUDA runtime {kind!r}; expected 'sim' or 'pycuda'")
            _instances[kind] = rt
        return rt
