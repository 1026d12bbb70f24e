"""Copies and conversions: clone, contiguous, to(dtype/device), float()/long()/..."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..device import as_device
from ..dispatch import Op, apply, apply_inplace
from ..tensor import Tensor
from ._util import cast, method

clone_op = Op("clone", lambda x: np.array(x, copy=True), lambda g, i, o, p: g,
              "CloneBackward0", group="copy")


# clone keeps a dense layout (a transposed tensor stays transposed, as in PyTorch);
# contiguous always produces row-major storage
contiguous_op = Op("contiguous", lambda x: np.array(x, order="C", copy=True),
                   lambda g, i, o, p: g, "CloneBackward0", group="copy")


@method("clone")
def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:  # noqa: A002
    return apply(clone_op, (input,))


@method("contiguous")
def contiguous(input: Tensor, memory_format: Any = None) -> Tensor:  # noqa: A002
    """self when already C-contiguous, else a contiguous copy (CloneBackward0)."""
    if input._data.flags.c_contiguous:
        return input
    return apply(contiguous_op, (input,))


@method("to")
def to(self: Tensor, *args: Any, dtype: Any = None, device: Any = None,
       non_blocking: bool = False, copy: bool = False, memory_format: Any = None) -> Tensor:
    """to(dtype), to(device), to(device, dtype), to(other_tensor)."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, dtypes.dtype) or (isinstance(a, type) and a in (float, int, bool)):
            dtype = a
        elif a is not None:
            device = a
    if device is not None and as_device(device).type != self.device.type:
        self = _move(self, as_device(device).type)
        copy = False
    if dtype is None:
        return clone(self) if copy else self
    dt = dtypes.as_dtype(dtype)
    if dt is self.dtype and not copy:
        return self
    return cast(self, dt) if dt is not self.dtype else clone(self)


def _conv(dt: dtypes.dtype) -> Any:
    def f(self: Tensor, memory_format: Any = None) -> Tensor:
        return cast(self, dt)

    f.__name__ = dt.name
    return f


for _name, _dt in (("float", dtypes.float32), ("double", dtypes.float64),
                   ("half", dtypes.float16), ("long", dtypes.int64), ("int", dtypes.int32),
                   ("short", dtypes.int16), ("char", dtypes.int8), ("byte", dtypes.uint8),
                   ("bool", dtypes.bool_)):
    method(_name)(_conv(_dt))


@method("type_as")
def type_as(self: Tensor, other: Tensor) -> Tensor:
    return cast(self, other.dtype)


def _to_device_impl(x: Any, device: str) -> Any:
    """Copy between host (numpy) and device (CudaArray) memory."""
    from ..cuda.array import CudaArray

    if device == "cuda":
        return x if type(x) is CudaArray else CudaArray.from_numpy(x)
    return x.numpy() if type(x) is CudaArray else np.array(x, copy=True)


def _to_device_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return _move(g, ins[0].device.type)  # ToCopyBackward0: the gradient goes back


to_device_op = Op("to_device", _to_device_impl, _to_device_vjp, "ToCopyBackward0",
                  group="device")


def _move(x: Tensor, device: str) -> Tensor:
    return apply(to_device_op, (x,), {"device": device})


@method("cpu")
def cpu(self: Tensor, memory_format: Any = None) -> Tensor:
    return _move(self, "cpu") if self.device.type == "cuda" else self


@method("cuda")
def cuda(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    as_device("cuda" if device is None else device)
    return self if self.device.type == "cuda" else _move(self, "cuda")


def _fill_impl(x: np.ndarray, value: Any) -> np.ndarray:
    return np.full(x.shape, value, dtype=x.dtype)


fill_op = Op("fill", _fill_impl, lambda g, i, o, p: g * 0, "FillBackward2", group="unary")
zero_op = Op("fill", _fill_impl, lambda g, i, o, p: g * 0, "ZeroBackward0", group="unary")


@method("fill_")
def fill_(self: Tensor, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        value = value.item()
    return apply_inplace(fill_op, self, (), {"value": value})


@method("zero_")
def zero_(self: Tensor) -> Tensor:
    return apply_inplace(zero_op, self, (), {"value": 0})


def _copy_impl(x: np.ndarray, src: np.ndarray) -> np.ndarray:
    return np.broadcast_to(src, x.shape).astype(x.dtype)


def _copy_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    from ._util import grad_for

    x, src = ins
    return (g * 0 if x._rg else None, grad_for(g, src) if src._rg else None)


copy_op = Op("copy", _copy_impl, _copy_vjp, "CopyBackwards", save="i", group="cast")


@method("copy_")
def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    if not isinstance(src, Tensor):
        from .creation import tensor

        src = tensor(src)
    try:
        if np.broadcast_shapes(src._data.shape, self._data.shape) != self._data.shape:
            raise ValueError
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({self.shape[-1] if self.ndim else 1}) must match the size of "
            f"tensor b ({src.shape[-1] if src.ndim else 1}): copy_ of shape {list(src.shape)} "
            f"into {list(self.shape)}"
        ) from None
    return apply_inplace(copy_op, self, (src,))


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
