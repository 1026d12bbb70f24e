"""``tracejit.jit``: trace once per signature, optimise, compile, replay.

A signature is the shape, dtype and requires_grad of every tensor argument, the values of the
other arguments and the grad mode. A trace records forward ops and, when outputs require grad,
the backward ops too (by running the tape's engine under the tracer); the two halves become two
compiled programs joined by a ``CompiledFunctionBackward`` node on the outputs.
"""
from __future__ import annotations

import functools
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import codegen as cg
from .. import dispatch
from ..autograd import engine, grad_mode
from ..autograd.node import Node, node_class
from ..tensor import Tensor, grad_write_hook
from . import debug
from .execute import Program
from .graph import Graph, optimize
from .trace import Escaped, TraceError, Tracer, Var

_grad_on = grad_mode._enabled
_new = object.__new__


# ---- argument flattening ---------------------------------------------------------------------

def _flatten(obj: Any, tensors: list, path: str, static: bool) -> Any:
    """A hashable spec of ``obj`` with its tensors pulled out into ``tensors``."""
    if isinstance(obj, Tensor):
        tensors.append(obj)
        return ("T", obj._data.shape, obj._data.dtype.str, obj._rg, path,
                type(obj._data) is np.ndarray)  # the device: cpu or cuda
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__,
                tuple(_flatten(o, tensors, f"{path}[{i}]", static) for i, o in enumerate(obj)))
    if isinstance(obj, dict):
        return ("dict", tuple((k, _flatten(v, tensors, f"{path}[{k!r}]", static))
                              for k, v in obj.items()))
    try:
        hash(obj)
    except TypeError:
        if static:
            return ("id", id(obj))
        raise TypeError(
            f"tracejit.jit: argument {path} of type {type(obj).__name__} is not hashable, so it "
            "cannot be part of the cache key. Pass tensors for data, or mark the argument static "
            "(static_argnums=... / static_argnames=...), which keys it by identity."
        ) from None
    return ("V", type(obj).__name__, obj)


def _rebuild(obj: Any, it: Any) -> Any:
    if isinstance(obj, Tensor):
        return next(it)
    if isinstance(obj, tuple):
        vals = [_rebuild(o, it) for o in obj]
        return type(obj)(*vals) if hasattr(obj, "_fields") else tuple(vals)
    if isinstance(obj, list):
        return [_rebuild(o, it) for o in obj]
    if isinstance(obj, dict):
        return {k: _rebuild(v, it) for k, v in obj.items()}
    return obj


def _leaves(spec: Any, out: list) -> list:
    """The tensor specs ("T", shape, dtype, requires_grad, path) inside a signature."""
    if isinstance(spec, tuple):
        if spec and spec[0] == "T":
            out.append(spec)
        else:
            for s in spec:
                _leaves(s, out)
    return out


def _guard_reason(entries: list) -> str:
    e = entries[-1]
    for container, key, value in e.value_guards:
        if container[key] != value:
            return f"a value the trace read changed: [{key!r}] {value!r} -> {container[key]!r}"
    return "a captured tensor's .grad changed between None and a tensor"


def _meta(spec: tuple) -> tuple:
    return (*spec[1:4], "cpu" if spec[5] else "cuda")


def _miss_reason(old: Any, new: Any) -> str:
    if old is None:
        return "first call"
    if old[0] != new[0]:
        return f"grad mode changed: {old[0]} -> {new[0]}"
    a, b = _leaves(old[1], []), _leaves(new[1], [])
    a = [x for x in a if isinstance(x[1], tuple)]
    b = [x for x in b if isinstance(x[1], tuple)]
    for x, y in zip(a, b):
        if x != y:
            what = [f"{n} {p} -> {q}" for n, p, q in
                    zip(("shape", "dtype", "requires_grad", "device"), _meta(x), _meta(y))
                    if p != q]
            return f"tensor argument {y[4]}: " + ", ".join(what)
    if len(a) != len(b):
        return f"number of tensor arguments {len(a)} -> {len(b)}"
    return "a non-tensor argument or the argument structure changed"


# ---- the compiled entry ----------------------------------------------------------------------

