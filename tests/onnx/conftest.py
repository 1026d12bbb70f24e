"""The ONNX tests need the optional onnx and onnxruntime packages (each module skips
without them); shared checks live in ``onnx_check.py``."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
