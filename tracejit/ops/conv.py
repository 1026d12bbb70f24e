"""Convolution and pooling ops: numpy/BLAS kernels from ``tracejit.kernels`` behind ``Op``s.

Each forward op's vjp is another op whose own vjp closes the loop (the backward kernels are
adjoints of the forward in each argument), so gradients of gradients work: convolution's input
and weight gradients, the average and adaptive pools, and max pooling (whose second-order
rule reads at the argmax indices again). All are "library" ops: the JIT runs their numpy
forward inside compiled graphs.

1-D pooling goes through the 2-D ops with an unsqueeze/squeeze, as PyTorch does, so the grad
nodes read the same. Functions here are PyTorch's top-level ones (``torch.conv2d``,
``torch.max_pool2d``...); ``tracejit.nn.functional`` re-exports the F-style wrappers.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import kernels as K
from ..dispatch import Op, apply
from ..tensor import Tensor
from .reduce import _torch_name

Pads = tuple[tuple[int, int], ...]

# ---------------------------------------------------------------------------------------------
# argument normalisation


def ntuple(v: Any, n: int, name: str = "argument") -> tuple[int, ...]:
    """An int or a sequence of ints as an n-tuple (PyTorch's _single/_pair)."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    t = tuple(int(a) for a in v)
    if len(t) == 1:
        return t * n
    if len(t) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got {name}={list(t)}")
    return t


def same_padding(ksize: Sequence[int], dilation: Sequence[int]) -> Pads:
    """PyTorch's padding='same': total d*(k-1), the extra one on the high side."""
    pads = []
    for k, d in zip(ksize, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _dtype_name(t: Tensor) -> str:
    """PyTorch's scalar-type name: ``Float``, ``Double``."""
    return _torch_name(t.dtype)


# ---------------------------------------------------------------------------------------------
# convolution

def _conv_impl(x: np.ndarray, w: np.ndarray, *bias: np.ndarray, stride: tuple,
               padding: Pads, dilation: tuple, groups: int) -> np.ndarray:
    return K.conv_forward(x, w, bias[0] if bias else None, stride, padding, dilation, groups)


def _conv_params(p: dict) -> dict:
    return {"stride": p["stride"], "padding": p["padding"], "dilation": p["dilation"],
            "groups": p["groups"]}


def _conv_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    x, w = ins[0], ins[1]
    cp = _conv_params(p)
    gx = gw = gb = None
    if x._rg:
        gx = apply(conv_backward_input_op, (g, w), {"input_shape": tuple(x.shape), **cp})
    if w._rg:
        gw = apply(conv_backward_weight_op, (x, g), {"weight_shape": tuple(w.shape), **cp})
    if len(ins) == 3 and ins[2]._rg:
        gb = g.sum(dim=(0, *range(2, g.ndim)))
    return (gx, gw, gb)[: len(ins)]


def _conv_input_impl(gy: np.ndarray, w: np.ndarray, input_shape: tuple, stride: tuple,
                     padding: Pads, dilation: tuple, groups: int) -> np.ndarray:
    return K.conv_backward_input(gy, w, input_shape, stride, padding, dilation, groups)


def _conv_input_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    # dx = B(gy, w) is bilinear; <gg, dx> = <conv(gg, w), gy>
    gy, w = ins
    cp = _conv_params(p)
    ggy = apply(conv_op, (gg, w), cp) if gy._rg else None
    gw = apply(conv_backward_weight_op, (gg, gy), {"weight_shape": tuple(w.shape), **cp}) \
        if w._rg else None
    return ggy, gw


def _conv_weight_impl(x: np.ndarray, gy: np.ndarray, weight_shape: tuple, stride: tuple,
                      padding: Pads, dilation: tuple, groups: int) -> np.ndarray:
    return K.conv_backward_weight(x, gy, weight_shape, stride, padding, dilation, groups)


def _conv_weight_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    # dw = W(x, gy) is bilinear; <gg, dw> = <conv(x, gg), gy>
    x, gy = ins
    cp = _conv_params(p)
    gx = apply(conv_backward_input_op, (gy, gg), {"input_shape": tuple(x.shape), **cp}) \
        if x._rg else None
    ggy = apply(conv_op, (x, gg), cp) if gy._rg else None
    return gx, ggy


conv_op = Op("convolution", _conv_impl, _conv_vjp, "ConvolutionBackward0", save="i",
             group="library")
conv_backward_input_op = Op("convolution_backward_input", _conv_input_impl, _conv_input_vjp,
                            "ConvolutionBackwardBackward0", save="i", group="library")
conv_backward_weight_op = Op("convolution_backward_weight", _conv_weight_impl,
                             _conv_weight_vjp, "ConvolutionBackwardBackward0", save="i",
                             group="library")


def _check_conv(x: Tensor, w: Tensor, b: Tensor | None, nd: int, groups: int,
                name: str) -> None:
    if x.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(x.shape)}")
    if w.ndim != nd + 2:
        raise RuntimeError(f"weight should have at least three dimensions, got {w.ndim}"
                           if w.ndim < 3 else
                           f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional "
                           f"input {list(x.shape)}, but got {w.ndim}-dimensional weight of "
                           f"size {list(w.shape)} instead")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(w.shape)}] instead")
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                           f"input{list(x.shape)} to have {w.shape[1] * groups} channels, but "
                           f"got {x.shape[1]} channels instead")
    if x.dtype is not w.dtype:
        raise RuntimeError(f"expected scalar type {_dtype_name(x)} but found {_dtype_name(w)}")
    if b is not None:
        if b.dtype is not x.dtype:
            raise RuntimeError(f"Input type ({_dtype_name(x).lower()}) and bias type "
                               f"({_dtype_name(b).lower()}) should be the same")
        if tuple(b.shape) != (w.shape[0],):
            raise RuntimeError(f"Given weight of size {list(w.shape)}, expected bias to be 1-"
                               f"dimensional with {w.shape[0]} elements, but got bias of size "
                               f"{list(b.shape)} instead")
    if not x.is_floating_point():
        raise RuntimeError(f'"conv{nd}d" not implemented for \'{_dtype_name(x)}\'')


