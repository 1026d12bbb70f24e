"""Charts of benchmark results (matplotlib, the ``bench`` extra; drawn off-screen).

Two kinds: ``plot_results`` for one workload (time per call, and achieved GB/s against the
measured peak), and ``ratio_chart`` for many workloads at once, where absolute times differ
by orders of magnitude, so each system is drawn as its time relative to a reference system.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from .report import fmt_time

COLORS = {"tracejit.jit": "#d62728", "tracejit": "#d62728", "tracejit eager": "#ff9896",
          "numpy": "#1f77b4",
          "torch eager": "#ff7f0e", "torch.compile": "#ffbb78", "jax.jit": "#2ca02c",
          "numba": "#9467bd"}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError("plots need matplotlib: pip install 'tracejit[bench]'") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _color(name: str, k: int) -> str:
    return COLORS.get(name, f"C{k % 10}")


def plot_results(results: Sequence[Any], path: str, title: str = "",
                 peak: Any = None) -> str:
    """Median time per call (with min..IQR whiskers) and achieved GB/s vs the peak."""
    plt = _pyplot()
    rs = sorted(results, key=lambda r: r.median)
    names = [r.name for r in rs]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.55 * len(rs) + 2.2))
    meds = [r.median * 1e3 for r in rs]
    ax1.barh(names, meds, xerr=[[r.iqr * 5e2 for r in rs]] * 2,
             color=[_color(n, k) for k, n in enumerate(names)])
    for y, r in enumerate(rs):
        ax1.text(r.median * 1e3, y, " " + fmt_time(r.median), va="center", fontsize=8)
    ax1.set_xlabel("median time per call (ms), lower is better")
    if max(meds) > 20 * min(meds):
        ax1.set_xscale("log")
    ax1.invert_yaxis()
    gbs = [r.gbps or 0.0 for r in rs]
    ax2.barh(names, gbs, color=[_color(n, k) for k, n in enumerate(names)])
    if peak is not None:
        ax2.axvline(peak.bandwidth_gbs, color="k", ls="--", lw=1)
        ax2.text(peak.bandwidth_gbs, len(rs) - 0.5, f" measured peak {peak.bandwidth_gbs:.1f}",
                 fontsize=8, va="bottom")
    ax2.set_xlabel("achieved GB/s (tracejit's byte count), higher is better")
    ax2.invert_yaxis()
    ax2.set_yticklabels([])
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


ORDER = ("tracejit eager", "numpy", "torch eager", "torch.compile", "jax.jit", "numba")


def ratio_chart(sections: Sequence[tuple[str, dict[str, dict], str]], path: str,
                title: str = "") -> str:
    """Per workload, each system's median time / the reference's, as bars from 1 on a log
    axis (left of the line: faster than the reference; right: slower).

    ``sections`` holds (workload title, {system: {"median": s, ...}}, reference system) as
    bench/compare.py collects them; sections without their reference are left out.
    """
    plt = _pyplot()
    sections = [sec for sec in sections if sec[2] in sec[1]]
    systems = list(ORDER)
    for _, res, ref in sections:
        systems += [s for s in res if s not in systems and s != ref]
    rows_of = [[s for s in systems if s in res and s != ref] for _, res, ref in sections]
    fig, ax = plt.subplots(figsize=(11, 0.2 * sum(map(len, rows_of)) + 0.25 * len(sections)
                                    + 1.4))
    y, ticks, labels, seen, ratios = 0.0, [], [], set(), [1.0]
    for (name, res, ref), rows in zip(sections, rows_of):
        base = res[ref]["median"]
        ticks.append(y + (len(rows) - 1) / 2)
        labels.append(textwrap.fill(name, 48))
        for s in rows:
            ratio = res[s]["median"] / base
            ratios.append(ratio)
            key = s.split(" (")[0]
            ax.barh(y, ratio - 1.0, left=1.0, height=0.85,
                    color=_color(key, systems.index(s)), label=None if key in seen else key)
            seen.add(key)
            ax.text(ratio, y, f" {ratio:.2f}x " if ratio >= 1 else f"{ratio:.2f}x ",
                    va="center", ha="left" if ratio >= 1 else "right", fontsize=6)
            y += 1
        y += 0.6
    ax.set_xscale("log")
    ax.set_xlim(min(ratios) / 1.8, max(ratios) * 1.8)
    ax.axvline(1.0, color=COLORS["tracejit.jit"], lw=1.2, label="tracejit (reference, 1x)")
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(y - 0.6, -0.8)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_xlabel("median time relative to tracejit (log scale; left of 1x: faster than "
                  "tracejit, right: slower)", fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
