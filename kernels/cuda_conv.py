"""Convolution of device arrays: im2col + GEMM (cuBLAS), the same plan as ``conv.py``.

The column matrix has the CPU kernel's layout, (groups, C/groups * prod(K), N * prod(Out)),
so the three GEMMs (forward, input gradient, weight gradient) are the CPU ones.  What the
kernel IR cannot express is written here once in CUDA C: im2col (a gather with zero padding)
and col2im (for each input element, the sum over the kernel offsets that read it, in the
CPU kernel's order).  Layout changes and the bias add are IR kernels.  1-d and 2-d
convolutions of float32/float64 (a 1-d one is a 2-d one of height 1); callers fall back to
the host for anything else (``supported``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tracejit.codegen.cuda import DeviceArray, launch

from tracejit import codegen as cg

from .conv import conv_out_shape
from .cuda_blas import gemm
from .cuda_launch import contiguous, launch_1d

__all__ = ["conv_backward_input", "conv_backward_weight", "conv_forward",
           "supported"]

Ints = tuple[int, ...]
Pads = tuple[tuple[int, int], ...]
_CT = {np.dtype(np.float32): ("f32", "float"), np.dtype(np.float64): ("f64", "double")}

_SRC = r"""
extern "C" __global__ void tj_im2col_{tag}(const {T}* __restrict__ x, {T}* __restrict__ col,
    long long N, long long C, long long H, long long W, long long KH, long long KW,
    long long OH, long long OW, long long sh, long long sw, long long ph, long long pw,
    long long dh, long long dw) {{
  const long long total = C * KH * KW * N * OH * OW;
  const long long step = (long long)blockDim.x * gridDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += step) {{
    long long t = i;
    const long long ow = t % OW; t /= OW;
    const long long oh = t % OH; t /= OH;
    const long long n = t % N; t /= N;
    const long long kw = t % KW; t /= KW;
    const long long kh = t % KH;
    const long long c = t / KH;
    const long long h = oh * sh - ph + kh * dh;
    const long long w = ow * sw - pw + kw * dw;
    col[i] = (h >= 0 && h < H && w >= 0 && w < W) ? x[((n * C + c) * H + h) * W + w]
                                                   : ({T})0;
  }}
}}

