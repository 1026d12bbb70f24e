"""``tracejit.onnx.export``: trace with the JIT's tracer, translate each op, write a checked model.

The example trace gives the graph; with ``dynamic_axes`` a second (probe) trace at other sizes
tells which sizes follow those axes (``capture.py``). ``Emitter`` holds the ONNX graph being
built and the helpers the op tables (``export_ops``, ``export_shape``, ``export_nn``,
``export_rnn``) use to write computed shapes where a size follows a dynamic axis.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor
from ..tracing.api import JitFunction
from . import capture
from ._common import OnnxExportError, onnx_dtype, require_onnx
from .emitter import Emitter

DEFAULT_OPSET = 17
MIN_OPSET = 13


def _table() -> dict[str, Callable]:
    from . import export_nn, export_ops, export_reduce, export_rnn, export_shape

    t: dict[str, Callable] = {}
    for mod in (export_ops, export_reduce, export_shape, export_nn, export_rnn):
        t.update(mod.TABLE)
    return t


def _args(example_args: Any) -> list[Any]:
    if isinstance(example_args, (Tensor, np.ndarray)):
        example_args = (example_args,)
    if not isinstance(example_args, (tuple, list)):
        raise TypeError("export: example_args must be a tensor or a tuple of them")
    out = []
    for a in example_args:
        if isinstance(a, np.ndarray):
            a = Tensor._make(a)
        out.append(capture.Spec(tuple(a.shape), np.dtype(a._data.dtype))
                   if isinstance(a, Tensor) else a)
    return out


def _dyn_spec(dynamic_axes: Any, names: list[str], outputs: list[str]) -> dict:
    """{name: {dim: symbol}} from PyTorch's forms ({name: {0: "batch"}} or {name: [0]})."""
    spec: dict[str, dict[int, str]] = {}
    for key, dims in (dynamic_axes or {}).items():
        if key not in names and key not in outputs:
            raise ValueError(f"export: dynamic_axes names {key!r}, which is neither an input "
                             f"name {names} nor an output name {outputs}")
        if isinstance(dims, dict):
            spec[key] = {int(d): str(s) for d, s in dims.items()}
        else:
            spec[key] = {int(d): f"{key}_dynamic_axes_{i + 1}" for i, d in enumerate(dims)}
    return spec


def _probe_args(args: list[Any], names: list[str], spec: dict, attempt: int) -> list[Any]:
    symbols: dict[str, int] = {}
    out = []
    k = 0
    for a in args:
        if not isinstance(a, capture.Spec):
            out.append(a)
            continue
        shape = list(a.shape)
        for d, sym in spec.get(names[k], {}).items():
            if not -len(shape) <= d < len(shape):
                raise ValueError(f"export: dynamic axis {d} of input {names[k]!r} is out of "
                                 f"range for its shape {tuple(a.shape)}")
            if sym not in symbols:
                i = len(symbols)
                symbols[sym] = shape[d] + 1 + i if attempt == 0 else 2 * shape[d] + 2 + i
            shape[d] = symbols[sym]
        out.append(capture.Spec(tuple(shape), a.dtype))
        k += 1
    return out


def export(fn_or_module: Any, example_args: Any, path: Any = None,
           input_names: list[str] | None = None, output_names: list[str] | None = None,
           dynamic_axes: dict | None = None, opset_version: int | None = None) -> Any:
    """Trace ``fn_or_module`` on ``example_args`` and write an ONNX model to ``path``.

    Returns the ``onnx.ModelProto``. Parameters and buffers become initializers named as in
    ``named_parameters()``/``named_buffers()``; ``dynamic_axes`` (PyTorch's format) marks
    dimensions symbolic.
    """
    onnx = require_onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset_version {opset} is outside the supported range "
                         f"{MIN_OPSET}..{onnx.defs.onnx_opset_version()}")
    args = _args(example_args)
    n_in = sum(isinstance(a, capture.Spec) for a in args)
    names = list(input_names) if input_names else (
        ["input"] if n_in == 1 else [f"input_{i}" for i in range(n_in)])
    if len(names) != n_in:
        raise ValueError(f"export: {len(names)} input_names for {n_in} tensor inputs")
    if isinstance(fn_or_module, JitFunction):  # trace what it wraps, not its compiled call
        fn_or_module = getattr(fn_or_module, "module", None) or fn_or_module.fn
    module = fn_or_module if hasattr(fn_or_module, "named_parameters") else None
    from .export_rnn import rnn_as_onnx_ops

    params = _param_names(module)
    owned = frozenset(params)
    with rnn_as_onnx_ops(module):
        if dynamic_axes:
            an = _analyse_dynamic(fn_or_module, args, names, dynamic_axes, owned)
        else:
            an = capture.analyse(fn_or_module, args, None, owned)
    n_out = len(an.graph.outputs)
    outs = list(output_names) if output_names else (
        ["output"] if n_out == 1 else [f"output_{i}" for i in range(n_out)])
    if len(outs) != n_out:
        raise ValueError(f"export: {len(outs)} output_names for {n_out} outputs")
    spec = _dyn_spec(dynamic_axes, names, outs)
    em = Emitter(an, opset, onnx, params, names, outs, spec)
    em.run(_table())
    model = em.model(producer="tracejit")
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # noqa: BLE001 - any checker failure is an export bug to report
        raise OnnxExportError(f"export: the ONNX checker rejected the exported model: {e}") \
            from e
    if path is not None:
        if isinstance(path, (str, os.PathLike)):
            onnx.save(model, os.fspath(path))
        else:
            path.write(model.SerializeToString())
    return model


def _analyse_dynamic(fn: Any, args: list[Any], names: list[str], dynamic_axes: dict,
                     owned: frozenset[int]) -> capture.Analysis:
    spec = _dyn_spec({k: v for k, v in dynamic_axes.items() if k in names}, names, [])
    last: Exception | None = None
    for attempt in (0, 1):
        probe = _probe_args(args, names, spec, attempt)
        try:
            return capture.analyse(fn, args, probe, owned)
        except OnnxExportError as e:
            if "tracing again" not in str(e):
                raise
            last = e
    assert last is not None
    raise last


def _param_names(module: Any) -> dict[int, str]:
    """id(tensor) -> its dotted name, for every parameter and buffer of the module."""
    if module is None:
        return {}
    names: dict[int, str] = {}
    for n, b in module.named_buffers():
        names.setdefault(id(b), n)
    for n, p in module.named_parameters():
        names[id(p)] = n
    return names


__all__ = ["export", "onnx_dtype", "DEFAULT_OPSET"]
