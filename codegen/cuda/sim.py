"""CPU simulator runtime: the generated CUDA C, built by the host g++ with OpenMP.

Why: the CUDA backend must be testable on machines without a GPU, and it is the very
same source that nvcc compiles, so emitter bugs show up here.  A module is compiled as
one translation unit: ``sim_header.h`` + the CUDA source + one host launcher per
``extern "C" __global__`` kernel (found by parsing the signatures), in ONE compiler
invocation.  The shared object is cached on disk under
``$TRACEJIT_CACHE_DIR/cuda_sim`` (default ``~/.cache/tracejit/cuda_sim``), keyed by the
sha256 of the translation unit, the flags and the compiler version; the file carries a
trailing sha256 of its payload, and anything that fails the check or fails to load is
recompiled.  ``TRACEJIT_CACHE=0`` disables the disk cache.  "Device" memory is host
memory; launches are synchronous and serialised (one stream).
"""

from __future__ import annotations

import bisect
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import disk_cache
from .runtime import Limits, Runtime, dims3

HEADER = Path(__file__).with_name("sim_header.h")
CXX_FLAGS = ("-O2", "-fopenmp", "-std=c++17", "-shared", "-fPIC", "-ffp-contract=off",
             "-fno-math-errno", "-fvisibility=hidden")
MAGIC = b"\nTJSIM1 "
_TRAILER = len(MAGIC) + 64 + 1
_KERNEL_RE = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')
_SCALARS = {"long long": ctypes.c_longlong, "unsigned long long": ctypes.c_ulonglong,
            "long": ctypes.c_long, "unsigned long": ctypes.c_ulong, "int": ctypes.c_int,
            "unsigned": ctypes.c_uint, "unsigned int": ctypes.c_uint,
            "float": ctypes.c_float, "double": ctypes.c_double}
_ALIGN = 256  # like cudaMalloc


def cxx() -> str:
    return os.environ.get("TRACEJIT_SIM_CXX", "g++")


_versions: dict = {}


def compiler_version(compiler: str) -> str:
    if compiler not in _versions:
        res = subprocess.run([compiler, "--version"], capture_output=True, text=True)
        _versions[compiler] = (res.stdout.splitlines() or [compiler])[0]
    return _versions[compiler]


def parse_kernels(source: str) -> list:
    """[(name, [(param C type, ctypes type or None)])] of every extern "C" __global__."""
    out = []
    for m in _KERNEL_RE.finditer(source):
        params = []
        for p in filter(None, (s.strip() for s in m.group(2).split(","))):
            if p == "void":
                continue
            ctype = re.sub(r"\b__restrict__\b", "", re.match(r"(.*?)\w+$", p).group(1))
            ctype = " ".join(ctype.replace("*", " * ").split()).replace(" *", "*")
            ct = ctypes.c_void_p if "*" in ctype else _SCALARS.get(ctype.replace("const ", ""))
            params.append((ctype, ct))
        out.append((m.group(1), params))
    return out


def launchers(kernels: list) -> str:
    """Host entry points: unpack cuLaunchKernel-style ``void** args``, run the grid."""
    parts = []
    for name, params in kernels:
        unpack = "".join(f"  {t} p{i} = *({t}*)a[{i}];\n" for i, (t, _) in enumerate(params))
        call = ", ".join(f"p{i}" for i in range(len(params)))
        parts.append(
            f"TJ_SIM_EXPORT int tj_sim_launch_{name}(unsigned gx, unsigned gy, unsigned gz, "
            f"unsigned bx, unsigned by, unsigned bz, void** a) {{\n{unpack}"
            f"  return tj_sim_run(gx, gy, gz, bx, by, bz, [&]() {{ {name}({call}); }});\n}}\n")
    return "\n".join(parts)


def translation_unit(source: str) -> str:
    return (HEADER.read_text() + '#line 1 "tracejit_module.cu"\n' + source
            + "\n/* simulator launchers */\n" + launchers(parse_kernels(source)))


def cache_dir() -> Path:
    return disk_cache.cache_dir() / "cuda_sim"