def _resolve_padding(padding: Any, nd: int, ksize: Sequence[int], stride: tuple,
                     dilation: tuple) -> Pads:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            return same_padding(ksize, dilation)
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    return tuple((p, p) for p in ntuple(padding, nd, "padding"))


def convolution_nd(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,  # noqa: A002
                   padding: Any, dilation: Any, groups: int, nd: int, name: str) -> Tensor:
    """N-d convolution with PyTorch's argument forms; unbatched input goes via unsqueeze."""
    stride_t = ntuple(stride, nd, "stride")
    dilation_t = ntuple(dilation, nd, "dilation")
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    _check_conv(x, weight, bias, nd, groups, name)
    pads = _resolve_padding(padding, nd, weight.shape[2:], stride_t, dilation_t)
    if any(s <= 0 for s in stride_t):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation_t):
        raise RuntimeError("dilation should be greater than zero")
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        raise RuntimeError("negative padding is not supported")
    padded = [s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads)]
    eff = [d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation_t)]
    if any(e > s for e, s in zip(eff, padded)):
        raise RuntimeError(
            "Calculated padded input size per channel: (" + " x ".join(map(str, padded)) +
            "). Kernel size: (" + " x ".join(str(e) for e in eff) +
            "). Kernel size can't be greater than actual input size")
    ins = (x, weight) if bias is None else (x, weight, bias)
    y = apply(conv_op, ins, {"stride": stride_t, "padding": pads, "dilation": dilation_t,
                             "groups": int(groups)})
    return y.squeeze(0) if unbatched else y


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,  # noqa: A002
                padding: Any, dilation: Any, transposed: bool, output_padding: Any,
                groups: int) -> Tensor:
    """torch.convolution (transposed convolution is not implemented)."""
    if transposed:
        raise NotImplementedError("tracejit: transposed convolution is not implemented")
    nd = weight.ndim - 2
    return convolution_nd(input, weight, bias, stride, padding, dilation, groups, nd,
                          f"conv{nd}d")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation over (N, C, L) or (C, L) input."""
    return convolution_nd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over (N, C, H, W) or (C, H, W) input."""
    return convolution_nd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


# ---------------------------------------------------------------------------------------------
# max pooling

def _max_pool_indices_impl(x: np.ndarray, kernel_size: tuple, stride: tuple, padding: tuple,
                           dilation: tuple, ceil_mode: bool) -> np.ndarray:
    return K.max_pool_indices(x, kernel_size, stride, padding, dilation, ceil_mode)


def _max_pool_impl(x: np.ndarray, indices: np.ndarray, nd: int) -> np.ndarray:
    return K.max_pool_gather(x, indices, nd)


def _max_pool_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    return apply(max_pool_backward_op, (g, ins[1]),
                 {"input_shape": tuple(ins[0].shape), "nd": p["nd"]}), None


def _max_pool_backward_impl(gy: np.ndarray, indices: np.ndarray, input_shape: tuple,
                            nd: int) -> np.ndarray:
    return K.max_pool_backward(gy, indices, input_shape, nd)