class CompiledFunctionBackward(Node):
    """Runs the compiled backward graph of a jitted call."""

    __slots__ = ("_entry", "_nin")

    def apply(self, grads: tuple) -> tuple:
        self._check_saved()
        e = self._entry
        gins = []
        for g, (shape, dt) in zip(grads, e.diff_out_meta):
            gd = None if g is None else g._data
            gins.append(np.zeros(shape, dt) if gd is None else
                        gd if gd.dtype == dt else gd.astype(dt))
        outs = e.bwd(gins + list(self._saved))
        res = []
        for k in e.bwd_out_index:
            res.append(None if k is None else Tensor._make(outs[k]))
        return tuple(res)


_CFB = node_class("CompiledFunctionBackward", CompiledFunctionBackward)


@dataclass
class Entry:
    """One traced and compiled signature."""

    fwd: Program
    out_spec: Any
    out_index: list[int | None]  # per output tensor: index into fwd outputs
    out_consts: list[Any]
    capture_arrays: list[np.ndarray]
    storage_effects: list[tuple[np.ndarray, Any, int]]
    arg_effects: list[tuple[int, int]]
    grad_effects: list[tuple[Any, int, int | None]]  # (tensor or arg index, kind, out index)
    guards: list[tuple[Any, bool]]
    bwd: Program | None = None
    saved_index: list[int] = field(default_factory=list)
    diff_outs: list[int] = field(default_factory=list)
    diff_out_meta: list[tuple] = field(default_factory=list)
    grad_targets: list[tuple[str, Any]] = field(default_factory=list)
    bwd_out_index: list[int | None] = field(default_factory=list)
    value_guards: list[tuple[Any, Any, Any]] = field(default_factory=list)
    storage_guards: list[tuple[Any, Any]] = field(default_factory=list)
    module_params: tuple | None = None

    def guards_ok(self) -> bool:
        if self.module_params is not None:
            mod, ids = self.module_params
            if tuple(map(id, mod.parameters())) != ids:  # a parameter was replaced
                return False
        for t, arr in self.storage_guards:
            if t._data is not arr:  # p.data = new_array since the trace
                return False
        for t, was_none in self.guards:
            if (t._grad is None) != was_none:
                return False
        for container, key, value in self.value_guards:
            if container[key] != value:
                return False
        return True

    def __post_init__(self) -> None:
        self._free = not (self.guards or self.value_guards or self.storage_guards
                          or self.module_params is not None)
        self._effects = bool(self.storage_effects or self.arg_effects or self.grad_effects)
        single = self.out_spec == ("leaf",) and self.out_index[0] is not None
        self._single = self.out_index[0] if single and self.bwd is None else None

    def run(self, tensors: Any) -> Any:
        ins = [t._data for t in tensors]
        if self.capture_arrays:
            ins += self.capture_arrays
        outs = self.fwd(ins)
        if self._single is not None and not self._effects:  # the common small case
            r = _new(Tensor)
            r._data, r._rg, r._vc = outs[self._single], False, [0]
            return r
        if self._effects:
            self._apply_effects(tensors, outs)
        results = []
        for k, c in zip(self.out_index, self.out_consts):
            results.append(Tensor._make(outs[k]) if k is not None else c)
        if self.bwd is not None and _grad_on[0]:
            self._attach_backward(results, tensors, outs, ins)
        return _rebuild_out(self.out_spec, iter(results))

    def _apply_effects(self, tensors: Any, outs: list) -> None:
        for arr, owner, k in self.storage_effects:
            np.copyto(arr, outs[k], casting="unsafe")
            if owner is not None:
                owner._vc[0] += 1
        for i, k in self.arg_effects:
            np.copyto(tensors[i]._data, outs[k], casting="unsafe")
            tensors[i]._vc[0] += 1
        for target, is_arg, k in self.grad_effects:
            t = tensors[target] if is_arg else target
            t.grad = None if k is None else Tensor._make(outs[k])

    def _attach_backward(self, results: list, tensors: list, outs: list, ins: list) -> None:
        node = _CFB()
        node._entry = self
        node._nout = len(self.diff_outs)
        edges = []
        for kind, ref in self.grad_targets:
            t = tensors[ref] if kind == "arg" else ref
            if t.grad_fn is not None:
                edges.append((t.grad_fn, t._output_nr))
            else:
                edges.append((t._accumulator(), 0))
        node.next_functions = tuple(edges)
        node._saved = [outs[k] if src == "out" else ins[k] for src, k in self.saved_index]
        for j, i in enumerate(self.diff_outs):
            r = results[i]
            r._rg = True
            r.grad_fn = node
            r._output_nr = j