def _read_verified(path: Path) -> bool:
    """True when ``path`` is an intact cache entry (ELF payload + matching digest)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if len(data) <= _TRAILER or not data.startswith(b"\x7fELF"):
        return False
    trailer = data[-_TRAILER:]
    if not (trailer.startswith(MAGIC) and trailer.endswith(b"\n")):
        return False
    digest = trailer[len(MAGIC):-1]
    return hashlib.sha256(data[:-_TRAILER]).hexdigest().encode() == digest


class SimModule:
    """A loaded shared object: kernel name -> (launcher, parameter ctypes)."""

    def __init__(self, lib: ctypes.CDLL, path: str, kernels: list):
        self.lib, self.path = lib, path
        self.kernels = {}
        for name, params in kernels:
            fn = getattr(lib, f"tj_sim_launch_{name}")
            fn.argtypes = [ctypes.c_uint] * 6 + [ctypes.c_void_p]
            fn.restype = ctypes.c_int
            self.kernels[name] = (fn, params)


class SimRuntime(Runtime):
    name = "sim"
    limits = Limits(block=64, reduce_block=64, max_grid=4)  # OpenMP threads are costly

    def __init__(self) -> None:
        super().__init__()
        self._buffers: dict = {}  # address -> (numpy buffer, nbytes)
        self._starts: list = []
        self._launch_lock = threading.Lock()
        self._mem_lock = threading.Lock()

    # -- memory: aligned host buffers ----------------------------------------------------------
    def allocate(self, nbytes: int) -> int:
        buf = np.empty(max(int(nbytes), 1) + _ALIGN, np.uint8)
        addr = (buf.ctypes.data + _ALIGN - 1) // _ALIGN * _ALIGN
        with self._mem_lock:
            self._buffers[addr] = (buf, int(nbytes))
            bisect.insort(self._starts, addr)
        return addr

    def free(self, ptr: int) -> None:
        with self._mem_lock:
            if self._buffers.pop(ptr, None) is None:
                raise ValueError(f"free of an unknown device pointer {ptr:#x}")
            del self._starts[bisect.bisect_left(self._starts, ptr)]

    def _check(self, ptr: int, nbytes: int) -> None:
        """Copies must stay inside one allocation (catches bugs before they corrupt)."""
        with self._mem_lock:
            i = bisect.bisect_right(self._starts, ptr) - 1
            ok = i >= 0 and ptr + nbytes <= self._starts[i] + self._buffers[self._starts[i]][1]
        if not ok:
            raise ValueError(f"device range {ptr:#x}+{nbytes} is outside any allocation")

    def copy_htod(self, dst: int, src: np.ndarray) -> None:
        src = np.ascontiguousarray(src)
        self._check(dst, src.nbytes)
        ctypes.memmove(dst, src.ctypes.data, src.nbytes)

    def copy_dtoh(self, dst: np.ndarray, src: int) -> None:
        if not dst.flags.c_contiguous:
            raise ValueError("copy_dtoh needs a C-contiguous destination")
        self._check(src, dst.nbytes)
        ctypes.memmove(dst.ctypes.data, src, dst.nbytes)

    def copy_dtod(self, dst: int, src: int, nbytes: int) -> None:
        self._check(dst, nbytes)
        self._check(src, nbytes)
        ctypes.memmove(dst, src, nbytes)

    # -- modules ---------------------------------------------------------------------------------
    @staticmethod
    def cache_path(source: str, tu: str | None = None) -> Path:
        """Where the shared object of ``source`` is cached (key: TU, flags, compiler)."""
        tu = translation_unit(source) if tu is None else tu
        key = hashlib.sha256("\0".join((tu, compiler_version(cxx()), *CXX_FLAGS))
                             .encode()).hexdigest()[:40]
        return cache_dir() / f"{key}.so"

    def _load_module(self, source: str) -> SimModule:
        kernels = parse_kernels(source)
        tu = translation_unit(source)
        compiler = cxx()
        path = self.cache_path(source, tu)
        if disk_cache.enabled():
            if _read_verified(path):
                try:
                    lib = ctypes.CDLL(str(path))
                    mod = SimModule(lib, str(path), kernels)
                except (OSError, AttributeError):
                    pass  # damaged beyond the checksum: recompile below
                # (dlopen returns an already loaded library of the same path as is: that
                # one was built from this very source, so it is the right code)
                else:
                    self.stats["disk_loads"] += 1
                    return mod
            path.parent.mkdir(parents=True, exist_ok=True)
            return self._compile(tu, kernels, compiler, path)
        tmp = Path(tempfile.mkdtemp(prefix="tj-sim-"))
        try:
            return self._compile(tu, kernels, compiler, tmp / path.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the loaded library stays mapped

    def _compile(self, tu: str, kernels: list, compiler: str, path: Path) -> SimModule:
        """One g++ run in a private directory (fixed file names: reproducible output)."""
        t0 = time.perf_counter()
        work = Path(tempfile.mkdtemp(dir=path.parent, prefix=".tmp-"))
        try:
            (work / "tracejit_module.cu").write_text(tu)
            cmd = [compiler, *CXX_FLAGS, "-x", "c++", "-o", "module.so", "tracejit_module.cu"]
            self.stats["compiler_invocations"] += 1
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
            if res.returncode != 0:
                raise RuntimeError(f"simulator compile failed ({' '.join(cmd)}):\n"
                                   f"{res.stderr[-6000:]}")
            so = work / "module.so"
            payload = so.read_bytes()
            with open(so, "ab") as f:
                f.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n")
            os.replace(so, path)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        lib = ctypes.CDLL(str(path))
        self.stats["compiled"] += 1
        self.stats["compile_seconds"] += time.perf_counter() - t0
        return SimModule(lib, str(path), kernels)

    # -- launches --------------------------------------------------------------------------------
    def launch(self, module: SimModule, name: str, grid: Sequence[int], block: Sequence[int],
               args: Sequence) -> None:
        try:
            fn, params = module.kernels[name]
        except KeyError:
            raise KeyError(f"no kernel {name!r} in this module") from None
        if len(args) != len(params):
            raise TypeError(f"{name}: expected {len(params)} arguments, got {len(args)}")
        vals = []
        for arg, (ctype, ct) in zip(args, params):
            if ct is None:
                raise TypeError(f"{name}: the simulator cannot pass a {ctype!r} parameter")
            arg = getattr(arg, "ptr", arg)
            vals.append(ct(arg.item() if isinstance(arg, np.generic) else arg))
        argv = (ctypes.c_void_p * max(1, len(vals)))(*[ctypes.addressof(v) for v in vals])
        g, b = dims3(grid), dims3(block)
        with self._launch_lock:
            rc = fn(*g, *b, argv)
        if rc:
            raise RuntimeError(f"{name}: simulator launch failed ({rc}): grid {g}, block {b}"
                               + (" (OpenMP gave fewer threads)" if rc == 2 else ""))

    def synchronize(self) -> None:
        """Launches are synchronous here."""
