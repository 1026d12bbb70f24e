"""Programs (several kernel variants in ONE module) and the ``run``/``launch`` helpers.

A graph compiled by the JIT becomes one ``Program``: one source, one compiler
invocation, one module; each launch classifies its inputs' layouts and picks the
matching variant.  ``run`` is the numpy-in/numpy-out convenience the tests use.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence

import numpy as np

from ..ir import Kernel
from ..runtime import check_launch
from .array import DeviceArray
from .emit import emit_module, is_flat_variant, normalize, symbol
from .launch import NP_DTYPES, classify, launch_config, pack_params
from .runtime import Runtime, get_runtime


def _shape(kernel: Kernel, inputs: Sequence, shape) -> tuple:
    return check_launch(kernel, inputs, shape)


class Program:
    """Kernel variants (Kernels, or (Kernel, layouts) pairs) compiled as one module."""

    def __init__(self, kernels: Iterable, runtime: Runtime | None = None):
        self.items = normalize(kernels)
        self.runtime = runtime or get_runtime()
        self.source = emit_module(self.items)
        self.module = self.runtime.load_module(self.source)
        self._symbols = {item: symbol(*item) for item in self.items}

    def launch(self, kernel: Kernel, inputs: Sequence[DeviceArray],
               outputs: Sequence[DeviceArray] | None = None,
               shape: Sequence[int] | None = None) -> list:
        """Launch on device arrays (broadcast to the iteration shape); returns the outputs."""
        rt = self.runtime
        shape = _shape(kernel, inputs, shape)
        layouts = tuple(classify(a.shape, a.strides) for a in inputs)
        sym = self._symbols.get((kernel, layouts))
        if sym is None:
            raise KeyError(f"{kernel.name} with layouts {layouts} is not in this program")
        outer = shape[:kernel.outer_ndim]
        if outputs is None:
            outputs = [DeviceArray.empty(outer, NP_DTYPES[e.dtype], rt) for e in kernel.outputs]
        for o, e in zip(outputs, kernel.outputs):
            if o.shape != outer or o.dtype != NP_DTYPES[e.dtype] or not o.is_contiguous:
                raise ValueError(f"{kernel.name}: output must be contiguous {outer} {e.dtype}")
        total = math.prod(shape)
        if math.prod(outer) == 0 or (is_flat_variant(kernel, layouts) and total == 0):
            return list(outputs)
        grid, block = launch_config(kernel, shape, rt.limits)
        rt.launch(self.module, sym, grid, block,
                  pack_params(kernel, layouts, shape, inputs, outputs))
        return list(outputs)

    def run(self, kernel: Kernel, inputs: Sequence[np.ndarray],
            outputs: Sequence[np.ndarray] | None = None,
            shape: Sequence[int] | None = None) -> list:
        """numpy in, numpy out: upload, launch, download (device memory is released)."""
        rt = self.runtime
        inputs = [np.asarray(a) for a in inputs]
        shape = _shape(kernel, inputs, shape)
        dev_in = [DeviceArray.from_numpy(a, rt) for a in inputs]
        try:
            dev_out = self.launch(kernel, dev_in, None, shape)
            try:
                results = [d.numpy() for d in dev_out]
            finally:
                for d in dev_out:
                    d.free()
        finally:
            for d in dev_in:
                d.free()
        if outputs is None:
            return results
        for o, r in zip(outputs, results):
            if o.shape != r.shape or o.dtype != r.dtype:
                raise ValueError(f"{kernel.name}: output must be {r.shape} {r.dtype}")
            o[...] = r
        return list(outputs)


_programs: dict = {}
_lock = threading.Lock()


def program_for(kernel: Kernel, layouts: Sequence[str],
                runtime: Runtime | None = None) -> Program:
    """The (cached) single-variant program of ``kernel`` with ``layouts``."""
    rt = runtime or get_runtime()
    key = (id(rt), kernel, tuple(layouts))
    with _lock:
        prog = _programs.get(key)
    if prog is None:
        prog = Program([(kernel, tuple(layouts))], rt)
        with _lock:
            _programs[key] = prog
    return prog


def _element_strides(a: np.ndarray) -> np.ndarray:
    """``a`` itself, or a contiguous copy when a byte stride is not a whole element."""
    return np.ascontiguousarray(a) if any(s % a.itemsize for s in a.strides) else a


def run(kernel: Kernel, inputs: Sequence[np.ndarray],
        outputs: Sequence[np.ndarray] | None = None, shape: Sequence[int] | None = None,
        runtime: Runtime | None = None) -> list:
    """Like ``tracejit.codegen.run`` but on the CUDA device (or the simulator)."""
    inputs = [_element_strides(np.asarray(a)) for a in inputs]
    layouts = tuple(classify(a.shape, [s // a.itemsize for s in a.strides]) for a in inputs)
    return program_for(kernel, layouts, runtime).run(kernel, inputs, outputs, shape)


def launch(kernel: Kernel, inputs: Sequence[DeviceArray],
           outputs: Sequence[DeviceArray] | None = None, shape: Sequence[int] | None = None,
           runtime: Runtime | None = None) -> list:
    """Launch on device arrays through the cached single-variant program."""
    layouts = tuple(classify(a.shape, a.strides) for a in inputs)
    rt = runtime or (inputs[0].runtime if inputs else None)
    return program_for(kernel, layouts, rt).launch(kernel, inputs, outputs, shape)
