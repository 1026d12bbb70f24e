"""The ONNX graph under construction, and the helpers every export rule uses.

Names: graph inputs take ``input_names``, captured parameters and buffers their dotted names,
everything else a fresh name. Where a size follows a dynamic axis the rules ask ``dim`` /
``find_dim`` / ``shape_vec`` for a computed (Shape + Gather + Concat) value instead of the
traced number.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import OnnxExportError, onnx_dtype
from .capture import Analysis


class Emitter:
    """Builds one ONNX graph from an analysed trace."""

    def __init__(self, an: Analysis, opset: int, onnx: Any, param_names: dict[int, str],
                 input_names: list[str], output_names: list[str], spec: dict) -> None:
        self.an, self.g, self.opset, self.onnx = an, an.graph, opset, onnx
        self.param_names = param_names
        self.input_names, self.output_names = input_names, output_names
        ranks = {nm: len(an.graph.shapes[v]) for nm, v in zip(input_names, an.tracer.arg_ids)}
        ranks.update((nm, len(an.graph.shapes[v])) for nm, v in zip(output_names, an.graph.outputs))
        self.spec = {nm: {d % max(ranks[nm], 1): sym for d, sym in dims.items()}
                     for nm, dims in spec.items()}
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.names: dict[int, str] = {}
        self.used: set[str] = set(input_names) | set(output_names) | set(param_names.values())
        self._consts: dict[tuple, str] = {}
        self._next: dict[str, int] = {}
        self._dims: dict[tuple, str] = {}
        self.arg_ids = list(an.tracer.arg_ids)
        self.names.update(zip(self.arg_ids, input_names))
        self.producer = {o: n for n in self.g.nodes for o in n.outs}
        self.users: dict[int, list] = {}
        for n in self.g.nodes:
            for i in n.ins:
                self.users.setdefault(i, []).append(n)

    # ---- names, constants, nodes ---------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A name no other value, input, output or parameter has."""
        i = self._next.get(hint, 0)
        name = hint if i == 0 else f"{hint}_{i}"
        while name in self.used:
            i += 1
            name = f"{hint}_{i}"
        self._next[hint] = i + 1
        self.used.add(name)
        return name

    def name(self, vid: int) -> str:
        n = self.names.get(vid)
        if n is None:
            if vid in self.an.dyn_consts:
                n = self._size_value(vid)
            elif vid in self.g.consts:
                n = self.const(self.g.consts[vid])
            elif vid in self.an.capture_of:
                n = self._capture(vid)
            else:
                n = self.fresh(f"v{vid}")
            self.names[vid] = n
        return n

    def inp(self, node: Any, k: int = 0) -> str:
        return self.name(node.ins[k])

    def out(self, node: Any, k: int = 0) -> str:
        return self.name(node.outs[k])

    def const(self, arr: Any, hint: str = "const", name: str | None = None) -> str:
        arr = np.array(arr)
        key = None
        if name is None and arr.size <= 256:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            hit = self._consts.get(key)
            if hit is not None:
                return hit
        onnx_dtype(arr.dtype)
        nm = name or self.fresh(hint)
        self.inits.append(self.onnx.numpy_helper.from_array(np.array(arr, order="C"), nm))
        if key is not None:
            self._consts[key] = nm
        return nm

    def i64(self, values: Any) -> str:
        return self.const(np.asarray(values, np.int64).reshape(-1), "ints")

    def scalar(self, value: Any, dtype: Any) -> str:
        return self.const(np.asarray(value, dtype=np.dtype(dtype)), "scalar")

    def add(self, op_type: str, inputs: list[str], n_out: int = 1,
            outputs: list[str] | None = None, **attrs: Any) -> list[str]:
        outs = outputs or [self.fresh(f"{op_type.lower()}") for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(
            op_type, inputs, outs, name=self.fresh(f"{op_type}_{len(self.nodes)}"), **attrs))
        return outs

    def add1(self, op_type: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        return self.add(op_type, inputs, outputs=[out] if out else None, **attrs)[0]

    def cast(self, name: str, src: Any, dst: Any, out: str | None = None) -> str:
        if np.dtype(src) == np.dtype(dst):
            return self.add1("Identity", [name], out) if out else name
        return self.add1("Cast", [name], out, to=onnx_dtype(dst))

    def reduce(self, op_type: str, x: str, axes: Any, keepdims: bool,
               out: str | None = None) -> str:
        """A Reduce* node; axes as an input where the opset wants it (Sum 13+, others 18+)."""
        axes = [int(a) for a in axes]
        if not axes:
            return self.add1("Identity", [x], out)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.add1(op_type, [x, self.i64(axes)], out, keepdims=int(keepdims))
        return self.add1(op_type, [x], out, axes=axes, keepdims=int(keepdims))

    # ---- shapes and dynamic sizes ---------------------------------------------------------
    def shape(self, vid: int) -> tuple[int, ...]:
        return tuple(self.g.shapes[vid])

    def dtype(self, vid: int) -> np.dtype:
        return np.dtype(self.g.dtypes[vid])

    def sym(self, vid: int) -> tuple[bool, ...]:
        """Per dimension: does it follow a dynamic axis?"""
        a, b = self.shape(vid), self.an.probe_shape(vid)
        if b is None:
            return (False,) * len(a)
        if len(a) != len(b):
            raise OnnxExportError("export: the rank of a value changes with the size of a "
                                  "dynamic axis (a squeeze of a size-1 example dimension?)")
        return tuple(x != y for x, y in zip(a, b))

    def pair(self, vid: int, k: int) -> tuple[int, int]:
        b = self.an.probe_shape(vid)
        return self.shape(vid)[k], (b[k] if b is not None else self.shape(vid)[k])

    def dim(self, vid: int, k: int) -> str:
        """A 1-element int64 value holding dim k of ``vid`` at run time."""
        key = (vid, k)
        if key not in self._dims:
            shp = self._dims.get((vid, None))
            if shp is None:
                shp = self._dims[(vid, None)] = self.add1("Shape", [self.name(vid)])
            self._dims[key] = self.add1("Gather", [shp, self.i64([k])], axis=0)
        return self._dims[key]

    def find_dim(self, pair: tuple[int, int], prefer: tuple[int, ...] = ()) -> str | None:
        """A run-time dim that has these (example, probe) sizes: of ``prefer``, else an input."""
        if pair[0] == pair[1]:
            return None
        for v in (*prefer, *self.arg_ids):
            b = self.an.probe_shape(v)
            if b is None or len(b) != len(self.shape(v)):
                continue
            for k, (x, y) in enumerate(zip(self.shape(v), b)):
                if (x, y) == pair:
                    return self.dim(v, k)
        return None

    def shape_vec(self, entries: list[Any]) -> str:
        """A 1-D int64 value from ints and run-time dims (names)."""
        if all(isinstance(e, (int, np.integer)) for e in entries):
            return self.i64(entries)
        parts: list[str] = []
        run: list[int] = []
        for e in entries:
            if isinstance(e, (int, np.integer)):
                run.append(int(e))
                continue
            if run:
                parts.append(self.i64(run))
                run = []
            parts.append(e)
        if run:
            parts.append(self.i64(run))
        return parts[0] if len(parts) == 1 else self.add1("Concat", parts, axis=0)

    def probe_params(self, node: Any) -> dict | None:
        return self.an.probe_params.get(id(node))

    def rel(self, node: Any, a: int | None, b: int | None, size: tuple[int, int],
            what: str) -> int | None:
        """An index that differs between the traces: the same offset from the end works."""
        if a == b:
            return a
        if a is not None and b is not None and a - size[0] == b - size[1]:
            return a - size[0]
        raise OnnxExportError(f"export: the {what} of {node.op.name} at {self.an.src(node)} "
                              "depends on the size of a dynamic axis in a way ONNX export "
                              "cannot recompute; make that axis static")

    def fail(self, node: Any, why: str) -> OnnxExportError:
        return OnnxExportError(f"export: {node.op.name} at {self.an.src(node)}: {why}")

    def _size_value(self, vid: int) -> str:
        """A number the trace read off a dynamic size: computed from Shape at run time."""
        kind, dims = self.an.dyn_consts[vid]
        dt = self.dtype(vid)
        parts = [self.cast(self.dim(v, k), np.int64, dt) for v, k in dims]
        r = parts[0] if len(parts) == 1 else self.add1("Mul", parts)
        r = self.add1("Reshape", [r, self.i64([])])
        if kind == "recip":
            r = self.add1("Div", [self.scalar(1, dt), r])
        return r

    # ---- captured tensors -------------------------------------------------------------------
    def _capture(self, vid: int) -> str:
        tr = self.an.tracer
        k = self.an.capture_of[vid]
        arr, t = tr.capture_arrays[k], tr.capture_tensors[k]
        pname = self.param_names.get(id(t)) if t is not None else None
        if vid in self.an.tainted:
            return self._filled(vid, arr)
        if pname is not None:
            return self.const(arr, name=pname)
        return self.const(arr, "const")

    def _filled(self, vid: int, arr: np.ndarray) -> str:
        """A tensor made inside the function whose size follows a dynamic axis: fine when it
        is one value everywhere (zeros(batch, n)): an Expand of that value to the run-time
        shape."""
        users = self.users.get(vid, [])
        where = self.an.src(users[0]) if users else "<unknown>"
        b = self.an.probe_array(vid)
        flat = np.asarray(arr).reshape(-1)
        ok = b is not None and flat.size and b.size and b.ndim == arr.ndim
        ok = ok and bool(np.all(flat == flat[0])) and bool(np.all(b == flat[0]))
        if not ok:
            raise OnnxExportError(
                f"export: a tensor made inside the traced function (used at {where}) has a "
                "size or value that follows a dynamic axis; ONNX export can only recompute "
                "tensors filled with one value. Derive it from an input instead.")
        entries: list[Any] = []
        for k, (x, y) in enumerate(zip(arr.shape, b.shape)):
            if x == y:
                entries.append(int(x))
                continue
            d = self.find_dim((x, y))
            if d is None:
                raise OnnxExportError(
                    f"export: a tensor made inside the traced function (used at {where}) has "
                    f"dim {k} following a dynamic axis that no input dimension matches")
            entries.append(d)
        return self.add1("Expand", [self.scalar(flat[0], arr.dtype), self.shape_vec(entries)])

    # ---- driving ------------------------------------------------------------------------------
    def run(self, table: dict[str, Callable]) -> None:
        for k, vid in enumerate(self.g.outputs):
            if vid in self.producer and vid not in self.names:
                self.names[vid] = self.output_names[k]
        for n in self.g.nodes:
            fn = table.get(n.op.name)
            if fn is None:
                raise OnnxExportError(f"export: op '{n.op.name}' (traced at {self.an.src(n)}) "
                                      "has no ONNX mapping")
            if self.probe_params(n) is not None and not getattr(fn, "dynamic", False):
                raise self.fail(n, f"its parameters {n.op.name}{n.params} change with the size "
                                   "of a dynamic axis (to "
                                   f"{self.probe_params(n)}); make that axis static")
            try:
                fn(self, n)
            except OnnxExportError:
                raise
            except Exception as e:  # noqa: BLE001 - report which op and line failed
                raise self.fail(n, f"{type(e).__name__}: {e}") from e
        for k, vid in enumerate(self.g.outputs):
            if self.name(vid) != self.output_names[k]:
                self.add1("Identity", [self.name(vid)], self.output_names[k])

    def _value_info(self, name: str, vid: int, dims: dict[int, str]) -> Any:
        sym = self.sym(vid)
        shape: list[Any] = []
        for k, s in enumerate(self.shape(vid)):
            if k in dims:
                shape.append(dims[k])
            elif sym[k]:
                shape.append(self._symbol(self.pair(vid, k)) or f"{name}_dim{k}")
            else:
                shape.append(int(s))
        return self.onnx.helper.make_tensor_value_info(name, onnx_dtype(self.dtype(vid)), shape)

    def _symbol(self, pair: tuple[int, int]) -> str | None:
        """The dim_param of the input dim with these (example, probe) sizes."""
        for vid, nm in zip(self.arg_ids, self.input_names):
            for k, s in self.spec.get(nm, {}).items():
                if self.pair(vid, k) == pair:
                    return s
        return None

    def model(self, producer: str) -> Any:
        h = self.onnx.helper
        ins = [self._value_info(nm, vid, self.spec.get(nm, {}))
               for vid, nm in zip(self.arg_ids, self.input_names)]
        outs = [self._value_info(nm, vid, self.spec.get(nm, {}))
                for vid, nm in zip(self.g.outputs, self.output_names)]
        nodes, inits = _prune(self.nodes, self.inits, self.output_names)
        graph = h.make_graph(nodes, "tracejit", ins, outs, initializer=inits)
        opsets = [h.make_opsetid("", self.opset)]
        model = h.make_model(graph, opset_imports=opsets, producer_name=producer)
        model.ir_version = h.find_min_ir_version_for(opsets)
        return model


def _prune(nodes: list, inits: list, outputs: list[str]) -> tuple[list, list]:
    """Drop nodes and initializers no output needs (rules may emit helpers they then skip)."""
    need = set(outputs)
    kept = []
    for n in reversed(nodes):
        if any(o in need for o in n.output):
            kept.append(n)
            need.update(i for i in n.input if i)
    return kept[::-1], [t for t in inits if t.name in need]