def _rebuild_out(spec: Any, it: Any) -> Any:
    kind = spec[0]
    if kind == "leaf":
        return next(it)
    if kind in ("tuple", "list"):
        vals = [_rebuild_out(s, it) for s in spec[1]]
        return tuple(vals) if kind == "tuple" else vals
    if kind == "namedtuple":
        return spec[2](*[_rebuild_out(s, it) for s in spec[1]])
    if kind == "dict":
        return {k: _rebuild_out(s, it) for k, s in spec[1]}
    raise AssertionError(kind)


def _out_spec(obj: Any, leaves: list) -> Any:
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("namedtuple", [_out_spec(o, leaves) for o in obj], type(obj))
    if isinstance(obj, (tuple, list)):
        return ("list" if isinstance(obj, list) else "tuple",
                [_out_spec(o, leaves) for o in obj])
    if isinstance(obj, dict):
        return ("dict", [(k, _out_spec(v, leaves)) for k, v in obj.items()])
    leaves.append(obj)
    return ("leaf",)


# ---- the jitted function ---------------------------------------------------------------------

@dataclass
class CacheInfo:
    traces: int
    hits: int
    misses: int
    miss_reasons: list[str]
    kernels_compiled: int
    kernels_loaded: int
    compile_seconds: float
    currsize: int
    maxsize: int


