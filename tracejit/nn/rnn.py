"""Recurrent layers: RNN (tanh/relu), LSTM, GRU and their single-step cells.

Parameter names, shapes, registration order, gate order (LSTM i, f, g, o; GRU r, z, n with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn))) and initialisation (uniform +-1/sqrt(hidden))
are PyTorch's, so a torch state dict loads unchanged. The recurrence is a Python loop over
time steps of ordinary tracejit ops (matmul, sigmoid, tanh, chunk, stack, cat): the tape
differentiates it and the JIT traces it like any other code. The input projection of a whole
sequence is one matmul per layer and direction, outside the loop.
Not supported: PackedSequence inputs.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

from .. import ops
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _t(w: Tensor) -> Tensor:
    return w.transpose(0, 1)


# ---- one time step (shared by the sequence layers and the cells) ---------------------------
# ``xw`` is the input projection of this step, with every bias that can be folded into it.

def _rnn_step(act: Callable) -> Callable:
    def step(xw: Tensor, h: Tensor, w_hh_t: Tensor) -> Tensor:
        return act(xw + h.matmul(w_hh_t))

    return step


def _lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor,
               w_hr_t: Tensor | None) -> tuple[Tensor, Tensor]:
    i, f, g, o = (xw + h.matmul(w_hh_t)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr_t is not None:
        h = h.matmul(w_hr_t)
    return h, c


def _gru_step(xw: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None) -> Tensor:
    gh = h.matmul(w_hh_t)
    if b_hh is not None:
        gh = gh + b_hh
    r_i, z_i, n_i = xw.chunk(3, -1)
    r_h, z_h, n_h = gh.chunk(3, -1)
    r = (r_i + r_h).sigmoid()
    z = (z_i + z_h).sigmoid()
    n = (n_i + r * n_h).tanh()
    return (1 - z) * n + z * h


def _relu(x: Tensor) -> Tensor:
    return x.relu()


def _tanh(x: Tensor) -> Tensor:
    return x.tanh()


# ---- sequence layers -----------------------------------------------------------------------

class RNNBase(Module):
    """Shared parameters and the layer/direction/time loops of RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for name, v in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(v, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(v).__name__}")
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int):
                raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")
            if v <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        kw = {"dtype": dtype} if dtype is not None else {}
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        real_h = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for d in range(dirs):
                in_size = input_size if layer == 0 else real_h * dirs
                shapes = {"weight_ih": (gate, in_size), "weight_hh": (gate, real_h)}
                if bias:
                    shapes.update(bias_ih=(gate,), bias_hh=(gate,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for base, shape in shapes.items():
                    name = f"{base}_l{layer}{'_reverse' if d else ''}"
                    setattr(self, name, Parameter(ops.empty(shape, **kw)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: every parameter uniform in +-1/sqrt(hidden_size)."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op: there is no cuDNN weight buffer to compact."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    @property
    def _flat_weights(self) -> list[Parameter]:
        return [getattr(self, n) for n in self._flat_weights_names]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- forward ---------------------------------------------------------------------------
    def _check_input(self, input: Tensor) -> None:  # noqa: A002
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                             "instead")
        wdt = self._flat_weights[0].dtype
        if input.dtype is not wdt:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({wdt}). Convert input: input.to({wdt}), or convert model: "
                             f"model.to({input.dtype})")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def _states(self, hx: Any, batched: bool, batch: int, like: Tensor) -> list[Tensor]:
        """Initial states as [h0] or [h0, c0], each (layers * dirs, N, size)."""
        dirs = 2 if self.bidirectional else 1
        real_h = self.proj_size if self.proj_size > 0 else self.hidden_size
        sizes = [real_h, self.hidden_size] if self.mode == "LSTM" else [real_h]
        if hx is None:
            return [ops.zeros((self.num_layers * dirs, batch, s), dtype=like.dtype,
                              device=like.device)
                    for s in sizes]
        states = list(hx) if self.mode == "LSTM" else [hx]
        want = 3 if batched else 2
        if any(s.dim() != want for s in states):
            dims = ", ".join(f"{s.dim()}-D" for s in states)
            if self.mode == "LSTM":
                raise RuntimeError(
                    f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx "
                    f"should also be {want}-D but got ({dims}) tensors")
            raise RuntimeError(
                f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx should also "
                f"be {want}-D but got {dims} tensor")
        if not batched:
            states = [s.unsqueeze(1) for s in states]
        what = ["Expected hidden[0] size {}, got {}", "Expected hidden[1] size {}, got {}"] \
            if self.mode == "LSTM" else ["Expected hidden size {}, got {}"]
        for k, (s, size) in enumerate(zip(states, sizes)):
            expect = (self.num_layers * dirs, batch, size)
            if tuple(s.shape) != expect:
                raise RuntimeError(what[k].format(expect, list(s.shape)))
        return states

    def _direction(self, x: Tensor, states: list[Tensor], names: list[str],
                   reverse: bool) -> tuple[Tensor, list[Tensor]]:
        """Run one layer in one direction over x (L, N, in): outputs (L, N, H), last states."""
        p = {n.split("_l")[0]: getattr(self, n) for n in names}
        b_ih, b_hh = p.get("bias_ih"), p.get("bias_hh")
        w_hh_t = _t(p["weight_hh"])
        xw = x.matmul(_t(p["weight_ih"]))
        if b_ih is not None:
            # GRU keeps b_hn inside r * (...): only LSTM/RNN fold b_hh into the input side
            xw = xw + (b_ih if self.mode == "GRU" else b_ih + b_hh)
        steps = xw.unbind(0)
        length = len(steps)
        ys: list[Any] = [None] * length
        order = range(length - 1, -1, -1) if reverse else range(length)
        if self.mode == "LSTM":
            h, c = states
            w_hr = p.get("weight_hr")
            w_hr_t = _t(w_hr) if w_hr is not None else None
            for t in order:
                h, c = _lstm_step(steps[t], h, c, w_hh_t, w_hr_t)
                ys[t] = h
            last = [h, c]
        elif self.mode == "GRU":
            (h,) = states
            for t in order:
                h = _gru_step(steps[t], h, w_hh_t, b_hh)
                ys[t] = h
            last = [h]
        else:
            (h,) = states
            step = _rnn_step(_tanh if self.mode == "RNN_TANH" else _relu)
            for t in order:
                h = step(steps[t], h, w_hh_t)
                ys[t] = h
            last = [h]
        if not ys:
            return ops.zeros((0, x.shape[1], states[0].shape[-1]), dtype=x.dtype,
                             device=x.device), last
        return ops.stack(ys, 0), last

    def _run(self, input: Tensor, hx: Any) -> tuple[Tensor, list[Tensor]]:  # noqa: A002
        self._check_input(input)
        batched = input.dim() == 3
        x = input
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        states = self._states(hx, batched, x.shape[1], x)
        per_state = [s.unbind(0) for s in states]
        dirs = 2 if self.bidirectional else 1
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                y, last = self._direction(x, [ps[k] for ps in per_state],
                                          self._all_weights[k], reverse=d == 1)
                outs.append(y)
                for f, s in zip(finals, last):
                    f.append(s)
            x = outs[0] if dirs == 1 else ops.cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                from . import functional as F

                x = F.dropout(x, self.dropout, True)
        final = [ops.stack(f, 0) for f in finals]
        if not batched:
            return x.squeeze(1), [s.squeeze(1) for s in final]
        if self.batch_first:
            x = x.transpose(0, 1)
        return x, final


class RNN(RNNBase):
    """Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), act tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        out, (h,) = self._run(input, hx)
        return out, h


class LSTM(RNNBase):
    """Long short-term memory; returns (output, (h_n, c_n)). Supports proj_size."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        out, (h, c) = self._run(input, hx)
        return out, (h, c)


class GRU(RNNBase):
    """Gated recurrent unit; returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        out, (h,) = self._run(input, hx)
        return out, h


# ---- cells -----------------------------------------------------------------------------------

class RNNCellBase(Module):
    """Shared parameters (weight_ih, weight_hh, bias_ih, bias_hh) of the one-step cells."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"dtype": dtype} if dtype is not None else {}
        self.weight_ih = Parameter(ops.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(ops.empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(ops.empty((num_chunks * hidden_size,), **kw))
            self.bias_hh = Parameter(ops.empty((num_chunks * hidden_size,), **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: every parameter uniform in +-1/sqrt(hidden_size)."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    def _prepare(self, input: Tensor, hx: Any, n_states: int) -> tuple[Tensor, list, bool]:  # noqa: A002
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        if hx is not None:
            hs = list(hx) if n_states == 2 else [hx]
            if any(h.dim() not in (1, 2) for h in hs):
                raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got "
                                 f"{hs[0].dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if input.size(-1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(-1)} "
                               f"expected {self.input_size}")
        if hx is None:
            states = [ops.zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
                      for _ in range(n_states)]
        else:
            states = [h if batched else h.unsqueeze(0) for h in hs]
        return x, states, batched

    def _xw(self, x: Tensor, fold_hh: bool) -> Tensor:
        xw = x.matmul(_t(self.weight_ih))
        if self.bias_ih is not None:
            xw = xw + (self.bias_ih + self.bias_hh if fold_hh else self.bias_ih)
        return xw


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = act(W_ih x + b_ih + W_hh h + b_hh)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        x, (h,), batched = self._prepare(input, hx, 1)
        act = _tanh if self.nonlinearity == "tanh" else _relu
        h = _rnn_step(act)(self._xw(x, True), h, _t(self.weight_hh))
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, (h, c), batched = self._prepare(input, hx, 2)
        h, c = _lstm_step(self._xw(x, True), h, c, _t(self.weight_hh), None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: gates r, z, n in PyTorch's order and formula."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        x, (h,), batched = self._prepare(input, hx, 1)
        h = _gru_step(self._xw(x, False), h, _t(self.weight_hh), self.bias_hh)
        return h if batched else h.squeeze(0)
