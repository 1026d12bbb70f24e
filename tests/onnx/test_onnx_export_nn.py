"""nn layers and the example models exported: onnxruntime and tracejit's loader agree with the
eager module at two values of each dynamic axis; parameters keep their names."""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("onnx.checker")  # (a bare "onnx" could find tests/onnx)
pytest.importorskip("onnxruntime")

from onnx_check import check_export  # noqa: E402

import tracejit as torch  # noqa: E402
import tracejit.onnx as tox  # noqa: E402
from tracejit import nn  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))
_R = np.random.default_rng(2)


def fl(*shape: object):
    return lambda b: _R.standard_normal([b if s == "b" else s for s in shape]).astype(np.float32)


def _eval(m: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return m.eval()


LAYERS = [
    ("linear", nn.Linear(3, 4), fl("b", 3)),
    ("linear_3d", nn.Linear(3, 4), fl("b", 2, 3)),
    ("linear_nobias", nn.Linear(3, 4, bias=False), fl("b", 3)),
    ("bilinear", nn.Bilinear(3, 3, 2), None),
    ("conv1d", nn.Conv1d(2, 3, 3, padding=1), fl("b", 2, 7)),
    ("conv2d_stride", nn.Conv2d(2, 4, 3, stride=2, padding=1), fl("b", 2, 7, 7)),
    ("conv2d_dilation_groups", nn.Conv2d(4, 4, 3, dilation=2, groups=2), fl("b", 4, 8, 8)),
    ("conv2d_same", nn.Conv2d(2, 3, 4, padding="same"), fl("b", 2, 6, 6)),
    ("maxpool2d", nn.MaxPool2d(2), fl("b", 3, 6, 6)),
    ("maxpool2d_pad_ceil", nn.MaxPool2d(3, 2, padding=1, ceil_mode=True), fl("b", 2, 7, 7)),
    ("maxpool1d", nn.MaxPool1d(2), fl("b", 3, 8)),
    ("avgpool2d", nn.AvgPool2d(2), fl("b", 3, 6, 6)),
    ("avgpool2d_pad", nn.AvgPool2d(3, 2, padding=1, count_include_pad=False), fl("b", 2, 7, 7)),
    ("avgpool1d", nn.AvgPool1d(3, 1, padding=1), fl("b", 2, 6)),
    ("adaptive_avg", nn.AdaptiveAvgPool2d((2, 3)), fl("b", 2, 4, 6)),
    ("global_avg", nn.AdaptiveAvgPool2d(1), fl("b", 2, 5, 5)),
    ("batchnorm2d", nn.BatchNorm2d(3), fl("b", 3, 4, 4)),
    ("batchnorm1d", nn.BatchNorm1d(3), fl("b", 3)),
    ("layernorm", nn.LayerNorm(4), fl("b", 3, 4)),
    ("groupnorm", nn.GroupNorm(2, 4), fl("b", 4, 3)),
    ("dropout_eval", nn.Dropout(0.5), fl("b", 3)),
    ("embedding", nn.Embedding(7, 3), None),
    ("softmax", nn.Softmax(dim=1), fl("b", 4)),
    ("prelu", nn.PReLU(3), fl("b", 3, 2)),
    ("gru", nn.GRU(3, 4, batch_first=True), fl("b", 5, 3)),
    ("gru_2layer_bidir", nn.GRU(3, 4, num_layers=2, bidirectional=True), fl(5, "b", 3)),
    ("rnn_relu", nn.RNN(3, 4, nonlinearity="relu"), fl(5, "b", 3)),
    ("rnn_tanh_nobias", nn.RNN(3, 4, bias=False, batch_first=True), fl("b", 5, 3)),
    ("lstm_unbatched", nn.LSTM(3, 4), fl("b", 3)),
]


@pytest.mark.parametrize("name, layer, make", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_exports(name: str, layer: nn.Module, make: object) -> None:
    layer = _eval(layer)
    for p in layer.parameters():  # non-trivial statistics and affine parameters
        p.data = torch.tensor(_R.uniform(0.5, 1.5, p.shape).astype(np.float32))
    for b in layer.buffers():
        if b.dtype.is_floating_point:
            b.data = torch.tensor(_R.uniform(0.5, 1.5, b.shape).astype(np.float32))
    if name == "bilinear":
        check_export(layer, lambda b: [fl(b, 3)(b), fl(b, 3)(b)])
        return
    if name == "embedding":
        check_export(layer, lambda b: [_R.integers(0, 7, (b, 4))])
        return
    dyn = {0: [0 if name not in ("gru_2layer_bidir", "rnn_relu") else 1]}
    if name == "lstm_unbatched":
        dyn = {0: [0]}  # the sequence length of an unbatched LSTM
    model = check_export(layer, lambda b: [make(b)], dyn=dyn)
    names = {t.name for t in model.graph.initializer}
    assert {n for n, _ in layer.named_parameters()} <= names


def test_rnn_sequence_and_batch_are_both_dynamic() -> None:
    lstm = _eval(nn.LSTM(3, 5, num_layers=2, batch_first=True))
    model = check_export(lstm, lambda b: [fl(b, 2 * b - 1, 3)(b)], dyn={0: [0, 1]},
                         sizes=(1, 3, 5))  # (batch, length) = (1, 1), (3, 5), (5, 9)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("LSTM") == 2  # one ONNX LSTM node per layer, not an unrolled loop


def test_lstm_with_given_state() -> None:
    lstm = _eval(nn.LSTM(3, 4, bidirectional=True))
    check_export(lambda x, h, c: lstm(x, (h, c)),
                 lambda b: [fl(5, b, 3)(b), fl(2, b, 4)(b), fl(2, b, 4)(b)],
                 dyn={0: [1], 1: [1], 2: [1]})


class Attention(nn.Module):
    """Multi-head self-attention: reshapes over two dynamic axes (batch and length)."""

    def __init__(self, d: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.qkv, self.out, self.heads, self.d = nn.Linear(d, 3 * d), nn.Linear(d, d), heads, d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2)
                   for t in self.qkv(x).chunk(3, -1))
        att = torch.softmax(q @ k.transpose(-2, -1) / (self.d // self.heads) ** 0.5, -1)
        return self.out((att @ v).transpose(1, 2).reshape(b, n, self.d))


def test_attention_with_dynamic_batch_and_length() -> None:
    check_export(_eval(Attention()), lambda b: [fl(b, 2 * b + 1, 8)(b)], dyn={0: [0, 1]},
                 sizes=(1, 4))


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                                 nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.net(x), 1)


class SeqModel(nn.Module):
    """The LSTM regressor of examples/varlen_lstm.py: last step of an LSTM, then a Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 12, batch_first=True)
        self.head = nn.Linear(12, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def test_mlp() -> None:
    model = check_export(_eval(MLP()), lambda b: [fl(b, 6)(b)], sizes=(1, 7, 64))
    assert any(n.op_type == "Gemm" for n in model.graph.node)


def test_digits_cnn() -> None:
    from digits_cnn import DigitsCNN

    model = check_export(_eval(DigitsCNN()), lambda b: [fl(b, 1, 8, 8)(b)], sizes=(1, 5, 32))
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "MaxPool", "Gemm", "Relu"} <= ops


def test_lstm_model_dynamic_batch_and_length() -> None:
    m = _eval(SeqModel())
    args = torch.randn(2, 3, 8)
    model = tox.export(m, (args,), None, input_names=["x"],
                       dynamic_axes={"x": {0: "batch", 1: "time"}, "output": {0: "batch"}})
    from onnx_check import session

    sess = session(model)
    assert sess.get_inputs()[0].shape == ["batch", "time", 8]
    for batch, length in ((1, 4), (5, 2), (3, 11)):
        x = _R.standard_normal((batch, length, 8)).astype(np.float32)
        with torch.no_grad():
            want = m(torch.tensor(x)).numpy()
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], want, rtol=1e-4, atol=1e-5)
