"""Matrix products on numpy's BLAS: matmul (and ``@``), mm, mv, bmm, dot, outer, addmm.

matmul follows PyTorch's rules for 1-D/2-D/N-D operands (batch dims broadcast) and names its
node as PyTorch does for each case (DotBackward0, MmBackward0, MvBackward0, ...); the JIT
sees every one of these ops in the "matmul" group.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..dispatch import Op, apply
from ..kernels.blas import matmul as _blas_matmul
from ..tensor import Tensor
from ._util import bcast_error, grad_for, method, sum_to
from .shape import _expand_shape, _type_name, reshape, unsqueeze

_CTYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
          "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
          "bool": "bool"}


def _matmul_impl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _blas_matmul(a, b)


def _t(x: Tensor) -> Tensor:
    from .shape import transpose

    return transpose(x, -2, -1)


# ---------------------------------------------------------------------------------------------
# the 2-D/1-D kernels with their own nodes


def _mm_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    a, b = ins
    return (apply(mm_op, (g, _t(b))) if a._rg else None,
            apply(mm_op, (_t(a), g)) if b._rg else None)


def _mv_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    a, v = ins
    return (apply(mm_op, (unsqueeze(g, 1), unsqueeze(v, 0))) if a._rg else None,
            apply(mv_op, (_t(a), g)) if v._rg else None)


def _dot_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    a, b = ins
    return (g * b if a._rg else None, g * a if b._rg else None)


def _bmm_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    a, b = ins
    return (apply(bmm_op, (g, _t(b))) if a._rg else None,
            apply(bmm_op, (_t(a), g)) if b._rg else None)


mm_op = Op("mm", _matmul_impl, _mm_vjp, "MmBackward0", group="matmul")
mv_op = Op("mv", _matmul_impl, _mv_vjp, "MvBackward0", group="matmul")
dot_op = Op("dot", _matmul_impl, _dot_vjp, "DotBackward0", group="matmul")
bmm_op = Op("bmm", _matmul_impl, _bmm_vjp, "BmmBackward0", group="matmul")


# ---------------------------------------------------------------------------------------------
# general matmul (1-D with 2-D, and N-D with broadcast batch dims)


def _matmul_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    a, b = ins
    an, bn = a._data.ndim, b._data.ndim
    a2 = unsqueeze(a, 0) if an == 1 else a
    b2 = unsqueeze(b, -1) if bn == 1 else b
    g2 = g
    if an == 1:
        g2 = unsqueeze(g2, -2)
    if bn == 1:
        g2 = unsqueeze(g2, -1)
    ga = gb = None
    if a._rg:
        ga = sum_to(matmul(g2, _t(b2)), a2._data.shape)
        if an == 1:
            ga = reshape(ga, a._data.shape)
    if b._rg:
        if b2._data.ndim == 2 and a2._data.ndim > 2:
            # fold the batch into the rows: one matrix product instead of a batch and a sum
            k, m = b2._data.shape
            gb = apply(mm_op, (_t(reshape(a2, -1, k)), reshape(g2, -1, m)))
        else:
            gb = sum_to(matmul(_t(a2), g2), b2._data.shape)
        if bn == 1:
            gb = reshape(gb, b._data.shape)
    return ga, gb


_matmul_ops = {n: Op("matmul", _matmul_impl, _matmul_vjp, n, group="matmul")
               for n in ("SqueezeBackward4", "UnsafeViewBackward0", "CloneBackward0")}


def _ctype(t: Tensor) -> str:
    return _CTYPE[t._data.dtype.name]


def _check_bool(t: Tensor) -> None:
    if t._data.dtype.kind == "b":
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")


def _m1m2_dtype(a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_ctype(a)} != {_ctype(b)}"
        )


def _addmv_dtype(mat: Tensor, vec: Tensor) -> None:
    if mat._data.dtype != vec._data.dtype:
        raise RuntimeError(
            "addmv input tensors must have the same dtype, but got "
            f"{_type_name(vec)}, {_type_name(mat)}, and {_type_name(vec)}"
        )


def _mm_shapes(r1: int, c1: int, r2: int, c2: int) -> None:
    if c1 != r2:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({r1}x{c1} and {r2}x{c2})"
        )


def _mv_shapes(rows: int, k: int, n: int) -> None:
    if k != n:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{k}), vec ({n})")


def matmul(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Matrix product with PyTorch's rules: dot, mv, mm, or batched with broadcast batch dims."""
    a, b = input, other
    if not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(b).__name__}")
    an, bn = a._data.ndim, b._data.ndim
    if an == 0 or bn == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {an}D and {bn}D"
        )
    if an == 1 and bn == 1:
        return dot(a, b)
    if an == 2 and bn == 2:
        return mm(a, b)
    if an == 2 and bn == 1:
        return mv(a, b)
    _check_bool(a)
    ash, bsh = a._data.shape, b._data.shape
    if an == 1 and bn == 2:
        _m1m2_dtype(a, b)
        _mm_shapes(1, ash[0], *bsh)
        return apply(_matmul_ops["SqueezeBackward4"], (a, b))
    name = "UnsafeViewBackward0"
    ka = ash[-1]
    kb = bsh[-2] if bn >= 2 else bsh[0]
    if an >= 3 and bn == 1:
        _addmv_dtype(a, b)
        _mv_shapes(math.prod(ash[:-1]), ka, kb)
    elif an == 1:
        _addmv_dtype(b, a)
        rows = math.prod(bsh[:-2]) * bsh[-1]
        _mv_shapes(rows, kb, ka)
    elif bn == 2:
        _m1m2_dtype(a, b)
        _mm_shapes(math.prod(ash[:-1]), ka, *bsh)
    elif an == 2:
        _m1m2_dtype(b, a)
        _mm_shapes(math.prod(bsh[:-2]) * bsh[-1], kb, ash[1], ash[0])
        if a._rg:
            name = "CloneBackward0"
    else:
        if a._data.dtype != b._data.dtype:
            raise RuntimeError(
                f"expected scalar type {_type_name(a)} but found {_type_name(b)}"
            )
        try:
            batch = np.broadcast_shapes(ash[:-2], bsh[:-2])
        except ValueError:
            raise bcast_error(ash[:-2], bsh[:-2]) from None
        if ka != kb:
            n = math.prod(batch)
            raise RuntimeError(
                f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {ka}] but "
                f"got: [{n}, {kb}]."
            )
        if an == 3 and bn == 3 and ash[0] == 1 and bsh[0] != 1 and a._rg:
            name = "CloneBackward0"
    return apply(_matmul_ops[name], (a, b))


