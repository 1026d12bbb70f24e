"""Clear errors: ops with no mapping (named, with the source line), sizes baked into the trace,
state changes, and malformed or hostile files on load (errors, never crashes)."""
from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("onnx.checker")  # (a bare "onnx" could find tests/onnx)
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402
from onnx_check import session  # noqa: E402

import tracejit as torch  # noqa: E402
import tracejit.onnx as tox  # noqa: E402
from tracejit import nn  # noqa: E402

HERE = os.path.basename(__file__)
BATCH = {"input": {0: "batch"}}


def _export(fn: object, *args: object, **kw: object) -> object:
    return tox.export(fn, tuple(args), None, **kw)


# ---- export ---------------------------------------------------------------------------------

def test_unmapped_op_names_op_and_line() -> None:
    with pytest.raises(tox.OnnxExportError, match=rf"'diagonal'.*{HERE}:\d+"):
        _export(lambda x: torch.diagonal(x) * 2, torch.randn(3, 3))


def test_size_used_as_a_number_is_refused() -> None:
    with pytest.raises(tox.OnnxExportError, match=rf"{HERE}:\d+.*dynamic axis"):
        _export(lambda x: x * (x.shape[0] + 1), torch.randn(2, 3), dynamic_axes=BATCH)


def test_size_used_as_a_number_is_recomputed_when_it_is_the_size() -> None:
    m = _export(lambda x: x.sum(0) / x.shape[0], torch.randn(2, 3), dynamic_axes=BATCH)
    assert "Shape" in {n.op_type for n in m.graph.node}
    _export(lambda x: x * 0 + 7.0 / 7.0, torch.randn(2, 3), dynamic_axes=BATCH)  # not a size
    # at batch 2 the trace shares one constant 2.0 between a real 2.0 and the batch size
    m = _export(lambda x: x * 2.0 + x.shape[0], torch.randn(2, 3), dynamic_axes=BATCH)
    x = np.ones((5, 3), np.float32)
    np.testing.assert_allclose(session(m).run(None, {"input": x})[0], x * 2 + 5)


def test_python_loop_over_dynamic_axis_is_refused() -> None:
    with pytest.raises(tox.OnnxExportError, match="changes with the size of a dynamic axis"):
        _export(lambda x: sum(x[i] for i in range(x.shape[0])), torch.randn(2, 3),
                dynamic_axes=BATCH)
    _export(lambda x: sum(x[i] for i in range(x.shape[0])), torch.randn(2, 3))  # static: fine


def test_tensor_made_from_a_dynamic_size_is_refused() -> None:
    with pytest.raises(tox.OnnxExportError, match="made inside the traced function"):
        _export(lambda x: x + torch.arange(x.shape[0]).float().unsqueeze(1), torch.randn(2, 3),
                dynamic_axes=BATCH)


def test_reshape_baking_two_dynamic_products_is_refused() -> None:
    f = lambda x: x.reshape(x.shape[0] * x.shape[1], x.shape[2] * x.shape[3])  # noqa: E731
    with pytest.raises(tox.OnnxExportError, match="reshape"):
        _export(f, torch.randn(2, 3, 4, 5), dynamic_axes={"input": [0, 1, 2, 3]})


def test_training_mode_state_and_noise_are_refused() -> None:
    bn = nn.BatchNorm1d(3)
    with pytest.raises(tox.OnnxExportError, match=r"model\.eval\(\)"):
        _export(bn, torch.randn(4, 3))
    drop = nn.Dropout(0.5)
    with pytest.raises(tox.OnnxExportError, match=r"dropout.*eval"):
        _export(drop, torch.randn(4, 3))
    _export(bn.eval(), torch.randn(4, 3))


def test_max_pool_indices_are_refused() -> None:
    pool = nn.MaxPool2d(2, return_indices=True)
    with pytest.raises(tox.OnnxExportError, match="indices"):
        _export(pool, torch.randn(1, 1, 4, 4))


def test_bad_arguments() -> None:
    x = torch.randn(2, 3)
    with pytest.raises(ValueError, match="dynamic_axes"):
        _export(torch.relu, x, dynamic_axes={"nope": [0]})
    with pytest.raises(ValueError, match="output_names"):
        _export(torch.relu, x, output_names=["a", "b"])
    with pytest.raises(ValueError, match="opset_version"):
        _export(torch.relu, x, opset_version=9)
    with pytest.raises(tox.OnnxExportError, match="returned a"):
        _export(lambda t: 3, x)


# ---- load -----------------------------------------------------------------------------------

