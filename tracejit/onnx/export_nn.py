"""Export rules for the nn ops: convolution, pooling, padding, one-hot and the loss primitives.

Layers that are compositions (Linear is ``t`` + ``addmm``, BatchNorm in eval mode is
elementwise arithmetic on its running statistics, cross entropy is ``log_softmax`` +
``nll_loss``) export through the rules of the ops they are made of.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .emitter import Emitter
from .export_ops import to_out

TABLE: dict[str, Callable] = {}


def rule(*names: str) -> Callable:
    def deco(fn: Callable) -> Callable:
        for nm in names:
            TABLE[nm] = fn
        return fn

    return deco


@rule("convolution")
def _conv(ctx: Emitter, n: Any) -> None:
    p = n.params
    pads = [lo for lo, _ in p["padding"]] + [hi for _, hi in p["padding"]]
    kernel = list(ctx.shape(n.ins[1])[2:])
    ctx.add1("Conv", [ctx.name(v) for v in n.ins], ctx.out(n), strides=list(p["stride"]),
             pads=pads, dilations=list(p["dilation"]), group=int(p["groups"]),
             kernel_shape=kernel)


@rule("max_pool2d_indices")
def _max_pool_indices(ctx: Emitter, n: Any) -> None:
    """Only the values' rule reads these (through MaxPool): indices as an output have no
    mapping (ONNX numbers them over the whole tensor, PyTorch per plane)."""
    for user in ctx.users.get(n.outs[0], []):
        if user.op.name != "max_pool2d":
            raise ctx.fail(n, "max pooling indices (return_indices=True) have no ONNX mapping")
    if n.outs[0] in ctx.g.outputs:
        raise ctx.fail(n, "max pooling indices (return_indices=True) have no ONNX mapping")


@rule("max_pool2d")
def _max_pool(ctx: Emitter, n: Any) -> None:
    src = ctx.producer.get(n.ins[1])
    if src is None or src.op.name != "max_pool2d_indices" or src.ins[0] != n.ins[0]:
        raise ctx.fail(n, "max pooling over indices computed elsewhere")
    p = src.params
    pads = list(p["padding"]) * 2
    ctx.add1("MaxPool", [ctx.inp(n)], ctx.out(n), kernel_shape=list(p["kernel_size"]),
             strides=list(p["stride"]), pads=pads, dilations=list(p["dilation"]),
             ceil_mode=int(p["ceil_mode"]))


@rule("avg_pool2d")
def _avg_pool(ctx: Emitter, n: Any) -> None:
    p = n.params
    if p["divisor_override"] is not None:
        raise ctx.fail(n, "avg_pool2d's divisor_override has no ONNX mapping")
    ctx.add1("AveragePool", [ctx.inp(n)], ctx.out(n), kernel_shape=list(p["kernel_size"]),
             strides=list(p["stride"]), pads=list(p["padding"]) * 2,
             ceil_mode=int(p["ceil_mode"]), count_include_pad=int(p["count_include_pad"]))


@rule("adaptive_avg_pool2d")
def _adaptive(ctx: Emitter, n: Any) -> None:
    """Adaptive pooling with equal windows (input size a multiple of the output size)."""
    out = list(n.params["output_size"])
    vid = n.ins[0]
    nd = len(out)
    sizes, sym = ctx.shape(vid)[-nd:], ctx.sym(vid)[-nd:]
    if any(sym) or any(s % o for s, o in zip(sizes, out)):
        raise ctx.fail(n, "adaptive pooling has an ONNX mapping only when each input size is "
                          "a fixed multiple of the output size")
    k = [s // o for s, o in zip(sizes, out)]
    ctx.add1("AveragePool", [ctx.inp(n)], ctx.out(n), kernel_shape=k, strides=k)


@rule("constant_pad_nd")
def _pad(ctx: Emitter, n: Any) -> None:
    pad, nd = list(n.params["pad"]), len(ctx.shape(n.ins[0]))
    begins, ends = [0] * nd, [0] * nd
    for i in range(len(pad) // 2):
        begins[nd - 1 - i], ends[nd - 1 - i] = pad[2 * i], pad[2 * i + 1]
    value = ctx.scalar(n.params["value"], ctx.dtype(n.outs[0]))
    ctx.add1("Pad", [ctx.inp(n), ctx.i64(begins + ends), value], ctx.out(n), mode="constant")


@rule("one_hot")
def _one_hot(ctx: Emitter, n: Any) -> None:
    classes = ctx.const(np.arange(n.params["num_classes"], dtype=np.int64))
    x = ctx.cast(ctx.inp(n), ctx.dtype(n.ins[0]), np.int64)
    eq = ctx.add1("Equal", [ctx.add1("Unsqueeze", [x, ctx.i64([-1])]), classes])
    ctx.cast(eq, np.bool_, ctx.dtype(n.outs[0]), ctx.out(n))


@rule("dropout_noise")
def _dropout(ctx: Emitter, n: Any) -> None:
    raise ctx.fail(n, "dropout in training mode draws random noise, which export does not "
                      "write; call model.eval() before exporting")


@rule("nll_loss", "nll_loss2d")
def _nll(ctx: Emitter, n: Any) -> None:
    p = n.params
    x, t = ctx.inp(n, 0), ctx.cast(ctx.inp(n, 1), ctx.dtype(n.ins[1]), np.int64)
    one_d = len(ctx.shape(n.ins[0])) == 1
    if one_d:  # a single sample: (C,) and a 0-d target
        x = ctx.add1("Unsqueeze", [x, ctx.i64([0])])
        t = ctx.add1("Unsqueeze", [t, ctx.i64([0])])
    ins = [x, t] + ([ctx.inp(n, 2)] if len(n.ins) > 2 else [])
    squeeze = one_d and p["reduction"] == "none"
    r = ctx.add1("NegativeLogLikelihoodLoss", ins, None if squeeze else ctx.out(n),
                 reduction=p["reduction"], ignore_index=int(p["ignore_index"]))
    if squeeze:
        ctx.add1("Squeeze", [r, ctx.i64([0])], ctx.out(n))


@rule("binary_cross_entropy")
def _bce(ctx: Emitter, n: Any) -> None:
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch does."""
    dt = ctx.dtype(n.outs[0])
    x, t = ctx.inp(n, 0), to_out(ctx, n, 1)
    one, floor = ctx.scalar(1, dt), ctx.scalar(-100, dt)
    lx = ctx.add1("Max", [ctx.add1("Log", [x]), floor])
    l1x = ctx.add1("Max", [ctx.add1("Log", [ctx.add1("Sub", [one, x])]), floor])
    pos = ctx.add1("Mul", [t, lx])
    neg = ctx.add1("Mul", [ctx.add1("Sub", [one, t]), l1x])
    ctx.add1("Neg", [ctx.add1("Add", [pos, neg])], ctx.out(n))


@rule("binary_cross_entropy_with_logits")
def _bce_logits(ctx: Emitter, n: Any) -> None:
    """(1 - t) x + w * (log(1 + exp(-|x|)) + max(-x, 0)), w = (pos_weight - 1) t + 1."""
    dt = ctx.dtype(n.outs[0])
    x, t = ctx.inp(n, 0), to_out(ctx, n, 1)
    one = ctx.scalar(1, dt)
    softplus = ctx.add1("Add", [
        ctx.add1("Log", [ctx.add1("Add", [one, ctx.add1("Exp", [
            ctx.add1("Neg", [ctx.add1("Abs", [x])])])])]),
        ctx.add1("Relu", [ctx.add1("Neg", [x])])])
    if len(n.ins) > 2:
        w = ctx.add1("Add", [ctx.add1("Mul", [ctx.add1("Sub", [ctx.inp(n, 2), one]), t]), one])
        softplus = ctx.add1("Mul", [w, softplus])
    lin = ctx.add1("Mul", [ctx.add1("Sub", [one, t]), x])
    ctx.add1("Add", [lin, softplus], ctx.out(n))
