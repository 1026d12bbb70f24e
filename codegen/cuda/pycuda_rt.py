"""pycuda implementation of the runtime interface (imported only when it is selected).

Uses the device's primary context, ``SourceModule`` compiled for the device's own
architecture, and ``pycuda.driver`` memory.  Kernel arguments are passed as numpy
scalars (ints become 8-byte integers, which is also the width of a pointer).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .nvcc import NVCC_FLAGS
from .runtime import Limits, Runtime, dims3


class PycudaRuntime(Runtime):
    name = "pycuda"

    def __init__(self) -> None:
        super().__init__()
        import pycuda.autoprimaryctx  # noqa: F401  (activates device 0's primary context)
        import pycuda.driver as drv
        from pycuda.compiler import SourceModule

        self._drv, self._source_module = drv, SourceModule
        self._allocs: dict = {}
        sms = drv.Context.get_device().get_attribute(drv.device_attribute.MULTIPROCESSOR_COUNT)
        self.limits = Limits(block=256, reduce_block=256, max_grid=max(1, sms) * 32)

    def allocate(self, nbytes: int) -> int:
        alloc = self._drv.mem_alloc(max(1, int(nbytes)))
        self._allocs[int(alloc)] = alloc
        return int(alloc)

    def free(self, ptr: int) -> None:
        self._allocs.pop(ptr).free()

    def copy_htod(self, dst: int, src: np.ndarray) -> None:
        src = np.ascontiguousarray(src)
        if src.nbytes:
            self._drv.memcpy_htod(dst, src)

    def copy_dtoh(self, dst: np.ndarray, src: int) -> None:
        if dst.nbytes:
            self._drv.memcpy_dtoh(dst, src)

    def copy_dtod(self, dst: int, src: int, nbytes: int) -> None:
        if nbytes:
            self._drv.memcpy_dtod(dst, src, nbytes)

    def _load_module(self, source: str):
        self.stats["compiled"] += 1
        self.stats["compiler_invocations"] += 1
        return self._source_module(source, no_extern_c=True, options=list(NVCC_FLAGS))

    def launch(self, module, name: str, grid: Sequence[int], block: Sequence[int],
               args: Sequence) -> None:
        fn = module.get_function(name)
        packed = []
        for a in args:
            a = getattr(a, "ptr", a)
            packed.append(a if isinstance(a, np.generic) else np.int64(a))
        fn(*packed, grid=dims3(grid), block=dims3(block))

    def synchronize(self) -> None:
        self._drv.Context.synchronize()