extern "C" __global__ void tj_col2im_{tag}(const {T}* __restrict__ col, {T}* __restrict__ x,
    long long N, long long C, long long H, long long W, long long KH, long long KW,
    long long OH, long long OW, long long sh, long long sw, long long ph, long long pw,
    long long dh, long long dw) {{
  const long long total = N * C * H * W;
  const long long step = (long long)blockDim.x * gridDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += step) {{
    long long t = i;
    const long long w = t % W; t /= W;
    const long long h = t % H; t /= H;
    const long long c = t % C;
    const long long n = t / C;
    {T} acc = ({T})0;
    for (long long kh = 0; kh < KH; ++kh) {{
      const long long hp = h + ph - kh * dh;
      if (hp < 0 || hp % sh != 0 || hp / sh >= OH) continue;
      for (long long kw = 0; kw < KW; ++kw) {{
        const long long wp = w + pw - kw * dw;
        if (wp < 0 || wp % sw != 0 || wp / sw >= OW) continue;
        acc += col[(((c * KH + kh) * KW + kw) * N + n) * OH * OW + (hp / sh) * OW + wp / sw];
      }}
    }}
    x[i] = acc;
  }}
}}
"""


def _source() -> str:
    return "".join(_SRC.format(tag=tag, T=t) for tag, t in _CT.values())


def supported(arrays: Sequence[DeviceArray], nd: int) -> bool:
    """Whether the device kernels handle this call (else the caller uses the host)."""
    dt = arrays[0].dtype
    return nd in (1, 2) and dt in _CT and all(a.dtype == dt for a in arrays)


# ---- small device helpers: IR kernels for copies, fills and the bias add -------------------

def _ir(dt: np.dtype) -> str:
    return _CT[np.dtype(dt)][0]


def _permuted(a: DeviceArray, axes: Sequence[int]) -> DeviceArray:
    return a.view(tuple(a.shape[i] for i in axes), tuple(a.strides[i] for i in axes))


def _reshaped(a: DeviceArray, shape: Sequence[int]) -> DeviceArray:
    if not a.is_contiguous:
        raise ValueError("reshape of a non-contiguous device array")
    strides, acc = [], 1
    for n in reversed(tuple(shape)):
        strides.append(acc)
        acc *= max(int(n), 1)
    return a.view(tuple(shape), tuple(reversed(strides)))


def _launch_raw(name: str, a: DeviceArray, total: int, args: list) -> None:
    launch_1d(a.runtime, _source(), f"{name}_{_ir(a.dtype)}", total, args)


def _as2d(shape: Sequence[int], ksize: Ints, stride: Ints, padding: Pads,
          dilation: Ints) -> tuple:
    """1-d problems as 2-d ones of height 1."""
    if len(ksize) == 2:
        return tuple(shape), ksize, stride, padding, dilation
    return ((*shape[:2], 1, shape[2]), (1, ksize[0]), (1, stride[0]),
            ((0, 0), padding[0]), (1, dilation[0]))


def _geometry(x_shape: Sequence[int], ksize: Ints, stride: Ints, padding: Pads,
              dilation: Ints, out: Ints) -> list:
    (n, c, h, w), (kh, kw), (sh, sw), ((ph, _), (pw, _)), (dh, dw) = \
        _as2d(x_shape, ksize, stride, padding, dilation)
    oh, ow = (1, out[0]) if len(out) == 1 else out
    return [n, c, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw]


def _im2col(x: DeviceArray, ksize: Ints, stride: Ints, padding: Pads, dilation: Ints,
            groups: int, out: Ints) -> DeviceArray:
    x = contiguous(x)
    n, c = x.shape[:2]
    rows = c // groups * math.prod(ksize)
    col = DeviceArray.empty((groups, rows, n * math.prod(out)), x.dtype, x.runtime)
    if col.size:
        _launch_raw("tj_im2col", x, col.size,
                    [x.ptr, col.ptr] + _geometry(x.shape, ksize, stride, padding, dilation,
                                                 out))
    return col


def _grad_rows(gy: DeviceArray, groups: int) -> DeviceArray:
    """gy (N, O, *Out) as the contiguous (G, Og, N * prod(Out)) GEMM operand."""
    n, o = gy.shape[:2]
    p = math.prod(gy.shape[2:])
    g = gy if gy.is_contiguous else contiguous(gy)
    rows = contiguous(_permuted(_reshaped(g, (n, o, p)), (1, 0, 2)))
    return _reshaped(rows, (groups, o // groups, n * p))


# ---- the three convolution kernels (same signatures as conv.py's) --------------------------

def conv_forward(x: DeviceArray, w: DeviceArray, bias: DeviceArray | None, stride: Ints,
                 padding: Pads, dilation: Ints, groups: int) -> DeviceArray:
    """y = conv(x, w) + bias on the device."""
    n, o = x.shape[0], w.shape[0]
    ksize = tuple(w.shape[2:])
    out = conv_out_shape(x.shape[2:], ksize, stride, padding, dilation)
    col = _im2col(x, ksize, stride, padding, dilation, groups, out)
    wm = _reshaped(contiguous(w), (groups, o // groups, math.prod(w.shape[1:])))
    y = gemm(wm, col)  # (G, Og, N * P) = (O, N, P)
    p = math.prod(out)
    yt = _permuted(_reshaped(y, (o, n, p)), (1, 0, 2))  # (N, O, P) view
    dt = _ir(x.dtype)
    if bias is None:
        res = contiguous(yt)
    else:
        bv = bias.view((n, o, p), (0, bias.strides[0], 0))
        k = cg.Kernel(f"k_bias_add_{dt}", 3, (dt, dt),
                      outputs=(cg.Binary("add", cg.Load(0, dt), cg.Load(1, dt)),))
        res = launch(k, [yt, bv], shape=(n, o, p))[0]
    return _reshaped(res, (n, o) + tuple(out))


def conv_backward_input(gy: DeviceArray, w: DeviceArray, input_shape: Ints, stride: Ints,
                        padding: Pads, dilation: Ints, groups: int) -> DeviceArray:
    """Gradient wrt x: a GEMM to columns, then col2im."""
    ksize = tuple(w.shape[2:])
    out = tuple(gy.shape[2:])
    wm = _reshaped(contiguous(w), (groups, w.shape[0] // groups, math.prod(w.shape[1:])))
    dcol = gemm(wm, _grad_rows(gy, groups), trans_a=True)  # (G, Cg*K, N*P)
    dx = DeviceArray.empty(tuple(input_shape), gy.dtype, gy.runtime)
    if dx.size:
        _launch_raw("tj_col2im", dcol, dx.size,
                    [dcol.ptr, dx.ptr] + _geometry(input_shape, ksize, stride, padding,
                                                   dilation, out))
    return dx


def conv_backward_weight(x: DeviceArray, gy: DeviceArray, weight_shape: Ints, stride: Ints,
                         padding: Pads, dilation: Ints, groups: int) -> DeviceArray:
    """Gradient wrt w: the gradient rows times the transposed columns."""
    ksize = tuple(weight_shape[2:])
    out = tuple(gy.shape[2:])
    col = _im2col(x, ksize, stride, padding, dilation, groups, out)
    dw = gemm(_grad_rows(gy, groups), col, trans_b=True)  # (G, Og, Cg*K)
    return _reshaped(dw, tuple(weight_shape))
