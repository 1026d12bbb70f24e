"""Statistics built on the reductions: var and std (with correction), norm and logsumexp."""
from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

import numpy as np

from .. import dtypes
from ..dispatch import Op, apply
from ..tensor import Tensor
from ._util import cast, method
from .reduce import _is_float, _keep_shape, _numel, _reduce_dims, _torch_name, _unreduce, mean

# ---------------------------------------------------------------------------------------------
# var, std

def _var_impl(x: np.ndarray, dim: tuple, keepdim: bool, correction: float) -> np.ndarray:
    if x.dtype == np.float16:
        return _var_impl(x.astype(np.float32), dim, keepdim, correction).astype(np.float16)
    n = 1
    for d in dim:
        n *= x.shape[d]
    m = np.mean(x, axis=dim, keepdims=True) if n else np.zeros(_keep_shape(x.shape, dim), x.dtype)
    dev = x - m
    ss = np.sum(dev * dev, axis=dim, keepdims=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = ss / np.asarray(builtins.max(n - correction, 0), x.dtype)
    return r.astype(x.dtype, copy=False)


def _std_impl(x: np.ndarray, dim: tuple, keepdim: bool, correction: float) -> np.ndarray:
    return np.sqrt(_var_impl(x, dim, keepdim, correction))


def _var_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    x = ins[0]
    dims = p["dim"]
    n = _numel(tuple(x._data.shape), dims)
    gk = _unreduce(g, tuple(x._data.shape), dims, p["keepdim"])
    dev = x - x.mean(dims, keepdim=True)
    d = n - p["correction"]
    return gk * (2.0 / d if d else math.inf) * dev


def _std_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return _var_vjp(g / (out * 2), ins, None, p)


var_op = Op("var", _var_impl, _var_vjp, "VarBackward0", save="i", group="library")
std_op = Op("std", _std_impl, _std_vjp, "StdBackward0", save="io", group="library")


def _var_args(name: str, input: Tensor, dim: Any, unbiased: Any, keepdim: bool,
              correction: Any) -> dict:
    if isinstance(dim, bool):  # var(x, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): pass either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if not _is_float(input):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if isinstance(correction, Tensor):
        correction = correction.item()
    dims = _reduce_dims(input, dim)
    if _numel(tuple(input._data.shape), dims) - correction <= 0:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3,
        )
    return {"dim": dims, "keepdim": bool(keepdim), "correction": correction}


@method("var")
def var(input: Tensor, dim: Any = None, unbiased: bool | None = None,  # noqa: A002
        keepdim: bool = False, *, correction: float | None = None) -> Tensor:
    """Variance with Bessel's correction by default (``unbiased``/``correction``)."""
    return apply(var_op, (input,), _var_args("var", input, dim, unbiased, keepdim, correction))


@method("std")
def std(input: Tensor, dim: Any = None, unbiased: bool | None = None,  # noqa: A002
        keepdim: bool = False, *, correction: float | None = None) -> Tensor:
    """Standard deviation with Bessel's correction by default (``unbiased``/``correction``)."""
    return apply(std_op, (input,), _var_args("std", input, dim, unbiased, keepdim, correction))


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None,  # noqa: A002
             keepdim: bool = False, *, correction: float | None = None) -> tuple:
    """(var, mean) in one call."""
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return v, mean(input, () if dim is None or isinstance(dim, bool) else dim, keepdim)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None,  # noqa: A002
             keepdim: bool = False, *, correction: float | None = None) -> tuple:
    """(std, mean) in one call."""
    s = std(input, dim, unbiased, keepdim, correction=correction)
    return s, mean(input, () if dim is None or isinstance(dim, bool) else dim, keepdim)


# ---------------------------------------------------------------------------------------------
# norm, logsumexp

def _norm_impl(x: np.ndarray, dim: tuple, keepdim: bool, ord: float) -> np.ndarray:  # noqa: A002
    if x.dtype == np.float16:
        return _norm_impl(x.astype(np.float32), dim, keepdim, ord).astype(np.float16)
    a = np.abs(x)
    if ord == math.inf:
        r = np.amax(a, axis=dim, keepdims=keepdim)
    elif ord == -math.inf:
        r = np.amin(a, axis=dim, keepdims=keepdim)
    elif ord == 0:
        r = np.sum(a != 0, axis=dim, keepdims=keepdim)
    elif ord == 1:
        r = np.sum(a, axis=dim, keepdims=keepdim)
    elif ord == 2:
        r = np.sqrt(np.sum(a * a, axis=dim, keepdims=keepdim))
    else:
        r = np.sum(a ** ord, axis=dim, keepdims=keepdim) ** (1.0 / ord)
    return np.asarray(r).astype(x.dtype, copy=False)


