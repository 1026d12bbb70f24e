"""The negative log-likelihood loss on device arrays: per-position terms and the gradient.

x is seen as (N, C, inner) with the class dim in the middle, the target as (N, inner) int64.
One kernel writes each position's loss term ``-x[n, t, k] * w[t]``, its weight (0 where
``t == ignore_index``) and the target with ignored positions as 0, which the caller checks
against [0, C) before trusting the terms; the gradient kernel writes ``-w[t] * g`` at the
targets of a zero-filled (N, C, inner).  Each position owns one class column: no atomics.
"""
from __future__ import annotations

import numpy as np
from tracejit.codegen.cuda import DeviceArray

from .cuda_launch import contiguous, fill, launch_1d

__all__ = ["nll_grad", "nll_terms"]

_FLOATS = {np.dtype(np.float32): ("f32", "float"), np.dtype(np.float64): ("f64", "double")}
_HEAD = ("long long total, long long C, long long inner, long long ignore, int has_w")
_SRC = r"""
#define TJ_CLASS_AT(i, c) (((i) / inner * C + (c)) * inner + (i) % inner)

extern "C" __global__ void tj_nll_terms_{tag}(const {T}* __restrict__ x,
    const long long* __restrict__ t, const {T}* __restrict__ w, {T}* __restrict__ loss,
    {T}* __restrict__ ws, long long* __restrict__ safe, {HEAD}) {{
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)blockDim.x * gridDim.x) {{
    const bool keep = t[i] != ignore;
    const long long c = keep ? t[i] : 0;
    safe[i] = c;
    const bool ok = c >= 0 && c < C;  /* checked by the caller; never read out of bounds */
    const {T} wt = keep && ok ? (has_w ? w[c] : ({T})1) : ({T})0;
    ws[i] = wt;
    loss[i] = ok && x ? -x[TJ_CLASS_AT(i, c)] * wt : ({T})0;
  }}
}}

/* mode 0: g per position; 1: one g; 2: one g divided by the summed weights */
extern "C" __global__ void tj_nll_grad_{tag}(const {T}* __restrict__ g,
    const long long* __restrict__ t, const {T}* __restrict__ w, const {T}* __restrict__ wsum,
    {T}* __restrict__ out, int mode, {HEAD}) {{
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)blockDim.x * gridDim.x) {{
    if (t[i] == ignore || t[i] < 0 || t[i] >= C) continue;
    const {T} wt = has_w ? w[t[i]] : ({T})1;
    const {T} gi = mode == 0 ? g[i] : (mode == 1 ? g[0] : g[0] / wsum[0]);
    out[TJ_CLASS_AT(i, t[i])] = -wt * gi;
  }}
}}
"""


def _source() -> str:
    return "".join(_SRC.format(tag=tag, T=t, HEAD=_HEAD) for tag, t in _FLOATS.values())


def supported(x: DeviceArray, t: DeviceArray) -> bool:
    return x.dtype in _FLOATS and t.dtype == np.int64


def _launch(name: str, like: DeviceArray, total: int, args: list) -> None:
    launch_1d(like.runtime, _source(), f"{name}_{_FLOATS[like.dtype][0]}", total, args)


def nll_terms(x: DeviceArray | None, t: DeviceArray, w: DeviceArray | None, dtype: np.dtype,
              n: int, c: int, inner: int,
              ignore: int) -> tuple[DeviceArray, DeviceArray, DeviceArray]:
    """(loss terms, weights, targets with ignored positions as 0), each flat (N * inner).

    Without ``x`` (the gradient needs only the weights) the loss terms are zeros.
    """
    t = contiguous(t)
    x = contiguous(x) if x is not None else None
    w = contiguous(w) if w is not None else None
    total = n * inner
    loss = DeviceArray.empty((total,), dtype, t.runtime)
    ws = DeviceArray.empty((total,), dtype, t.runtime)
    safe = DeviceArray.empty((total,), np.int64, t.runtime)
    _launch("tj_nll_terms", loss, total,
            [x.ptr if x is not None else 0, t.ptr, w.ptr if w is not None else 0, loss.ptr,
             ws.ptr, safe.ptr, total, c, inner, ignore, np.int32(w is not None)])
    return loss, ws, safe


def nll_grad(g: DeviceArray, t: DeviceArray, w: DeviceArray | None, wsum: DeviceArray | None,
             mode: int, shape: tuple, n: int, c: int, inner: int, ignore: int) -> DeviceArray:
    """The gradient wrt x (``shape``): -w[t] * g at every kept target, zeros elsewhere."""
    g, t = contiguous(g), contiguous(t)
    w = contiguous(w) if w is not None else None
    out = DeviceArray.empty(tuple(shape), g.dtype, g.runtime)
    fill(out, 0)
    _launch("tj_nll_grad", g, n * inner,
            [g.ptr, t.ptr, w.ptr if w is not None else 0, wsum.ptr if wsum is not None else 0,
             out.ptr, np.int32(mode), n * inner, c, inner, ignore, np.int32(w is not None)])
    return out
