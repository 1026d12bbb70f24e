"""tracejit.bench: work counts, the roofline cache, benchmark results, kernels(), the CLI.

No timing assertions (the machine is shared): only structure, units and sanity bounds.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import sys

import numpy as np
import pytest

import tracejit as tj
from tracejit import bench
from tracejit import codegen as cg
from tracejit.bench import cli, costs

roofline = sys.modules["tracejit.bench.roofline"]  # the package exports the function by name

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGETS = str(ROOT / "examples" / "bench_targets.py")
N = 1 << 20


def chain(x, y):
    return (x * y + 0.5).tanh() * x.sigmoid() - y.relu() * 0.1 + (-(x * x)).exp()


@pytest.fixture(scope="module")
def peak() -> bench.Roofline:
    """A real (quick) measurement of this machine, not cached."""
    return bench.roofline(quick=True)


@pytest.fixture(scope="module")
def xy() -> tuple:
    rng = np.random.default_rng(0)
    return (tj.tensor(rng.standard_normal(N, dtype=np.float32)),
            tj.tensor(rng.standard_normal(N, dtype=np.float32)))


# ---- counting --------------------------------------------------------------------------------

def test_flop_convention_counts_float_ops_once() -> None:
    x, y = cg.Load(0, "f32"), cg.Load(1, "f32")
    shared = cg.Binary("mul", x, y)
    e = cg.Binary("add", cg.Unary("exp", shared), shared)  # shared subtree counted once
    assert costs.expr_flops(e) == 3
    cmp = cg.Where(cg.Binary("gt", x, y), x, y)  # compare and select are free
    assert costs.expr_flops(cmp) == 0
    k = cg.Kernel("k", 1, ("f32", "f32"), outputs=(e,))
    assert costs.kernel_flops(k, (10,)) == 30
    assert costs.kernel_bytes(k, (10,)) == 3 * 40


def test_reduction_kernel_flops() -> None:
    x = cg.Load(0, "f32")
    r = cg.Reduce("sum", cg.Binary("mul", x, x), "f32")
    k = cg.Kernel("ss", 2, ("f32",), nreduce=1, reductions=(r,),
                  outputs=(cg.Binary("mul", cg.ReduceRef(0, "f32"), cg.Const(2.0, "f32")),))
    # per element: one mul and one add into the accumulator; per row: one mul
    assert costs.kernel_flops(k, (4, 8)) == 2 * 32 + 4


def test_program_costs_of_fused_chain_and_matmul(xy: tuple) -> None:
    f = tj.jit(chain)
    cs = costs.program_costs(f._entry_for(xy, {}).fwd)
    assert [c.kind for c in cs] == ["kernel"]
    assert cs[0].bytes == 3 * N * 4  # two inputs read, one output written
    assert cs[0].flops == 12 * N  # 12 float ops per element, transcendentals count 1
    a, w = tj.randn(64, 32), tj.randn(32, 16)
    g = tj.jit(lambda a, w: (a @ w).relu())
    cs = costs.program_costs(g._entry_for((a, w), {}).fwd)
    mm = [c for c in cs if c.kind == "library"]
    assert mm and mm[0].flops == 2 * 64 * 16 * 32
    assert "define" in next(c for c in cs if c.kind == "kernel").source()


# ---- roofline --------------------------------------------------------------------------------

def test_roofline_measures_states_and_caches(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("TRACEJIT_CACHE_DIR", str(tmp_path))
    calls = []

    def fake(quick: bool) -> dict:
        calls.append(quick)
        return {"bandwidth_gbs": 10.0, "gflops": 100.0, "bandwidth_method": "copy",
                "flops_method": "fma"}

    monkeypatch.setattr(roofline, "_measure_cpu", fake)
    r1 = bench.roofline()
    r2 = bench.roofline()
    assert calls == [False] and not r1.cached and r2.cached
    assert (tmp_path / "roofline.json").exists()
    assert r2.bandwidth_gbs == 10.0 and r2.ridge == 10.0 and "copy" in str(r2)
    bench.roofline(refresh=True)
    assert len(calls) == 2


def test_quick_roofline_is_real(peak: bench.Roofline) -> None:
    assert 0.5 < peak.bandwidth_gbs < 5000
    assert 0.5 < peak.gflops < 1e6
    assert "copies" in peak.bandwidth_method and "mul+add" in peak.flops_method
    assert set(peak.components) >= {"numpy_copy_gbs", "kernel_mul_add_gflops"}


def test_cuda_without_runtime_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACEJIT_CUDA_SIM", raising=False)
    from tracejit.codegen import cuda as cgc

    from tracejit.bench import cuda_support

    if cgc.is_available():
        pytest.skip("a CUDA runtime is present")
    with pytest.raises(RuntimeError, match="CUDA runtime"):
        cuda_support.require_cuda()
    with pytest.raises(RuntimeError, match="CUDA runtime"):
        bench.benchmark(lambda: None, device="cuda", peak=False)


# ---- benchmark -------------------------------------------------------------------------------

def test_benchmark_jitted_chain(xy: tuple, peak: bench.Roofline) -> None:
    r = bench.benchmark(tj.jit(chain), *xy, min_time=0.05, peak=peak)
    assert len(r.samples) >= 5 and r.repeats >= 1
    assert 0 < r.min <= r.median and r.iqr >= 0
    assert r.bytes == 3 * N * 4 and r.flops == 12 * N
    assert 0 < r.gbps < 1.5 * peak.bandwidth_gbs
    assert 0 < r.peak_fraction < 1.5
    d = r.to_dict()
    assert d["counted_from"] == "compiled kernels" and d["median"] == r.median
    assert "GB/s" in str(r)


def test_benchmark_eager_counts_every_op(xy: tuple) -> None:
    r = bench.benchmark(chain, *xy, min_time=0.02, warmup=1, peak=False)
    assert r.extra["counted_from"] == "eager ops (traced)"
    assert r.bytes > 3 * N * 4  # eager writes and rereads every intermediate
    assert r.peak_fraction is None


def test_benchmark_a_generated_kernel(peak: bench.Roofline) -> None:
    k, per = roofline.fma_kernel(4, 4)
    x = np.ones(1 << 16, np.float32)
    r = bench.benchmark(k, x, min_time=0.02, peak=peak)
    assert r.flops == per * x.size == costs.kernel_flops(k, x.shape)
    assert r.bytes == 2 * x.nbytes and r.gflops > 0


def test_uncountable_function_is_still_timed() -> None:
    r = bench.benchmark(lambda: sum(range(100)), min_time=0.01, peak=False)
    assert r.bytes is None and r.gbps is None and r.median > 0
    x = tj.randn(100)
    r = bench.benchmark(lambda x: (x * 2).sum().item(), x, min_time=0.01, peak=False)
    assert r.bytes is None and r.extra["counted_from"] == "not countable"


# ---- kernels() -------------------------------------------------------------------------------

def test_kernels_lists_forward_and_backward(peak: bench.Roofline) -> None:
    w = tj.randn(64, 32, requires_grad=True)
    f = tj.jit(lambda a: (a @ w).tanh().sum())
    a = tj.randn(128, 64)
    rep = f.kernels(a, min_time=0.05, peak=peak)
    phases = {k.phase for k in rep}
    assert phases == {"fwd", "bwd"}
    kinds = {k.kind for k in rep}
    assert {"kernel", "library"} <= kinds
    assert all(k.time > 0 and k.bytes >= 0 and k.flops >= 0 for k in rep)
    assert any(k.name == "mm" and k.flops == 2 * 128 * 32 * 64 for k in rep)
    assert math.isclose(rep.total, sum(k.time for k in rep))
    text = str(rep)
    assert "share" in text and "k_" in text
    assert json.dumps(rep.to_dict())
    gen = next(k for k in rep if k.kind == "kernel")
    assert "define" in gen.source() and "kernel k_" in gen.ir()


def test_jitfunction_kernels_method(xy: tuple) -> None:
    f = tj.jit(chain)
    rep = f.kernels(*xy, min_time=0.05, peak=False)
    assert len(rep) == 1 and rep[0].kind == "kernel" and rep[0].bytes == 3 * N * 4


# ---- the CLI ---------------------------------------------------------------------------------

def test_cli_json_compare_and_plot(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture,
                                   peak: bench.Roofline, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(roofline, "roofline", lambda device="cpu", **k: peak)
    png = tmp_path / "chain.png"
    rc = cli.main([f"{TARGETS}:chain", "--shape", "65536", "--compare", "numpy",
                   "--min-time", "0.05", "--rounds", "2", "--json", "--plot", str(png)])
    out = capsys.readouterr()
    assert rc == 0
    data = json.loads(out.out)
    names = [r["name"] for r in data["results"]]
    assert names[:3] == ["tracejit.jit", "tracejit eager", "numpy"]
    jit = data["results"][0]
    assert jit["bytes"] == 3 * 65536 * 4 and jit["gbps"] > 0 and jit["agrees"]
    assert all(r["agrees"] for r in data["results"])
    assert "round 2/2" in out.err  # progress
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"


def test_cli_text_table_and_kernels(capsys: pytest.CaptureFixture, peak: bench.Roofline,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(roofline, "roofline", lambda device="cpu", **k: peak)
    rc = cli.main([f"{TARGETS}:softmax", "--shape", "64x256", "--no-eager", "--kernels",
                   "--min-time", "0.02", "--rounds", "1", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "tracejit.jit" in out and "GB/s" in out and "kernels of tracejit.jit" in out


def test_cli_errors() -> None:
    assert cli.parse_shape("1024x1024") == (1024, 1024) and cli.parse_shape("") == ()
    with pytest.raises(SystemExit):
        cli.load_target("no_colon")
    with pytest.raises(SystemExit):
        cli.load_target(f"{TARGETS}:missing")
    if not os.environ.get("TRACEJIT_CUDA_SIM"):
        from tracejit.codegen import cuda as cgc

        if not cgc.is_available():
            assert cli.main([f"{TARGETS}:chain", "--device", "cuda", "--quiet"]) == 2
