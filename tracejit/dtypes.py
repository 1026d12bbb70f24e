"""dtypes and PyTorch's type-promotion rules (numpy's differ for int/float mixes)."""
from __future__ import annotations

import numpy as np


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type; wraps the numpy dtype that stores it."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_cat")

    def __init__(self, name: str, np_dtype: type, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "fi"
        self._cat = category  # 0 bool, 1 integer, 2 floating

    def __repr__(self) -> str:
        return f"tracejit.{self.name}"

    def __reduce__(self) -> str:
        return self.name

    def to_real(self) -> dtype:
        return self

    @property
    def scalar_name(self) -> str:
        """PyTorch's ScalarType name, used in its messages: Float, Long, Bool, ..."""
        return _SCALAR_NAMES[self.name]


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

_SCALAR_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                 "int32": "Int", "int64": "Long", "float16": "Half", "float32": "Float",
                 "float64": "Double"}

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
FLOATS = (float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(
    {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
     "short": int16, "bool_": bool_}
)

_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Only float32 and float64 may be the default, as in PyTorch."""
    global _default_float
    if d not in (float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def from_numpy_dtype(npd: np.dtype) -> dtype:
    try:
        return _BY_NP[npd]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {npd}. The only supported types are: "
                        "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.")\
            from None


def as_dtype(d: object) -> dtype:
    """Accept a tracejit dtype, a numpy dtype/type, a name or a Python type."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default_float
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        if d in _BY_NAME:
            return _BY_NAME[d]
        raise TypeError(f"unknown dtype {d!r}")
    return from_numpy_dtype(np.dtype(d))


def _promote2(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a._cat != b._cat:
        return a if a._cat > b._cat else b
    return _BY_NP[np.promote_types(a.np, b.np)]


_PROMOTE = {(a, b): _promote2(a, b) for a in ALL for b in ALL}


def promote_types(a: dtype, b: dtype) -> dtype:
    return _PROMOTE[(a, b)]


def scalar_dtype(v: object) -> dtype:
    """The dtype a Python number would have as a tensor of its own."""
    if isinstance(v, bool):
        return bool_
    if isinstance(v, int):
        return int64
    return _default_float


def result_type(dims: list[dtype], zero_dims: list[dtype], scalars: list[dtype]) -> dtype:
    """PyTorch's three-tier rule: sized tensors, then 0-d tensors, then Python scalars.

    A lower tier only matters when it is of a higher category (bool < int < float); a Python
    scalar of a higher category lifts the result to that category's default dtype.
    """
    res = None
    for tier in (dims, zero_dims):
        t = None
        for d in tier:
            t = d if t is None else _PROMOTE[(t, d)]
        if t is not None and (res is None or t._cat > res._cat):
            res = t
    if scalars:
        cat = max(d._cat for d in scalars)
        if res is None:
            t = scalars[0]
            for d in scalars[1:]:
                t = _PROMOTE[(t, d)]
            res = t
        elif cat > res._cat:
            res = _default_float if cat == 2 else (int64 if cat == 1 else bool_)
    return res
