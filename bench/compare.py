"""Side-by-side benchmarks: tracejit against every installed peer, in one run.

    python bench/compare.py [--only NAME ...] [--quick] [--out DIR] [--replot]

Peers are skipped when absent (numpy is always there; torch, torch.compile, jax.jit and numba
are the others). Each workload's systems alternate round by round; the table gives medians
and the ratio peer/tracejit (> 1 means tracejit is faster). Results go to
bench/results/<machine>.md, with a chart of the ratios next to it as <machine>.png.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402
import workloads  # noqa: E402

import tracejit as tj  # noqa: E402
from tracejit.bench import roofline  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    import jax
    import jax.numpy as jnp
except ImportError:  # pragma: no cover
    jax = None

RESULTS: list[tuple[str, dict[str, dict[str, float]], str]] = []
PEAK = None  # this machine's measured roofline, set by main()


def _chain_np(x, y):
    return np.tanh(x * y + 0.5) * (1 / (1 + np.exp(-x))) - np.maximum(y, 0) * 0.1 \
        + np.exp(-x * x)


def _chain_tj(x, y):
    return (x * y + 0.5).tanh() * x.sigmoid() - y.relu() * 0.1 + (-(x * x)).exp()


def _chain_torch(x, y):
    return torch.tanh(x * y + 0.5) * torch.sigmoid(x) - torch.relu(y) * 0.1 + torch.exp(-x * x)


def _chain_jax(x, y):
    return jnp.tanh(x * y + 0.5) * jax.nn.sigmoid(x) - jax.nn.relu(y) * 0.1 + jnp.exp(-x * x)


def bench_eager_overhead(quick: bool) -> None:
    """Per-op eager overhead on 16 elements (the dispatch cost, not the math)."""
    a, b = tj.ones(16), tj.ones(16)
    ar = tj.ones(16, requires_grad=True)
    an, bn = np.ones(16, np.float32), np.ones(16, np.float32)
    cases = {
        "add": ({"tracejit": lambda: a + b, "numpy": lambda: an + bn}, lambda x, y: x + y),
        "mul": ({"tracejit": lambda: a * b, "numpy": lambda: an * bn}, lambda x, y: x * y),
        "add, requires_grad": ({"tracejit": lambda: ar + b}, lambda x, y: x + y),
        "mul, requires_grad": ({"tracejit": lambda: ar * b}, lambda x, y: x * y),
    }
    for name, (systems, op) in cases.items():
        if torch is not None:
            xt = torch.ones(16, requires_grad="requires_grad" in name)
            yt = torch.ones(16)
            systems["torch eager"] = lambda op=op, xt=xt, yt=yt: op(xt, yt)
        RESULTS.append((f"eager {name} (16 el.)", timing.compare(systems, 9 if quick else 15),
                        "tracejit"))
    g = tj.ones(16)

    def tj_backward() -> None:
        (ar * b + b).backward(g)

    systems = {"tracejit": tj_backward}
    if torch is not None:
        xt, yt, gt = torch.ones(16, requires_grad=True), torch.ones(16), torch.ones(16)
        systems["torch eager"] = lambda: (xt * yt + yt).backward(gt)
    RESULTS.append(("eager mul+add+backward (16 el.)", timing.compare(systems), "tracejit"))


def _chain_systems(n: int) -> dict:
    rng = np.random.default_rng(0)
    xn = rng.standard_normal(n, dtype=np.float32)
    yn = rng.standard_normal(n, dtype=np.float32)
    x, y = tj.tensor(xn), tj.tensor(yn)
    f = tj.jit(_chain_tj)
    np.testing.assert_allclose(f(x, y).numpy(), _chain_np(xn, yn), rtol=1e-5, atol=1e-6)
    systems = {"tracejit.jit": lambda: f(x, y), "numpy": lambda: _chain_np(xn, yn),
               "tracejit eager": lambda: _chain_tj(x, y)}
    if torch is not None:
        xt, yt = torch.from_numpy(xn), torch.from_numpy(yn)
        systems["torch eager"] = lambda: _chain_torch(xt, yt)
        tc = torch.compile(_chain_torch)
        systems["torch.compile"] = lambda: tc(xt, yt)
    if jax is not None:
        jf = jax.jit(_chain_jax)
        xj, yj = jnp.asarray(xn), jnp.asarray(yn)
        systems["jax.jit"] = lambda: jf(xj, yj).block_until_ready()
    nb = workloads.numba_chain(xn, yn)
    if nb is not None:
        np.testing.assert_allclose(nb(), _chain_np(xn, yn), rtol=1e-4, atol=1e-5)
        systems["numba"] = nb
    return systems


def bench_chain(quick: bool) -> None:
    """The fused chain on 2^20 and 2^24 float32."""
    for p in (20,) if quick else (20, 24):
        rounds = 7 if quick or p > 20 else 11
        RESULTS.append((f"fused chain, 2^{p} float32",
                        timing.compare(_chain_systems(1 << p), rounds, 0.05), "tracejit.jit"))


def bench_jit_overhead(quick: bool) -> None:
    """Per-call overhead of a jitted (x + 1) * 2 on 16 elements."""
    x = tj.ones(16)
    f = tj.jit(lambda v: (v + 1) * 2)
    systems = {"tracejit.jit": lambda: f(x)}
    if jax is not None:
        jf = jax.jit(lambda v: (v + 1) * 2)
        xj = jnp.ones(16)
        systems["jax.jit"] = lambda: jf(xj).block_until_ready()
    if torch is not None:
        tc = torch.compile(lambda v: (v + 1) * 2)
        xt = torch.ones(16)
        systems["torch.compile"] = lambda: tc(xt)
    RESULTS.append(("jit per-call overhead, (x+1)*2 on 16 el.", timing.compare(systems),
                    "tracejit.jit"))


def _mlp_tj(seed: int = 0):
    rng = np.random.default_rng(seed)
    sizes = [(64, 128), (128,), (128, 128), (128,), (128, 10), (10,)]
    ps = [tj.tensor((rng.standard_normal(s) * 0.1).astype(np.float32), requires_grad=True)
          for s in sizes]

    def step(x, y):
        w1, b1, w2, b2, w3, b3 = ps
        h = (x @ w1 + b1).tanh()
        h = (h @ w2 + b2).tanh()
        logp = (h @ w3 + b3).log_softmax(dim=1)
        loss = -logp.gather(1, y.unsqueeze(1)).mean()
        loss.backward()
        with tj.no_grad():
            for p in ps:
                p.sub_(0.05 * p.grad)
                p.grad = None
        return loss

    return step


def _mlp_torch(seed: int = 0):
    rng = np.random.default_rng(seed)
    sizes = [(64, 128), (128,), (128, 128), (128,), (128, 10), (10,)]
    ps = [torch.tensor((rng.standard_normal(s) * 0.1).astype(np.float32), requires_grad=True)
          for s in sizes]

    def step(x, y):
        w1, b1, w2, b2, w3, b3 = ps
        h = torch.tanh(x @ w1 + b1)
        h = torch.tanh(h @ w2 + b2)
        loss = torch.nn.functional.cross_entropy(h @ w3 + b3, y)
        loss.backward()
        with torch.no_grad():
            for p in ps:
                p.sub_(0.05 * p.grad)
                p.grad = None
        return loss

    return step


def bench_mlp_step(quick: bool) -> None:
    """MLP 64-128-128-10 training step: tanh, batch 256, cross-entropy, SGD."""
    rng = np.random.default_rng(1)
    xn = rng.standard_normal((256, 64)).astype(np.float32)
    yn = rng.integers(0, 10, 256)
    x, y = tj.tensor(xn), tj.tensor(yn)
    jstep = tj.jit(_mlp_tj())
    estep = _mlp_tj()
    systems = {"tracejit.jit": lambda: jstep(x, y), "tracejit eager": lambda: estep(x, y)}
    if torch is not None:
        xt, yt = torch.from_numpy(xn), torch.from_numpy(yn)
        tstep = _mlp_torch()
        systems["torch eager"] = lambda: tstep(xt, yt)
        cstep = torch.compile(_mlp_torch())
        systems["torch.compile"] = lambda: cstep(xt, yt)
    RESULTS.append(("MLP 64-128-128-10 training step, batch 256",
                    timing.compare(systems, 9 if quick else 15, 0.05), "tracejit.jit"))


_FRESH = """
import os, time, numpy as np
t0 = time.perf_counter()
import tracejit as tj
t1 = time.perf_counter()
x = tj.tensor(np.ones(1 << 20, np.float32)); y = tj.tensor(np.ones(1 << 20, np.float32))
f = tj.jit(lambda x, y: (x * y + 0.5).tanh() * x.sigmoid() - y.relu() * 0.1 + (-(x * x)).exp())
t2 = time.perf_counter(); f(x, y); t3 = time.perf_counter()
from tracejit import codegen
print(t1 - t0, t3 - t2, codegen.cache_stats()["compiled"])
"""


def bench_first_call(quick: bool) -> None:
    """First-call latency (trace + optimise + compile), cold and with a warm disk cache."""
    import tempfile

    rows = {}
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, TRACEJIT_CACHE_DIR=d)
        for label in ("cold cache", "warm disk cache"):
            samples = []
            for _ in range(1 if label == "cold cache" else 5):
                if label == "cold cache":
                    env["TRACEJIT_CACHE_DIR"] = tempfile.mkdtemp(dir=d)
                out = subprocess.run([sys.executable, "-c", _FRESH], env=env, check=True,
                                     capture_output=True, text=True).stdout.split()
                samples.append(float(out[1]))
            if label == "cold cache":
                env["TRACEJIT_CACHE_DIR"] = os.path.join(d, os.listdir(d)[0])
            med = float(np.median(samples))
            rows[f"first call, {label}"] = {"median": med, "iqr": 0.0, "min": min(samples)}
    RESULTS.append(("first call of the chain (2^20), fresh process", rows, ""))


_LSTM_TOTAL = """
import sys, time, numpy as np
mode = sys.argv[1]
lengths = [int(n) for n in np.linspace(10, 50, 20)]
rng = np.random.default_rng(0)
xs = [rng.standard_normal((16, n, 32)).astype(np.float32) for n in lengths]
if mode == "torch":  # the clock starts after imports and model creation, for all systems
    import torch
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(32, 64, batch_first=True)
    t0 = time.perf_counter()
    for x in xs:
        out, _ = lstm(torch.from_numpy(x))
        out[:, -1].sum().backward()
    print(time.perf_counter() - t0, 0, 0)
    raise SystemExit
