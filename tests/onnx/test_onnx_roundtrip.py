"""Loading: a module run by the JIT whose initializers are trainable Parameters. Round trip:
export a model, load it back, replace its last Linear layer, fine-tune a step, export again and
check the final file with onnxruntime."""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("onnx.checker")  # (a bare "onnx" could find tests/onnx)
pytest.importorskip("onnxruntime")

from onnx_check import session  # noqa: E402

import tracejit as torch  # noqa: E402
import tracejit.onnx as tox  # noqa: E402
from tracejit import nn  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))
_R = np.random.default_rng(3)


def _cnn() -> nn.Module:
    from digits_cnn import DigitsCNN

    torch.manual_seed(0)
    return DigitsCNN().eval()


def _images(n: int) -> np.ndarray:
    return _R.standard_normal((n, 1, 8, 8)).astype(np.float32)


def test_loaded_module_is_a_jitted_module_with_parameters(tmp_path: pathlib.Path) -> None:
    cnn = _cnn()
    path = tmp_path / "cnn.onnx"
    tox.export(cnn, torch.randn(2, 1, 8, 8), path, dynamic_axes={"input": {0: "n"}})
    m = tox.load(str(path))
    assert isinstance(m, nn.Module)
    assert dict(cnn.named_parameters()).keys() == dict(m.named_parameters()).keys()
    for (_, p), (_, q) in zip(cnn.named_parameters(), m.named_parameters()):
        assert isinstance(q, nn.Parameter) and q.requires_grad
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    x = _images(4)
    with torch.no_grad():
        want = cnn(torch.tensor(x)).numpy()
        for arg in (x, torch.tensor(x), x):  # numpy or tensors; the second call replays
            out = m(arg)
            assert isinstance(out, list) and len(out) == 1
            np.testing.assert_allclose(out[0].numpy(), want, rtol=1e-5, atol=1e-6)
        m(_images(7))
    info = m._onnx_jit.cache_info()
    assert info.traces == 2 and info.hits == 2  # one trace per shape, compiled and replayed
    jitted = torch.jit(lambda t: m(t)[0] * 2)  # inlines into an enclosing trace
    with torch.no_grad():
        np.testing.assert_allclose(jitted(torch.tensor(x)).numpy(), 2 * want, rtol=1e-5,
                                   atol=1e-6)


def test_gradients_through_a_loaded_model_match_the_original() -> None:
    cnn = _cnn()
    m = tox.load(tox.export(cnn, torch.randn(2, 1, 8, 8), None))
    x, y = torch.tensor(_images(2)), torch.tensor([3, 1])
    nn.functional.cross_entropy(cnn(x), y).backward()
    nn.functional.cross_entropy(m(x)[0], y).backward()
    for (name, p), (_, q) in zip(cnn.named_parameters(), m.named_parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_loaded_lstm_and_gru_run_as_the_originals() -> None:
    torch.manual_seed(1)
    for layer in (nn.LSTM(3, 4, num_layers=2, bidirectional=True), nn.GRU(3, 4)):
        layer.eval()
        m = tox.load(tox.export(layer, torch.randn(5, 2, 3), None,
                                dynamic_axes={"input": {0: "t", 1: "n"}}))
        x = torch.tensor(_R.standard_normal((7, 3, 3)).astype(np.float32))
        with torch.no_grad():
            for got, want in zip(m(x), [layer(x)[0], *([layer(x)[1]] if isinstance(
                    layer, nn.GRU) else list(layer(x)[1]))]):
                np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


class Tuned(nn.Module):
    """The loaded network up to its last Linear layer, and a new head."""

    def __init__(self, trunk: nn.Module, features: int, classes: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)[0])


def test_round_trip_replace_last_layer_fine_tune_export(tmp_path: pathlib.Path) -> None:
    first = tmp_path / "first.onnx"
    tox.export(_cnn(), torch.randn(2, 1, 8, 8), first, input_names=["images"],
               dynamic_axes={"images": {0: "batch"}})
    import onnx

    graph = onnx.load(str(first)).graph
    last = [n for n in graph.node if n.op_type == "Gemm"][-1]
    trunk = tox.load(str(first), outputs=[last.input[0]])  # the features before the last layer
    torch.manual_seed(5)
    model = Tuned(trunk, 64, 5)
    before = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.tensor(_images(8)), torch.tensor(_R.integers(0, 5, 8))
    for _ in range(2):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    changed = [n for n, p in model.named_parameters()
               if not np.array_equal(before[n], p.detach().numpy())]
    assert "head.weight" in changed and "trunk.features.0.weight" in changed
    final = tmp_path / "final.onnx"
    proto = tox.export(model, torch.randn(2, 1, 8, 8), final, input_names=["images"],
                       dynamic_axes={"images": {0: "batch"}})
    names = {t.name for t in proto.graph.initializer}
    assert {"trunk.features.0.weight", "head.weight"} <= names
    onnx.checker.check_model(onnx.load(str(final)), full_check=True)
    sess = session(onnx.load(str(final)))
    for n in (1, 6):
        imgs = _images(n)
        with torch.no_grad():
            want = model(torch.tensor(imgs)).numpy()
        assert want.shape == (n, 5)
        np.testing.assert_allclose(sess.run(None, {"images": imgs})[0], want, rtol=1e-4,
                                   atol=1e-5)


