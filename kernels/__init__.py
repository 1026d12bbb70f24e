"""tracejit.kernels: library kernels (convolution, pooling) on numpy arrays and BLAS.

Layering: imports only numpy, the stdlib and itself (relative), never ``tracejit`` proper, so
the ops layer can call these from eager code and compiled graphs alike, and a CUDA backend can
mirror the same structure.
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
