"""Shared by export and load: the error types, dtype tables and the optional import of onnx."""
from __future__ import annotations

from typing import Any

import numpy as np


class OnnxExportError(RuntimeError):
    """Export cannot represent what was traced (an op, a baked size, a side effect)."""


class OnnxLoadError(RuntimeError):
    """A model file that is malformed, hostile or uses something tracejit does not support."""


def require_onnx() -> Any:
    """The ``onnx`` module, or an error that says how to get it (it is an optional extra)."""
    try:
        import onnx
        import onnx.checker  # (a stray folder named onnx would import as an empty package)
    except ImportError as e:  # pragma: no cover - the tests skip without onnx
        raise ImportError(
            "tracejit.onnx needs the 'onnx' package: pip install 'tracejit[onnx]' "
            "(or pip install onnx onnxruntime)"
        ) from e
    return onnx


# numpy dtype name <-> ONNX TensorProto.DataType number, for the dtypes tracejit has
NP_TO_ONNX: dict[str, int] = {
    "float32": 1, "uint8": 2, "int8": 3, "int16": 5, "int32": 6, "int64": 7, "bool": 9,
    "float16": 10, "float64": 11,
}
ONNX_TO_NP: dict[int, str] = {v: k for k, v in NP_TO_ONNX.items()}


def onnx_dtype(dt: Any) -> int:
    """The TensorProto data type of a numpy dtype (tracejit's dtypes only)."""
    name = np.dtype(dt).name
    if name not in NP_TO_ONNX:
        raise OnnxExportError(f"dtype {name} has no ONNX counterpart tracejit can export")
    return NP_TO_ONNX[name]


def np_dtype(code: int, what: str = "a tensor") -> np.dtype:
    """The numpy dtype of a TensorProto data type, or a load error naming the unsupported one."""
    name = ONNX_TO_NP.get(int(code))
    if name is None:
        try:
            import onnx

            label = onnx.TensorProto.DataType.Name(int(code))
        except Exception:  # noqa: BLE001 - an unknown code in a hostile file
            label = str(code)
        raise OnnxLoadError(f"{what} has ONNX element type {label}, which tracejit does not "
                            "support (it has float16/32/64, int8/16/32/64, uint8 and bool)")
    return np.dtype(name)


INT64_MAX = 2 ** 63 - 1
INT64_MIN = -(2 ** 63)
