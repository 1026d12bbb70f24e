#!/usr/bin/env bash
# One prepared run on an offline GPU machine (Python 3.12 with numpy, llvmlite, pytest):
# install pycuda from build/gpu_pkgs (made by bench/gpu_prepare.sh, carried along), run the
# gpu-marked tests, then the GPU benchmarks. Figures go to stdout and $OUT (if set).
# Not yet run on a GPU: the first lent machine is where it gets proven.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
timeout 300 python3 -m pip install --no-index --find-links build/gpu_pkgs \
    --no-build-isolation pycuda 2>&1 | tail -3
python3 -m pip install --no-deps --no-build-isolation -e . 2>&1 | tail -1
python3 - <<'PY'
import tracejit as tj
print("cuda available:", tj.cuda.is_available(), tj.cuda.get_device_name())
PY
timeout 180 python3 -m pytest -q -m gpu -p no:warnings tests 2>&1 | tee "$OUT/gpu_tests.log" | tail -5
timeout 180 python3 - <<'PY' 2>&1 | tee "$OUT/gpu_bench.log"
import time
import numpy as np
import tracejit as tj

def timed(fn, reps=20):
    fn(); tj.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    tj.cuda.synchronize()
    return (time.perf_counter() - t) / reps

n = 1 << 26
x = tj.randn(n, device="cuda"); y = tj.randn(n, device="cuda")
chain = lambda a, b: (a * b + 0.5).tanh() * a.sigmoid() - b.relu() * 0.1 + (-(a * a)).exp()
jc = tj.jit(chain)
t_jit = timed(lambda: jc(x, y))
t_eager = timed(lambda: chain(x, y), reps=5)
t_copy = timed(lambda: x.clone())
bytes_chain, bytes_copy = 3 * 4 * n, 2 * 4 * n
print(f"chain 2^26: jit {t_jit*1e3:.2f} ms ({bytes_chain/t_jit/1e9:.0f} GB/s), "
      f"eager {t_eager*1e3:.2f} ms; d2d copy {t_copy*1e3:.2f} ms "
      f"({bytes_copy/t_copy/1e9:.0f} GB/s); jit/copy bandwidth "
      f"{(bytes_chain/t_jit)/(bytes_copy/t_copy):.0%}")
a = tj.randn(4096, 4096, device="cuda"); b = tj.randn(4096, 4096, device="cuda")
t_mm = timed(lambda: a @ b, reps=10)
print(f"matmul 4096^3 f32: {t_mm*1e3:.2f} ms, {2*4096**3/t_mm/1e12:.1f} TFLOP/s")
PY
