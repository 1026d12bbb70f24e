"""Pictures of graphs: the autograd tape behind a tensor, and a jitted function's traced
graph with its fused kernels boxed.

    pic = tracejit.viz.draw_graph(loss)                 # the tape reachable from loss.grad_fn
    pic = tracejit.viz.draw_graph(step, x, y)           # traced graph, fused groups boxed
    pic.save("graph.svg")                               # .dot always; .svg/.png/.pdf need dot

The DOT text is built here (no dependency), so it is always available and testable.
Rendering needs Graphviz's ``dot`` program: ``apt-get install graphviz`` (Debian/Ubuntu),
``brew install graphviz`` (macOS) or ``conda install graphviz``; the ``viz`` extra
(``pip install 'tracejit[viz]'``) adds the ``graphviz`` Python package, used when present.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

INSTALL_DOT = ("rendering needs Graphviz's `dot` program: apt-get install graphviz "
               "(Debian/Ubuntu), brew install graphviz (macOS) or conda install graphviz; "
               "the DOT text (Picture.dot, or save('x.dot')) needs nothing")
KERNEL_FILL = "#fde0c5"
LIBRARY_FILL = "#c6dbef"
VIEW_FILL = "#eeeeee"


def _q(text: str) -> str:
    """A quoted DOT string (labels break lines with \\n)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(shape: Any, dtype: Any = None) -> str:
    dims = "x".join(str(int(s)) for s in shape) or "scalar"
    return f"{np.dtype(dtype).name}[{dims}]" if dtype is not None else f"({dims})"


class Picture:
    """DOT text of a graph, renderable to SVG/PNG/PDF when Graphviz is installed."""

    def __init__(self, dot: str) -> None:
        self.dot = dot

    def __str__(self) -> str:
        return self.dot

    def render(self, fmt: str = "svg") -> bytes:
        """The picture in ``fmt`` (svg, png, pdf, ...) via Graphviz."""
        try:
            import graphviz

            return graphviz.Source(self.dot).pipe(format=fmt)
        except ImportError:
            pass
        except Exception as e:  # graphviz.ExecutableNotFound and friends
            if not have_dot():
                raise RuntimeError(INSTALL_DOT) from e
            raise
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError(INSTALL_DOT)
        return subprocess.run([exe, f"-T{fmt}"], input=self.dot.encode(), check=True,
                              capture_output=True).stdout

    def save(self, path: str | Path) -> Path:
        """Write by extension: .dot/.gv as text, anything else rendered by Graphviz."""
        p = Path(path)
        ext = p.suffix.lstrip(".").lower()
        if ext in ("dot", "gv", ""):
            p.write_text(self.dot)
        else:
            p.write_bytes(self.render(ext))
        return p

    def _repr_svg_(self) -> str | None:  # notebooks show the picture when dot is installed
        return self.render("svg").decode() if have_dot() else None


def have_dot() -> bool:
    return shutil.which("dot") is not None


# ---- the autograd tape ----------------------------------------------------------------------

def tape_dot(root: Any, params: dict | None = None) -> str:
    """DOT of the backward nodes reachable from ``root.grad_fn`` (edges point forward)."""
    names = {id(t): n for n, t in (params or {}).items()}
    lines = ["digraph tape {", '  rankdir=TB; node [fontname="Helvetica", fontsize=10];']
    fn = getattr(root, "grad_fn", None)
    lines.append(f"  out [label={_q('output ' + _shape(root.shape))}, shape=box, "
                 'style=filled, fillcolor="#c7e9c0"];')
    if fn is None:
        lines.append("}")
        return "\n".join(lines)
    seen: dict[int, str] = {}
    stack = [fn]
    edges = [f"  n{id(fn)} -> out;"]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        nid = seen[id(node)] = f"n{id(node)}"
        var = getattr(node, "variable", None)
        if var is not None:  # AccumulateGrad: the leaf it accumulates into
            label = f"{names.get(id(var), 'leaf')} {_shape(var.shape)}\n{node.name()}"
            lines.append(f"  {nid} [label={_q(label)}, shape=box, style=filled, "
                         'fillcolor="#deebf7"];')
        else:
            lines.append(f"  {nid} [label={_q(node.name())}, shape=box];")
        for nxt, _ in getattr(node, "next_functions", ()):
            if nxt is not None:
                edges.append(f"  n{id(nxt)} -> {nid};")
                stack.append(nxt)
    return "\n".join(lines + edges + ["}"])