import tracejit as tj
from tracejit import codegen
tj.manual_seed(0)
if mode == "cell":
    cell = tj.nn.LSTMCell(32, 64)
    step = tj.jit(cell)
    t0 = time.perf_counter()
    for x in xs:
        xt = tj.from_numpy(x)
        h = c = tj.zeros(16, 64)
        for t in range(x.shape[1]):
            h, c = step(xt[:, t], (h, c))
        h.sum().backward()
else:
    lstm = tj.nn.LSTM(32, 64, batch_first=True)
    def fb(x):
        out, _ = lstm(x)
        out[:, -1].sum().backward()
    step = tj.jit(fb) if mode == "seq" else fb
    t0 = time.perf_counter()
    for x in xs:
        step(tj.from_numpy(x))
traces = step.cache_info().traces if mode != "eager" else 0
print(time.perf_counter() - t0, traces, codegen.cache_stats()["compiled"])
"""


def bench_lstm_total(quick: bool) -> None:
    """LSTM 32->64 forward + backward over 20 lengths 10..50, each in a fresh process:
    the total including every trace and compile (cold or warm disk cache)."""
    import tempfile

    rows = {}
    runs = [("torch eager (nn.LSTM)", "torch", None), ("tracejit eager", "eager", None)]
    for label, mode in (("tracejit.jit per sequence", "seq"),
                        ("tracejit.jit per step (LSTMCell)", "cell")):
        runs += [(f"{label}, cold cache", mode, "cold"), (f"{label}, warm cache", mode, "warm")]
    with tempfile.TemporaryDirectory() as d:
        for label, mode, cache in runs:
            env = dict(os.environ, TRACEJIT_CACHE_DIR=os.path.join(d, mode))
            reps = 1 if cache == "cold" else (1 if quick else 3)
            samples, info = [], ""
            for _ in range(reps):
                out = subprocess.run([sys.executable, "-c", _LSTM_TOTAL, mode], env=env,
                                     check=True, capture_output=True, text=True).stdout.split()
                samples.append(float(out[0]))
                if cache:
                    info = f" ({out[1]} traces, {out[2]} kernels compiled)"
            med = float(np.median(samples))
            rows[label + info] = {"median": med, "iqr": 0.0, "min": min(samples)}
    RESULTS.append(("LSTM 32->64 fwd+bwd over 20 lengths (10..50), total incl. compiles, "
                    "fresh process", rows, "torch eager (nn.LSTM)"))


def _sections(fn):
    """A workloads.py benchmark as a compare.py workload (its sections join RESULTS)."""
    return lambda quick: RESULTS.extend(fn(quick))


WORKLOADS = {
    "eager": bench_eager_overhead,
    "chain": bench_chain,
    "overhead": bench_jit_overhead,
    "first_call": bench_first_call,
    "reductions": _sections(workloads.bench_reductions),
    "matmul": _sections(workloads.bench_matmul),
    "mlp": bench_mlp_step,
    "cnn": _sections(workloads.bench_cnn_epoch),
    "lstm": _sections(workloads.bench_lstm_epoch),
    "lstm_total": bench_lstm_total,
}


def machine() -> str:
    return f"{platform.machine()}-{os.cpu_count()}cpu"


def cpu_model() -> str:
    """The CPU's marketing name (platform.processor() is empty on Linux)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