def _max_pool_backward_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> tuple:
    # the backward scatters to the argmax positions; its adjoint gathers there: the forward
    return apply(max_pool_op, (gg, ins[1]), {"nd": p["nd"]}), None


# Max pooling is two ops: the argmax indices (no gradient), then the values read at them.
# The values' node saves the input and the indices, as PyTorch's does, so an in-place op on
# the pooled output (a ReLU(inplace=True) after the pool) does not invalidate the backward.
max_pool_indices_op = Op("max_pool2d_indices", _max_pool_indices_impl, group="library")
max_pool_op = Op("max_pool2d", _max_pool_impl, _max_pool_vjp, "MaxPool2DWithIndicesBackward0",
                 save="i", group="library")
max_pool_backward_op = Op("max_pool2d_backward", _max_pool_backward_impl,
                          _max_pool_backward_vjp, "MaxPool2DWithIndicesBackwardBackward0",
                          group="library")


def _pool_args(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,  # noqa: A002
               nd: int, name: str) -> tuple[tuple[int, ...], ...]:
    k = ntuple(kernel_size, nd, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else ntuple(stride, nd, "stride")
    p = ntuple(padding, nd, "padding")
    d = ntuple(dilation, nd, "dilation")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with "
                           f"optional 0 dim batch size for input, but got:{list(input.shape)}")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{name}: kernel_size must be greater than zero")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"{name}: stride must be greater than zero")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"{name}: dilation must be greater than zero")
    for kk, pp, dd in zip(k, p, d):
        if pp < 0 or pp > ((kk - 1) * dd + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
    return k, s, p, d


def _check_out(input: Tensor, out: Sequence[int], nd: int) -> None:  # noqa: A002
    if any(o <= 0 for o in out):
        sp = input.shape[-nd:]
        c = input.shape[-nd - 1]
        raise RuntimeError(f"Given input size: ({c}x" + "x".join(map(str, sp)) +
                           f"). Calculated output size: ({c}x" + "x".join(map(str, out)) +
                           "). Output size is too small")


def _max_pool_nd(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,  # noqa: A002
                 ceil_mode: bool, nd: int, name: str) -> tuple[Tensor, Tensor]:
    k, s, p, d = _pool_args(input, kernel_size, stride, padding, dilation, nd, name)
    out = [K.pool_out_size(n, kk, ss, pp, dd, ceil_mode)
           for n, kk, ss, pp, dd in zip(input.shape[-nd:], k, s, p, d)]
    _check_out(input, out, nd)
    idx = apply(max_pool_indices_op, (input,), {"kernel_size": k, "stride": s, "padding": p,
                                                "dilation": d, "ceil_mode": bool(ceil_mode)})
    return apply(max_pool_op, (input, idx), {"nd": nd}), idx


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None,  # noqa: A002
                            padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """2-D max pooling: values and flat argmax indices into each input plane."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, 2,
                        "max_pool2d")


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False) -> Tensor:
    """torch.max_pool2d: the values only."""
    return max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)[0]


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None,  # noqa: A002
                            padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """1-D max pooling as PyTorch runs it: the 2-D op on an unsqueezed input."""
    _pool_args(input, kernel_size, stride, padding, dilation, 1, "max_pool1d")
    y, i = max_pool2d_with_indices(
        input.unsqueeze(-2), (1, *ntuple(kernel_size, 1)),
        None if stride is None or (not isinstance(stride, int) and len(stride) == 0)
        else (1, *ntuple(stride, 1)),
        (0, *ntuple(padding, 1)), (1, *ntuple(dilation, 1)), ceil_mode)
    return y.squeeze(-2), i.squeeze(-2)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False) -> Tensor:
    """torch.max_pool1d: the values only."""
    return max_pool1d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)[0]


# ---------------------------------------------------------------------------------------------
# average pooling

def _avg_pool_impl(x: np.ndarray, kernel_size: tuple, stride: tuple, padding: tuple,
                   ceil_mode: bool, count_include_pad: bool,
                   divisor_override: int | None) -> np.ndarray:
    return K.avg_pool_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                              divisor_override)


def _avg_pool_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    return apply(avg_pool_backward_op, (g,), {"input_shape": tuple(ins[0].shape), **p})


def _avg_pool_backward_impl(gy: np.ndarray, input_shape: tuple, kernel_size: tuple,
                            stride: tuple, padding: tuple, ceil_mode: bool,
                            count_include_pad: bool, divisor_override: int | None) -> np.ndarray:
    return K.avg_pool_backward(gy, input_shape, kernel_size, stride, padding, ceil_mode,
                               count_include_pad, divisor_override)


def _avg_pool_backward_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    fp = {k: v for k, v in p.items() if k != "input_shape"}
    return apply(avg_pool_op, (gg,), fp)


avg_pool_op = Op("avg_pool2d", _avg_pool_impl, _avg_pool_vjp, "AvgPool2DBackward0",
                 group="library")
avg_pool_backward_op = Op("avg_pool2d_backward", _avg_pool_backward_impl,
                          _avg_pool_backward_vjp, "AvgPool2DBackwardBackward0",
                          group="library")


def _avg_pool_nd(input: Tensor, kernel_size: Any, stride: Any, padding: Any,  # noqa: A002
                 ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
                 nd: int, name: str) -> Tensor:
    k, s, p, _ = _pool_args(input, kernel_size, stride, padding, 1, nd, name)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if not input.is_floating_point():
        raise RuntimeError(f'"{name}" not implemented for \'{_dtype_name(input)}\'')
    out = [K.pool_out_size(n, kk, ss, pp, 1, ceil_mode)
           for n, kk, ss, pp in zip(input.shape[-nd:], k, s, p)]
    _check_out(input, out, nd)
    return apply(avg_pool_op, (input,), {
        "kernel_size": k, "stride": s, "padding": p, "ceil_mode": bool(ceil_mode),
        "count_include_pad": bool(count_include_pad),
        "divisor_override": None if divisor_override is None else int(divisor_override)})


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling (zero padding; PyTorch's divisor rules)."""
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, 2, "avg_pool2d")


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """1-D average pooling, via the 2-D op as PyTorch does."""
    _pool_args(input, kernel_size, stride, padding, 1, 1, "avg_pool1d")
    st = None if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else (1, *ntuple(stride, 1))
    y = avg_pool2d(input.unsqueeze(-2), (1, *ntuple(kernel_size, 1)), st,
                   (0, *ntuple(padding, 1)), ceil_mode, count_include_pad)
    return y.squeeze(-2)


