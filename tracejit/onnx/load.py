"""``tracejit.onnx.load``: an ONNX model as an ``nn.Module`` that runs through the JIT.

The module's forward interprets the ONNX graph with tracejit ops, so ``tracejit.jit`` traces it
into one fused, compiled program per input shape. Floating-point initializers become
Parameters (named as in the file, dotted names as submodules, so a model exported by tracejit
loads back with its own parameter names and can be fine-tuned and exported again).

Values that describe shapes (a Reshape target, Slice bounds, the output of Shape) must be
known while tracing: they are kept as numpy arrays and ops on them are computed on the spot
(``fold``). Graph inputs that only feed such slots become static arguments of the jitted call
(a new value retraces). A file is parsed without following external-data references, checked,
and every node validated before anything runs, so a malformed or hostile file fails with an
``OnnxLoadError``.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dispatch
from ..autograd import grad_mode
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..tensor import Tensor
from ..tracing.api import jit
from ..tracing.trace import TraceError
from ._common import OnnxLoadError, np_dtype, require_onnx
from .load_ctx import STATIC_SLOTS, NodeCtx, table

MIN_OPSET = 13


def _parse(source: Any) -> Any:
    onnx = require_onnx()
    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as f:
                data = f.read()
        except OSError as e:
            raise OnnxLoadError(f"load: cannot read {os.fspath(source)!r}: {e}") from e
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
    else:
        raise TypeError(f"load: expected a path, bytes, a file or an onnx.ModelProto, got "
                        f"{type(source).__name__}")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise OnnxLoadError(f"load: not an ONNX model (protobuf parse failed: {e})") from e
    return model


def _check(model: Any) -> int:
    """Validate the model; returns the default-domain opset."""
    onnx = require_onnx()
    if not model.HasField("graph") or not model.graph.output:
        raise OnnxLoadError("load: the model has no graph or no graph outputs")
    g = model.graph
    for t in list(g.initializer):
        if t.data_location == onnx.TensorProto.EXTERNAL or t.external_data:
            raise OnnxLoadError(f"load: initializer {t.name!r} refers to external data, which "
                                "tracejit does not load")
    if g.sparse_initializer:
        raise OnnxLoadError("load: sparse initializers are not supported")
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # noqa: BLE001 - onnx.checker.ValidationError and C++ errors
        raise OnnxLoadError(f"load: the ONNX checker rejected the model: {e}") from e
    opset = {o.domain: o.version for o in model.opset_import}
    version = opset.get("", opset.get("ai.onnx"))
    if version is None:
        raise OnnxLoadError("load: the model imports no version of the default ONNX domain")
    ops = table()
    for node in g.node:
        if node.domain not in ("", "ai.onnx"):
            raise OnnxLoadError(f"load: unsupported operator {node.domain}::{node.op_type} "
                                f"(node {node.name!r})")
        if node.op_type not in ops:
            raise OnnxLoadError(f"load: unsupported ONNX operator {node.op_type!r} (node "
                                f"{node.name!r})")
        if version < MIN_OPSET and not _same_as_13(onnx, node.op_type, version):
            raise OnnxLoadError(
                f"load: the model uses ONNX opset {version}, where {node.op_type} differs from "
                f"opset {MIN_OPSET}; tracejit loads opset {MIN_OPSET} and newer")
    return max(version, MIN_OPSET) if version < MIN_OPSET else version


def _same_as_13(onnx: Any, op: str, version: int) -> bool:
    """An older model is fine when each of its ops is unchanged up to opset 13 (And, Not)."""
    try:
        old = onnx.defs.get_schema(op, version).since_version
        return old == onnx.defs.get_schema(op, MIN_OPSET).since_version
    except Exception:  # noqa: BLE001 - an op that did not exist at that opset
        return False


def _attrs(node: Any) -> dict[str, Any]:
    onnx = require_onnx()
    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise OnnxLoadError(f"load: node {node.name!r} ({node.op_type}) has a subgraph "
                                "attribute, which is not supported")
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [s.decode("utf-8", "replace") for s in v]
        elif isinstance(v, onnx.TensorProto):
            v = _array(v, f"attribute {a.name} of node {node.name!r}")
        out[a.name] = v
    return out


def _array(t: Any, what: str) -> np.ndarray:
    onnx = require_onnx()
    np_dtype(t.data_type, what)
    try:
        return np.array(onnx.numpy_helper.to_array(t))
    except Exception as e:  # noqa: BLE001 - inconsistent dims and data in a hostile file
        raise OnnxLoadError(f"load: {what} is malformed: {e}") from e


_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class _Params(Module):
    """A plain container that gives dotted initializer names their submodule path."""


def _place(root: Module, name: str, p: Parameter) -> tuple[Module, str]:
    """Register ``p`` under its dotted name when every part can be one, else a flat name.
    Returns where it lives (the forward reads it from there, so a replaced one is used)."""
    parts = name.split(".")
    mod = root
    ok = all(_NAME.match(s) for s in parts)
    for part in parts[:-1] if ok else ():
        child = mod._modules.get(part)
        if child is None:
            if hasattr(mod, part):
                ok = False
                break
            child = _Params()
            mod.add_module(part, child)
        elif not isinstance(child, _Params):
            ok = False
            break
        mod = child
    if ok and not hasattr(mod, parts[-1]):
        mod.register_parameter(parts[-1], p)
        return mod, parts[-1]
    flat = re.sub(r"[^A-Za-z0-9_]", "_", name) or "param"
    base, i = flat, 0
    while hasattr(root, flat):
        i += 1
        flat = f"{base}_{i}"
    root.register_parameter(flat, p)
    return root, flat


class OnnxModule(Module):
    """A loaded ONNX graph. ``module(*inputs)`` returns the list of outputs."""

    def __init__(self, model: Any, outputs: list[str] | None = None,
                 backend: str = "llvm") -> None:
        super().__init__()
        opset = _check(model)
        g = model.graph
        consts: dict[str, np.ndarray] = {}
        params: dict[str, tuple[Module, str]] = {}
        for t in g.initializer:
            arr = _array(t, f"initializer {t.name!r}")
            if arr.dtype.kind == "f":
                params[t.name] = _place(self, t.name, Parameter(Tensor._make(arr)))
            else:
                consts[t.name] = arr
        inputs = [i for i in g.input if i.name not in consts and i.name not in params]
        nodes = [(n.op_type, list(n.input), list(n.output), _attrs(n), n.name) for n in g.node]
        known = {i.name for i in inputs} | set(consts) | set(params)
        for _, _, outs, _, _ in nodes:
            known.update(outs)
        outs = list(outputs) if outputs else [o.name for o in g.output]
        for o in outs:
            if o not in known:
                raise OnnxLoadError(f"load: output {o!r} is not a value of the graph")
        d = self.__dict__
        d["_onnx_opset"] = opset
        d["_onnx_consts"] = consts
        d["_onnx_params"] = params
        d["_onnx_inputs"] = [(i.name, _input_type(i)) for i in inputs]
        d["_onnx_outputs"] = outs
        d["_onnx_nodes"] = _prune(nodes, outs)
        d["_onnx_static"] = _static_inputs(d["_onnx_nodes"], {i.name for i in inputs})
        d["_onnx_jit"] = jit(self._interpret, static_argnames=("static", "params"),
                                backend=backend)

    @property
    def input_names(self) -> list[str]:
        return [n for n, _ in self._onnx_inputs]

    @property
    def output_names(self) -> list[str]:
        return list(self._onnx_outputs)

    def forward(self, *inputs: Any) -> list[Tensor]:
        if len(inputs) != len(self._onnx_inputs):
            raise TypeError(f"the ONNX graph takes {len(self._onnx_inputs)} inputs "
                            f"{self.input_names}, got {len(inputs)}")
        dyn, static = [], []
        for (name, (dt, shape)), v in zip(self._onnx_inputs, inputs):
            t = v if isinstance(v, Tensor) else Tensor._make(np.asarray(v))
            _check_input(name, t, dt, shape)
            if name in self._onnx_static:
                a = np.array(t._data, order="C")  # (ascontiguousarray makes 0-d 1-d)
                static.append((name, a.dtype.str, a.shape, a.tobytes()))
            else:
                dyn.append(t)
        if dispatch.tracer[0] is not None:  # inside someone's trace: inline the graph
            return self._interpret(*dyn, static=tuple(static))
        # the JIT captures parameter arrays by identity: a replaced one must retrace
        ids = tuple(id(getattr(m, a)._data) for m, a in self._onnx_params.values())
        return self._onnx_jit(*dyn, static=tuple(static), params=ids)

    def _interpret(self, *dyn: Tensor, static: tuple = (), params: tuple = ()) -> list[Tensor]:
        env: dict[str, Any] = dict(self._onnx_consts)
        for name, (mod, attr) in self._onnx_params.items():
            env[name] = getattr(mod, attr)
        for name, dt, shape, data in static:
            env[name] = np.frombuffer(data, np.dtype(dt)).reshape(shape).copy()
        it = iter(dyn)
        for name, _ in self._onnx_inputs:
            if name not in self._onnx_static:
                env[name] = next(it)
        ops = table()
        for op_type, ins, outs, attrs, name in self._onnx_nodes:
            args = [env[i] if i else None for i in ins]
            c = NodeCtx(op_type, name, self._onnx_opset, outs)
            res = _run_node(ops[op_type], c, args, attrs)
            for o, v in zip(outs, res):
                if o:
                    env[o] = v
        return [_as_tensor(env[o]) for o in self._onnx_outputs]

    def extra_repr(self) -> str:
        return (f"inputs={self.input_names}, outputs={self.output_names}, "
                f"nodes={len(self._onnx_nodes)}, opset={self._onnx_opset}")


def _as_tensor(v: Any) -> Tensor:
    return v if isinstance(v, Tensor) else Tensor._make(np.array(v))


def _run_node(fn: Callable, c: NodeCtx, args: list[Any], attrs: dict) -> list[Any]:
    """Run one node: folded to numpy when every input is known now, else on tensors. Errors
    other than tracing's become load errors naming the node."""
    try:
        if args and all(a is None or isinstance(a, np.ndarray) for a in args):
            res = _fold(fn, c, args, attrs)
        else:
            res = fn(c, args, attrs)
    except (OnnxLoadError, TraceError):
        raise
    except Exception as e:  # noqa: BLE001 - bad shapes or values in the file
        raise OnnxLoadError(f"load: node {c.name!r} ({c.op}) failed: {type(e).__name__}: "
                            f"{e}") from e
    return list(res) if isinstance(res, (list, tuple)) else [res]


