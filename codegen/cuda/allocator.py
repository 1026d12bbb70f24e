"""Caching device allocator: freed blocks wait in per-size free lists for reuse.

Why: cudaMalloc/cudaFree synchronise the device and cost tens of microseconds, far more
than a small kernel.  Sizes are rounded up to 512 B and a block is only reused for the
same rounded size (no splitting), which keeps the bookkeeping trivial and fragmentation
bounded.  ``empty_cache()`` hands cached blocks back to the runtime; an allocation that
fails is retried once after emptying the cache.
"""

from __future__ import annotations

import threading
from collections import defaultdict

ROUND = 512


def size_class(nbytes: int) -> int:
    return max(1, -(-int(nbytes) // ROUND)) * ROUND


class Block:
    """One live allocation; returns itself to the allocator on ``free()`` or collection."""

    __slots__ = ("ptr", "size", "_owner", "__weakref__")

    def __init__(self, ptr: int, size: int, owner: CachingAllocator):
        self.ptr, self.size, self._owner = ptr, size, owner

    def free(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            owner._release(self.ptr, self.size)

    @property
    def alive(self) -> bool:
        return self._owner is not None

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:  # interpreter shutdown: the runtime may already be gone
            pass

    def __repr__(self) -> str:
        return f"Block(ptr={self.ptr:#x}, size={self.size}, alive={self.alive})"


class CachingAllocator:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self._free: dict = defaultdict(list)  # size class -> [ptr]
        self._lock = threading.Lock()
        self._allocated = 0
        self._reserved = 0
        self.stats = {"hits": 0, "misses": 0}

    def malloc(self, nbytes: int) -> Block:
        size = size_class(nbytes)
        with self._lock:
            cached = self._free.get(size)
            ptr = cached.pop() if cached else None
            if ptr is not None:
                self.stats["hits"] += 1
                self._allocated += size
                return Block(ptr, size, self)
        try:
            ptr = self.runtime.allocate(size)
        except Exception:
            self.empty_cache()
            ptr = self.runtime.allocate(size)
        with self._lock:
            self.stats["misses"] += 1
            self._allocated += size
            self._reserved += size
        return Block(ptr, size, self)

    def _release(self, ptr: int, size: int) -> None:
        with self._lock:
            self._allocated -= size
            self._free[size].append(ptr)

    def empty_cache(self) -> None:
        """Return every cached (unused) block to the runtime."""
        with self._lock:
            blocks = [(p, s) for s, ptrs in self._free.items() for p in ptrs]
            self._free.clear()
            self._reserved -= sum(s for _, s in blocks)
        for p, _ in blocks:
            self.runtime.free(p)

    def memory_allocated(self) -> int:
        """Bytes in live blocks (rounded sizes)."""
        return self._allocated

    def memory_reserved(self) -> int:
        """Bytes held from the runtime: live plus cached."""
        return self._reserved