# ---------------------------------------------------------------------------------------------
# adaptive average pooling

def _adaptive_impl(x: np.ndarray, output_size: tuple) -> np.ndarray:
    nd = len(output_size)
    return K.adaptive_avg_pool(x, x.shape[-nd:], output_size, False)


def _adaptive_vjp(g: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    nd = len(p["output_size"])
    return apply(adaptive_backward_op, (g,), {"input_size": tuple(ins[0].shape[-nd:])})


def _adaptive_backward_impl(g: np.ndarray, input_size: tuple) -> np.ndarray:
    nd = len(input_size)
    return K.adaptive_avg_pool(g, input_size, g.shape[-nd:], True)


def _adaptive_backward_vjp(gg: Tensor, ins: Any, out: Any, p: dict) -> Tensor:
    nd = len(p["input_size"])
    return apply(adaptive_op, (gg,), {"output_size": tuple(ins[0].shape[-nd:])})


adaptive_op = Op("adaptive_avg_pool2d", _adaptive_impl, _adaptive_vjp,
                 "AdaptiveAvgPool2DBackward0", group="library")
adaptive_backward_op = Op("adaptive_avg_pool2d_backward", _adaptive_backward_impl,
                          _adaptive_backward_vjp, "AdaptiveAvgPool2DBackwardBackward0",
                          group="library")


def _adaptive_size(input: Tensor, output_size: Any, nd: int) -> tuple[int, ...]:  # noqa: A002
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    sizes = tuple(output_size)
    if len(sizes) != nd:
        raise RuntimeError(f"adaptive_avg_pool{nd}d: output_size must be {nd}")
    return tuple(input.shape[-nd + i] if s is None else int(s) for i, s in enumerate(sizes))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average over PyTorch's adaptive windows; a 1x1 output is a mean, as in PyTorch."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    out = _adaptive_size(input, output_size, 2)
    if any(o <= 0 for o in out) and math.prod(input.shape[-2:]) > 0:
        raise RuntimeError("adaptive_avg_pool2d(): output_size must be greater than zero")
    if out == (1, 1):
        return input.mean(dim=(-2, -1), keepdim=True)
    return apply(adaptive_op, (input,), {"output_size": out})


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """1-D adaptive average pooling, via the 2-D op as PyTorch does."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d() argument 'input' should have 2 or 3 "
                           f"dimensions, but got {list(input.shape)}")
    (o,) = _adaptive_size(input, output_size, 1)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, o)).squeeze(-2)


__all__ = ["adaptive_avg_pool1d", "avg_pool1d", "conv1d", "conv2d", "convolution",
           "max_pool1d", "max_pool1d_with_indices", "max_pool2d"]
