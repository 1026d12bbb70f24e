"""CUDA timing: events on the GPU's own clock, and synchronisation around host timers.

A kernel launch returns before the GPU has run it, so a host clock around a launch measures
the launch, not the kernel. Timing on the device uses CUDA events recorded in the stream;
``tracejit.cuda`` (the cuda device, when present) provides them, else pycuda's driver does;
the CPU simulator of the CUDA backend has neither and is timed on the host after a
synchronise.
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

NO_CUDA = ("device='cuda' needs a CUDA runtime: install the 'cuda' extra (pycuda) on a machine "
           "with an NVIDIA driver, or set TRACEJIT_CUDA_SIM=1 for the CPU simulator")


def _tj_cuda() -> Any:
    try:
        return importlib.import_module("tracejit.cuda")
    except ImportError:
        return None


def require_cuda() -> None:
    """Raise a clear error when no CUDA runtime (real or simulated) is available."""
    mod = _tj_cuda()
    if mod is not None and hasattr(mod, "is_available"):
        ok = mod.is_available()
    else:
        from ..codegen import cuda as cgc

        ok = cgc.is_available()
    if not ok:
        raise RuntimeError(NO_CUDA)


def synchronize() -> None:
    mod = _tj_cuda()
    if mod is not None and hasattr(mod, "synchronize"):
        mod.synchronize()
        return
    from ..codegen import cuda as cgc

    cgc.get_runtime().synchronize()


class EventTimer:
    """Seconds between ``start()`` and ``stop()`` on the device clock when events exist."""

    def __init__(self) -> None:
        self._make: Callable[[], Any] | None = None
        self._elapsed: Callable[[Any, Any], float] | None = None
        mod = _tj_cuda()
        if mod is not None and hasattr(mod, "Event"):
            self._make = lambda: mod.Event(enable_timing=True)
            self._elapsed = lambda a, b: a.elapsed_time(b) / 1e3
        else:
            from ..codegen import cuda as cgc

            if getattr(cgc.get_runtime(), "name", "") == "pycuda":
                import pycuda.driver as drv

                self._make = drv.Event
                self._elapsed = lambda a, b: a.time_till(b) / 1e3
        self.method = "CUDA events" if self._make else "host clock after synchronize"

    def start(self) -> None:
        if self._make is None:
            synchronize()
            self._t0 = time.perf_counter()
            return
        self._a, self._b = self._make(), self._make()
        self._a.record()

    def stop(self) -> float:
        if self._make is None:
            synchronize()
            return time.perf_counter() - self._t0
        self._b.record()
        self._b.synchronize()
        assert self._elapsed is not None
        return self._elapsed(self._a, self._b)


def measure_peaks(quick: bool, fma_kernel: Callable[[], tuple]) -> dict:
    """Device-to-device copy bandwidth and the FMA kernel's rate on the GPU."""
    require_cuda()
    import numpy as np

    from ..codegen import cuda as cgc

    rt = cgc.get_runtime()
    n = (1 << 24) if quick else (1 << 28)  # 64 MiB / 1 GiB of f32
    src = cgc.DeviceArray.empty((n,), np.float32, rt)
    dst = cgc.DeviceArray.empty((n,), np.float32, rt)
    timer = EventTimer()
    reps = 3 if quick else 10

    def best(fn: Callable[[], Any]) -> float:
        fn()
        out = float("inf")
        for _ in range(reps):
            timer.start()
            fn()
            out = min(out, timer.stop())
        return out

    t_copy = best(lambda: rt.copy_dtod(dst.ptr, src.ptr, 4 * n))
    kernel, per = fma_kernel()
    prog = cgc.Program([(kernel, ("flat",))], rt)
    m = n // 4
    xs = cgc.DeviceArray.empty((m,), np.float32, rt)
    out = cgc.DeviceArray.empty((m,), np.float32, rt)
    t_fma = best(lambda: prog.launch(kernel, [xs], [out]))
    for a in (src, dst, xs, out):
        a.free()
    return {
        "name": f"cuda ({rt.name})",
        "bandwidth_gbs": 8 * n / t_copy / 1e9,
        "gflops": per * m / t_fma / 1e9,
        "bandwidth_method": f"device-to-device memcpy of {4 * n >> 20} MiB, read + write "
                            f"counted, best of {reps}, {timer.method}",
        "flops_method": f"generated CUDA kernel, {per} f32 flops per element on {m} elements, "
                        f"best of {reps}, {timer.method}",
    }
