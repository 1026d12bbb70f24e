"""Tensor creation and random numbers (tracejit's own generator, not PyTorch's stream)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..device import as_device
from ..tensor import Tensor
from ._util import method, size_args


def _finish(a: np.ndarray, requires_grad: bool, device: Any = None) -> Tensor:
    if device is not None and as_device(device).type == "cuda":
        from ..cuda.array import CudaArray

        a = CudaArray.from_numpy(a)
    t = Tensor._make(a)
    if requires_grad:
        t.requires_grad = True
    return t


def _infer_dtype(data: Any) -> dtypes.dtype:
    """PyTorch's inference for nested data: Python floats are the default float, ints int64,
    bools bool; numpy scalars/arrays and tensors keep their dtype; the result promotes all."""
    kinds = set()

    def walk(x: Any) -> None:
        if isinstance(x, Tensor):
            kinds.add(x.dtype)
        elif isinstance(x, (np.ndarray, np.generic)):
            kinds.add(dtypes.from_numpy_dtype(x.dtype))
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif isinstance(x, bool):
            kinds.add(dtypes.bool_)
        elif isinstance(x, int):
            kinds.add(dtypes.int64)
        elif isinstance(x, float):
            kinds.add(dtypes.get_default_dtype())
        else:
            raise TypeError(f"Could not infer dtype of {type(x).__name__}")

    walk(data)
    res = None
    for k in kinds:
        res = k if res is None else dtypes.promote_types(res, k)
    return res if res is not None else dtypes.get_default_dtype()


def _to_numpy(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_to_numpy(x) for x in data]
    return data


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Copy data (nested lists, numbers, numpy arrays, tensors) into a new leaf tensor."""
    if isinstance(data, Tensor):
        a = np.array(data._data, copy=True)
        dt = data.dtype if dtype is None else dtypes.as_dtype(dtype)
    elif isinstance(data, np.ndarray):
        dt = dtypes.from_numpy_dtype(data.dtype) if dtype is None else dtypes.as_dtype(dtype)
        a = np.array(data, copy=True)
    else:
        dt = _infer_dtype(data) if dtype is None else dtypes.as_dtype(dtype)
        try:
            a = np.array(_to_numpy(data))
        except ValueError as e:
            raise ValueError(f"expected sequence of equal-length lists: {e}") from None
    a = a.astype(dt.np, order="C", copy=False)  # ascontiguousarray would make 0-d 1-d
    return _finish(a, requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like tensor(), but shares memory with a numpy array or tensor when the dtype matches."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtypes.as_dtype(dtype))
    if isinstance(data, np.ndarray):
        dt = dtypes.from_numpy_dtype(data.dtype) if dtype is None else dtypes.as_dtype(dtype)
        return _finish(data.astype(dt.np, copy=False), False, device)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing a's memory (writes show through both ways)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    dtypes.from_numpy_dtype(a.dtype)
    return Tensor._make(a)


def _dt(dtype: Any, default: dtypes.dtype | None = None) -> dtypes.dtype:
    if dtype is None:
        return default or dtypes.get_default_dtype()
    return dtypes.as_dtype(dtype)


def _filled(fill: Any, size: Sequence[Any], dtype: Any, requires_grad: bool,
            device: Any) -> Tensor:
    shape = size_args(size)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    return _finish(np.full(shape, fill, dtype=_dt(dtype).np), requires_grad, device)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          out: Any = None) -> Tensor:
    return _filled(0, size, dtype, requires_grad, device)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         out: Any = None) -> Tensor:
    return _filled(1, size, dtype, requires_grad, device)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          memory_format: Any = None) -> Tensor:
    shape = size_args(size)
    return _finish(np.empty(shape, dtype=_dt(dtype).np), requires_grad, device)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value)
    return _filled(fill_value, (tuple(size),), dtype, requires_grad, device)


def _like_device(t: Tensor, device: Any) -> Any:
    """``*_like`` keeps the input's device unless told otherwise (like PyTorch)."""
    return device if device is not None else t.device


def _like(t: Tensor, dtype: Any) -> tuple[tuple[int, ...], dtypes.dtype]:
    return tuple(t.shape), t.dtype if dtype is None else dtypes.as_dtype(dtype)


def zeros_like(input: Tensor, dtype: Any = None, device: Any = None,  # noqa: A002
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype)
    return _finish(np.zeros(shape, dt.np), requires_grad, _like_device(input, device))


def ones_like(input: Tensor, dtype: Any = None, device: Any = None,  # noqa: A002
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype)
    return _finish(np.ones(shape, dt.np), requires_grad, _like_device(input, device))


def empty_like(input: Tensor, dtype: Any = None, device: Any = None,  # noqa: A002
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype)
    return _finish(np.empty(shape, dt.np), requires_grad, _like_device(input, device))


