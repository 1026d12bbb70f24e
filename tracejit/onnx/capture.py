"""Tracing for export: the JIT's own tracer, run once at the example sizes and, when there are
dynamic axes, once more at other sizes of those axes (the *probe*).

Comparing the two traces op by op is what tells a size that follows a dynamic axis (a reshape
target, a slice end, a zeros(batch, ...) buffer) from one that is really fixed, so export can
write the first kind as computed shapes and refuse with a clear error where a size was baked
into something it cannot recompute.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import dispatch
from ..autograd import grad_mode
from ..tensor import Tensor
from ..tracing.api import _poison
from ..tracing.graph import Graph, optimize
from ..tracing.trace import TraceError, Tracer, user_frame
from ._common import OnnxExportError


class SourceTracer(Tracer):
    """The JIT's tracer, also noting the user's source line of every op (for error messages)."""

    def __init__(self) -> None:
        super().__init__()
        self.src: dict[int, str] = {}

    def bind(self, op: Any, inputs: tuple, params: dict) -> Any:
        out = super().bind(op, inputs, params)
        self.src[id(self.nodes[-1])] = user_frame()
        return out


@dataclass
class Spec:
    """A tensor argument of the traced function: only its shape and dtype matter."""

    shape: tuple[int, ...]
    dtype: np.dtype


def flatten_outputs(out: Any) -> list[Any]:
    """The tensors of a (nested tuple/list/dict) result, in order."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flatten_outputs(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in flatten_outputs(o)]
    raise OnnxExportError(f"export: the function returned a {type(out).__name__}; only tensors "
                          "and tuples, lists or dicts of tensors can be graph outputs")


def trace_once(fn: Callable, args: list[Any],
               owned: frozenset[int] = frozenset()) -> tuple[SourceTracer, list[int]]:
    """Trace ``fn`` with grad off; Spec arguments become graph inputs. Returns the tracer and
    the value ids of the flattened outputs. In-place writes to the tensors in ``owned`` (ids
    of module parameters and buffers) are refused: the exported graph cannot keep them."""
    tr = SourceTracer()
    call_args = [Tensor._make(tr.new_input(a.shape, a.dtype)) if isinstance(a, Spec) else a
                 for a in args]
    prev = dispatch.tracer[0]
    dispatch.tracer[0] = tr
    try:
        with grad_mode.no_grad():
            out = fn(*call_args)
        outs = [tr.value_of(t) for t in flatten_outputs(out)]
    except TraceError as e:
        raise OnnxExportError(f"export: tracing failed: {e}") from e
    finally:
        dispatch.tracer[0] = prev
        _poison(tr)
    keys = list(tr.captures)
    written = [tr.capture_tensors[keys.index(k)] for k in tr.storage]
    if any(t is not None and id(t) in owned for t in written):
        raise OnnxExportError(
            "export: the traced function writes in place to a parameter or buffer (for "
            "example BatchNorm updating its running statistics in training mode), which an "
            "ONNX graph cannot do; call model.eval() before exporting")
    return tr, outs


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - arrays and other odd params
        return repr(a) == repr(b)


@dataclass
class Analysis:
    """The optimised graph of the example trace and what the probe trace says about it."""

    graph: Graph
    tracer: SourceTracer
    vmap: dict[int, int] = field(default_factory=dict)  # example value id -> probe value id
    probe: SourceTracer | None = None
    probe_params: dict[int, dict] = field(default_factory=dict)  # id(node) -> probe params
    tainted: set[int] = field(default_factory=set)
    capture_of: dict[int, int] = field(default_factory=dict)  # value id -> capture index
    # numbers that are sizes of dynamic axes (or 1/size, products of two): value id ->
    # (kind, [(input value id, dim), ...]), recomputed from Shape at run time
    dyn_consts: dict[int, tuple[str, list[tuple[int, int]]]] = field(default_factory=dict)

    def src(self, node: Any) -> str:
        return self.tracer.src.get(id(node), "<unknown>")

    def probe_shape(self, vid: int) -> tuple[int, ...] | None:
        if self.probe is None or vid not in self.vmap:
            return None
        return self.probe.shapes[self.vmap[vid]]

    def probe_array(self, vid: int) -> np.ndarray | None:
        """The probe's constant or captured array standing where ``vid`` stands."""
        if self.probe is None or vid not in self.vmap:
            return None
        b = self.vmap[vid]
        if b in self.probe.consts:
            return self.probe.consts[b]
        for k, arr in enumerate(self.probe.capture_arrays):
            if self.probe.captures[id(arr)] == b:
                return self.probe.capture_arrays[k]
        return None


def analyse(fn: Callable, args: list[Any], probe_args: list[Any] | None,
            owned: frozenset[int] = frozenset()) -> Analysis:
    """Trace at the example sizes (and at the probe sizes), match the traces, optimise."""
    tr, outs = trace_once(fn, args, owned)
    an = Analysis(Graph([], tr.shapes, tr.dtypes, {}, [], outs), tr)
    for k, arr in enumerate(tr.capture_arrays):
        an.capture_of[tr.captures[id(arr)]] = k
    if probe_args is not None:
        try:
            pr, pouts = trace_once(fn, probe_args, owned)
        except Exception as e:  # noqa: BLE001 - whatever the function raised at those sizes
            raise OnnxExportError(
                f"export: tracing again with other sizes for the dynamic axes failed, so the "
                f"function does not accept those sizes: {e}") from e
        _match(an, pr, outs, pouts)
        _check_baked(an, outs)
    # numbers recomputed from sizes are kept out of the passes (they would merge equal ones)
    an.graph.consts = {v: c for v, c in tr.consts.items() if v not in an.dyn_consts}
    captures = [tr.captures[id(a)] for a in tr.capture_arrays]
    an.graph.inputs = list(tr.arg_ids) + captures
    an.graph.nodes = list(tr.nodes)
    an.graph = optimize(an.graph)
    return an