class JitFunction:
    """The callable ``tracejit.jit`` returns."""

    def __init__(self, fn: Any, static_argnums: Any = (), static_argnames: Any = (),
                 backend: str = "llvm", cache: bool = True, maxsize: int = 64) -> None:
        if backend not in ("llvm", "eager"):
            raise ValueError(f"unknown backend {backend!r} (expected 'llvm' or 'eager')")
        self.fn = fn
        self.static_argnums = {static_argnums} if isinstance(static_argnums, int) \
            else set(static_argnums)
        self.static_argnames = {static_argnames} if isinstance(static_argnames, str) \
            else set(static_argnames)
        self.backend = backend
        self.use_cache = cache
        self.maxsize = maxsize
        self._cache: OrderedDict[Any, Entry] = OrderedDict()
        self._fast: dict[tuple, Entry] = {}
        self._last_key: Any = None
        self._traces = self._hits = self._misses = 0
        self._reasons: list[str] = []
        self._compiled = self._loaded = 0
        self._compile_s = 0.0
        functools.update_wrapper(self, fn)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self.__call__, obj)

    def _signature(self, args: tuple, kwargs: dict) -> tuple[Any, list[Tensor]]:
        tensors: list[Tensor] = []
        specs = []
        for i, a in enumerate(args):
            specs.append(_flatten(a, tensors, f"args[{i}]", i in self.static_argnums))
        kspecs = []
        for k, v in kwargs.items():
            kspecs.append((k, _flatten(v, tensors, k, k in self.static_argnames)))
        return (grad_mode.is_grad_enabled(), (tuple(specs), tuple(kspecs))), tensors

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fast = None
        if not kwargs:
            try:  # all-tensor positional arguments: a cheaper key for the common case
                fast = (_grad_on[0], *[(a._data.shape, a._data.dtype, a._rg, type(a._data))
                                       for a in args])
            except AttributeError:
                fast = None
            if fast is not None:
                for entry in self._fast.get(fast, ()):
                    if entry._free or entry.guards_ok():
                        self._hits += 1
                        if debug.level():
                            debug.log(1, f"{self.__name__}: cache hit")
                        return entry.run(args)
        key, tensors = self._signature(args, kwargs)
        entries = self._cache.get(key, []) if self.use_cache else []
        for entry in entries:
            if entry.guards_ok():
                self._hits += 1
                self._cache.move_to_end(key)
                if debug.level():
                    debug.log(1, f"{self.__name__}: cache hit")
                return entry.run(tensors)
        reason = _guard_reason(entries) if entries else _miss_reason(self._last_key, key)
        self._misses += 1
        self._reasons.append(reason)
        debug.log(1, f"{self.__name__}: cache miss ({reason}); tracing")
        entry = self._build(args, kwargs, tensors)
        mod = getattr(self, "module", None)
        if mod is not None:
            entry.module_params = (mod, tuple(map(id, mod.parameters())))
            entry._free = False
        self._last_key = key
        if self.use_cache:
            self._cache.setdefault(key, []).append(entry)
            self._cache.move_to_end(key)
            while len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)
                self._fast.clear()
            if fast is not None and all(type(a) is Tensor for a in args):
                self._fast[fast] = self._cache[key]
        return entry.run(tensors)

    # ---- tracing -----------------------------------------------------------------------------
    def _build(self, args: tuple, kwargs: dict, tensors: list[Tensor]) -> Entry:
        t0 = time.perf_counter()
        tr, out, stand, called_backward, grads, grad_targets, gout_ids = \
            self._trace(args, kwargs, tensors)
        self._traces += 1
        t1 = time.perf_counter()
        entry = self._assemble(tr, out, stand, tensors, called_backward, grads, grad_targets,
                               gout_ids)
        t2 = time.perf_counter()
        debug.log(1, f"{self.__name__}: traced in {1e3 * (t1 - t0):.1f} ms, compiled in "
                     f"{1e3 * (t2 - t1):.1f} ms")
        return entry

    def _trace(self, args: tuple, kwargs: dict, tensors: list[Tensor]) -> tuple:
        tr = Tracer()
        stand = []
        for t in tensors:
            if type(t._data) is not np.ndarray:
                tr.device = t._data.device  # a CudaArray
            v = tr.new_input(t._data.shape, t._data.dtype)
            s = Tensor._make(v, t._rg)
            stand.append(s)
        it = iter(stand)
        new_args = [_rebuild(a, it) for a in args]
        new_kwargs = {k: _rebuild(v, it) for k, v in kwargs.items()}
        prev = dispatch.tracer[0]
        dispatch.tracer[0] = tr
        prev_hook = grad_write_hook[0]
        grad_write_hook[0] = tr.on_grad_write
        tr.called_backward = False
        grads = None
        grad_targets: list = []
        gout_ids: list[int] = []
        try:
            out = self.fn(*new_args, **new_kwargs)
            leaves: list = []
            spec = _out_spec(out, leaves)
            diff = [o for o in leaves if isinstance(o, Tensor) and o._rg]
            if diff and grad_mode.is_grad_enabled() and not tr.called_backward:
                grad_targets = [("arg", i) for i, s in enumerate(stand) if s._rg]
                targets = [s for s in stand if s._rg]
                for t in tr.grad_captures:
                    grad_targets.append(("capture", t))
                    targets.append(t)
                if targets:
                    tr.phase = 1
                    gouts = []
                    for o in diff:
                        gv = tr.new_value(o._data.shape, o._data.dtype)
                        gout_ids.append(gv)
                        gouts.append(Tensor._make(_var(gv, o), False))
                    grads = engine.grad(diff, targets, grad_outputs=gouts, allow_unused=True)
        finally:
            dispatch.tracer[0] = prev
            grad_write_hook[0] = prev_hook
            self._restore(tr)
        return tr, (spec, leaves), stand, tr.called_backward, grads, grad_targets, gout_ids

    def _restore(self, tr: Tracer) -> None:
        """Put every .grad back as it was before the trace; keep the final ones as effects."""
        for t, g0 in tr.grad_origin.values():
            if t._data.__class__ is np.ndarray and id(t) not in tr.leaves:
                tr.leaves[id(t)] = (t, g0)
        for t, g0 in tr.leaves.values():
            tr.final_grads[id(t)] = t._grad
            t._grad = g0

    def _assemble(self, tr: Tracer, out: Any, stand: list, tensors: list,
                  called_backward: bool, grads: Any, grad_targets: list,
                  gout_ids: list[int]) -> Entry:
        spec, leaves = out
        fwd_outputs: list[int] = []

        def add_out(vid: int) -> int:
            fwd_outputs.append(vid)
            return len(fwd_outputs) - 1

        out_index, out_consts = [], []
        for o in leaves:
            if isinstance(o, Tensor):
                out_index.append(add_out(tr.value_of(o)))
                out_consts.append(None)
            else:
                out_index.append(None)
                out_consts.append(o)
        # side effects: in-place writes and .grad updates
        storage_effects = []
        for key, vid in tr.storage.items():
            idx = list(tr.captures).index(key)
            storage_effects.append((tr.capture_arrays[idx], tr.capture_tensors[idx],
                                    add_out(vid)))
        arg_effects = []
        for i, s in enumerate(stand):
            if s._data.id != tr.arg_ids[i]:
                arg_effects.append((i, add_out(s._data.id)))
        grad_effects, guards = [], []
        for i, s in enumerate(stand):
            if s.grad is not None:
                grad_effects.append((i, True, add_out(tr.value_of(s.grad))))
        for t, g0 in tr.leaves.values():
            g1 = tr.final_grads.get(id(t), g0)
            guards.append((t, g0 is None))
            if g1 is g0:
                continue
            if g1 is None:
                grad_effects.append((t, False, None))
            else:
                grad_effects.append((t, False, add_out(tr.value_of(g1))))
        inputs = list(tr.arg_ids) + [tr.captures[k] for k in tr.captures]
        device = "cpu" if all(type(a) is np.ndarray for a in
                              [t._data for t in tensors] + tr.capture_arrays) else "cuda"
        names = {vid: f"arg{i}" for i, vid in enumerate(tr.arg_ids)}
        fwd_nodes = [n for n in tr.nodes if n.phase == 0]
        bwd_nodes = [n for n in tr.nodes if n.phase == 1]
        entry_kw: dict[str, Any] = {}
        saved_index: list[tuple[str, int]] = []
        if grads is not None and bwd_nodes or grads is not None:
            fwd_produced = {o for n in fwd_nodes for o in n.outs}
            bwd_produced = {o for n in bwd_nodes for o in n.outs}
            grad_vids = [None if g is None else tr.value_of(g) for g in grads]
            bwd_graph_outs = [v for v in grad_vids if v is not None]
            needed = set()
            for n in bwd_nodes:
                needed.update(i for i in n.ins if i not in bwd_produced)
            needed.update(v for v in bwd_graph_outs if v not in bwd_produced)
            needed -= set(gout_ids)
            needed -= set(tr.consts)
            saved_vids = sorted(needed)
            input_pos = {v: k for k, v in enumerate(inputs)}
            for v in saved_vids:
                if v in input_pos:
                    saved_index.append(("in", input_pos[v]))
                elif v in fwd_produced:
                    saved_index.append(("out", add_out(v)))
                else:
                    raise AssertionError(f"backward reads %{v}, which the forward lacks")
            bwd_outputs = list(dict.fromkeys(bwd_graph_outs))
            bwd_graph = Graph(bwd_nodes, tr.shapes, tr.dtypes, dict(tr.consts),
                              list(gout_ids) + saved_vids, bwd_outputs)
            if debug.level() >= 2:
                debug.log(2, f"{self.__name__} backward graph before passes:\n{bwd_graph}")
            bwd_graph = optimize(bwd_graph)
            if debug.level() >= 2:
                debug.log(2, f"{self.__name__} backward graph after passes:\n{bwd_graph}")
            entry_kw = dict(
                bwd=Program(bwd_graph, self.backend, f"{self.__name__} backward", device),
                saved_index=saved_index,
                diff_outs=[k for k, o in enumerate(leaves) if isinstance(o, Tensor) and o._rg],
                diff_out_meta=[(tuple(o._data.shape), o._data.dtype) for o in leaves
                               if isinstance(o, Tensor) and o._rg],
                grad_targets=grad_targets,
                bwd_out_index=[None if v is None else bwd_outputs.index(v) for v in grad_vids],
            )
        graph = Graph(fwd_nodes, tr.shapes, tr.dtypes, dict(tr.consts), inputs, fwd_outputs,
                      names)
        if debug.level() >= 2:
            debug.log(2, f"{self.__name__} graph before passes:\n{graph}")
        graph = optimize(graph)
        if debug.level() >= 2:
            debug.log(2, f"{self.__name__} graph after passes:\n{graph}")
        fwd = Program(graph, self.backend, self.__name__, device)
        before = cg.cache_stats()
        for prog in (fwd, entry_kw.get("bwd")):
            if prog is not None:
                prog.compile()
                if debug.level() >= 3:
                    debug.log(3, prog.source("llvm"))
        after = cg.cache_stats()
        self._compiled += after["compiled"] - before["compiled"]
        self._loaded += after["disk_loads"] - before["disk_loads"]
        self._compile_s += after["compile_seconds"] - before["compile_seconds"]
        _poison(tr)
        return Entry(fwd, spec, out_index, out_consts, list(tr.capture_arrays), storage_effects,
                     arg_effects, grad_effects, guards, value_guards=tr.value_guards,
                     storage_guards=[(t, a) for t, a in zip(tr.capture_tensors,
                                                             tr.capture_arrays)
                                     if t is not None and t._data is a],
                     **entry_kw)

    # ---- introspection -----------------------------------------------------------------------
    def cache_info(self) -> CacheInfo:
        return CacheInfo(self._traces, self._hits, self._misses, list(self._reasons),
                         self._compiled, self._loaded, self._compile_s, len(self._cache),
                         self.maxsize)

    def cache_clear(self) -> None:
        self._cache.clear()
        self._fast.clear()

    def _entry_for(self, args: tuple, kwargs: dict) -> Entry:
        key, tensors = self._signature(args, kwargs)
        for entry in self._cache.get(key, ()):
            if entry.guards_ok():
                return entry
        return self._build(args, kwargs, tensors)

    def graph(self, *args: Any, **kwargs: Any) -> Graph:
        """The optimised forward graph for these arguments (printable)."""
        return self._entry_for(args, kwargs).fwd.graph

    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        return Lowered(self._entry_for(args, kwargs))

    def kernels(self, *args: Any, **kwargs: Any) -> Any:
        """Each compiled kernel for these arguments with its time, bytes, flops and source."""
        from ..bench.kernels import kernel_report

        return kernel_report(self, *args, **kwargs)