def _fold(fn: Callable, c: NodeCtx, args: list[Any], attrs: dict) -> list[Any]:
    """Run a node whose inputs are all known now, outside any trace: numpy in, numpy out."""
    prev = dispatch.tracer[0]
    dispatch.tracer[0] = None
    try:
        with grad_mode.no_grad():
            res = fn(c, args, attrs)
    finally:
        dispatch.tracer[0] = prev
    res = list(res) if isinstance(res, (list, tuple)) else [res]
    return [r._data if isinstance(r, Tensor) else r for r in res]


def _input_type(vi: Any) -> tuple[np.dtype | None, list[int | None]]:
    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type"):
        raise OnnxLoadError(f"load: graph input {vi.name!r} is not a tensor")
    dt = np_dtype(tt.elem_type, f"graph input {vi.name!r}") if tt.elem_type else None
    shape = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim] \
        if tt.HasField("shape") else None
    return dt, shape


def _check_input(name: str, t: Tensor, dt: Any, shape: Any) -> None:
    if dt is not None and t._data.dtype != dt:
        raise TypeError(f"ONNX input {name!r} expects {dt}, got {t._data.dtype}")
    if shape is not None:
        got = tuple(t._data.shape)
        if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got)):
            want = ["?" if s is None else s for s in shape]
            raise ValueError(f"ONNX input {name!r} expects shape {want}, got {list(got)}")


def _prune(nodes: list, outputs: list[str]) -> list:
    need = set(outputs)
    kept = []
    for n in reversed(nodes):
        if any(o in need for o in n[2]):
            kept.append(n)
            need.update(i for i in n[1] if i)
    return kept[::-1]


def _static_inputs(nodes: list, inputs: set[str]) -> set[str]:
    """Graph inputs whose values the trace needs (shapes, axes, bounds)."""
    need: set[str] = set()
    for op, ins, outs, _, _ in reversed(nodes):
        for k in STATIC_SLOTS.get(op, ()):
            if k < len(ins) and ins[k]:
                need.add(ins[k])
        if op not in ("Shape", "Size") and any(o in need for o in outs):
            need.update(i for i in ins if i)
    return need & inputs


def load(path_or_model: Any, outputs: list[str] | None = None,
         backend: str = "llvm") -> OnnxModule:
    """Load an ONNX model (path, bytes, file or ModelProto) as a module run by the JIT.

    ``outputs`` picks other values of the graph as the outputs (to take the features before
    a last layer, say); ``backend`` is the JIT's ("llvm" or "eager").
    """
    return OnnxModule(_parse(path_or_model), outputs, backend)