def test_replaced_parameter_is_used_and_odd_names_are_kept_safe() -> None:
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    m = tox.load(tox.export(mlp, torch.randn(2, 3), None))
    x = _R.standard_normal((2, 3)).astype(np.float32)
    with torch.no_grad():
        before = m(x)[0].numpy()
        m._modules["2"].weight = nn.Parameter(torch.zeros(2, 4))  # swap in a new parameter
        after = m(x)[0].numpy()
    np.testing.assert_allclose(after, np.broadcast_to(mlp[2].bias.detach().numpy(), (2, 2)),
                               rtol=1e-6)
    assert not np.allclose(before, after)
    import onnx
    from onnx import TensorProto, helper

    inits = [helper.make_tensor(n, TensorProto.FLOAT, [2], [1.0, 2.0])
             for n in ("onnx::Add_1", "forward", "a.b", "a.b.c")]
    nodes = [helper.make_node("Add", ["x", inits[0].name], ["y0"])]
    nodes += [helper.make_node("Add", [f"y{i}", t.name], [f"y{i + 1}"])
              for i, t in enumerate(inits[1:])]
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in ("x", "y3")]
    model = helper.make_model(helper.make_graph(nodes, "g", vi[:1], vi[1:], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    m = tox.load(model)
    assert len(list(m.parameters())) == 4 and "a.b" in dict(m.named_parameters())
    with torch.no_grad():
        np.testing.assert_allclose(m(np.zeros(2, np.float32))[0].numpy(), [4.0, 8.0])


@pytest.mark.parametrize("opset", [13, 15, 18, 21])
def test_models_at_several_opsets(opset: int) -> None:
    from onnx_check import check_export

    lstm = nn.GRU(3, 4, num_layers=2).eval()
    check_export(_cnn(), lambda b: [_images(b)], opset=opset)
    check_export(lstm, lambda b: [_R.standard_normal((b + 2, b, 3)).astype(np.float32)],
                 dyn={0: [0, 1]}, opset=opset)
    check_export(lambda x: (x.amax(1), x.var(0), x.prod(1), x.unbind(1), x.cumsum(1)),
                 lambda b: [_R.standard_normal((b, 3)).astype(np.float32)], opset=opset)


def test_export_of_a_jitted_function_and_output_dim_names() -> None:
    cnn = _cnn()
    proto = tox.export(torch.jit(cnn), torch.randn(2, 1, 8, 8), None, input_names=["img"],
                       output_names=["logits"], dynamic_axes={"img": {0: "batch"}})
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 10]
    assert {n for n, _ in cnn.named_parameters()} <= {t.name for t in proto.graph.initializer}


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def test_loaded_lstm_fine_tunes_and_exports_again_with_dynamic_axes() -> None:
    torch.manual_seed(2)
    axes = {"input": {0: "batch", 1: "time"}}
    loaded = tox.load(tox.export(Recurrent().eval(), torch.randn(2, 5, 3), None,
                                 dynamic_axes=axes))
    opt = torch.optim.SGD(loaded.parameters(), lr=0.1)
    loaded(torch.randn(3, 6, 3))[0].pow(2).mean().backward()
    opt.step()
    proto = tox.export(loaded, torch.randn(2, 5, 3), None, dynamic_axes=axes)
    assert [n.op_type for n in proto.graph.node].count("LSTM") == 1  # still one node
    sess = session(proto)
    for shape in ((1, 2, 3), (4, 9, 3)):
        x = _R.standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            want = loaded(x)[0].numpy()
        np.testing.assert_allclose(sess.run(None, {"input": x})[0], want, rtol=1e-4, atol=1e-5)


def _cuda_available() -> bool:
    cuda = getattr(torch, "cuda", None)
    return bool(cuda is not None and cuda.is_available())


@pytest.mark.skipif(not _cuda_available(), reason="no CUDA runtime (TRACEJIT_CUDA_SIM=1 or GPU)")
def test_loaded_model_runs_on_cuda_inputs() -> None:
    cnn = _cnn()
    m = tox.load(tox.export(cnn, torch.randn(2, 1, 8, 8), None,
                            dynamic_axes={"input": {0: "batch"}}))
    x = torch.tensor(_images(3))
    with torch.no_grad():
        out = m(x.to("cuda"))[0]
        assert out.device.type == "cuda"
        np.testing.assert_allclose(out.cpu().numpy(), cnn(x).numpy(), rtol=1e-4, atol=1e-5)


def test_loads_models_exported_by_pytorch() -> None:
    """Files from PyTorch's own exporter (shape arithmetic, ONNX LSTM) load and agree."""
    real = pytest.importorskip("torch")
    import io
    import warnings

    real.manual_seed(0)
    models = [
        (real.nn.Sequential(real.nn.Conv2d(1, 4, 3, padding=1), real.nn.BatchNorm2d(4),
                            real.nn.ReLU(), real.nn.MaxPool2d(2), real.nn.Flatten(),
                            real.nn.Linear(64, 10)).eval(), (2, 1, 8, 8), (5, 1, 8, 8)),
        (real.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True).eval(),
         (2, 4, 3), (3, 7, 3)),
    ]
    for model, example, shape in models:
        buf = io.BytesIO()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                real.onnx.export(model, (real.randn(*example),), buf, dynamo=False,
                                 input_names=["x"], dynamic_axes={"x": {0: "b", 1: "t"}},
                                 opset_version=17)
        except Exception as e:  # noqa: BLE001 - an exporter this torch build lacks
            pytest.skip(f"torch.onnx.export unavailable: {e}")
        loaded = tox.load(buf.getvalue())
        x = _R.standard_normal(shape).astype(np.float32)
        with torch.no_grad(), real.no_grad():
            got = loaded(x)
            want = model(real.tensor(x))
        want = [want] if isinstance(want, real.Tensor) else [want[0], *want[1]]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-4, atol=1e-5)
