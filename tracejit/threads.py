"""One thread setting for everything tracejit runs: generated kernels and BLAS."""
from __future__ import annotations

from . import codegen
from .kernels import blas


def set_num_threads(n: int) -> None:
    """Threads for large kernels and large matrix products (small ones stay on one thread)."""
    codegen.set_num_threads(n)
    blas.set_blas_threads(n)


def get_num_threads() -> int:
    return codegen.get_num_threads()
