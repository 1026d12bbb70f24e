"""Convolution kernels on numpy arrays: im2col windows and one BLAS GEMM per group.

Layout is PyTorch's: x (N, C, *S), w (O, C/groups, *K), y (N, O, *Out), any number of spatial
dims. ``padding`` is one (lo, hi) pair per spatial dim, so callers can express PyTorch's
asymmetric "same" padding. The two backward kernels are the exact adjoints of the forward in
each argument; double backward is built from that (the vjp of each is one of the others).

The column matrix is laid out (groups, C/groups * prod(K), N * prod(Out)): one large GEMM per
group, with the batch folded into the GEMM's long dimension.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .blas import matmul

Ints = tuple[int, ...]
Pads = tuple[tuple[int, int], ...]

__all__ = ["conv_backward_input", "conv_backward_weight", "conv_forward", "conv_out_shape",
           "pad_spatial", "spatial_windows"]


def conv_out_shape(spatial: Ints, ksize: Ints, stride: Ints, padding: Pads,
                   dilation: Ints) -> Ints:
    """Output spatial sizes (may be <= 0: callers report PyTorch's error)."""
    return tuple((s + lo + hi - d * (k - 1) - 1) // st + 1
                 for s, k, st, (lo, hi), d in zip(spatial, ksize, stride, padding, dilation))


def pad_spatial(x: np.ndarray, padding: Pads, value: float = 0) -> np.ndarray:
    """x with its trailing len(padding) dims padded by constant ``value`` (no copy if none)."""
    if not any(lo or hi for lo, hi in padding):
        return x
    lead = ((0, 0),) * (x.ndim - len(padding))
    return np.pad(x, lead + tuple(padding), constant_values=value)


def spatial_windows(xp: np.ndarray, ksize: Ints, stride: Ints, dilation: Ints,
                    out: Ints, kernel_first: bool) -> np.ndarray:
    """A read-only strided view of every window of the trailing spatial dims of ``xp``.

    Shape lead + K + Out when ``kernel_first``, else lead + Out + K. No data is copied.
    """
    nd = len(ksize)
    lead_shape, lead_st = xp.shape[:-nd], xp.strides[:-nd]
    sp_st = xp.strides[-nd:]
    k_st = tuple(s * d for s, d in zip(sp_st, dilation))
    o_st = tuple(s * st for s, st in zip(sp_st, stride))
    if kernel_first:
        shape, strides = lead_shape + tuple(ksize) + tuple(out), lead_st + k_st + o_st
    else:
        shape, strides = lead_shape + tuple(out) + tuple(ksize), lead_st + o_st + k_st
    return as_strided(xp, shape, strides, writeable=False)


def _im2col(x: np.ndarray, ksize: Ints, stride: Ints, padding: Pads, dilation: Ints,
            groups: int, out: Ints) -> np.ndarray:
    """Columns (G, Cg * prod(K), N * prod(Out)) of the padded input (one copy)."""
    n, c = x.shape[:2]
    nd = len(ksize)
    win = spatial_windows(pad_spatial(x, padding), ksize, stride, dilation, out, True)
    # (N, C, *K, *Out) -> (C, *K, N, *Out): channels (and kernel offsets) become GEMM rows
    win = win.transpose(1, *range(2, 2 + nd), 0, *range(2 + nd, 2 + 2 * nd))
    cols = c // groups * math.prod(ksize)
    return np.ascontiguousarray(win).reshape(groups, cols, n * math.prod(out))


def conv_forward(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Ints,
                 padding: Pads, dilation: Ints, groups: int) -> np.ndarray:
    """y = conv(x, w) + bias, PyTorch's cross-correlation."""
    n = x.shape[0]
    o = w.shape[0]
    ksize = w.shape[2:]
    out = conv_out_shape(x.shape[2:], ksize, stride, padding, dilation)
    col = _im2col(x, ksize, stride, padding, dilation, groups, out)
    wm = w.reshape(groups, o // groups, math.prod(w.shape[1:]))
    y = matmul(wm, col)  # (G, Og, N * P)
    y = y.reshape(o, n, math.prod(out)).transpose(1, 0, 2)
    y = np.ascontiguousarray(y).reshape((n, o) + out)
    if bias is not None:
        y += bias.reshape((o,) + (1,) * len(out))
    return y


def _grad_rows(gy: np.ndarray, groups: int) -> np.ndarray:
    """gy (N, O, *Out) as (G, Og, N * prod(Out)), the GEMM layout of the columns."""
    n, o = gy.shape[:2]
    p = math.prod(gy.shape[2:])
    g = gy.reshape(n, o, p).transpose(1, 0, 2)
    return np.ascontiguousarray(g).reshape(groups, o // groups, n * p)


def conv_backward_input(gy: np.ndarray, w: np.ndarray, input_shape: Ints, stride: Ints,
                        padding: Pads, dilation: Ints, groups: int) -> np.ndarray:
    """Gradient wrt x: GEMM to columns, then col2im as one slice-add per kernel offset."""
    n, c = input_shape[:2]
    spatial = tuple(input_shape[2:])
    nd = len(spatial)
    ksize = w.shape[2:]
    out = tuple(gy.shape[2:])
    wm = w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))
    dcol = matmul(wm.transpose(0, 2, 1), _grad_rows(gy, groups))  # (G, Cg*K, N*P)
    dcol = dcol.reshape((c,) + tuple(ksize) + (n,) + out)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, padding))
    dxp = np.zeros((n, c) + padded, dtype=np.result_type(gy, w))
    dxt = dxp.transpose(1, 0, *range(2, 2 + nd))  # a (C, N, *Sp) view to accumulate into
    for koff in np.ndindex(*ksize):
        sl = tuple(slice(k * d, k * d + st * (o - 1) + 1, st)
                   for k, d, st, o in zip(koff, dilation, stride, out))
        dxt[(slice(None), slice(None)) + sl] += dcol[(slice(None),) + koff]
    crop = tuple(slice(lo, lo + s) for s, (lo, _) in zip(spatial, padding))
    dx = dxp[(slice(None), slice(None)) + crop]
    return dx if dx.flags.c_contiguous else np.ascontiguousarray(dx)


def conv_backward_weight(x: np.ndarray, gy: np.ndarray, weight_shape: Ints, stride: Ints,
                         padding: Pads, dilation: Ints, groups: int) -> np.ndarray:
    """Gradient wrt w: the gradient rows times the transposed columns, one GEMM per group."""
    ksize = tuple(weight_shape[2:])
    out = tuple(gy.shape[2:])
    col = _im2col(x, ksize, stride, padding, dilation, groups, out)
    dw = matmul(_grad_rows(gy, groups), col.transpose(0, 2, 1))  # (G, Og, Cg*K)
    return dw.reshape(weight_shape)
