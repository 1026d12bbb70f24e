"""Load rules for the ONNX LSTM, GRU and RNN ops: a loop over time steps of tracejit ops.

The JIT traces one program per input shape, so the loop unrolls for the sequence length of
each call, the same way tracejit's own recurrent layers run. Supported: forward, reverse and
bidirectional, both layouts, initial states, biases, LSTM peepholes, GRU with either
``linear_before_reset``, RNN with Tanh/Relu/Sigmoid. Not supported (clear error): ``clip``,
``input_forget``, other activation functions, and ``sequence_lens`` shorter than the input.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dispatch
from .. import ops as T
from ..dispatch import Op, apply
from ..tensor import Tensor
from .load_ctx import NodeCtx, rule_table

TABLE, rule = rule_table()

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"],
                 "RNN": ["tanh"]}
_ACTS = {"tanh": T.tanh, "relu": T.relu, "sigmoid": T.sigmoid}


def _opt(c: NodeCtx, x: list, k: int) -> Tensor | None:
    return c.t(x[k]) if len(x) > k and x[k] is not None else None


def _check(c: NodeCtx, x: list, a: dict, length: int, dirs: int) -> list[str]:
    if a.get("clip") is not None:
        raise c.fail("the clip attribute is not supported")
    if a.get("input_forget", 0):
        raise c.fail("input_forget is not supported")
    acts = [s.lower() for s in a.get("activations", [])] or _DEFAULT_ACTS[c.op] * dirs
    per = len(_DEFAULT_ACTS[c.op])
    for d in range(dirs):
        mine = acts[d * per:(d + 1) * per]
        ok = mine == _DEFAULT_ACTS[c.op] or (c.op == "RNN" and mine[0] in _ACTS)
        if not ok:
            raise c.fail(f"activations {mine} are not supported")
    if len(x) > 4 and x[4] is not None:
        lens = np.asarray(c.static(x[4], "sequence_lens"))
        if lens.size and not np.all(lens == length):
            raise c.fail("sequence_lens shorter than the input sequence are not supported")
    return acts


def _node_shapes(*arrays: np.ndarray, op_type: str, present: tuple, attrs: tuple) -> tuple:
    """Shape-only forward of a recurrent node recorded whole inside an export trace."""
    a = dict(attrs)
    xs = arrays[0]
    dirs = 2 if a.get("direction") == "bidirectional" else 1
    hidden = int(a["hidden_size"])
    length, batch = (xs.shape[1], xs.shape[0]) if a.get("layout", 0) else xs.shape[:2]
    y = np.zeros((batch, length, dirs, hidden) if a.get("layout", 0) else
                 (length, dirs, batch, hidden), xs.dtype)
    h = np.zeros((batch, dirs, hidden) if a.get("layout", 0) else (dirs, batch, hidden),
                 xs.dtype)
    return (y, h, h.copy()) if op_type == "LSTM" else (y, h)


PASSTHROUGH = {k: Op("onnx_node", _node_shapes, nout=3 if k == "LSTM" else 2, group="library")
               for k in ("LSTM", "GRU", "RNN")}


def _exporting() -> bool:
    from .capture import SourceTracer

    return isinstance(dispatch.tracer[0], SourceTracer)


@rule("LSTM", "GRU", "RNN")
def _rnn(c: NodeCtx, x: list, a: dict) -> list[Tensor]:
    if _exporting() and (len(x) < 5 or x[4] is None):
        # re-exporting a loaded model: keep the node whole (not unrolled over time)
        present = tuple(v is not None for v in x)
        ins = tuple(c.t(v) for v in x if v is not None)
        attrs = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in a.items()))
        outs = apply(PASSTHROUGH[c.op], ins, {"op_type": c.op, "present": present,
                                              "attrs": attrs})
        return list(outs)
    xs, w_all, r_all = c.t(x[0]), c.t(x[1]), c.t(x[2])
    b_all = _opt(c, x, 3)
    h0, c0 = _opt(c, x, 5), _opt(c, x, 6)
    peep = _opt(c, x, 7) if c.op == "LSTM" else None
    layout = a.get("layout", 0)
    if layout:
        xs = xs.transpose(0, 1)
        h0 = h0.transpose(0, 1) if h0 is not None else None
        c0 = c0.transpose(0, 1) if c0 is not None else None
    direction = a.get("direction", "forward")
    dirs = 2 if direction == "bidirectional" else 1
    length, batch = xs.shape[0], xs.shape[1]
    acts = _check(c, x, a, length, dirs)
    hidden = int(a.get("hidden_size", r_all.shape[-1]))
    g = _GATES[c.op] * hidden
    ys, hs, cs = [], [], []
    for d in range(dirs):
        reverse = direction == "reverse" or d == 1
        w, r = w_all[d], r_all[d]
        b = b_all[d] if b_all is not None else None
        zeros = T.zeros((batch, hidden), dtype=xs.dtype)
        h = h0[d] if h0 is not None else zeros
        cell = c0[d] if c0 is not None else zeros
        xw = T.matmul(xs, w.t())
        rb = None
        if b is not None:
            wb, rb = b[:g], b[g:]
            xw = xw + (wb if c.op == "GRU" else wb + rb)
        steps = xw.unbind(0)
        out: list[Any] = [None] * length
        order = range(length - 1, -1, -1) if reverse else range(length)
        if c.op == "LSTM":
            p = peep[d].chunk(3) if peep is not None else None
            for t in order:
                h, cell = _lstm_step(steps[t], h, cell, r, p)
                out[t] = h
        elif c.op == "GRU":
            for t in order:
                h = _gru_step(steps[t], h, r, rb, hidden, a.get("linear_before_reset", 0))
                out[t] = h
        else:
            act = _ACTS[acts[d]]
            r_t = r.t()
            for t in order:
                h = act(steps[t] + T.matmul(h, r_t))
                out[t] = h
        ys.append(T.stack(out, 0) if length else T.zeros((0, batch, hidden), dtype=xs.dtype))
        hs.append(h)
        cs.append(cell)
    y, y_h, y_c = T.stack(ys, 1), T.stack(hs, 0), T.stack(cs, 0)
    if layout:
        y, y_h, y_c = y.permute(2, 0, 1, 3), y_h.transpose(0, 1), y_c.transpose(0, 1)
    return [y, y_h, y_c] if c.op == "LSTM" else [y, y_h]


def _lstm_step(xw: Tensor, h: Tensor, cell: Tensor, r: Tensor,
               peep: Any) -> tuple[Tensor, Tensor]:
    """ONNX gate order i, o, f, c; peepholes p_i, p_o, p_f."""
    i, o, f, cc = (xw + T.matmul(h, r.t())).chunk(4, -1)
    if peep is not None:
        i, f = i + peep[0] * cell, f + peep[2] * cell
    cell = T.sigmoid(f) * cell + T.sigmoid(i) * T.tanh(cc)
    if peep is not None:
        o = o + peep[1] * cell
    return T.sigmoid(o) * T.tanh(cell), cell


def _gru_step(xw: Tensor, h: Tensor, r: Tensor, rb: Tensor | None, hidden: int,
              linear_before_reset: int) -> Tensor:
    """ONNX gate order z, r, h; linear_before_reset=1 is PyTorch's GRU."""
    xz, xr, xh = xw.chunk(3, -1)
    if linear_before_reset:
        gh = T.matmul(h, r.t())
        if rb is not None:
            gh = gh + rb
        hz, hr, hh = gh.chunk(3, -1)
        z, rt = T.sigmoid(xz + hz), T.sigmoid(xr + hr)
        n = T.tanh(xh + rt * hh)
    else:
        gzr = T.matmul(h, r[:2 * hidden].t())
        if rb is not None:
            gzr = gzr + rb[:2 * hidden]
        hz, hr = gzr.chunk(2, -1)
        z, rt = T.sigmoid(xz + hz), T.sigmoid(xr + hr)
        gn = T.matmul(rt * h, r[2 * hidden:].t())
        if rb is not None:
            gn = gn + rb[2 * hidden:]
        n = T.tanh(xh + gn)
    return (1 - z) * n + z * h
