"""Pooling of device arrays: max (indices, values, gradient), average and adaptive average.

One CUDA C source, written once for both runtimes (nvcc on a GPU, g++ in the simulator), with
``pool.py``'s semantics: PyTorch's window geometry and divisor rules, the first maximum of a
window (a NaN counts as the maximum), flat indices into the unpadded plane.  Average-pool
gradients are gathers (each input element sums the windows that read it), deterministic;
max pooling's gradient is a scatter-add with atomics, as in PyTorch, since two windows may
share a maximum.  1-d and 2-d pools of float32/float64; 1-d is 2-d of height 1.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tracejit.codegen.cuda import DeviceArray

from .cuda_launch import contiguous, fill, launch_1d
from .pool import pool_out_size

__all__ = ["adaptive_avg_pool", "avg_pool_backward", "avg_pool_forward", "max_pool_backward",
           "max_pool_gather", "max_pool_indices", "supported"]

_CT = {np.dtype(np.float32): ("f32", "float"), np.dtype(np.float64): ("f64", "double")}
_GEOM = ("long long P, long long H, long long W, long long KH, long long KW, long long OH, "
         "long long OW, long long sh, long long sw, long long ph, long long pw, long long dh, "
         "long long dw")

_SRC = r"""
#define TJ_LOOP(total) \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (total); \
       i += (long long)blockDim.x * gridDim.x)

extern "C" __global__ void tj_maxpool_idx_{tag}(const {T}* __restrict__ x,
    long long* __restrict__ idx, {GEOM}) {{
  TJ_LOOP(P * OH * OW) {{
    const long long ow = i % OW, oh = (i / OW) % OH, p = i / (OW * OH);
    const {T}* plane = x + p * H * W;
    {T} best = ({T})0;
    long long bi = -1;
    for (long long kh = 0; kh < KH; ++kh) {{
      const long long h = oh * sh - ph + kh * dh;
      if (h < 0 || h >= H) continue;
      for (long long kw = 0; kw < KW; ++kw) {{
        const long long w = ow * sw - pw + kw * dw;
        if (w < 0 || w >= W) continue;
        const {T} v = plane[h * W + w];
        if (bi < 0 || v > best || (v != v && best == best)) {{
          best = v;
          bi = h * W + w;
        }}
      }}
    }}
    idx[i] = bi < 0 ? 0 : bi;
  }}
}}

extern "C" __global__ void tj_maxpool_gather_{tag}(const {T}* __restrict__ x,
    const long long* __restrict__ idx, {T}* __restrict__ y, long long total, long long S,
    long long Q) {{
  TJ_LOOP(total) {{ y[i] = x[(i / Q) * S + idx[i]]; }}
}}

/* scatter-add to the maxima (atomics: overlapping windows may share a maximum) */
extern "C" __global__ void tj_maxpool_bwd_{tag}(const {T}* __restrict__ gy,
    const long long* __restrict__ idx, {T}* __restrict__ gx, long long total, long long S,
    long long Q) {{
  TJ_LOOP(total) {{ atomicAdd(gx + (i / Q) * S + idx[i], gy[i]); }}
}}

/* PyTorch's divisor of window (oh, ow): clipped to the padded extent, or to the input */
__device__ inline long long tj_avg_div_{tag}(long long oh, long long ow, long long H,
    long long W, long long KH, long long KW, long long sh, long long sw, long long ph,
    long long pw, int count_pad, long long divisor) {{
  if (divisor) return divisor;
  long long h0 = oh * sh - ph, w0 = ow * sw - pw;
  long long h1 = h0 + KH < H + ph ? h0 + KH : H + ph;
  long long w1 = w0 + KW < W + pw ? w0 + KW : W + pw;
  if (!count_pad) {{
    h0 = h0 < 0 ? 0 : h0; w0 = w0 < 0 ? 0 : w0;
    h1 = h1 < H ? h1 : H; w1 = w1 < W ? w1 : W;
  }}
  return (h1 - h0) * (w1 - w0);
}}

extern "C" __global__ void tj_avgpool_{tag}(const {T}* __restrict__ x, {T}* __restrict__ y,
    {GEOM}, int count_pad, long long divisor) {{
  TJ_LOOP(P * OH * OW) {{
    const long long ow = i % OW, oh = (i / OW) % OH, p = i / (OW * OH);
    const {T}* plane = x + p * H * W;
    {T} acc = ({T})0;
    for (long long kh = 0; kh < KH; ++kh) {{
      const long long h = oh * sh - ph + kh;
      if (h < 0 || h >= H) continue;
      for (long long kw = 0; kw < KW; ++kw) {{
        const long long w = ow * sw - pw + kw;
        if (w >= 0 && w < W) acc += plane[h * W + w];
      }}
    }}
    y[i] = acc / ({T})tj_avg_div_{tag}(oh, ow, H, W, KH, KW, sh, sw, ph, pw, count_pad,
                                      divisor);
  }}
}}

