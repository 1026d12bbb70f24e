"""tracejit.kernels: library kernels (convolution, pooling, GEMM, copies) for both devices.

``conv``, ``pool`` and ``blas`` work on numpy arrays; ``cuda_conv``, ``cuda_pool``,
``cuda_blas``, ``cuda_copy``, ``cuda_index`` and ``cuda_nll`` are their device counterparts on
``codegen.cuda`` DeviceArrays (imported on demand by ``tracejit.cuda``).  Layering: only
numpy, the stdlib, ``tracejit.codegen`` and this package, never ``tracejit`` proper, so the
ops layer calls these from eager code and compiled graphs alike.
"""
from .conv import (
    conv_backward_input,
    conv_backward_weight,
    conv_forward,
    conv_out_shape,
    pad_spatial,
    spatial_windows,
)
from .pool import (
    adaptive_avg_pool,
    avg_pool_backward,
    avg_pool_forward,
    max_pool_backward,
    max_pool_forward,
    max_pool_gather,
    max_pool_indices,
    pool_out_size,
)

__all__ = [
    "adaptive_avg_pool", "avg_pool_backward", "avg_pool_forward", "conv_backward_input",
    "conv_backward_weight", "conv_forward", "conv_out_shape", "max_pool_backward",
    "max_pool_forward", "max_pool_gather", "max_pool_indices", "pad_spatial", "pool_out_size",
    "spatial_windows",
]
