"""Compiled-variant management: memory cache, disk cache, statistics, debug output.

A variant is (kernel structure, per-input layouts); its key never includes sizes.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import time
from pathlib import Path

from . import disk_cache
from .ir import Kernel
from .llvm_jit import Engine, assembly_of, compile_object, host_fingerprint
from .llvm_kernel import emit_module, symbol_name

_lock = threading.RLock()
_STATS = {"compiled": 0, "disk_loads": 0, "memory_hits": 0, "compile_seconds": 0.0,
          "disk_load_seconds": 0.0}
_engine = None


def _source_hash() -> str:
    """Hash of the emitter sources: editing the code generator invalidates disk entries."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in ("ir.py", "llvm_ops.py", "llvm_math.py", "llvm_kernel.py", "llvm_jit.py",
                 "compiler.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


_SOURCE_HASH = _source_hash()


def debug_level() -> int:
    """TRACEJIT_DEBUG, read at call time (only on compile/load paths)."""
    try:
        return int(os.environ.get("TRACEJIT_DEBUG", "0") or 0)
    except ValueError:
        return 1


def engine() -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = Engine()
        return _engine


def variant_key(kernel: Kernel, layouts: tuple) -> str:
    return f"{kernel.key()}|{','.join(layouts)}"


def file_stem(kernel: Kernel, layouts: tuple) -> str:
    full = f"{variant_key(kernel, layouts)}|{host_fingerprint()}|{_SOURCE_HASH}"
    return f"{kernel.key()}-{hashlib.sha256(full.encode()).hexdigest()[:16]}"


# Vector width: LLVM defaults to 256-bit vectors on AVX-512 CPUs; the transcendental-heavy
# fused kernels ran 21% faster with 512 (measured on the chain benchmark, one thread).
_VECTOR_ATTRS = '"prefer-vector-width"="512" "min-legal-vector-width"="512"'


def llvm_source(kernel: Kernel, layouts: tuple) -> str:
    text = str(emit_module(kernel, layouts, symbol_name(variant_key(kernel, layouts))))
    if "avx512f" not in _host_features():
        return text
    text = re.sub(r"(define void @[^(]+\([^)]*\))", r"\1 #77", text, count=1)
    return text + f"\nattributes #77 = {{ {_VECTOR_ATTRS} }}\n"


def _host_features() -> str:
    from .llvm_jit import host_features

    return host_features()


def get_function(kernel: Kernel, layouts: tuple) -> tuple:
    """(address, engine) of the compiled variant: from disk if cached, else compiled."""
    with _lock:
        eng = engine()
        symbol = symbol_name(variant_key(kernel, layouts))
        use_disk = disk_cache.enabled()
        stem = file_stem(kernel, layouts)
        level = debug_level()
        if use_disk:
            t0 = time.perf_counter()
            obj = disk_cache.read(stem)
            if obj is not None:
                try:
                    addr = eng.load(obj, symbol)
                except Exception as exc:  # damaged beyond the checksum: recompile
                    if level:
                        print(f"[tracejit] bad cache entry {stem}: {exc}", file=sys.stderr)
                else:
                    dt = time.perf_counter() - t0
                    _STATS["disk_loads"] += 1
                    _STATS["disk_load_seconds"] += dt
                    if level >= 1:
                        print(f"[tracejit] loaded {kernel.name} {layouts} from disk in "
                              f"{dt * 1e3:.2f} ms", file=sys.stderr)
                    return addr, eng
        t0 = time.perf_counter()
        text = llvm_source(kernel, layouts)
        if level >= 3:
            print(text, file=sys.stderr)
        obj = compile_object(text)
        addr = eng.load(obj, symbol)
        dt = time.perf_counter() - t0
        _STATS["compiled"] += 1
        _STATS["compile_seconds"] += dt
        if level >= 1:
            print(f"[tracejit] compiled {kernel.name} {layouts} in {dt * 1e3:.1f} ms",
                  file=sys.stderr)
        if level >= 4:
            print(assembly_of(text), file=sys.stderr)
        if use_disk:
            disk_cache.write(stem, obj)
        return addr, eng


def stats() -> dict:
    return dict(_STATS)


def count_memory_hit() -> None:
    _STATS["memory_hits"] += 1


def reset_engine() -> None:
    """Fresh JIT engine so later lookups really reload (old kernels stay valid)."""
    global _engine
    with _lock:
        _engine = None