# ---- a traced graph -------------------------------------------------------------------------

def _groups(program: Any, tag: str = "") -> list[tuple[str, str, list]]:
    """(kind, label, nodes) per step of a compiled program, kernels named as compiled."""
    from .tracing.fusion import schedule

    groups = schedule(program.graph) if program.backend == "llvm" else None
    plans = list(program.kernels)
    out = []
    if groups is None or sum(g.kind == "kernel" for g in groups) != len(plans):
        for step in program.steps:  # no grouping to recover: one box per op step
            node = getattr(step, "node", None)
            if node is not None:
                out.append(("op", node.op.name, [node]))
        return out
    k = 0
    for grp in groups:
        if grp.kind == "kernel":
            out.append(("kernel", f"{tag}kernel {k}: {plans[k].kernel.name}", grp.nodes))
            k += 1
        else:
            out.append(("op", grp.nodes[0].op.name, grp.nodes))
    return out


def _graph_body(program: Any, prefix: str, producer: dict[int, str], in_labels: dict,
                out_labels: list[str]) -> list[str]:
    """Clusters and op nodes of one program; ``producer`` maps value ids to DOT nodes."""
    g = program.graph
    lines = []
    for vid in g.inputs:
        if vid not in producer:
            nid = producer[vid] = f"{prefix}in{vid}"
            name = in_labels.get(vid) or g.input_names.get(vid, f"%{vid}")
            label = _q(name + "\n" + _shape(g.shapes[vid], g.dtypes[vid]))
            lines.append(f"  {nid} [label={label}, shape=ellipse];")
    body, edges = [], []
    for gi, (kind, label, nodes) in enumerate(_groups(program, "backward " * (prefix == "b"))):
        inner = []
        for node in nodes:
            nid = f"{prefix}op{id(node)}"
            args = [repr(g.consts[i].item()) if i in g.consts and g.consts[i].ndim == 0
                    else "·" for i in node.ins]
            out_t = _shape(g.shapes[node.outs[0]], g.dtypes[node.outs[0]]) if node.outs else ""
            text = f"{node.op.name}({', '.join(args)})\n{out_t}"
            fill = VIEW_FILL if node.op.view else LIBRARY_FILL if kind == "op" else "white"
            inner.append(f"    {nid} [label={_q(text)}, shape=box, style=\"rounded,filled\", "
                         f"fillcolor=\"{fill}\"];")
            for i in node.ins:
                src = producer.get(i)
                if src is not None:
                    edges.append(f"  {src} -> {nid};")
            for o in node.outs:
                producer[o] = nid
        if kind == "kernel":
            body.append(f"  subgraph cluster_{prefix}k{gi} {{")
            body.append(f"    label={_q(label)}; style=\"rounded,filled\"; "
                        f"fillcolor=\"{KERNEL_FILL}\"; fontsize=10;")
            body += inner + ["  }"]
        else:
            body += [s[2:] for s in inner]
    for k, vid in enumerate(g.outputs):
        nid = f"{prefix}out{k}"
        label = out_labels[k] if k < len(out_labels) else f"output {k}"
        lines.append(f"  {nid} [label={_q(label)}, shape=doubleoctagon];")
        if vid in producer:
            edges.append(f"  {producer[vid]} -> {nid};")
    return lines + body + edges


