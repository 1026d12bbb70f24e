"""DeviceArray: a strided view of device memory, the storage a ``cuda`` tensor will hold.

Strides are in elements (like torch; may be 0 for broadcasts or negative), ``ptr`` is
the device address of element (0, ..., 0), and ``block`` is the owning allocation (views
share it, so it lives as long as any view does).  Uploads copy only the memory span a
view touches, so a broadcast row costs one row, not the broadcast shape.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Sequence

import numpy as np

from .allocator import Block
from .launch import is_c_contiguous
from .runtime import Runtime, get_runtime


def span(shape: Sequence[int], strides: Sequence[int]) -> tuple:
    """(lowest, highest) element offset a view touches, relative to element 0."""
    lo = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0 and n > 0)
    hi = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0 and n > 0)
    return lo, hi


def contiguous_strides(shape: Sequence[int]) -> tuple:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(out))


class DeviceArray:
    __slots__ = ("ptr", "shape", "strides", "dtype", "block", "runtime")

    def __init__(self, block: Block, ptr: int, shape: Sequence[int], strides: Sequence[int],
                 dtype, runtime: Runtime):
        self.block, self.ptr, self.runtime = block, int(ptr), runtime
        self.shape = tuple(int(n) for n in shape)
        self.strides = tuple(int(s) for s in strides)
        self.dtype = np.dtype(dtype)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def empty(cls, shape: Sequence[int], dtype, runtime: Runtime | None = None) -> DeviceArray:
        rt = runtime or get_runtime()
        dtype = np.dtype(dtype)
        block = rt.allocator.malloc(math.prod(shape) * dtype.itemsize)
        return cls(block, block.ptr, shape, contiguous_strides(shape), dtype, rt)

    @classmethod
    def from_numpy(cls, a: np.ndarray, runtime: Runtime | None = None) -> DeviceArray:
        """Upload ``a`` keeping its layout (strides, broadcasts) over a compact copy."""
        rt = runtime or get_runtime()
        a = np.asarray(a)
        isz = a.dtype.itemsize
        if any(s % isz for s in a.strides):
            a = np.ascontiguousarray(a)
        strides = tuple(s // isz for s in a.strides)
        if a.size == 0:
            block = rt.allocator.malloc(0)
            return cls(block, block.ptr, a.shape, strides, a.dtype, rt)
        lo, hi = span(a.shape, strides)
        nbytes = (hi - lo + 1) * isz
        block = rt.allocator.malloc(nbytes)
        raw = (ctypes.c_char * nbytes).from_address(a.ctypes.data + lo * isz)
        rt.copy_htod(block.ptr, np.frombuffer(raw, np.uint8))
        return cls(block, block.ptr - lo * isz, a.shape, strides, a.dtype, rt)

    # -- views and properties --------------------------------------------------------------------
    def view(self, shape: Sequence[int], strides: Sequence[int], offset: int = 0) -> DeviceArray:
        """Another view of the same memory; ``offset`` in elements from this ``ptr``."""
        return DeviceArray(self.block, self.ptr + offset * self.itemsize, shape, strides,
                           self.dtype, self.runtime)

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
        return self.size * self.itemsize

    @property
    def is_contiguous(self) -> bool:
        return is_c_contiguous(self.shape, self.strides)

    # -- transfers -------------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A new C-contiguous host copy of the view."""
        if self.size == 0:
            return np.empty(self.shape, self.dtype)
        lo, hi = span(self.shape, self.strides)
        buf = np.empty(hi - lo + 1, self.dtype)
        self.runtime.copy_dtoh(buf, self.ptr + lo * self.itemsize)
        if self.is_contiguous:
            return buf.reshape(self.shape)
        view = np.lib.stride_tricks.as_strided(
            buf[-lo:], self.shape, tuple(s * self.itemsize for s in self.strides))
        return np.array(view)

    def copy_from(self, src: DeviceArray) -> None:
        """Device-to-device copy between two contiguous arrays of equal size."""
        if not (self.is_contiguous and src.is_contiguous) or self.nbytes != src.nbytes:
            raise ValueError("copy_from needs contiguous arrays of the same byte size")
        if self.nbytes:
            self.runtime.copy_dtod(self.ptr, src.ptr, self.nbytes)

    def free(self) -> None:
        """Give the memory back to the allocator now (every view of it becomes invalid)."""
        self.block.free()

    def __repr__(self) -> str:
        return (f"DeviceArray(shape={self.shape}, strides={self.strides}, dtype={self.dtype}, "
                f"ptr={self.ptr:#x}, runtime={self.runtime.name})")