def _norm_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    from .elementwise import where

    x = ins[0]
    dims, keepdim, o = p["dim"], p["keepdim"], p["ord"]
    shape = tuple(x._data.shape)
    if o == 0:
        return x * 0
    gk = _unreduce(g, shape, dims, keepdim)
    nk = _unreduce(out, shape, dims, keepdim)
    if o == 1:
        return gk * x.sign()
    zn = nk == 0
    if o == 2:
        return x * where(zn, 0.0, gk / where(zn, 1.0, nk))
    if math.isinf(o):
        mask = x.abs() == nk
        cnt = mask.sum(dims, keepdim=True)
        return where(mask, x.sign() * gk / cnt, 0.0)
    ax = x.abs()
    scaled = x.sign() * ax.pow(o - 1)
    if o < 1:
        scaled = where(x == 0, 0.0, scaled)
    return scaled * where(zn, 0.0, gk / where(zn, 1.0, nk).pow(o - 1))


norm_op = Op("norm", _norm_impl, _norm_vjp, "LinalgVectorNormBackward0", save="io",
             group="library")


def _vector_norm(input: Tensor, ord: float = 2, dim: Any = None,  # noqa: A002
                keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """sum(|x|^ord)^(1/ord) over dim (inf/-inf: max/min |x|, 0: count of non-zeros)."""
    if dtype is not None:
        input = cast(input, dtypes.as_dtype(dtype))
    if not _is_float(input):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_torch_name(input.dtype)}"
        )
    dims = _reduce_dims(input, dim)
    o = float(ord)
    if o < 0 or math.isinf(o):
        shape = input._data.shape
        if input._data.size == 0 and (dim is None or not dims):
            raise RuntimeError(
                "linalg.vector_norm cannot compute the inf norm on an empty tensor because the "
                "operation does not have an identity"
            )
        for d in dims:
            if shape[d] == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the inf norm on the dimension {d}"
                    "because this dimension is empty and the operation does not have an identity"
                )
    return apply(norm_op, (input,), {"dim": dims, "keepdim": bool(keepdim), "ord": o})


@method("norm")
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,  # noqa: A002
         out: Any = None, dtype: Any = None) -> Tensor:
    """torch.norm: the vector norm of the flattened input or over dim ('fro' is the 2-norm)."""
    if isinstance(p, str):
        if p == "fro":
            if dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) > 2:
                got = " ".join(str(d) for d in dim)
                raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {got}")
            p = 2
        elif p == "nuc":
            raise NotImplementedError("tracejit.norm: the nuclear norm is not supported")
        else:
            raise RuntimeError(f"norm(): unknown p {p!r}")
    if p is None:
        p = 2
    return _vector_norm(input, p, dim, keepdim, dtype=dtype)


def _logsumexp_impl(x: np.ndarray, dim: tuple, keepdim: bool) -> np.ndarray:
    if x.dtype.kind != "f":
        x = x.astype(dtypes.get_default_dtype().np)
    if x.dtype == np.float16:
        return _logsumexp_impl(x.astype(np.float32), dim, keepdim).astype(np.float16)
    m = np.amax(x, axis=dim, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
    s = np.sum(np.exp(x - m), axis=dim, keepdims=True)
    r = np.log(s) + m
    if not keepdim:
        r = np.squeeze(r, dim)
    return r.astype(x.dtype, copy=False)


def _logsumexp_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    x = ins[0]
    shape = tuple(x._data.shape)
    gk = _unreduce(g, shape, p["dim"], p["keepdim"])
    return gk * (x - _unreduce(out, shape, p["dim"], p["keepdim"])).exp()


logsumexp_op = Op("logsumexp", _logsumexp_impl, _logsumexp_vjp, "LogsumexpBackward0",
                  save="io", group="library")


@method("logsumexp")
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:  # noqa: A002
    """log(sum(exp(x))) over dim, computed without overflow."""
    if dim is None:
        raise TypeError("logsumexp(): argument 'dim' must be tuple of ints, not NoneType")
    return apply(logsumexp_op, (input,), {"dim": _reduce_dims(input, dim),
                                          "keepdim": bool(keepdim)})


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
