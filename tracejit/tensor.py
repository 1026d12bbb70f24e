"""The Tensor: numpy storage, a shared version counter, and its place on the tape.

Ops are not defined here: each op module attaches its methods, so an op lives in one place.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import dtypes
from .autograd import grad_mode
from .autograd.node import AccumulateGrad
from .device import cpu as _cpu
from .device import device as _device

_BY_NP = dtypes._BY_NP
# set by the tracer while a jit traces: it must see every .grad write to replay it
grad_write_hook: list[Any] = [None]


class Size(tuple):
    """PyTorch's torch.Size: a tuple that prints its type."""

    def __repr__(self) -> str:
        return f"tracejit.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class Tensor:
    """A strided n-d array on a device, optionally on the autograd tape."""

    __slots__ = ("_data", "_rg", "_vc", "__weakref__", "__dict__")
    # Rarely set attributes live in the instance dict only once set: a fresh tensor costs
    # three slot writes, which keeps per-op overhead near PyTorch's.
    _grad: Tensor | None = None
    grad_fn: Any = None
    _output_nr = 0
    _base: Tensor | None = None
    _accum: AccumulateGrad | None = None
    _retains_grad = False
    _leaf_hooks: list | None = None
    _wrapped = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("use tracejit.tensor(...) or the creation functions to make a Tensor")

    @classmethod
    def _make(cls, data: Any, rg: bool = False) -> Tensor:
        """The one fast constructor: every op output comes through here."""
        t = object.__new__(cls)
        t._data = data
        t._rg = rg
        t._vc = [0]
        return t

    # ---- metadata -------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Size | int:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> dtypes.dtype:
        return _BY_NP[self._data.dtype]

    @property
    def device(self) -> _device:
        d = self._data
        if type(d) is np.ndarray:
            return _cpu
        return getattr(d, "device", _cpu)  # CudaArray: cuda:0; a traced Var: cpu

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        item = self._data.dtype.itemsize
        st = tuple(s // item for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim)]

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def grad(self) -> Tensor | None:
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if tuple(value._data.shape) != tuple(self._data.shape):
                raise RuntimeError("assigned grad has data of a different size")
        hook = grad_write_hook[0]
        if hook is not None:
            hook(self)
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self.grad_fn is not None:
            if not flag:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach()."
                )
            return
        if flag and self._data.dtype.kind != "f":
            raise RuntimeError(
                "only Tensors of floating point dtype can require gradients "
                f"(got {self.dtype})"
            )
        self._rg = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> Tensor:
        """A tensor sharing storage but not history (and, like PyTorch, not the version)."""
        t = Tensor._make(self._data)
        return t

    @data.setter
    def data(self, other: Tensor) -> None:
        self._data = other._data

    # ---- conversion -----------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._rg and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if type(self._data) is not np.ndarray:
            _check_host(self._data)
            return np.asarray(self._data)  # a traced value: raises TraceError
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self._data
        _check_host(a)
        return a if dtype is None else a.astype(dtype)

    def item(self) -> int | float | bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        d = self._data
        return d.item() if type(d) is not np.ndarray else d.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size > 1 else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Any:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from ._format import tensor_str

        suffixes = []
        d = self.dtype
        empty = self._data.size == 0
        if (d is not dtypes.get_default_dtype() and empty) or \
                d not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_):
            suffixes.append(f"dtype={d!r}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._rg:
            suffixes.append("requires_grad=True")
        data = self._data
        if type(data) is not np.ndarray and hasattr(data, "numpy"):  # cuda: print a host copy
            suffixes.insert(0, f"device='{data.device}'")
            data = data.numpy()
        return tensor_str(data, suffixes)

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy with its own storage, keeping requires_grad (leaves only, like PyTorch)."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        d = self._data
        t = type(self)._make(d.copy() if type(d) is not np.ndarray else np.array(d, copy=True),
                             self._rg)
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, proto: int) -> Any:
        raise TypeError("tracejit tensors are not pickled; use tracejit.save")

    # ---- autograd -------------------------------------------------------------------------
    def _accumulator(self) -> AccumulateGrad:
        acc = self._accum
        if acc is None:
            acc = self._accum = AccumulateGrad(self)
        return acc

    def detach(self) -> Tensor:
        t = Tensor._make(self._data)
        t._vc = self._vc
        t._base = self._base
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._rg = False
        self._output_nr = 0
        return self

    def retain_grad(self) -> None:
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        ref = _WeakSelf(self)

        def hook(grad: Tensor) -> None:
            t = ref()
            if t is None:
                return
            if t.grad is None:
                t.grad = grad.detach() if not grad_mode.is_grad_enabled() else grad
            else:
                t.grad = t.grad + grad

        hook._retains_grad = True  # type: ignore[attr-defined]
        self.grad_fn._add_tensor_hook(self._output_nr, hook)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> _Handle:
        """hook(grad) runs when this tensor's gradient is computed; may return a new one."""
        if not self._rg:
            raise RuntimeError(
                "cannot register a hook on a tensor that doesn't require gradient"
            )
        if self.grad_fn is None:
            if self._leaf_hooks is None:
                self._leaf_hooks = []
            self._leaf_hooks.append(hook)
            return _Handle(self._leaf_hooks, hook)
        self.grad_fn._add_tensor_hook(self._output_nr, hook)
        return _Handle(self.grad_fn._tensor_hooks[self._output_nr], hook)


class _WeakSelf:
    __slots__ = ("ref",)

    def __init__(self, t: Tensor) -> None:
        import weakref

        self.ref = weakref.ref(t)

    def __call__(self) -> Tensor | None:
        return self.ref()


class _Handle:
    """Returned by register_hook; ``remove()`` unregisters."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _check_host(a: Any) -> None:
    if type(a) is np.ndarray or getattr(a, "traced", False):  # a Var raises TraceError itself
        return
    if getattr(a, "device", None) is not None:
        raise TypeError(f"can't convert {a.device} device type tensor to numpy. Use "
                        "Tensor.cpu() to copy the tensor to host memory first.")


def _wrap_dim(dim: int, ndim: int) -> int:
    """Normalise a possibly negative dim, raising PyTorch's IndexError when out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n
