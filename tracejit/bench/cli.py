"""``python -m tracejit.bench FILE.py:function --shape 1024x1024 [--compare numpy,torch,jax]``

Times ``function`` under tracejit.jit and eagerly (and each requested peer), in rounds that
alternate the systems so drift (turbo, other processes) hits all of them alike, and prints
a table of medians with GB/s and GFLOP/s. Work figures are counted from tracejit's compiled
graph; a peer's are the same "effective" figures (the bytes and flops the fused program
needs), so its GB/s compares like with like.
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import sys
import time
from types import ModuleType

import numpy as np

from . import peers
from .report import fmt_bytes, fmt_time, results_table
from .timer import BenchResult, benchmark, work_of


def parse_shape(text: str) -> tuple[int, ...]:
    """'1024x1024' -> (1024, 1024); '' or 'scalar' -> ()."""
    if text in ("", "scalar", "()"):
        return ()
    try:
        return tuple(int(s) for s in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad shape {text!r} (expected e.g. 1024x1024)") from None


def load_target(spec: str) -> tuple[ModuleType, str]:
    """Import FILE.py (or a dotted module) from 'FILE.py:function'."""
    path, sep, name = spec.rpartition(":")
    if not sep or not name:
        raise SystemExit(f"target must be FILE.py:function, got {spec!r}")
    if path.endswith(".py") or os.sep in path:
        if not os.path.exists(path):
            raise SystemExit(f"no such file: {path}")
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        mod_name = "_bench_target_" + os.path.splitext(os.path.basename(path))[0]
        s = importlib.util.spec_from_file_location(mod_name, path)
        assert s is not None and s.loader is not None
        module = importlib.util.module_from_spec(s)
        sys.modules[mod_name] = module
        s.loader.exec_module(module)
    else:
        module = importlib.import_module(path)
    if not callable(getattr(module, name, None)):
        raise SystemExit(f"{path} has no function {name!r}")
    return module, name


def make_inputs(module: ModuleType, name: str, shapes: list[tuple[int, ...]], dtype: str,
                seed: int) -> list[np.ndarray]:
    """Arrays for the function: ``<name>_inputs(shapes, dtype)`` if the file has one, else
    one random array per positional parameter (the last --shape repeats)."""
    factory = getattr(module, f"{name}_inputs", None)
    if factory is not None:
        return [np.asarray(a) for a in factory(shapes, dtype)]
    fn = getattr(module, name)
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    rng = np.random.default_rng(seed)
    out = []
    for k in range(len(params)):
        shape = shapes[min(k, len(shapes) - 1)]
        if np.dtype(dtype).kind == "f":
            out.append(rng.standard_normal(shape).astype(dtype))
        else:
            out.append(rng.integers(-100, 100, shape).astype(dtype))
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m tracejit.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", help="FILE.py:function (or package.module:function)")
    ap.add_argument("--shape", action="append", type=parse_shape,
                    help="input shape, e.g. 1024x1024; repeat for one per argument")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--compare", default="", help="peers: " + ",".join(peers.PEERS))
    ap.add_argument("--no-eager", action="store_true", help="skip tracejit eager")
    ap.add_argument("--min-time", type=float, default=1.0,
                    help="seconds of timing per system, over all rounds (default 1)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kernels", action="store_true", help="also profile each jit kernel")
    ap.add_argument("--plot", metavar="PNG", help="write a matplotlib chart")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return ap


def _progress(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict:
    """Benchmark every system; returns the JSON-able summary (results under 'results')."""
    from .roofline import roofline

    module, name = load_target(args.target)
    fn = getattr(module, name)
    shapes = args.shape or [(1 << 20,)]
    arrays = make_inputs(module, name, shapes, args.dtype, args.seed)
    if args.device == "cuda":
        from .cuda_support import require_cuda

        require_cuda()
    _progress(args.quiet, "measuring this machine's peak (cached after the first run) ...")
    peak = roofline(args.device)
    systems = peers.tracejit_systems(fn, arrays, args.device, not args.no_eager)
    skipped = {}
    for p in peers.parse(args.compare):
        s = peers.peer_system(p, module, name, arrays, args.device)
        if isinstance(s, str):
            skipped[p] = s
            _progress(args.quiet, f"skipping {p}: {s}")
        else:
            systems.append(s)
    ref = systems[0].to_numpy(systems[0].call())
    agrees = {}
    for s in systems:
        t0 = time.perf_counter()
        try:
            agrees[s.name] = peers.agree(ref, s.to_numpy(s.call()))
        except Exception as e:  # a peer that cannot run this function is reported, not fatal
            skipped[s.name] = f"{type(e).__name__}: {e}"
        _progress(args.quiet, f"  warm-up {s.name}: {time.perf_counter() - t0:.2f} s")
    systems = [s for s in systems if s.name not in skipped]
    rounds = max(1, args.rounds)
    samples: dict[str, list[float]] = {s.name: [] for s in systems}
    reps: dict[str, int] = {}
    total = rounds * len(systems)
    t_start = time.perf_counter()
    for r in range(rounds):
        for k, s in enumerate(systems):
            res = benchmark(s.call, warmup=1 if r else args.warmup,
                            min_time=args.min_time / rounds, count=False, peak=False,
                            name=s.name)
            samples[s.name] += res.samples
            reps[s.name] = res.repeats
            done = r * len(systems) + k + 1
            _progress(args.quiet, f"[{done}/{total}] round {r + 1}/{rounds} {s.name:15s} "
                                  f"{fmt_time(res.median):>10s}   "
                                  f"({time.perf_counter() - t_start:.1f} s elapsed)")
    jit_sys = systems[0]
    nbytes, flops, how = work_of(jit_sys.fn, jit_sys.args, {})
    results = []
    for s in systems:
        b, f = nbytes, flops
        if s.name == "tracejit eager":
            b, f, _ = work_of(s.fn, s.args, {})
        results.append(BenchResult(s.name, args.device, samples[s.name], reps[s.name], b, f,
                                   peak, extra={"agrees": agrees.get(s.name, True)}))
    summary = {"target": args.target, "shapes": [list(s) for s in shapes],
               "dtype": args.dtype, "device": args.device, "peak": peak.to_dict(),
               "work": {"bytes": nbytes, "flops": flops, "counted_from": how},
               "results": [r.to_dict() for r in results], "skipped": skipped,
               "_results": results, "_peak": peak}
    if args.kernels:
        from .kernels import kernel_report

        summary["_kernels"] = kernel_report(jit_sys.fn, *jit_sys.args, peak=peak)
        summary["kernels"] = summary["_kernels"].to_dict()
    return summary


def format_text(summary: dict) -> str:
    peak = summary["_peak"]
    work = summary["work"]
    shapes = ", ".join("x".join(map(str, s)) or "scalar" for s in summary["shapes"])
    lines = [f"{summary['target']}  shape {shapes}  {summary['dtype']}  on {summary['device']}",
             str(peak), "",
             f"work per call (tracejit.jit's {work['counted_from']}): "
             f"{fmt_bytes(work['bytes'])} moved, "
             f"{work['flops'] if work['flops'] is not None else '-'} flops", "",
             results_table(summary["_results"], "tracejit.jit"), ""]
    bad = [r.name for r in summary["_results"] if not r.extra.get("agrees", True)]
    if bad:
        lines.append("WARNING: output differs from tracejit.jit's: " + ", ".join(bad))
    lines.append("GB/s and GFLOP/s of every system use tracejit.jit's counts (the fused "
                 "program's traffic), except tracejit eager, counted per eager op. "
                 "% peak: of the roofline at that arithmetic intensity.")
    if any((r.peak_fraction or 0) > 1 for r in summary["_results"]):
        lines.append("% peak above 100%: the data fit in cache (the bandwidth peak is a copy "
                     "streaming from DRAM).")
    for p, why in summary["skipped"].items():
        lines.append(f"skipped {p}: {why}")
    if "_kernels" in summary:
        lines += ["", "kernels of tracejit.jit (each timed alone):", str(summary["_kernels"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run(args)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if not k.startswith("_")},
                         indent=1, default=str))
    else:
        print(format_text(summary))
    if args.plot:
        from .plot import plot_results

        title = f"{args.target} {summary['dtype']} " + ", ".join(
            "x".join(map(str, s)) for s in summary["shapes"])
        plot_results(summary["_results"], args.plot, title, summary["_peak"])
        _progress(args.quiet, f"wrote {args.plot}")
    return 0