method("matmul")(matmul)
Tensor.__matmul__ = matmul  # type: ignore[attr-defined]
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)  # type: ignore[attr-defined]


@method("mm")
def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Product of two matrices."""
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _check_bool(input)
    _mm_shapes(*input._data.shape, *mat2._data.shape)
    _m1m2_dtype(input, mat2)
    return apply(mm_op, (input, mat2))


@method("mv")
def mv(input: Tensor, vec: Tensor) -> Tensor:  # noqa: A002
    """Matrix-vector product."""
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got 1, {input._data.ndim}, {vec._data.ndim}"
        )
    _check_bool(input)
    _mv_shapes(*input._data.shape, vec._data.shape[0])
    _addmv_dtype(input, vec)
    return apply(mv_op, (input, vec))


@method("bmm")
def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """Batched matrix product of two 3-D tensors (no broadcasting)."""
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _check_bool(input)
    (n, _, k), (n2, k2, _) = input._data.shape, mat2._data.shape
    if (n, k) != (n2, k2):
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {k}] but got: "
            f"[{n2}, {k2}]."
        )
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError(
            f"expected scalar type {_type_name(input)} but found {_type_name(mat2)}"
        )
    return apply(bmm_op, (input, mat2))


@method("dot")
def dot(input: Tensor, tensor: Tensor) -> Tensor:  # noqa: A002
    """Inner product of two 1-D tensors (a 0-d result)."""
    an, bn = input._data.ndim, tensor._data.ndim
    if an != 1 or bn != 1:
        raise RuntimeError(f"1D tensors expected, but got {an}D and {bn}D tensors")
    if input._data.dtype != tensor._data.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{_type_name(input)} and {_type_name(tensor)}"
        )
    n, m = input._data.shape[0], tensor._data.shape[0]
    if n != m:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same "
            f"number of elements, but got {n} and {m} elements respectively"
        )
    return apply(dot_op, (input, tensor))


@method("outer", "ger")
def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """Outer product of two vectors (a broadcast multiply, MulBackward0 as in PyTorch)."""
    if input._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input._data.ndim}-D")
    if vec2._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2._data.ndim}-D")
    return reshape(input, -1, 1) * vec2


ger = outer


def _addmm_impl(m1: np.ndarray, m2: np.ndarray, x: np.ndarray, beta: Any,
                alpha: Any) -> np.ndarray:
    r = _blas_matmul(m1, m2)
    if alpha != 1:
        r = r * np.asarray(alpha, dtype=r.dtype)
    if beta == 0:
        return r
    return r + (x if beta == 1 else x * np.asarray(beta, dtype=x.dtype))


def _addmm_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    m1, m2, x = ins
    alpha, beta = p["alpha"], p["beta"]
    gx = gm1 = gm2 = None
    if x._rg:
        gx = grad_for(g if beta == 1 else g * beta, x)
    if m1._rg:
        gm1 = apply(mm_op, (g, _t(m2)))
        gm1 = gm1 if alpha == 1 else gm1 * alpha
    if m2._rg:
        gm2 = apply(mm_op, (_t(m1), g))
        gm2 = gm2 if alpha == 1 else gm2 * alpha
    return gm1, gm2, gx


# the matrices come first: the tracer's shape inference treats inputs 0 and 1 of a "matmul"
# op as the product's operands
addmm_op = Op("addmm", _addmm_impl, _addmm_vjp, "AddmmBackward0", group="matmul")


@method("addmm")
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1,  # noqa: A002
          alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape."""
    if mat1._data.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1._data.ndim}-D tensor")
    if mat2._data.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2._data.ndim}-D tensor")
    _check_bool(mat1)
    (r, k), (k2, c) = mat1._data.shape, mat2._data.shape
    _mm_shapes(r, k, k2, c)
    _m1m2_dtype(mat1, mat2)
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError(
            "self and mat2 must have the same dtype, but got "
            f"{_type_name(input)} and {_type_name(mat2)}"
        )
    _expand_shape(input._data.shape, (r, c))
    return apply(addmm_op, (mat1, mat2, input), {"beta": beta, "alpha": alpha})


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", "") == __name__
           and not isinstance(v, type)]
