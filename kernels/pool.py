"""Pooling kernels on numpy arrays: max (with argmax indices), average and adaptive average.

The trailing ``len(kernel_size)`` dims are spatial; any leading dims (N, C or just C) pass
through. Windows are strided views of the padded input (no per-pixel Python loops); backward
kernels accumulate with one slice-add per kernel offset (average) or one bincount (max).
Max-pool indices are flat offsets into the unpadded spatial dims of each plane, as PyTorch's.
"""
from __future__ import annotations

import math

import numpy as np

from .conv import pad_spatial, spatial_windows

Ints = tuple[int, ...]

__all__ = ["adaptive_avg_pool", "avg_pool_backward", "avg_pool_forward", "max_pool_backward",
           "max_pool_forward", "max_pool_gather", "max_pool_indices", "pool_out_size"]


def pool_out_size(size: int, k: int, stride: int, pad: int, dilation: int,
                  ceil_mode: bool) -> int:
    """PyTorch's pooling output size (ceil mode drops a last window starting in the padding)."""
    span = size + 2 * pad - dilation * (k - 1) - 1
    if ceil_mode:
        o = -(-span // stride) + 1
        if (o - 1) * stride >= size + pad:
            o -= 1
        return o
    return span // stride + 1


def _geometry(spatial: Ints, ksize: Ints, stride: Ints, padding: Ints, dilation: Ints,
              ceil_mode: bool) -> tuple[Ints, tuple[tuple[int, int], ...]]:
    """Output sizes and the (lo, hi) padding that makes every window lie inside the array."""
    out, pads = [], []
    for s, k, st, p, d in zip(spatial, ksize, stride, padding, dilation):
        o = pool_out_size(s, k, st, p, d, ceil_mode)
        need = (o - 1) * st + d * (k - 1) + 1
        out.append(o)
        pads.append((p, max(p, need - s - p)))
    return tuple(out), tuple(pads)


def _lowest(dtype: np.dtype) -> float:
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def max_pool_indices(x: np.ndarray, ksize: Ints, stride: Ints, padding: Ints, dilation: Ints,
                     ceil_mode: bool) -> np.ndarray:
    """Flat input index of each window's first maximum (a NaN counts as the maximum)."""
    nd = len(ksize)
    spatial = x.shape[-nd:]
    out, pads = _geometry(spatial, ksize, stride, padding, dilation, ceil_mode)
    xp = pad_spatial(x, pads, _lowest(x.dtype))
    win = spatial_windows(xp, ksize, stride, dilation, out, False)
    local = np.argmax(win.reshape(win.shape[:-nd] + (math.prod(ksize),)), axis=-1)  # one copy
    # window offset -> position in the unpadded input, per spatial dim, then flattened
    flat = np.zeros(local.shape, np.int64)
    koffs = np.unravel_index(local, ksize)
    for d in range(nd):
        o = np.arange(out[d]).reshape((-1,) + (1,) * (nd - 1 - d))
        pos = o * stride[d] + koffs[d] * dilation[d] - padding[d]
        flat = flat * spatial[d] + pos
    return flat


def max_pool_forward(x: np.ndarray, ksize: Ints, stride: Ints, padding: Ints, dilation: Ints,
                     ceil_mode: bool) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window and its flat input index (PyTorch's max_pool_with_indices)."""
    idx = max_pool_indices(x, ksize, stride, padding, dilation, ceil_mode)
    return max_pool_gather(x, idx, len(ksize)), idx


def max_pool_backward(gy: np.ndarray, indices: np.ndarray, input_shape: Ints,
                      nd: int) -> np.ndarray:
    """Scatter-add gy to the argmax positions (overlapping windows accumulate)."""
    sp = math.prod(input_shape[len(input_shape) - nd:])
    planes = math.prod(input_shape[:len(input_shape) - nd])
    rows = np.arange(planes, dtype=np.int64).reshape(planes, 1) * sp
    flat = (indices.reshape(planes, indices.size // max(planes, 1)) + rows).ravel()
    gx = np.bincount(flat, weights=gy.reshape(-1).astype(np.float64, copy=False),
                     minlength=planes * sp)
    return gx.astype(gy.dtype, copy=False).reshape(input_shape)


def max_pool_gather(gx: np.ndarray, indices: np.ndarray, nd: int) -> np.ndarray:
    """gx read at the argmax positions: max pooling's values, and the adjoint of its backward."""
    planes = math.prod(gx.shape[:gx.ndim - nd])
    per = indices.size // max(planes, 1)
    vals = np.take_along_axis(gx.reshape(planes, gx.size // max(planes, 1)),
                              indices.reshape(planes, per), 1)
    return vals.reshape(indices.shape)


def _avg_divisor(spatial: Ints, out: Ints, ksize: Ints, stride: Ints, padding: Ints,
                 count_include_pad: bool, dtype: np.dtype) -> np.ndarray:
    """Per-window divisor, PyTorch's rule: the product of per-dim window lengths.

    With padding counted, a window is clipped only to the padded extent (ceil mode's extra
    windows may be shorter); without, it is clipped to the real input.
    """
    div = np.ones((), dtype)
    for d, (s, o, k, st, p) in enumerate(zip(spatial, out, ksize, stride, padding)):
        start = np.arange(o) * st - p
        end = np.minimum(start + k, s + p)
        if not count_include_pad:
            end = np.minimum(end, s)
            start = np.maximum(start, 0)
        length = (end - start).astype(dtype).reshape((-1,) + (1,) * (len(out) - 1 - d))
        div = div * length
    return div


def avg_pool_forward(x: np.ndarray, ksize: Ints, stride: Ints, padding: Ints, ceil_mode: bool,
                     count_include_pad: bool, divisor_override: int | None) -> np.ndarray:
    """Mean over each window (zero padding), with PyTorch's divisor rules."""
    nd = len(ksize)
    spatial = x.shape[-nd:]
    ones = (1,) * nd
    out, pads = _geometry(spatial, ksize, stride, padding, ones, ceil_mode)
    win = spatial_windows(pad_spatial(x, pads), ksize, stride, ones, out, False)
    total = win.sum(axis=tuple(range(-nd, 0)), dtype=x.dtype)
    if divisor_override:
        return total / np.asarray(divisor_override, x.dtype)
    return total / _avg_divisor(spatial, out, ksize, stride, padding, count_include_pad,
                                x.dtype)


def avg_pool_backward(gy: np.ndarray, input_shape: Ints, ksize: Ints, stride: Ints,
                      padding: Ints, ceil_mode: bool, count_include_pad: bool,
                      divisor_override: int | None) -> np.ndarray:
    """Adjoint of ``avg_pool_forward``: each window's share added back, offset by offset."""
    nd = len(ksize)
    spatial = tuple(input_shape[-nd:])
    ones = (1,) * nd
    out, pads = _geometry(spatial, ksize, stride, padding, ones, ceil_mode)
    if divisor_override:
        share = gy / np.asarray(divisor_override, gy.dtype)
    else:
        share = gy / _avg_divisor(spatial, out, ksize, stride, padding, count_include_pad,
                                  gy.dtype)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pads))
    gxp = np.zeros(tuple(input_shape[:-nd]) + padded, gy.dtype)
    lead = (Ellipsis,)
    for koff in np.ndindex(*ksize):
        sl = tuple(slice(k, k + st * (o - 1) + 1, st) for k, st, o in zip(koff, stride, out))
        gxp[lead + sl] += share
    crop = tuple(slice(lo, lo + s) for s, (lo, _) in zip(spatial, pads))
    return np.ascontiguousarray(gxp[lead + crop])


def _adaptive_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size) averaging matrix over windows [floor(i*s/o), ceil((i+1)*s/o)), as PyTorch."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool(x: np.ndarray, spatial: Ints, out: Ints, transpose: bool) -> np.ndarray:
    """Adaptive average pooling from ``spatial`` to ``out`` sizes, or its adjoint.

    Each window is a product of 1-D windows and its divisor the product of their lengths, so
    the pool is separable: one small matrix product per spatial dim. ``transpose`` maps
    gradients of the output back to the input.
    """
    nd = len(spatial)
    y = x
    for d in range(nd):
        m = _adaptive_matrix(spatial[d], out[d], x.dtype)
        if transpose:
            m = m.T
        axis = x.ndim - nd + d
        y = np.moveaxis(np.matmul(m, np.moveaxis(y, axis, -2)), -2, axis)
    return np.ascontiguousarray(y)
