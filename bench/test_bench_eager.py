"""Per-op eager overhead on 16 elements: tracejit vs numpy vs torch eager."""
import numpy as np
import pytest

import tracejit as tj


@pytest.mark.benchmark(group="eager-add-16")
def test_add_tracejit(benchmark, small):
    a, b, _ = small
    benchmark(lambda: a + b)


@pytest.mark.benchmark(group="eager-add-16")
def test_add_numpy(benchmark):
    a, b = np.ones(16, np.float32), np.ones(16, np.float32)
    benchmark(lambda: a + b)


@pytest.mark.benchmark(group="eager-add-16")
def test_add_torch(benchmark, torch):
    a, b = torch.ones(16), torch.ones(16)
    benchmark(lambda: a + b)


@pytest.mark.benchmark(group="eager-mul-16-requires-grad")
def test_mul_rg_tracejit(benchmark, small):
    _, b, ar = small
    benchmark(lambda: ar * b)


@pytest.mark.benchmark(group="eager-mul-16-requires-grad")
def test_mul_rg_torch(benchmark, torch):
    a, b = torch.ones(16, requires_grad=True), torch.ones(16)
    benchmark(lambda: a * b)


@pytest.mark.benchmark(group="eager-backward-16")
def test_backward_tracejit(benchmark, small):
    _, b, ar = small
    g = tj.ones(16)
    benchmark(lambda: (ar * b + b).backward(g))


@pytest.mark.benchmark(group="eager-backward-16")
def test_backward_torch(benchmark, torch):
    a, b, g = torch.ones(16, requires_grad=True), torch.ones(16), torch.ones(16)
    benchmark(lambda: (a * b + b).backward(g))
