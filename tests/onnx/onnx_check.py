"""Shared checks for the ONNX tests: export, run with onnxruntime (the independent reference),
load back into tracejit, compare with tracejit's eager result at several dynamic sizes.

Test modules import this after ``pytest.importorskip("onnx.checker")`` and
``("onnxruntime")``, so the suite skips cleanly without the optional packages
(``pip install -e '.[onnx]'``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort

import tracejit
import tracejit.onnx as tox


def flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [out]


def session(model: Any) -> Any:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def compare(got: np.ndarray, want: np.ndarray, rtol: float, atol: float, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def check_export(fn: Callable, make: Callable[[int], list], dyn: dict[int, list[int]] | None = None,
                 sizes: tuple[int, ...] = (3, 5), example: int = 2, rtol: float = 1e-4,
                 atol: float = 1e-5, opset: int | None = None, reload: bool = True) -> Any:
    """Export ``fn`` traced on ``make(example)`` with the dims in ``dyn`` (input index ->
    dims, default: dim 0 of every input) dynamic, then for each size in ``sizes`` compare
    onnxruntime on the file, and tracejit's loader on it, with tracejit's eager result."""
    args = make(example)
    names = [f"in{i}" for i in range(len(args))]
    if dyn is None:
        dyn = {i: [0] for i, a in enumerate(args) if np.ndim(a) > 0}
    axes = {names[i]: {d: f"dim{d}" for d in dims} for i, dims in dyn.items()}
    model = tox.export(fn, tuple(tracejit.tensor(a) for a in args), None, input_names=names,
                       dynamic_axes=axes or None, opset_version=opset)
    sess = session(model)
    loaded = tox.load(model) if reload else None
    for size in sizes if axes else (example,):
        args = make(size)
        with tracejit.no_grad(), np.errstate(all="ignore"):
            want = [t.numpy() for t in flat(fn(*[tracejit.tensor(a) for a in args]))]
        got = sess.run(None, dict(zip(names, args)))
        for k, (g, w) in enumerate(zip(got, want)):
            compare(g, w, rtol, atol, f"onnxruntime output {k} at size {size}")
        if loaded is not None:
            with tracejit.no_grad():
                back = loaded(*args)
            for k, (g, w) in enumerate(zip(back, want)):
                compare(g.numpy(), w, rtol, atol, f"reloaded output {k} at size {size}")
    return model
