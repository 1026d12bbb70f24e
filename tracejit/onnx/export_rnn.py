"""RNN, LSTM and GRU layers export as the ONNX RNN/LSTM/GRU ops, one node per layer.

tracejit's recurrent layers are Python loops over time steps, which a trace unrolls into a
graph fixed to one sequence length. While exporting, each layer's ``_run`` is swapped (on the
instance, restored afterwards) for one that records a single ``onnx_lstm``/``onnx_gru``/
``onnx_rnn`` node per layer, whose inputs are the layer's own parameters: the exported graph
then serves any sequence length and batch size, and the weights keep their parameter names
(the gate reordering ONNX wants is done by Split/Concat nodes in the graph).
LSTM with ``proj_size`` has no ONNX counterpart and is traced unrolled.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import ops
from ..dispatch import Op, apply
from ..tensor import Tensor
from .emitter import Emitter


def _shapes(x: np.ndarray, *rest: np.ndarray, mode: str, hidden: int, dirs: int,
            has_state: bool, bias: bool) -> tuple:
    """Shape-only forward: these ops exist only inside an export trace."""
    length, batch = x.shape[0], x.shape[1]
    y = np.zeros((length, dirs, batch, hidden), x.dtype)
    h = np.zeros((dirs, batch, hidden), x.dtype)
    return (y, h, h.copy()) if mode == "LSTM" else (y, h)


_OPS = {
    "LSTM": Op("onnx_lstm", _shapes, nout=3, group="library"),
    "GRU": Op("onnx_gru", _shapes, nout=2, group="library"),
    "RNN_TANH": Op("onnx_rnn", _shapes, nout=2, group="library"),
    "RNN_RELU": Op("onnx_rnn", _shapes, nout=2, group="library"),
}


def _export_run(m: Any, input: Tensor, hx: Any) -> tuple[Tensor, list[Tensor]]:  # noqa: A002
    """RNNBase._run with one recorded node per layer instead of the time loop."""
    m._check_input(input)
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(1)
    if batched and m.batch_first:
        x = x.transpose(0, 1)
    states = m._states(hx, batched, x.shape[1], x) if hx is not None else None
    dirs = 2 if m.bidirectional else 1
    h_size = m.hidden_size
    finals: list[list[Tensor]] = [[] for _ in range(2 if m.mode == "LSTM" else 1)]
    for layer in range(m.num_layers):
        ins = [x]
        if states is not None:
            ins += [s[layer * dirs:(layer + 1) * dirs] for s in states]
        for names in m._all_weights[layer * dirs:(layer + 1) * dirs]:
            ins += [getattr(m, nm) for nm in names]
        outs = apply(_OPS[m.mode], tuple(ins), {"mode": m.mode, "hidden": h_size, "dirs": dirs,
                                                "has_state": states is not None,
                                                "bias": bool(m.bias)})
        y = outs[0]
        if dirs == 1:
            x = y.squeeze(1)
        else:
            x = y.permute(0, 2, 1, 3).reshape(y.shape[0], y.shape[2], dirs * h_size)
        for f, s in zip(finals, outs[1:]):
            f.append(s)
        if m.dropout and m.training and layer < m.num_layers - 1:
            from ..nn import functional as F

            x = F.dropout(x, m.dropout, True)
    final = [f[0] if len(f) == 1 else ops.cat(f, 0) for f in finals]
    if not batched:
        return x.squeeze(1), [s.squeeze(1) for s in final]
    if m.batch_first:
        x = x.transpose(0, 1)
    return x, final


@contextlib.contextmanager
def rnn_as_onnx_ops(module: Any) -> Iterator[None]:
    """Within the block, the recurrent layers of ``module`` trace as one node per layer."""
    from ..nn.rnn import RNNBase

    patched = []
    if module is not None:
        for m in module.modules():
            if isinstance(m, RNNBase) and not m.proj_size and "_run" not in m.__dict__:
                object.__setattr__(m, "_run", functools.partial(_export_run, m))
                patched.append(m)
    try:
        yield
    finally:
        for m in patched:
            m.__dict__.pop("_run", None)


# ---- the export rule --------------------------------------------------------------------------

# ONNX gate order, as positions in PyTorch's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h
_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def _reorder(ctx: Emitter, name: str, mode: str, hidden: int) -> str:
    """A weight or bias with its gate blocks in ONNX's order, shaped [1, ...]."""
    order = _ORDER[mode]
    if len(order) > 1:
        parts = ctx.add("Split", [name, ctx.i64([hidden] * len(order))], n_out=len(order),
                        axis=0)
        name = ctx.add1("Concat", [parts[k] for k in order], axis=0)
    return ctx.add1("Unsqueeze", [name, ctx.i64([0])])


def _stack(ctx: Emitter, names: list[str]) -> str:
    return names[0] if len(names) == 1 else ctx.add1("Concat", names, axis=0)


def _emit_rnn(ctx: Emitter, n: Any) -> None:
    p = n.params
    mode, hidden, dirs = p["mode"], p["hidden"], p["dirs"]
    ins = [ctx.name(v) for v in n.ins]
    x = ins.pop(0)
    n_states = 2 if mode == "LSTM" else 1
    states = [ins.pop(0) for _ in range(n_states)] if p["has_state"] else [""] * n_states
    per = 4 if p["bias"] else 2
    w, r, b = [], [], []
    for d in range(dirs):
        w_ih, w_hh, *bias = ins[d * per:(d + 1) * per]
        w.append(_reorder(ctx, w_ih, mode, hidden))
        r.append(_reorder(ctx, w_hh, mode, hidden))
        if bias:
            both = [_reorder(ctx, bb, mode, hidden) for bb in bias]
            b.append(ctx.add1("Concat", both, axis=1))
    op_inputs = [x, _stack(ctx, w), _stack(ctx, r), _stack(ctx, b) if b else "", "", *states]
    while op_inputs[-1] == "":
        op_inputs.pop()
    attrs: dict[str, Any] = {"hidden_size": hidden,
                             "direction": "bidirectional" if dirs == 2 else "forward"}
    if mode == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch applies r after the hidden matmul
    if mode.startswith("RNN"):
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * dirs
    op_type = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    ctx.add(op_type, op_inputs, outputs=[ctx.out(n, k) for k in range(len(n.outs))], **attrs)


def _emit_node(ctx: Emitter, n: Any) -> None:
    """A recurrent node of a loaded ONNX model, written back as it was."""
    p = n.params
    it = iter(n.ins)
    ins = [ctx.name(next(it)) if here else "" for here in p["present"]]
    while ins and ins[-1] == "":
        ins.pop()
    attrs = {k: list(v) if isinstance(v, tuple) else v for k, v in p["attrs"]}
    ctx.add(p["op_type"], ins, outputs=[ctx.out(n, k) for k in range(len(n.outs))], **attrs)


TABLE: dict[str, Callable] = {"onnx_lstm": _emit_rnn, "onnx_gru": _emit_rnn,
                              "onnx_rnn": _emit_rnn, "onnx_node": _emit_node}
