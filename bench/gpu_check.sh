#!/usr/bin/env bash
# One prepared run on an offline GPU machine (Python 3.12 with numpy, llvmlite, pytest):
# install pycuda from build/gpu_pkgs (made by bench/gpu_prepare.sh, carried along), run the
# gpu-marked tests and the device-parametrised suites on the real GPU, then the GPU
# benchmarks. Figures go to stdout and to $OUT (if set). Budget: under 8 minutes in all.
# The Python part also runs on the simulator for a dry run of the script itself:
#   TRACEJIT_CUDA_SIM=1 GPU_CHECK_LOG2N=16 bash bench/gpu_check.sh --bench-only
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export PATH="$CUDA_HOME/bin:$PATH"
if [ "${1:-}" != "--bench-only" ]; then
  timeout 220 python3 -m pip install --no-index --find-links build/gpu_pkgs \
      --no-build-isolation pycuda 2>&1 | tail -3
  python3 -m pip install --no-deps --no-build-isolation -e . 2>&1 | tail -1
  python3 -c 'import tracejit as tj; print("cuda:", tj.cuda.is_available(),
tj.cuda.get_device_name() if tj.cuda.is_available() else "")'
  timeout 40 python3 -m pytest -q -m gpu -p no:warnings tests 2>&1 \
      | tee "$OUT/gpu_tests.log" | tail -3
  timeout 120 python3 -m pytest -q -m cuda -p no:warnings tests/cuda tests/jit \
      tests/test_autograd.py 2>&1 | tee "$OUT/cuda_suite.log" | tail -3
fi
timeout 90 python3 - <<'PY' 2>&1 | tee "$OUT/gpu_bench.log"
import ctypes
import os
import time

import numpy as np

import tracejit as tj
from tracejit.codegen.cuda import get_runtime
from tracejit.kernels import cuda_blas

rt = get_runtime()


def timed(fn, reps=20, rounds=5):
    """Seconds per call: median over rounds of ``reps`` queued calls and one synchronise."""
    fn()
    tj.cuda.synchronize()
    ts = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        tj.cuda.synchronize()
        ts.append((time.perf_counter() - t) / reps)
    return float(np.median(ts))


n = 1 << int(os.environ.get("GPU_CHECK_LOG2N", "26"))
x, y = tj.randn(n, device="cuda"), tj.randn(n, device="cuda")


def chain(a, b):
    return (a * b + 0.5).tanh() * a.sigmoid() - b.relu() * 0.1 + (-(a * a)).exp()


jc = tj.jit(chain)
got = jc(x, y)[:4096].cpu().numpy()
ref = chain(x[:4096].cpu(), y[:4096].cpu()).numpy()
print("chain jit vs cpu max abs diff:", float(np.abs(got - ref).max()))
dst = tj.empty(n, device="cuda")
t_copy = timed(lambda: rt.copy_dtod(dst._data.dev.ptr, x._data.dev.ptr, 4 * n))
t_jit = timed(lambda: jc(x, y))
t_eager = timed(lambda: chain(x, y), reps=3, rounds=3)
bw_copy, bw_jit = 2 * 4 * n / t_copy, 3 * 4 * n / t_jit
print(f"chain 2^{n.bit_length() - 1} f32: jit {t_jit * 1e3:.3f} ms ({bw_jit / 1e9:.0f} GB/s), "
      f"eager {t_eager * 1e3:.3f} ms ({t_eager / t_jit:.1f}x the jit); "
      f"cuMemcpyDtoD {t_copy * 1e3:.3f} ms ({bw_copy / 1e9:.0f} GB/s); "
      f"jit bandwidth = {bw_jit / bw_copy:.0%} of the copy's (target >= 85%)")

m = 4096 if rt.name != "sim" else 256
a, b = tj.randn(m, m, device="cuda"), tj.randn(m, m, device="cuda")
t_mm = timed(lambda: a @ b, reps=5)
line = f"matmul {m}^3 f32: tracejit {t_mm * 1e3:.3f} ms ({2 * m ** 3 / t_mm / 1e12:.1f} TFLOP/s)"
if rt.name != "sim":
    lib, h = cuda_blas._handle()
    c = tj.empty(m, m, device="cuda")
    one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)
    ptr = [ctypes.c_void_p(t._data.dev.ptr) for t in (a, b, c)]

    def direct():
        lib.cublasSgemm_v2(h, 0, 0, m, m, m, ctypes.byref(one), ptr[1], m, ptr[0], m,
                           ctypes.byref(zero), ptr[2], m)

    t_direct = timed(direct, reps=5)
    line += f"; cuBLAS called directly {t_direct * 1e3:.3f} ms ({t_direct / t_mm:.0%} of ours)"
print(line)
PY