extern "C" __global__ void tj_avgpool_bwd_{tag}(const {T}* __restrict__ gy,
    {T}* __restrict__ gx, {GEOM}, int count_pad, long long divisor) {{
  TJ_LOOP(P * H * W) {{
    const long long w = i % W, h = (i / W) % H, p = i / (W * H);
    {T} acc = ({T})0;
    for (long long kh = 0; kh < KH; ++kh) {{
      const long long hp = h + ph - kh;
      if (hp < 0 || hp % sh != 0 || hp / sh >= OH) continue;
      for (long long kw = 0; kw < KW; ++kw) {{
        const long long wp = w + pw - kw;
        if (wp < 0 || wp % sw != 0 || wp / sw >= OW) continue;
        const long long oh = hp / sh, ow = wp / sw;
        acc += gy[p * OH * OW + oh * OW + ow] /
               ({T})tj_avg_div_{tag}(oh, ow, H, W, KH, KW, sh, sw, ph, pw, count_pad,
                                     divisor);
      }}
    }}
    gx[i] = acc;
  }}
}}

/* adaptive windows [floor(o * S / O), ceil((o + 1) * S / O)) per dim, as PyTorch */
extern "C" __global__ void tj_adaptive_{tag}(const {T}* __restrict__ x, {T}* __restrict__ y,
    long long P, long long H, long long W, long long OH, long long OW) {{
  TJ_LOOP(P * OH * OW) {{
    const long long ow = i % OW, oh = (i / OW) % OH, p = i / (OW * OH);
    const long long h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
    const long long w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
    {T} acc = ({T})0;
    for (long long h = h0; h < h1; ++h)
      for (long long w = w0; w < w1; ++w) acc += x[(p * H + h) * W + w];
    y[i] = acc / ({T})((h1 - h0) * (w1 - w0));
  }}
}}

extern "C" __global__ void tj_adaptive_bwd_{tag}(const {T}* __restrict__ gy,
    {T}* __restrict__ gx, long long P, long long H, long long W, long long OH, long long OW) {{
  TJ_LOOP(P * H * W) {{
    const long long w = i % W, h = (i / W) % H, p = i / (W * H);
    {T} acc = ({T})0;
    for (long long oh = h * OH / H; oh < OH && oh * H / OH <= h; ++oh) {{
      const long long h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
      if (h < h0 || h >= h1) continue;
      for (long long ow = w * OW / W; ow < OW && ow * W / OW <= w; ++ow) {{
        const long long w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        if (w < w0 || w >= w1) continue;
        acc += gy[(p * OH + oh) * OW + ow] / ({T})((h1 - h0) * (w1 - w0));
      }}
    }}
    gx[i] = acc;
  }}
}}
"""


def _source() -> str:
    return "".join(_SRC.format(tag=tag, T=t, GEOM=_GEOM) for tag, t in _CT.values())


def supported(x: DeviceArray, nd: int) -> bool:
    return nd in (1, 2) and x.dtype in _CT and x.ndim >= nd


def _launch(name: str, dtype: np.dtype, ref: DeviceArray, total: int, args: list) -> None:
    launch_1d(ref.runtime, _source(), f"{name}_{_CT[np.dtype(dtype)][0]}", total, args)


def _two(v: Sequence[int], one: int) -> tuple:
    return tuple(v) if len(v) == 2 else (one, v[0])


def _plane_dims(shape: Sequence[int], nd: int) -> tuple:
    """(planes, H, W) of an array whose trailing ``nd`` dims are spatial."""
    lead = math.prod(shape[:len(shape) - nd])
    return (lead, *_two(shape[len(shape) - nd:], 1))


def _geometry(shape: Sequence[int], nd: int, ksize: Sequence[int], stride: Sequence[int],
              padding: Sequence[int], dilation: Sequence[int], out: Sequence[int]) -> list:
    p, h, w = _plane_dims(shape, nd)
    return [p, h, w, *_two(ksize, 1), *_two(out, 1), *_two(stride, 1), *_two(padding, 0),
            *_two(dilation, 1)]


def _out_sizes(shape: Sequence[int], ksize: Sequence[int], stride: Sequence[int],
               padding: Sequence[int], dilation: Sequence[int], ceil_mode: bool) -> tuple:
    nd = len(ksize)
    return tuple(pool_out_size(s, k, st, p, d, ceil_mode) for s, k, st, p, d in
                 zip(shape[len(shape) - nd:], ksize, stride, padding, dilation))


def _empty(shape: Sequence[int], dtype, like: DeviceArray) -> DeviceArray:
    return DeviceArray.empty(tuple(shape), dtype, like.runtime)


def max_pool_indices(x: DeviceArray, ksize: Sequence[int], stride: Sequence[int],
                     padding: Sequence[int], dilation: Sequence[int],
                     ceil_mode: bool) -> DeviceArray:
    """int64 flat index (in the unpadded plane) of each window's first maximum."""
    x = contiguous(x)
    nd = len(ksize)
    out = _out_sizes(x.shape, ksize, stride, padding, dilation, ceil_mode)
    idx = _empty(x.shape[:x.ndim - nd] + out, np.int64, x)
    _launch("tj_maxpool_idx", x.dtype, x, idx.size,
            [x.ptr, idx.ptr] + _geometry(x.shape, nd, ksize, stride, padding, dilation, out))
    return idx


