"""CudaArray: the ``_data`` of a cuda tensor, numpy-like metadata over a codegen DeviceArray.

Why a wrapper: all of tracejit reads ``_data.shape/.dtype/.strides`` (numpy's byte strides)
and ``.flags``, while ``codegen.cuda.DeviceArray`` speaks element strides.  numpy entry points
(``__array__``, ufuncs, array functions) raise ``DeviceRedirect``: a numpy impl that meets a
cuda array is either a device mismatch or an op ``dispatch.apply`` must re-route to the
device; ``np.copyto`` into a cuda array is the one numpy function served (jit side effects).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..codegen.cuda import DeviceArray, get_runtime
from ..codegen.cuda.array import contiguous_strides, span
from ..device import device as _device

CUDA0 = _device("cuda", 0)
MISMATCH = ("Expected all tensors to be on the same device, but found at least two devices, "
            "{} and {}!")


class DeviceRedirect(RuntimeError):
    """A numpy kernel met a cuda array (caught by dispatch.apply, else a device mismatch)."""

    def __init__(self) -> None:
        super().__init__(MISMATCH.format("cuda:0", "cpu"))


class OutOfMemoryError(RuntimeError):
    """torch.cuda.OutOfMemoryError's counterpart (a RuntimeError, like PyTorch's)."""


class _Flags:
    __slots__ = ("c_contiguous", "writeable")

    def __init__(self, c: bool, w: bool) -> None:
        self.c_contiguous, self.writeable = c, w


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} bytes"


def malloc_array(shape: Sequence[int], dtype: Any) -> DeviceArray:
    """DeviceArray.empty, with allocation failures reported like PyTorch's CUDA OOM."""
    rt = get_runtime()
    try:
        return DeviceArray.empty(tuple(shape), dtype, rt)
    except Exception as e:  # pycuda's MemoryError, the simulator's numpy MemoryError
        if "memory" not in type(e).__name__.lower() and "memory" not in str(e).lower():
            raise
        n = math.prod(shape) * np.dtype(dtype).itemsize
        raise OutOfMemoryError(
            f"CUDA out of memory. Tried to allocate {_fmt_bytes(n)}. "
            f"{_fmt_bytes(rt.allocator.memory_allocated())} already allocated by tracejit; "
            "call tracejit.cuda.empty_cache() or use smaller tensors."
        ) from e


class CudaArray:
    """A strided view of device memory with numpy's metadata (strides in bytes)."""

    __slots__ = ("dev", "shape", "dtype", "strides", "__weakref__")
    __array_priority__ = 1000
    device = CUDA0

    def __init__(self, dev: DeviceArray) -> None:
        self.dev = dev
        self.shape = dev.shape
        self.dtype = dev.dtype
        self.strides = tuple(s * dev.dtype.itemsize for s in dev.strides)

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def empty(cls, shape: Sequence[int], dtype: Any) -> CudaArray:
        return cls(malloc_array(shape, dtype))

    @classmethod
    def from_numpy(cls, a: Any) -> CudaArray:
        a = np.asarray(a)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"cuda tensors of dtype {a.dtype} are not supported")
        if any(s % a.itemsize for s in a.strides) or any(s < 0 for s in a.strides):
            a = np.ascontiguousarray(a)
        if any(s == 0 for s in a.strides) and a.size > 1:
            a = np.ascontiguousarray(a)  # a broadcast would alias on device
        out = cls.empty(a.shape, a.dtype)
        if a.size:
            out.dev.runtime.copy_htod(out.dev.ptr, np.ascontiguousarray(a).reshape(-1))
        return out

    def view(self, shape: Sequence[int], strides: Sequence[int], offset: int = 0) -> CudaArray:
        """A view: element ``strides`` and element ``offset`` relative to this one."""
        return CudaArray(self.dev.view(shape, strides, offset))

    # ---- numpy-like metadata ------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def flags(self) -> _Flags:
        dev = self.dev
        overlap = any(s == 0 and n > 1 for s, n in zip(dev.strides, dev.shape))
        return _Flags(dev.is_contiguous, not overlap)

    @property
    def estrides(self) -> tuple:
        return self.dev.strides

    def probe(self) -> np.ndarray:
        """A host array with this layout and no real data (zeros): for layout questions."""
        lo, hi = span(self.shape, self.estrides)
        buf = np.zeros(hi - lo + 1, self.dtype)  # calloc: untouched pages cost nothing
        return np.lib.stride_tricks.as_strided(buf[-lo:], self.shape, self.strides)

    # ---- transfers ----------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A host copy (C-contiguous)."""
        return self.dev.numpy()

    def item(self) -> Any:
        return self.numpy().reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def copy(self) -> CudaArray:
        from .kernels import copy_array

        return copy_array(self)

    def astype(self, dtype: Any, copy: bool = True) -> CudaArray:
        from .kernels import copy_array

        if np.dtype(dtype) == self.dtype and not copy:
            return self
        return copy_array(self, np.dtype(dtype))

    def write_host(self, src: np.ndarray) -> None:
        """Write host values (broadcast, cast) into this possibly strided view."""
        dev = self.dev
        src = np.broadcast_to(np.asarray(src).astype(self.dtype, copy=False), self.shape)
        if not self.size:
            return
        if dev.is_contiguous:
            dev.runtime.copy_htod(dev.ptr, np.ascontiguousarray(src).reshape(-1))
            return
        lo, hi = span(dev.shape, dev.strides)
        isz = self.itemsize
        buf = np.empty(hi - lo + 1, self.dtype)
        dev.runtime.copy_dtoh(buf, dev.ptr + lo * isz)
        view = np.lib.stride_tricks.as_strided(buf[-lo:], self.shape, self.strides)
        view[...] = src
        dev.runtime.copy_htod(dev.ptr + lo * isz, buf)

    # ---- numpy protocol: every entry point is a redirect, except np.copyto ---------------
    def __array__(self, *a: Any, **k: Any) -> np.ndarray:
        raise DeviceRedirect()

    def __array_ufunc__(self, *a: Any, **k: Any) -> Any:
        raise DeviceRedirect()

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func is np.copyto:
            from .kernels import write_into_array

            dst, src = args[0], args[1]
            if isinstance(dst, CudaArray):
                write_into_array(dst, src)
            else:  # a jit side effect on a host tensor
                np.copyto(dst, src.numpy(), casting="unsafe")
            return None
        raise DeviceRedirect()

    def __getitem__(self, key: Any) -> Any:
        raise DeviceRedirect()

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"CudaArray(shape={self.shape}, dtype={self.dtype}, strides={self.strides})"


def contiguous_view(a: CudaArray, shape: Sequence[int]) -> CudaArray:
    """A contiguous array seen with another shape of the same size (no copy)."""
    return a.view(tuple(shape), contiguous_strides(tuple(shape)))