def full_like(input: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,  # noqa: A002
              requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype)
    return _finish(np.full(shape, fill_value, dt.np), requires_grad, _like_device(input, device))


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Integers when all bounds are ints (int64), else the default float dtype."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, int) for v in vals) else None
    dt = _dt(dtype)
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = int(np.ceil((vals[1] - vals[0]) / vals[2]))
    a = (vals[0] + np.arange(max(n, 0), dtype=np.float64) * vals[2])
    if dt._cat < 2:
        a = np.arange(vals[0], vals[1], vals[2])
    return _finish(a.astype(dt.np), requires_grad, device)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    a = np.linspace(float(start), float(end), int(steps))
    return _finish(a.astype(_dt(dtype).np), requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_dt(dtype).np), requires_grad, device)


# ---- random ---------------------------------------------------------------------------------

class Generator:
    """A seeded random stream (numpy's PCG64); its numbers differ from PyTorch's."""

    def __init__(self, device: Any = "cpu") -> None:
        self._seed = 67280421310721
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def _rng(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator)._rng


def rand(*size: Any, generator: Generator | None = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    dt = _dt(dtype)
    a = _rng(generator).random(size_args(size), dtype=np.float64).astype(dt.np)
    return _finish(a, requires_grad, device)


def randn(*size: Any, generator: Generator | None = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    dt = _dt(dtype)
    a = _rng(generator).standard_normal(size_args(size)).astype(dt.np)
    return _finish(a, requires_grad, device)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), *,
            generator: Generator | None = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    if high is None:
        low, high = 0, low
    elif isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    a = _rng(generator).integers(low, high, size=tuple(size))
    return _finish(a.astype(_dt(dtype, dtypes.int64).np), requires_grad, device)


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    a = _rng(generator).permutation(n)
    return _finish(a.astype(_dt(dtype, dtypes.int64).np), requires_grad, device)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Sequence[int] | None = None, *,
           generator: Generator | None = None, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """normal(mean, std, size) with numbers, or elementwise with tensor mean/std."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = tuple(size) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    if isinstance(mean, Tensor):
        dt = mean.dtype
    elif isinstance(std, Tensor):
        dt = std.dtype
    else:
        dt = _dt(dtype)
    a = (_rng(generator).standard_normal(shape) * s + m).astype(dt.np)
    return _finish(a, requires_grad, device)


def rand_like(input: Tensor, dtype: Any = None, **kw: Any) -> Tensor:  # noqa: A002
    return rand(*input.shape, dtype=dtype or input.dtype, **kw)


def randn_like(input: Tensor, dtype: Any = None, **kw: Any) -> Tensor:  # noqa: A002
    return randn(*input.shape, dtype=dtype or input.dtype, **kw)


def randint_like(input: Tensor, low: int, high: int | None = None, dtype: Any = None,  # noqa: A002
                 **kw: Any) -> Tensor:
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, **kw)


# ---- in-place random fills (nn.init, dropout) -------------------------------------------------

def _fill_random(self: Tensor, a: np.ndarray) -> Tensor:
    from ..autograd.grad_mode import is_grad_enabled
    from ..dispatch import check_inplace_allowed

    if is_grad_enabled():
        check_inplace_allowed(self)
    self._data[...] = a.astype(self._data.dtype, copy=False)
    self._vc[0] += 1
    return self


@method("uniform_")
def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *,
             generator: Generator | None = None) -> Tensor:
    return _fill_random(self, _rng(generator).uniform(a, b, self._data.shape))


@method("normal_")
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: Generator | None = None) -> Tensor:
    return _fill_random(self, _rng(generator).normal(mean, std, self._data.shape))


@method("bernoulli_")
def bernoulli_(self: Tensor, p: float = 0.5, *, generator: Generator | None = None) -> Tensor:
    return _fill_random(self, _rng(generator).random(self._data.shape) < p)


@method("random_")
def random_(self: Tensor, low: int = 0, high: int | None = None, *,
            generator: Generator | None = None) -> Tensor:
    if high is None:
        low, high = 0, low if low else 2**24
    return _fill_random(self, _rng(generator).integers(low, high, self._data.shape))


@method("new_zeros")
def new_zeros(self: Tensor, *size: Any, dtype: Any = None, **kw: Any) -> Tensor:
    return zeros(*size, dtype=dtype or self.dtype, **kw)


@method("new_ones")
def new_ones(self: Tensor, *size: Any, dtype: Any = None, **kw: Any) -> Tensor:
    return ones(*size, dtype=dtype or self.dtype, **kw)


@method("new_full")
def new_full(self: Tensor, size: Sequence[int], fill_value: Any, dtype: Any = None,
             **kw: Any) -> Tensor:
    return full(size, fill_value, dtype=dtype or self.dtype, **kw)


@method("new_empty")
def new_empty(self: Tensor, *size: Any, dtype: Any = None, **kw: Any) -> Tensor:
    return empty(*size, dtype=dtype or self.dtype, **kw)


@method("new_tensor")
def new_tensor(self: Tensor, data: Any, dtype: Any = None, **kw: Any) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, **kw)


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
