"""The ONNX project's own operator test cases (``onnx.backend.test.case.node``, shipped inside
the onnx package), run through ``tracejit.onnx.load`` and the JIT.

Covered: every case of the operators the issue lists plus every operator export emits (so a
round trip never meets an op the loader lacks), including the function-expanded variants.
A case is skipped only for a dtype tracejit does not have (uint16/32/64, bfloat16, float8,
int4, strings, sequences), for an opset older than 13 where the op was different, or for a
feature listed in ``UNSUPPORTED`` (none of them belongs to a listed operator).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("onnx.checker")  # (a bare "onnx" could find tests/onnx)
pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

import tracejit  # noqa: E402
import tracejit.onnx as tox  # noqa: E402
from tracejit.onnx._common import NP_TO_ONNX  # noqa: E402

LISTED = set("Add Sub Mul Div Neg Abs Exp Log Sqrt Pow Tanh Sigmoid Relu LeakyRelu Elu Softmax "
             "LogSoftmax MatMul Gemm Transpose Reshape Flatten Squeeze Unsqueeze Concat ReduceSum "
             "ReduceMean ReduceMax Conv MaxPool AveragePool Identity Clip Where Equal Less Greater "
             "Cast Gather".split())
EMITTED = set("Sign Sin Cos Tan Erf Reciprocal Floor Ceil Round IsNaN IsInf Or And Xor Not "
              "BitwiseNot BitwiseAnd BitwiseOr BitwiseXor Shape Expand Max Min LessOrEqual "
              "GreaterOrEqual Mod ReduceProd ReduceMin ReduceL1 ReduceL2 ArgMax ArgMin CumSum "
              "Slice Split Tile GatherElements ScatterElements TopK Pad "
              "NegativeLogLikelihoodLoss LSTM GRU RNN".split())
OPS = LISTED | EMITTED
UNSUPPORTED = {  # case name -> why (features export never emits)
    "test_scatter_elements_with_reduction_max": "ScatterElements reduction max",
    "test_scatter_elements_with_reduction_min": "ScatterElements reduction min",
}


def _array(a: object) -> object:
    if isinstance(a, onnx.TensorProto):
        return onnx.numpy_helper.to_array(a)
    return np.asarray(a) if isinstance(a, np.generic) else a


def _cases() -> list:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases()
    out = []
    for c in cases:
        types = {n.op_type for n in c.model.graph.node}
        base = c.name.split("_expanded")[0]
        if "_expanded" in c.name:
            if not any(base.startswith("test_" + op.lower()) for op in OPS):
                continue
        elif len(types) != 1 or not types <= OPS:
            continue
        out.append(pytest.param(c, id=c.name))
    return out


CASES = _cases()


def _skip_reason(c: object) -> str | None:
    ins, outs = c.data_sets[0]
    for a in list(ins) + list(outs):
        a = _array(a)
        if not isinstance(a, np.ndarray) or a.dtype.name not in NP_TO_ONNX:
            what = type(a).__name__ if not isinstance(a, np.ndarray) else a.dtype.name
            return f"dtype {what} is not a tracejit dtype"
    return UNSUPPORTED.get(c.name)


def test_case_count() -> None:
    """The suite really runs the operator cases (a few hundred of them)."""
    runnable = [p for p in CASES if _skip_reason(p.values[0]) is None]
    assert len(runnable) > 500


@pytest.mark.parametrize("case", CASES)
def test_onnx_node_case(case: object) -> None:
    why = _skip_reason(case)
    if why:
        pytest.skip(why)
    ins, outs = case.data_sets[0]
    ins, outs = [_array(a) for a in ins], [_array(a) for a in outs]
    try:
        model = tox.load(case.model)
    except tox.OnnxLoadError as e:
        if "differs from opset 13" in str(e):  # an older opset where the op was different
            pytest.skip(str(e))
        raise
    with tracejit.no_grad():
        got = model(*ins)
    assert len(got) >= len(outs)
    for g, want in zip(got, outs):
        g = g.numpy()
        assert g.dtype == want.dtype, f"dtype {g.dtype} != {want.dtype}"
        assert g.shape == want.shape, f"shape {g.shape} != {want.shape}"
        np.testing.assert_allclose(g, want, rtol=case.rtol, atol=case.atol)