def _model(nodes: list, inputs: list, outputs: list, opset: int = 17, inits: tuple = ()) -> object:
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name: str, shape: list, dt: int = TensorProto.FLOAT) -> object:
    return helper.make_tensor_value_info(name, dt, shape)


def test_garbage_and_truncated_files(tmp_path: object) -> None:
    with pytest.raises(tox.OnnxLoadError, match="not an ONNX model|no graph"):
        tox.load(b"\x08\x07\xff\xff garbage \x00\x01" * 10)
    good = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [2])], [_vi("y", [2])])
    data = good.SerializeToString()
    for cut in (len(data) // 3, len(data) - 3):
        path = tmp_path / f"cut{cut}.onnx"
        path.write_bytes(data[:cut])
        with pytest.raises(tox.OnnxLoadError):
            tox.load(str(path))
    with pytest.raises(tox.OnnxLoadError, match="cannot read"):
        tox.load(str(tmp_path / "missing.onnx"))


def test_unsupported_operator_is_named() -> None:
    m = _model([helper.make_node("Det", ["x"], ["y"], name="the_det")], [_vi("x", [2, 2])],
               [_vi("y", [])])
    with pytest.raises(tox.OnnxLoadError, match="'Det'.*the_det"):
        tox.load(m)
    m = _model([helper.make_node("Foo", ["x"], ["y"], domain="com.example")],
               [_vi("x", [2])], [_vi("y", [2])])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(tox.OnnxLoadError, match="com.example::Foo"):
        tox.load(m)


def test_invalid_graphs_are_rejected() -> None:
    m = _model([helper.make_node("Relu", ["nowhere"], ["y"])], [_vi("x", [2])], [_vi("y", [2])])
    with pytest.raises(tox.OnnxLoadError, match="checker"):
        tox.load(m)
    m = _model([helper.make_node("Softmax", ["x"], ["y"])], [_vi("x", [2])], [_vi("y", [2])],
               opset=11)
    with pytest.raises(tox.OnnxLoadError, match="opset 11"):
        tox.load(m)


def test_hostile_tensors() -> None:
    big = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 40], raw_data=b"\0" * 8)
    m = _model([helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [2])], [_vi("y", [2])],
               inits=[big])
    with pytest.raises(tox.OnnxLoadError):
        tox.load(m)
    ext = helper.make_tensor("w", TensorProto.FLOAT, [2], vals=[1.0, 2.0])
    ext.data_location = TensorProto.EXTERNAL
    entry = ext.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    m = _model([helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [2])], [_vi("y", [2])],
               inits=[ext])
    with pytest.raises(tox.OnnxLoadError, match="external data"):
        tox.load(m)
    shape = helper.make_tensor("s", TensorProto.INT64, [3], vals=[1 << 20, 1 << 20, 1 << 20])
    m = _model([helper.make_node("ConstantOfShape", ["s"], ["y"])], [], [_vi("y", list("abc"))],
               inits=[shape])
    with pytest.raises(tox.OnnxLoadError, match="too large"):
        tox.load(m)()


def test_wrong_inputs() -> None:
    m = tox.load(_model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [2, "n"])],
                        [_vi("y", [2, "n"])]))
    assert m(np.ones((2, 5), np.float32))[0].shape == (2, 5)
    with pytest.raises(TypeError, match="expects float32"):
        m(np.ones((2, 5)))
    with pytest.raises(ValueError, match="expects shape"):
        m(np.ones((3, 5), np.float32))
    with pytest.raises(TypeError, match="takes 1 inputs"):
        m()


def test_values_needed_while_tracing_must_be_known() -> None:
    w = helper.make_tensor("w", TensorProto.FLOAT, [2], vals=[1.0, 2.0])  # a Parameter
    nodes = [helper.make_node("Cast", ["w"], ["wi"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["x", "wi"], ["y"])]
    m = tox.load(_model(nodes, [_vi("x", [2])], [_vi("y", ["a", "b"])], inits=[w]))
    with pytest.raises(tox.OnnxLoadError, match="needs its target shape while tracing"):
        m(np.array([1.0, 2.0], np.float32))
    # an input that only shapes things is a static argument of the jitted call instead
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"])]
    m = tox.load(_model(nodes, [_vi("x", [4]), _vi("s", [2], TensorProto.INT64)],
                        [_vi("y", ["a", "b"])]))
    x = np.arange(4, dtype=np.float32)
    assert m(x, np.array([2, 2]))[0].shape == (2, 2)
    assert m(x, np.array([1, 4]))[0].shape == (1, 4)
    assert m._onnx_jit.cache_info().traces == 2