class Lowered:
    """What a signature compiled to: graphs, kernels and their generated source."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.graph = entry.fwd.graph
        self.kernels = [p.kernel for p in entry.fwd.kernels]

    def source(self, kind: str = "llvm") -> str:
        text = self.entry.fwd.source(kind)
        if self.entry.bwd is not None:
            text += "\n; ==== backward\n" + self.entry.bwd.source(kind)
        return text

    def assembly(self) -> str:
        return "\n".join(cg.assembly(k, ["strided"] * len(k.inputs)) for k in self.kernels)


def _poison(tr: Tracer) -> None:
    """Traced tensors that outlive the trace get data that explains the problem when used."""
    for t in tr.created:
        d = t._data
        if type(d) is Var:
            t._data = Escaped(d.id, d.shape, d.dtype)
    tr.created.clear()


def _var(vid: int, like: Tensor) -> Any:
    return Var(vid, tuple(like._data.shape), like._data.dtype)


def jit(fn: Any = None, *, static_argnums: Any = (), static_argnames: Any = (),
        backend: str = "llvm", cache: bool = True, maxsize: int = 64) -> Any:
    """Compile ``fn`` (a function or a module) by tracing it once per signature."""
    if fn is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames, backend=backend, cache=cache,
                                 maxsize=maxsize)
    target = fn
    if hasattr(fn, "forward") and hasattr(fn, "parameters") and callable(fn):
        target = fn.__call__
    jf = JitFunction(target, static_argnums, static_argnames, backend, cache, maxsize)
    if target is not fn:
        jf.module = fn
    return jf


jit.TraceError = TraceError  # type: ignore[attr-defined]  # tracejit.jit.TraceError
jit.JitFunction = JitFunction  # type: ignore[attr-defined]

__all__ = ["jit", "JitFunction", "TraceError", "CompiledFunctionBackward", "CacheInfo"]
