"""Tensor creation, attributes and conversions, compared with PyTorch where it is installed."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import dtype_name

import tracejit

# ---- tensor(): dtype inference --------------------------------------------------------------

INFERENCE_CASES = {
    "int": lambda lib: 3,
    "float": lambda lib: 2.5,
    "bool": lambda lib: True,
    "int_list": lambda lib: [1, 2, 3],
    "float_list": lambda lib: [1.0, 2.0],
    "mixed_int_float": lambda lib: [1, 2.0],
    "mixed_bool_int": lambda lib: [True, 1],
    "nested": lambda lib: [[1, 2], [3, 4]],
    "nested_mixed": lambda lib: [[1, 2], [3, 4.5]],
    "empty": lambda lib: [],
    "empty_nested": lambda lib: [[], []],
    "np_float64": lambda lib: np.array([1.0, 2.0]),
    "np_int32": lambda lib: np.array([1, 2], dtype=np.int32),
    "np_bool": lambda lib: np.array([True]),
    "np_float16": lambda lib: np.zeros((2, 2), np.float16),
    "np_scalar_f64": lambda lib: np.float64(1.5),
    "np_scalar_i32": lambda lib: np.int32(3),
    "list_np_scalars": lambda lib: [np.float64(1.0), 2.0],
    "tuple": lambda lib: (1, 2),
    "list_of_0d_tensors": lambda lib: [lib.tensor(1.0), lib.tensor(2.0)],
    "list_of_f64_tensor": lambda lib: [lib.tensor(1.0, dtype=lib.float64)],
    "tensor": lambda lib: lib.ones(2, dtype=lib.int32),
}


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
@pytest.mark.parametrize("case", list(INFERENCE_CASES))
def test_tensor_dtype_inference_vs_torch(case: str) -> None:
    torch = pytest.importorskip("torch")
    t = torch.tensor(INFERENCE_CASES[case](torch))
    j = tracejit.tensor(INFERENCE_CASES[case](tracejit))
    assert dtype_name(j.dtype) == dtype_name(t.dtype)
    assert tuple(j.shape) == tuple(t.shape)
    np.testing.assert_array_equal(j.numpy(), t.numpy())


def test_tensor_dtype_inference() -> None:
    t = tracejit
    assert t.tensor(3).dtype is t.int64 and t.tensor(3).shape == ()
    assert t.tensor(2.5).dtype is t.float32 and t.tensor(2.5).dim() == 0
    assert t.tensor(True).dtype is t.bool
    assert t.tensor([1, 2.0]).dtype is t.float32
    assert t.tensor([]).dtype is t.float32 and t.tensor([]).shape == (0,)
    assert t.tensor(np.array([1.0])).dtype is t.float64
    assert t.tensor([1, 2], dtype=t.float64).dtype is t.float64
    assert t.tensor([1.7, -1.7], dtype=t.int64).tolist() == [1, -1]
    t.set_default_dtype(t.float64)
    assert t.tensor([1.0]).dtype is t.float64 and t.tensor([1]).dtype is t.int64
    assert t.ones(2).dtype is t.float64 and t.arange(0.0, 1.0).dtype is t.float64
    assert t.get_default_dtype() is t.float64
    t.set_default_dtype(t.float32)


def test_tensor_copies() -> None:
    a = np.array([1.0, 2.0])
    x = tracejit.tensor(a)
    a[0] = 5.0
    assert x.tolist() == [1.0, 2.0]
    y = tracejit.tensor(x)
    x.add_(1)
    assert y.tolist() == [1.0, 2.0]
    assert x.is_contiguous() and tracejit.tensor(np.ones((3, 2)).T).is_contiguous()


# ---- creation functions ---------------------------------------------------------------------

CREATION = {
    "arange_int": lambda lib: lib.arange(5),
    "arange_start_end": lambda lib: lib.arange(2, 7),
    "arange_step": lambda lib: lib.arange(1, 10, 3),
    "arange_negative_step": lambda lib: lib.arange(10, 0, -3),
    "arange_float": lambda lib: lib.arange(0, 1, 0.25),
    "arange_float_end": lambda lib: lib.arange(5.0),
    "arange_mixed": lambda lib: lib.arange(1, 2.5),
    "arange_float_steps": lambda lib: lib.arange(-1.0, 1.0, 0.3),
    "arange_tenth": lambda lib: lib.arange(0, 1, 0.1),
    "arange_dtype": lambda lib: lib.arange(4, dtype=lib.float64),
    "arange_empty": lambda lib: lib.arange(0),
    "linspace": lambda lib: lib.linspace(0, 1, 5),
    "linspace_one": lambda lib: lib.linspace(-2, 3, 1),
    "linspace_zero": lambda lib: lib.linspace(0, 1, 0),
    "linspace_dtype": lambda lib: lib.linspace(-1, 1, 7, dtype=lib.float64),
    "eye": lambda lib: lib.eye(3),
    "eye_rect": lambda lib: lib.eye(2, 4),
    "eye_int": lambda lib: lib.eye(2, dtype=lib.int64),
    "full_float": lambda lib: lib.full((2, 3), 1.5),
    "full_int": lambda lib: lib.full((2,), 7),
    "full_bool": lambda lib: lib.full((2,), True),
    "full_dtype": lambda lib: lib.full([2, 2], 3, dtype=lib.float64),
    "zeros": lambda lib: lib.zeros(2, 3),
    "zeros_tuple": lambda lib: lib.zeros((2, 3)),
    "zeros_0d": lambda lib: lib.zeros(()),
    "zeros_empty": lambda lib: lib.zeros(0, 3),
    "ones_dtype": lambda lib: lib.ones(3, dtype=lib.int32),
    "ones_size": lambda lib: lib.ones(lib.ones(2, 3).shape),
    "zeros_like": lambda lib: lib.zeros_like(lib.ones(2, 3, dtype=lib.int16)),
    "ones_like": lambda lib: lib.ones_like(lib.zeros(2, dtype=lib.float64)),
    "full_like": lambda lib: lib.full_like(lib.zeros(2, 2), 4.5),
    "full_like_int": lambda lib: lib.full_like(lib.zeros(2, dtype=lib.int64), 3.7),
    "like_dtype": lambda lib: lib.ones_like(lib.zeros(2), dtype=lib.bool),
    "empty_like_shape": lambda lib: lib.empty_like(lib.zeros(3, 1)).fill_(0),
    "new_zeros": lambda lib: lib.ones(2, dtype=lib.float64).new_zeros(3),
    "new_ones": lambda lib: lib.ones(2, dtype=lib.int32).new_ones((2, 2)),
    "new_full": lambda lib: lib.ones(1).new_full((2,), 5.0),
    "new_tensor": lambda lib: lib.ones(1, dtype=lib.float64).new_tensor([1, 2]),
}


@pytest.mark.parametrize("case", list(CREATION))
def test_creation_vs_torch(case: str) -> None:
    torch = pytest.importorskip("torch")
    t, j = CREATION[case](torch), CREATION[case](tracejit)
    assert dtype_name(j.dtype) == dtype_name(t.dtype)
    assert tuple(j.shape) == tuple(t.shape)
    np.testing.assert_allclose(j.numpy(), t.numpy(), rtol=1e-6, atol=1e-7)
    assert not j.requires_grad and j.is_leaf


def test_creation_values() -> None:
    t = tracejit
    assert t.arange(5).tolist() == [0, 1, 2, 3, 4] and t.arange(5).dtype is t.int64
    assert t.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert t.arange(0, 1, 0.25).dtype is t.float32
    assert t.arange(0, 1, 0.1).shape == (10,)
    np.testing.assert_allclose(t.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert t.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert t.full((2,), 7).dtype is t.int64 and t.full((1,), 1.5).dtype is t.float32
    assert t.zeros(2, 3, requires_grad=True).requires_grad
    assert t.ones(2, 2).shape == (2, 2) == t.ones([2, 2]).shape == t.ones((2, 2)).shape


def test_like_functions_follow_input() -> None:
    x = tracejit.ones(2, 3, dtype=tracejit.float64)
    for f in (tracejit.zeros_like, tracejit.ones_like, tracejit.empty_like, tracejit.rand_like,
              tracejit.randn_like):
        y = f(x)
        assert y.shape == (2, 3) and y.dtype is tracejit.float64 and not y.requires_grad
    assert tracejit.full_like(x, 2).tolist() == [[2.0] * 3] * 2
    assert tracejit.zeros_like(x, dtype=tracejit.int32).dtype is tracejit.int32
    assert tracejit.ones_like(x, requires_grad=True).requires_grad


def test_from_numpy_shares_memory() -> None:
    a = np.zeros(3, dtype=np.float32)
    x = tracejit.from_numpy(a)
    assert x.dtype is tracejit.float32
    a[0] = 5.0
    assert x.tolist() == [5.0, 0.0, 0.0]
    x.add_(1)
    np.testing.assert_array_equal(a, [6.0, 1.0, 1.0])
    assert x.numpy() is a or np.shares_memory(x.numpy(), a)
    i = tracejit.from_numpy(np.arange(3))
    assert i.dtype is tracejit.int64
    with pytest.raises(TypeError):
        tracejit.from_numpy([1, 2])
    with pytest.raises(TypeError):
        tracejit.from_numpy(np.array([1 + 2j]))


def test_as_tensor_shares_memory_when_it_can() -> None:
    a = np.zeros(2)
    x = tracejit.as_tensor(a)
    a[1] = 3.0
    assert x.dtype is tracejit.float64 and x.tolist() == [0.0, 3.0]
    y = tracejit.as_tensor(a, dtype=tracejit.float32)  # a different dtype: a copy
    a[0] = 1.0
    assert y.tolist() == [0.0, 3.0]
    t = tracejit.ones(2)
    assert tracejit.as_tensor(t) is t
    assert tracejit.as_tensor([1, 2]).dtype is tracejit.int64


def test_numpy_shares_memory() -> None:
    x = tracejit.zeros(2)
    a = x.numpy()
    a[0] = 4.0
    assert x.tolist() == [4.0, 0.0]
    assert np.asarray(x).dtype == np.float32


def test_manual_seed_reproducibility() -> None:
    def draw() -> list:
        return [tracejit.rand(3).tolist(), tracejit.randn(2, 2).tolist(),
                tracejit.randint(0, 10, (5,)).tolist(), tracejit.randperm(6).tolist(),
                tracejit.empty(4).uniform_(-1, 1).tolist(), tracejit.normal(0.0, 1.0, (3,))
                .tolist()]

    g = tracejit.manual_seed(1234)
    assert g.initial_seed() == 1234 == tracejit.initial_seed()
    first = draw()
    tracejit.manual_seed(1234)
    assert draw() == first
    tracejit.manual_seed(4321)
    assert draw() != first
    gen = tracejit.Generator().manual_seed(7)
    a = tracejit.rand(4, generator=gen).tolist()
    gen.manual_seed(7)
    assert tracejit.rand(4, generator=gen).tolist() == a
    state = gen.get_state()
    b = tracejit.randn(3, generator=gen).tolist()
    gen.set_state(state)
    assert tracejit.randn(3, generator=gen).tolist() == b


def test_random_ranges_and_dtypes() -> None:
    tracejit.manual_seed(0)
    r = tracejit.rand(1000)
    assert r.dtype is tracejit.float32 and 0 <= r.numpy().min() and r.numpy().max() < 1
    n = tracejit.randn(4000, dtype=tracejit.float64).numpy()
    assert abs(n.mean()) < 0.1 and abs(n.std() - 1) < 0.1
    i = tracejit.randint(3, 7, (200,))
    assert i.dtype is tracejit.int64 and set(i.tolist()) == {3, 4, 5, 6}
    assert sorted(tracejit.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    assert tracejit.randint(5, (2, 2)).shape == (2, 2)


# ---- attributes -----------------------------------------------------------------------------

def test_shape_is_a_tuple_subclass() -> None:
    x = tracejit.zeros(2, 3, 4)
    assert isinstance(x.shape, tuple) and type(x.shape) is tracejit.Size
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.shape[1] == 3
    assert repr(x.shape) == "tracejit.Size([2, 3, 4])"
    assert x.shape.numel() == 24
    assert x.size(0) == 2 and x.size(-1) == 4 and x.size(1) == 3
    assert tracejit.zeros(()).shape == () and repr(tracejit.zeros(()).shape) == "tracejit.Size([])"
    assert list(x.shape) == [2, 3, 4] and tuple(x.shape) == (2, 3, 4)
    assert x.shape + (1,) == (2, 3, 4, 1)


def test_basic_attributes(lib: object) -> None:
    x = lib.zeros(2, 3)
    assert x.numel() == 6 and x.nelement() == 6
    assert x.dim() == 2 and x.ndim == 2 and x.ndimension() == 2
    assert lib.zeros(()).numel() == 1 and lib.zeros(0, 3).numel() == 0
    assert x.element_size() == 4 and lib.zeros(1, dtype=lib.float64).element_size() == 8
    assert x.stride() == (3, 1) and x.stride(0) == 3
    assert x.is_contiguous() and x.is_floating_point()
    assert not lib.zeros(1, dtype=lib.int64).is_floating_point()
    assert str(x.device) == "cpu" and x.device == lib.device("cpu") and not x.is_cuda
    assert x.dtype == lib.float32 and x.dtype.is_floating_point
    assert not lib.int64.is_floating_point and lib.int8.is_signed and not lib.uint8.is_signed
    assert len(x) == 2
    assert x.requires_grad is False and x.is_leaf and x.grad is None and x.grad_fn is None
    assert x._version == 0


def test_item_and_tolist(lib: object) -> None:
    f = lib.tensor([[1.5]]).item()
    i = lib.tensor(3).item()
    b = lib.tensor([True]).item()
    assert type(f) is float and f == 1.5
    assert type(i) is int and i == 3
    assert type(b) is bool and b is True
    assert lib.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert lib.tensor(2.5).tolist() == 2.5
    assert type(lib.tensor([1.0]).tolist()[0]) is float
    assert lib.zeros(0).tolist() == []
    assert float(lib.tensor([2.5])) == 2.5 and int(lib.tensor(7)) == 7
    assert bool(lib.tensor(0.0)) is False and bool(lib.tensor([1]))


def test_conversions(lib: object) -> None:
    x = lib.tensor([1.7, -2.2])
    cases = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
             "int": "int32", "short": "int16", "char": "int8", "byte": "uint8", "bool": "bool"}
    for method, name in cases.items():
        y = getattr(x, method)()
        assert dtype_name(y.dtype) == name, method
    assert x.long().tolist() == [1, -2]
    assert x.bool().tolist() == [True, True]
    assert x.float() is x  # already float32: no copy
    assert x.to(lib.float64).dtype == lib.float64
    assert x.to(lib.float32) is x
    assert x.to("cpu") is x and x.cpu() is x
    assert x.to("cpu", lib.int64).dtype == lib.int64
    assert x.to(lib.ones(1, dtype=lib.int32)).dtype == lib.int32
    assert x.to(dtype=lib.float16).dtype == lib.float16
    c = x.to(lib.float32, copy=True)
    assert c is not x and c.tolist() == x.tolist()
    assert x.type_as(lib.ones(1, dtype=lib.float64)).dtype == lib.float64


def test_conversions_keep_autograd(lib: object) -> None:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert type(y.grad_fn).__name__ == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.dtype == lib.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert not x.long().requires_grad


def test_clone_is_independent(lib: object) -> None:
    x = lib.tensor([1.0, 2.0])
    c = x.clone()
    c.add_(10)
    assert x.tolist() == [1.0, 2.0] and c.tolist() == [11.0, 12.0]
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    cw = w.clone()
    assert type(cw.grad_fn).__name__ == "CloneBackward0" and not cw.is_leaf
    cw.add_(1)  # a clone is not a leaf: in-place is fine
    (cw * 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0])


def test_contiguous() -> None:
    x = tracejit.zeros(2, 3)
    assert x.contiguous() is x
    t = tracejit.from_numpy(np.arange(6.0).reshape(2, 3).T)
    assert not t.is_contiguous() and t.stride() == (1, 3)
    c = t.contiguous()
    assert c.is_contiguous() and c.stride() == (2, 1)
    assert c.tolist() == t.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    w = tracejit.from_numpy(np.arange(6.0).reshape(2, 3).T).requires_grad_()
    wc = w.contiguous()
    assert type(wc.grad_fn).__name__ == "CloneBackward0"


def test_data_shares_storage_without_history(lib: object) -> None:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.data
    assert not d.requires_grad and d.grad_fn is None
    d.mul_(0)
    assert y.tolist() == [0.0, 0.0]
    x.data = lib.tensor([5.0, 6.0])
    assert x.tolist() == [5.0, 6.0] and x.requires_grad and x.is_leaf


def test_requires_grad_flag(lib: object) -> None:
    x = lib.zeros(2)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    y = lib.zeros(2, requires_grad=True)
    assert y.requires_grad and y.is_leaf


def test_iteration_and_len() -> None:
    x = tracejit.tensor([[1, 2], [3, 4]])
    assert len(x) == 2
    with pytest.raises(TypeError):
        len(tracejit.tensor(1.0))
    if hasattr(tracejit.Tensor, "unbind"):
        assert [r.tolist() for r in x] == [[1, 2], [3, 4]]


def test_index_protocol() -> None:
    assert [10, 20, 30][tracejit.tensor(1)] == 20
    with pytest.raises(TypeError):
        [1, 2][tracejit.tensor(1.0)]


# ---- repr -----------------------------------------------------------------------------------

def test_repr_of_seed_example() -> None:
    pytest.importorskip("tracejit._format")
    t = tracejit.ones([2, 2], requires_grad=True)
    assert repr(t) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    y = t + 2
    assert repr(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    z = y * 3
    assert str(z) == "tensor([[9., 9.],\n        [9., 9.]], grad_fn=<MulBackward0>)"
    z.sum().backward()
    assert repr(t.grad) == "tensor([[3., 3.],\n        [3., 3.]])"


REPR_CASES = {
    "seed": lambda lib: lib.ones([2, 2], requires_grad=True),
    "seed_add": lambda lib: lib.ones([2, 2], requires_grad=True) + 2,
    "int": lambda lib: lib.tensor([1, 2, 3]),
    "bool": lambda lib: lib.tensor([True, False]),
    "float64": lambda lib: lib.tensor([1.5, 2.0], dtype=lib.float64),
    "int32": lambda lib: lib.tensor([1, 2], dtype=lib.int32),
    "zero_dim": lambda lib: lib.tensor(2.5),
    "empty": lambda lib: lib.zeros(0),
    "mixed": lambda lib: lib.tensor([0.5, -1.25, 100.0]),
    "arange": lambda lib: lib.arange(6.0).reshape(2, 3),
}


@pytest.mark.parametrize("case", list(REPR_CASES))
def test_repr_matches_torch(case: str) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("tracejit._format")
    expected = repr(REPR_CASES[case](torch)).replace("torch.", "tracejit.")
    assert repr(REPR_CASES[case](tracejit)) == expected