REPRODUCE = """## How to reproduce

    pip install -e '.[bench]' torch jax numba   # peers are optional: absent ones are skipped
    python bench/compare.py                     # all workloads, a few minutes; --quick, --only
    python -m tracejit.bench examples/bench_targets.py:chain --shape 1048576 \\
        --compare numpy,torch,jax --plot chain.png   # one function, with GB/s vs the peak

Model workloads (CNN, LSTM) compare against torch only: there is no jax version of them.
"""


def report() -> str:
    lines = [f"# tracejit benchmarks on {machine()}", "",
             f"Measured {datetime.date.today()} with `python bench/compare.py`; "
             f"{cpu_model()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, numpy {np.__version__}"
             + (f", torch {torch.__version__}" if torch else "")
             + (f", jax {jax.__version__}" if jax else "") + ".",
             "Medians over alternating rounds; ratio = system time / reference time.", "",
             f"Measured peaks ({PEAK.measured[:10]}): copy bandwidth "
             f"{PEAK.bandwidth_gbs:.1f} GB/s, f32 compute {PEAK.gflops:.0f} GFLOP/s "
             f"(generated mul+add kernel "
             f"{PEAK.components.get('kernel_mul_add_gflops', 0):.0f} GFLOP/s); "
             "`python -c 'from tracejit import bench; print(bench.roofline())'` says how.",
             "", f"![ratios to tracejit]({machine()}.png)", ""]
    for title, res, ref in RESULTS:
        lines += [f"## {title}", "", "| system | median | IQR | ratio |", "|---|---|---|---|"]
        base = res.get(ref, {}).get("median")
        for name, r in sorted(res.items(), key=lambda kv: kv[1]["median"]):
            ratio = f"{r['median'] / base:.2f}" if base else ""
            lines.append(f"| {name} | {timing.fmt_time(r['median'])} | "
                         f"{timing.fmt_time(r['iqr'])} | {ratio} |")
        lines.append("")
    return "\n".join(lines) + "\n" + REPRODUCE