def _labels(fn: Any, entry: Any, n_args: int, params: dict | None) -> tuple:
    """Names of inputs and roles of outputs of the forward and backward programs."""
    names = {id(t._data): n for n, t in (params or {}).items()}
    module = getattr(fn, "module", None)
    if module is not None and not names:
        names = {id(p._data): n for n, p in module.named_parameters()}
    fwd, bwd = entry.fwd.graph, entry.bwd.graph if entry.bwd is not None else None
    f_in = {vid: names.get(id(a), "captured")
            for vid, a in zip(fwd.inputs[n_args:], entry.capture_arrays)}
    f_out = ["state update"] * len(fwd.outputs)
    for arr, _, k in entry.storage_effects:
        f_out[k] = f"{names.get(id(arr), 'captured')} (written in place)"
    for i, k in entry.arg_effects:
        f_out[k] = f"arg{i} (written in place)"
    for target, is_arg, k in entry.grad_effects:
        if k is not None:
            who = f"arg{target}" if is_arg else names.get(id(target._data), "captured")
            f_out[k] = f"{who}.grad"
    for src, k in entry.saved_index:
        if src == "out":
            f_out[k] = "saved for backward"
    for i, k in enumerate(entry.out_index):
        if k is not None:
            f_out[k] = f"output {i}"
    b_in, b_out = {}, []
    if bwd is not None:
        for i in range(len(entry.diff_out_meta)):
            b_in[bwd.inputs[i]] = f"grad of output {i}"
        b_out = ["grad"] * len(bwd.outputs)
        for (kind, ref), k in zip(entry.grad_targets, entry.bwd_out_index):
            if k is not None:
                who = f"arg{ref}" if kind == "arg" else names.get(id(ref._data), "captured")
                b_out[k] = f"grad of {who}"
    return f_in, f_out, b_in, b_out


def traced_dot(fn: Any, args: tuple, kwargs: dict, backward: bool = True,
               params: dict | None = None) -> str:
    """DOT of jitted ``fn``'s compiled graph for these arguments, fused kernels boxed."""
    _, tensors = fn._signature(args, kwargs)
    entry = fn._entry_for(args, kwargs)
    name = getattr(fn, "__name__", "fn")
    lines = [f"digraph {_q(name)} {{", '  rankdir=TB; node [fontname="Helvetica", fontsize=10];'
             ' graph [fontname="Helvetica"];']
    f_in, f_out, b_in, b_out = _labels(fn, entry, len(tensors), params)
    producer: dict[int, str] = {}
    lines += _graph_body(entry.fwd, "f", producer, f_in, f_out)
    if backward and entry.bwd is not None:
        saved = [entry.fwd.graph.outputs[k] if src == "out" else entry.fwd.graph.inputs[k]
                 for src, k in entry.saved_index]
        bprod = {v: producer[v] for v in saved if v in producer}
        lines += _graph_body(entry.bwd, "b", bprod, b_in, b_out)
    return "\n".join(lines + ["}"])


def draw_graph(obj: Any, *args: Any, path: str | Path | None = None, params: dict | None = None,
               backward: bool = True, **kwargs: Any) -> Picture:
    """A picture of ``obj``'s graph: a tensor's autograd tape, or a jitted function's trace.

    For a tensor, ``params`` ({name: tensor}, e.g. ``dict(model.named_parameters())``) names
    the leaves. For ``tracejit.jit`` functions, ``args``/``kwargs`` pick the signature and
    ``backward`` adds the compiled backward graph when there is one. ``path`` also saves it.
    """
    from .tensor import Tensor
    from .tracing.api import JitFunction

    if isinstance(obj, Tensor):
        pic = Picture(tape_dot(obj, params))
    elif isinstance(obj, JitFunction):
        pic = Picture(traced_dot(obj, args, kwargs, backward, params))
    else:
        raise TypeError("draw_graph takes a tensor (its autograd tape) or a tracejit.jit "
                        f"function and its arguments, not {type(obj).__name__}")
    if path is not None:
        pic.save(path)
    return pic


__all__ = ["Picture", "draw_graph", "have_dot", "tape_dot", "traced_dot"]