def max_pool_gather(x: DeviceArray, idx: DeviceArray, nd: int) -> DeviceArray:
    """x read at the window maxima (max pooling's values; the adjoint of its gradient)."""
    x, idx = contiguous(x), contiguous(idx)
    y = _empty(idx.shape, x.dtype, x)
    p, h, w = _plane_dims(x.shape, nd)
    _launch("tj_maxpool_gather", x.dtype, x, y.size,
            [x.ptr, idx.ptr, y.ptr, y.size, h * w, y.size // max(p, 1)])
    return y


def max_pool_backward(gy: DeviceArray, idx: DeviceArray, input_shape: Sequence[int],
                      nd: int) -> DeviceArray:
    """Scatter-add gy to the window maxima (overlapping windows accumulate)."""
    gy, idx = contiguous(gy), contiguous(idx)
    gx = _empty(input_shape, gy.dtype, gy)
    fill(gx, 0.0)
    p, h, w = _plane_dims(input_shape, nd)
    _launch("tj_maxpool_bwd", gy.dtype, gy, gy.size,
            [gy.ptr, idx.ptr, gx.ptr, gy.size, h * w, gy.size // max(p, 1)])
    return gx


def avg_pool_forward(x: DeviceArray, ksize: Sequence[int], stride: Sequence[int],
                     padding: Sequence[int], ceil_mode: bool, count_include_pad: bool,
                     divisor_override: int | None) -> DeviceArray:
    x = contiguous(x)
    nd = len(ksize)
    ones = (1,) * nd
    out = _out_sizes(x.shape, ksize, stride, padding, ones, ceil_mode)
    y = _empty(x.shape[:x.ndim - nd] + out, x.dtype, x)
    _launch("tj_avgpool", x.dtype, x, y.size,
            [x.ptr, y.ptr] + _geometry(x.shape, nd, ksize, stride, padding, ones, out)
            + [np.int32(bool(count_include_pad)), int(divisor_override or 0)])
    return y


def avg_pool_backward(gy: DeviceArray, input_shape: Sequence[int], ksize: Sequence[int],
                      stride: Sequence[int], padding: Sequence[int], ceil_mode: bool,
                      count_include_pad: bool, divisor_override: int | None) -> DeviceArray:
    gy = contiguous(gy)
    nd = len(ksize)
    ones = (1,) * nd
    gx = _empty(input_shape, gy.dtype, gy)
    out = tuple(gy.shape[gy.ndim - nd:])
    _launch("tj_avgpool_bwd", gy.dtype, gy, gx.size,
            [gy.ptr, gx.ptr] + _geometry(input_shape, nd, ksize, stride, padding, ones, out)
            + [np.int32(bool(count_include_pad)), int(divisor_override or 0)])
    return gx


def adaptive_avg_pool(x: DeviceArray, spatial: Sequence[int], out: Sequence[int],
                      transpose: bool) -> DeviceArray:
    """Adaptive average pooling from ``spatial`` to ``out`` sizes, or (transpose) its adjoint."""
    x = contiguous(x)
    nd = len(spatial)
    lead = x.shape[:x.ndim - nd]
    p = math.prod(lead)
    (h, w), (oh, ow) = _two(spatial, 1), _two(out, 1)
    res = _empty(lead + tuple(spatial if transpose else out), x.dtype, x)
    _launch("tj_adaptive_bwd" if transpose else "tj_adaptive", x.dtype, x, res.size,
            [x.ptr, res.ptr, p, h, w, oh, ow])
    return res