def _match(an: Analysis, pr: SourceTracer, outs: list[int], pouts: list[int]) -> None:
    tr = an.tracer
    if len(tr.nodes) != len(pr.nodes) or len(outs) != len(pouts):
        at = _first_difference(tr, pr)
        raise OnnxExportError(
            "export: the traced graph changes with the size of a dynamic axis (a Python loop "
            "over it, or an RNN unrolled over a dynamic length), so one ONNX graph cannot serve "
            f"every size; first difference at {at}. Make that axis static (leave it out of "
            "dynamic_axes).")
    vmap = an.vmap
    vmap.update(zip(tr.arg_ids, pr.arg_ids))
    for na, nb in zip(tr.nodes, pr.nodes):
        if na.op is not nb.op or len(na.ins) != len(nb.ins) or len(na.outs) != len(nb.outs):
            raise OnnxExportError(
                "export: the traced graph changes with the size of a dynamic axis (different "
                f"ops at {tr.src.get(id(na), '<unknown>')}); make that axis static.")
        for k, (x, y) in enumerate(zip(na.ins, nb.ins)):
            if x in tr.consts and not _same_const(tr, pr, x, y):
                x = na.ins[k] = _own_const(an, x)
            vmap.setdefault(x, y)
        vmap.update(zip(na.outs, nb.outs))
        if not _same(na.params, nb.params):
            an.probe_params[id(na)] = nb.params
    for k, (x, y) in enumerate(zip(outs, pouts)):
        if x in tr.consts and not _same_const(tr, pr, x, y):
            x = outs[k] = _own_const(an, x)
        vmap.setdefault(x, y)
    an.probe = pr
    # constants and captured arrays that differ between the traces were computed from a size
    tainted = an.tainted
    pcap = {pr.captures[id(a)]: a for a in pr.capture_arrays}
    for arr in tr.capture_arrays:
        a = tr.captures[id(arr)]
        b = pcap.get(vmap.get(a, -1))
        if b is None or (b is not arr and (b.shape != arr.shape or not np.array_equal(b, arr))):
            tainted.add(a)


def _same_const(tr: Tracer, pr: Tracer, x: int, y: int) -> bool:
    return y in pr.consts and _same(pr.consts[y].item(), tr.consts[x].item())


def _own_const(an: Analysis, x: int) -> int:
    """A use of a number that differs in the probe trace: its own (tainted) value id, since
    one trace may share a number between uses that the other tells apart (x * 2.0 +
    x.shape[0] at batch 2)."""
    tr = an.tracer
    v = tr.new_value((), tr.dtypes[x])
    tr.consts[v] = tr.consts[x]
    an.tainted.add(v)
    return v


def _check_baked(an: Analysis, outs: list[int]) -> None:
    """A live op that reads a number computed from a dynamic size (x.shape[0] as a scalar)
    cannot be exported: checked on the raw trace, before passes merge equal constants."""
    tr = an.tracer
    live = set(outs)
    for n in reversed(tr.nodes):
        if not any(o in live for o in n.outs):
            continue
        live.update(n.ins)
        for i in n.ins:
            if i in tr.consts and i in an.tainted and i not in an.dyn_consts:
                spec = _size_expr(an, i)
                if spec is not None:
                    an.dyn_consts[i] = spec
                    continue
                raise OnnxExportError(
                    f"export: {n.op.name} at {an.src(n)} reads the number "
                    f"{tr.consts[i].item()!r}, which changes with the size of a dynamic axis "
                    "(a size such as x.shape[0] used as a value); the exported graph would bake "
                    "it in. Compute it from tensors, or make that axis static.")
    for o in outs:
        if o in tr.consts and o in an.tainted:
            raise OnnxExportError("export: an output is a number computed from the size of a "
                                  "dynamic axis; the exported graph would bake it in")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-30)


def _size_expr(an: Analysis, vid: int) -> tuple[str, list[tuple[int, int]]] | None:
    """Is this number the size of a dynamic input dim (or of two), or one over it?"""
    tr, pr = an.tracer, an.probe
    assert pr is not None
    b = pr.consts.get(an.vmap.get(vid, -1))
    if b is None:
        return None
    a, b = float(tr.consts[vid].item()), float(b.item())
    dims = []
    for v in tr.arg_ids:
        pb = an.probe_shape(v)
        if pb is not None and len(pb) == len(tr.shapes[v]):
            dims += [((v, k), x, y) for k, (x, y) in enumerate(zip(tr.shapes[v], pb)) if x != y]
    sets = [([d], x, y) for d, x, y in dims]
    sets += [([d, e], x * u, y * w) for i, (d, x, y) in enumerate(dims)
             for e, u, w in dims[i:]]
    for used, x, y in sets:
        if _close(a, x) and _close(b, y):
            return "size", used
        if x and y and _close(a, 1 / x) and _close(b, 1 / y):
            return "recip", used
    return None


def _first_difference(tr: Tracer, pr: Tracer) -> str:
    for na, nb in zip(tr.nodes, pr.nodes):
        if na.op is not nb.op:
            return f"{na.op.name} vs {nb.op.name} at {getattr(tr, 'src', {}).get(id(na), '?')}"
    n = min(len(tr.nodes), len(pr.nodes))
    extra = (tr.nodes[n:] or pr.nodes[n:])
    if extra:
        return f"{extra[0].op.name} at {getattr(tr, 'src', {}).get(id(extra[0]), '?')}"
    return "the number of outputs"