def _seconds(text: str) -> float:
    value, unit = text.split()
    return float(value) * {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def read_report(path: str) -> list:
    """RESULTS back from a written report (to redraw its chart without re-measuring)."""
    sections: list = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("## ") and not line.startswith("## How"):
            sections.append((line[3:].strip(), {}, ""))
        elif sections and line.startswith("| ") and not line.startswith("| system"):
            name, med, iqr, _ = [c.strip() for c in line.strip().strip("|").split("|")]
            sections[-1][1][name] = {"median": _seconds(med), "iqr": _seconds(iqr)}
    return [(t, res, next((r for r in ("tracejit.jit", "tracejit") if r in res), ""))
            for t, res, _ in sections]


def write_chart(out: str, date: str) -> None:
    try:
        from tracejit.bench.plot import ratio_chart

        png = ratio_chart(RESULTS, os.path.join(out, f"{machine()}.png"),
                          f"tracejit vs peers on {machine()} ({cpu_model()}), {date}")
        print(f"wrote {png}", file=sys.stderr)
    except RuntimeError as e:  # no matplotlib: the table is still written
        print(f"no chart: {e}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", choices=list(WORKLOADS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results"),
                    help="folder for <machine>.md and <machine>.png (default bench/results)")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw <machine>.png from the existing <machine>.md")
    args = ap.parse_args()
    if args.replot:
        path = os.path.join(args.out, f"{machine()}.md")
        RESULTS.extend(read_report(path))
        date = open(path, encoding="utf-8").read().split("Measured ", 1)[1][:10]
        write_chart(args.out, date)
        return
    global PEAK
    PEAK = roofline()
    print(PEAK, file=sys.stderr)
    for name in args.only or list(WORKLOADS):
        t0 = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        WORKLOADS[name](args.quick)
        print(f"  {name} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    text = report()
    print(text)
    out = args.out
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{machine()}.md")
    with open(path, "w") as fh:
        fh.write(text + "\n")
    print(f"wrote {path}", file=sys.stderr)
    write_chart(out, str(datetime.date.today()))


if __name__ == "__main__":
    main()
