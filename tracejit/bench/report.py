"""Text tables for benchmark results: fixed-width for terminals, markdown for files."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def fmt_time(s: float | None) -> str:
    """Seconds with a unit a reader can compare at a glance."""
    if s is None:
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, k in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= k:
            return f"{n / k:.2f} {unit}"
    return f"{n} B"


def fmt_num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool = False) -> str:
    """Columns padded to their widest cell (text left, everything else right-aligned)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    left = {0} | {i for i, h in enumerate(header) if h in ("kind", "system", "name")}

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths)))

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    return "\n".join(out + [line(r) for r in cells[1:]])


def results_table(results: Sequence[Any], reference: str | None = None,
                  markdown: bool = False) -> str:
    """One row per BenchResult: times, ratio to ``reference``, GB/s, GFLOP/s, % of peak."""
    base = next((r.median for r in results if r.name == reference), None)
    rows = []
    for r in sorted(results, key=lambda r: r.median):
        frac = r.peak_fraction
        rows.append([r.name, fmt_time(r.median), fmt_time(r.min), fmt_time(r.iqr),
                     f"{r.median / base:.2f}x" if base else "-", fmt_num(r.gbps),
                     fmt_num(r.gflops), "-" if frac is None else f"{100 * frac:.1f}%"])
    header = ["system", "median", "min", "IQR", "time/ref", "GB/s", "GFLOP/s", "% peak"]
    return table(header, rows, markdown)
