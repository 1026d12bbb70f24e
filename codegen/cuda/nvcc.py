"""Compile generated CUDA C to PTX with nvcc: a warning-free check that needs no GPU.

Why: the simulator's g++ accepts things nvcc rejects (and vice versa), so every module
the tests generate is also put through the real device compiler.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# no FMA contraction: results then match numpy and the CPU backends bit for bit
NVCC_FLAGS = ("--fmad=false",)


def find_nvcc() -> str | None:
    """nvcc on PATH, else under $CUDA_HOME / $CUDA_PATH / /usr/local/cuda."""
    found = shutil.which("nvcc")
    if found:
        return found
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root and (Path(root) / "bin" / "nvcc").is_file():
            return str(Path(root) / "bin" / "nvcc")
    return None


def compile_ptx(source: str, arch: str = "sm_90") -> tuple:
    """(ok, log) of ``nvcc -arch=<arch> -ptx -Werror all-warnings``; ok needs a clean log."""
    nvcc = find_nvcc()
    if nvcc is None:
        return False, "nvcc not found"
    with tempfile.TemporaryDirectory(prefix="tj-nvcc-") as d:
        src, out = Path(d) / "module.cu", Path(d) / "module.ptx"
        src.write_text(source)
        cmd = [nvcc, f"-arch={arch}", "-ptx", "-Werror", "all-warnings", *NVCC_FLAGS,
               "-o", str(out), str(src)]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"{' '.join(cmd)}: {exc}"
        log = (res.stdout + res.stderr).strip()
        ok = res.returncode == 0 and out.is_file() and "warning" not in log.lower()
        return ok, log
