"""PyTorch's exception types and key message words.

Each case runs against tracejit and torch (``lib`` fixture): the same exception type, and the
words a user would search for. Where the two messages differ in wording, the shared words are
matched.
"""
from __future__ import annotations

import numpy as np
import pytest

import tracejit


def _cuda_available() -> bool:
    cuda = getattr(tracejit, "cuda", None)
    return bool(cuda is not None and getattr(cuda, "is_available", lambda: False)())


# ---- shapes ---------------------------------------------------------------------------------

def test_broadcast_mismatch(lib: object) -> None:
    a, b = lib.ones(2, 3), lib.ones(4)
    for f in (lambda: a + b, lambda: a * b, lambda: lib.maximum(a, b), lambda: a > b,
              lambda: lib.where(a > 0, a, b)):
        with pytest.raises(RuntimeError, match="must match the size|cannot be broadcast"):
            f()
    with pytest.raises(RuntimeError,
                       match=r"The size of tensor a \(3\) must match the size of tensor b "
                             r"\(4\) at non-singleton dimension 1"):
        a + b


def test_inplace_output_cannot_broadcast(lib: object) -> None:
    with pytest.raises(RuntimeError):
        lib.ones(3).add_(lib.ones(2, 3))
    with pytest.raises(RuntimeError, match="must match the size"):
        lib.ones(2, 3).copy_(lib.ones(4))


def test_matmul_inner_dim_mismatch(lib: object) -> None:
    if lib is tracejit and not hasattr(tracejit, "matmul"):
        pytest.fail("tracejit.matmul does not exist yet (tracejit/ops/linalg.py)")
    a, b = lib.ones(2, 3), lib.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"cannot be multiplied \(2x3 and 4x5\)"):
        a @ b
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        lib.matmul(a, b)


def test_ragged_nested_list(lib: object) -> None:
    with pytest.raises(ValueError):
        lib.tensor([[1, 2], [3]])


# ---- autograd -------------------------------------------------------------------------------

def test_backward_twice_through_freed_graph(lib: object) -> None:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*"
                                           r"retain_graph=True"):
        y.backward()


def test_autograd_grad_twice_through_freed_graph(lib: object) -> None:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = (x.sin() * x).sum()
    lib.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        lib.autograd.grad(y, x)


def test_implicit_grad_of_non_scalar(lib: object) -> None:
    x = lib.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        lib.autograd.grad(x * 2, x)


def test_grad_output_shape_mismatch(lib: object) -> None:
    x = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(lib.ones(3))


def test_backward_of_tensor_without_grad(lib: object) -> None:
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        lib.ones(1).sum().backward()


def test_inplace_modification_of_saved_tensor(lib: object) -> None:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    b = a * a  # saves a
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_inplace_modification_of_saved_output(lib: object) -> None:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_unsaved_tensor_is_fine(lib: object) -> None:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x + 1  # AddBackward0 saves nothing
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_inplace_on_leaf_requiring_grad(lib: object) -> None:
    x = lib.ones(2, requires_grad=True)
    for f in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(), lambda: x.fill_(1.0),
              lambda: x.clamp_(0, 1), lambda: x.exp_(), lambda: x.copy_(lib.zeros(2))):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation"):
            f()
    with lib.no_grad():  # allowed without grad: the optimizer update
        x.add_(1)
        x -= 0.5
    np.testing.assert_allclose(x.detach().numpy(), [1.5, 1.5])
    assert x.is_leaf and x.requires_grad


def test_inplace_on_view_of_leaf_requiring_grad(lib: object) -> None:
    x = lib.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is "
                                           "being used in an in-place operation"):
        x[0].add_(1)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        x.view(4).mul_(2)


def test_requires_grad_on_integer_tensor(lib: object) -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        lib.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        lib.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        lib.ones(2, dtype=lib.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        lib.tensor([True]).requires_grad = True


def test_requires_grad_false_on_non_leaf(lib: object) -> None:
    y = lib.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad = False


def test_numpy_of_tensor_requiring_grad(lib: object) -> None:
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        lib.ones(2, requires_grad=True).numpy()


def test_grad_of_unused_input(lib: object) -> None:
    x, w = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        lib.autograd.grad((x * 2).sum(), [x, w])


# ---- dims, scalars, dtypes ------------------------------------------------------------------

def test_invalid_dim(lib: object) -> None:
    x = lib.ones(2, 3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(5)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(-3)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range "
                                         r"of \[-2, 1\], but got 3\)"):
        x.sum(dim=3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.stride(2)


def test_repeated_dim(lib: object) -> None:
    with pytest.raises(RuntimeError, match="appears multiple times"):
        lib.ones(2, 3).sum(dim=(0, 0))


def test_item_and_bool_of_many_elements(lib: object) -> None:
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to "
                                           "Scalar"):
        lib.ones(2).item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value "
                                           "is ambiguous"):
        bool(lib.ones(2))
    with pytest.raises(RuntimeError, match="ambiguous"):
        if lib.ones(2) > 0:
            pass


def test_where_needs_bool_condition(lib: object) -> None:
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        lib.where(lib.ones(2), lib.ones(2), lib.zeros(2))


def test_bool_subtraction(lib: object) -> None:
    b = lib.tensor([True, False])
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool"):
        b - b
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        b - 1
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
        1 - b


def test_integer_negative_power(lib: object) -> None:
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not "
                                           "allowed"):
        lib.tensor([2, 3]) ** -1


def test_inplace_result_type_cannot_be_cast(lib: object) -> None:
    i = lib.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        i.add_(1.5)
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        i.mul_(lib.ones(2))


def test_clamp_without_bounds(lib: object) -> None:
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        lib.ones(2).clamp()


def test_negative_dimension(lib: object) -> None:
    with pytest.raises(RuntimeError, match="negative"):
        lib.zeros(2, -1)


def test_default_dtype_must_be_floating(lib: object) -> None:
    with pytest.raises(TypeError, match="floating"):
        lib.set_default_dtype(lib.int64)


# ---- devices --------------------------------------------------------------------------------

def test_cuda_unavailable_raises_runtime_error() -> None:
    if _cuda_available():
        pytest.skip("a CUDA runtime is available")
    for f in (lambda: tracejit.ones(2, device="cuda"), lambda: tracejit.ones(2).cuda(),
              lambda: tracejit.ones(2).to("cuda"), lambda: tracejit.zeros(2, device="cuda:0"),
              lambda: tracejit.tensor([1.0], device=tracejit.device("cuda"))):
        with pytest.raises(RuntimeError, match="CUDA"):
            f()


def test_cuda_unavailable_in_torch_too() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("torch has CUDA here")
    # a CPU-only torch build raises AssertionError ("Torch not compiled with CUDA enabled");
    # tracejit raises RuntimeError, what a CUDA build of torch raises without a driver
    with pytest.raises((AssertionError, RuntimeError), match="CUDA"):
        torch.ones(2, device="cuda")


def test_unknown_device(lib: object) -> None:
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        lib.device("tpu")


def test_mixed_devices() -> None:
    if not _cuda_available():
        pytest.skip("needs a CUDA device")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        tracejit.ones(2) + tracejit.ones(2, device="cuda")

