"""Trace errors, in-place semantics, outputs in containers, debug output."""
import re

import numpy as np
import pytest

import tracejit as tj
from tracejit import set_debug


@pytest.mark.parametrize("convert", [
    lambda t: bool(t), lambda t: t.item(), lambda t: float(t), lambda t: int(t),
    lambda t: t.tolist(), lambda t: t.numpy(), lambda t: 1 if t else 0,
])
def test_python_value_of_traced_tensor_raises(convert):
    @tj.jit
    def f(x):
        convert(x)
        return x

    with pytest.raises(tj.jit.TraceError) as err:
        f(tj.ones(()))
    msg = str(err.value)
    assert re.search(r"test_jit_semantics\.py:\d+", msg)
    assert "tracejit.where" in msg and "static" in msg


def test_data_dependent_control_flow_message_points_at_user_line():
    @tj.jit
    def f(x):
        if (x > 0).all() if hasattr(x, "all") else x:  # the offending line
            return x
        return -x

    with pytest.raises(tj.jit.TraceError):
        f(tj.ones(()))


def test_unhashable_argument_suggests_static_argnums():
    f = tj.jit(lambda x, cfg: x * cfg["k"])
    with pytest.raises(TypeError, match="static_argnums"):
        f(tj.ones(2), np.array([1.0]))


def test_static_unhashable_argument_is_keyed_by_identity():
    cfg = {"k": 3.0}
    f = tj.jit(lambda x, c: x * c["k"], static_argnums=1)
    np.testing.assert_array_equal(f(tj.ones(2), cfg).numpy(), [3, 3])
    f(tj.ones(2), cfg)
    assert f.cache_info().traces == 1


def test_inplace_on_argument_happens_after_each_call():
    @tj.jit
    def f(x):
        x.add_(1)
        return x * 2

    x = tj.zeros(3)
    out = f(x)
    np.testing.assert_array_equal(x.numpy(), [1, 1, 1])
    np.testing.assert_array_equal(out.numpy(), [2, 2, 2])
    f(x)
    np.testing.assert_array_equal(x.numpy(), [2, 2, 2])
    assert x._version == 2


def test_inplace_on_captured_tensor():
    p = tj.ones(3)
    lr = 0.5

    @tj.jit
    def step(g):
        with tj.no_grad():
            p.sub_(lr * g)
        return p * 1

    g = tj.tensor([1.0, 2.0, 4.0])
    step(g)
    step(g)
    np.testing.assert_allclose(p.numpy(), [0.0, -1.0, -3.0])


def test_nested_inputs_and_outputs():
    @tj.jit
    def f(inputs, scale):
        a, b = inputs["a"], inputs["b"]
        return {"sum": a + b, "pair": (a * scale, [b - a])}

    a, b = tj.ones(2), tj.full((2,), 3.0)
    out = f({"a": a, "b": b}, 2.0)
    np.testing.assert_array_equal(out["sum"].numpy(), [4, 4])
    np.testing.assert_array_equal(out["pair"][0].numpy(), [2, 2])
    np.testing.assert_array_equal(out["pair"][1][0].numpy(), [2, 2])


def test_backend_eager_matches_llvm():
    fn = lambda x: (x.exp() - 1) * x.tanh()  # noqa: E731
    x = tj.randn(50)
    np.testing.assert_allclose(tj.jit(fn, backend="eager")(x).numpy(),
                               tj.jit(fn)(x).numpy(), rtol=1e-5, atol=1e-6)


def test_grad_fn_of_jitted_output_and_gradient():
    f = tj.jit(lambda x, y: (x * y).tanh() + x)
    x = tj.randn(4, dtype=tj.float64, requires_grad=True)
    y = tj.randn(4, dtype=tj.float64, requires_grad=True)
    out = f(x, y)
    assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"
    out.backward(tj.ones(4, dtype=tj.float64))
    xe, ye = x.detach().numpy(), y.detach().numpy()
    t = np.tanh(xe * ye)
    np.testing.assert_allclose(x.grad.numpy(), (1 - t * t) * ye + 1, rtol=1e-5)
    np.testing.assert_allclose(y.grad.numpy(), (1 - t * t) * xe, rtol=1e-5)


def test_debug_levels_print_hits_misses_and_graphs(capsys):
    f = tj.jit(lambda x: x * 2 + 1)
    set_debug(2)
    try:
        f(tj.ones(3))
        f(tj.ones(3))
    finally:
        set_debug(None)
    err = capsys.readouterr().err
    assert "cache miss (first call)" in err and "cache hit" in err
    assert "graph after passes" in err and "mul(" in err


def test_data_dependent_shapes_raise_trace_error():
    @tj.jit
    def masked(x):
        return x[x > 0]

    @tj.jit
    def nz(x):
        return x.nonzero()

    for f in (masked, nz):
        with pytest.raises(tj.jit.TraceError, match="depends on the data"):
            f(tj.randn(5))


def test_masked_assignment_with_a_scalar_is_traceable():
    @tj.jit
    def clip_neg(x):
        y = x.clone()
        y[y < 0] = 0.0
        return y

    x = tj.randn(10)
    np.testing.assert_array_equal(clip_neg(x).numpy(), np.maximum(x.numpy(), 0))
