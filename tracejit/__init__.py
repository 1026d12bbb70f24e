"""tracejit: PyTorch-style eager tensors, a define-by-run tape, and a tracing JIT."""
from __future__ import annotations

from . import dtypes
from . import autograd  # noqa: I001 - before tensor, see autograd/__init__
from .autograd import grad_mode as _gm
from .autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad
from .autograd.grad_mode import set_grad_enabled
from .device import device
from .dtypes import (
    bool_ as bool,  # noqa: A004 - PyTorch's public name
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
)
from .tensor import Size, Tensor

from .ops import *  # noqa: E402,F403  (attaches Tensor methods and defines the functions)
cuda = __import__("importlib").import_module(".cuda", __name__)  # the module, not Tensor.cuda

dtype = dtypes.dtype
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

from .tracing import jit, TraceError  # noqa: E402
from .tracing.debug import set_debug  # noqa: E402
from .threads import get_num_threads, set_num_threads  # noqa: E402

from . import nn, optim  # noqa: E402
from .serialization import load, save  # noqa: E402


def __getattr__(name: str):  # noqa: ANN202 - optional subpackages load on first use
    """tracejit.onnx / .bench / .viz import on first access (they pull in optional extras)."""
    if name in ("onnx", "bench", "viz"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tracejit' has no attribute {name!r}")
