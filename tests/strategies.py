"""Hypothesis strategies for tensors (minitorch tensor_strategies style).

* ``shapes``: 0-d through 4-d, size-0 dims included.
* ``broadcastable_shapes``: a pair of shapes that broadcast together (plus the result shape).
* ``arrays``: float32/float64 numpy arrays whose *layout* is drawn too: contiguous, transposed,
  sliced with steps (and an offset), or expanded (stride 0) -- what a tensor looks like after
  ``.t()``, ``x[1::2]`` or ``.expand()``. tracejit tensors built with ``helpers.tj_input``
  keep that layout.

``FAST`` is the settings profile of the core suite: few examples, no deadline.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FLOAT_DTYPES = (np.float32, np.float64)
LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")

float_dtypes = st.sampled_from(FLOAT_DTYPES)
layouts = st.sampled_from(LAYOUTS)


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 0,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes including 0-d (``()``) and, with min_side=0, dims of size 0."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 4,
                         min_side: int = 0, max_side: int = 4) -> st.SearchStrategy[Any]:
    """``BroadcastableShapes(input_shapes, result_shape)`` of shapes that broadcast together."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, min_side=min_side,
                                             max_side=max_side)


def elements(dtype: Any, lo: float = -10.0, hi: float = 10.0,
             integral: bool = False) -> st.SearchStrategy[float]:
    """Finite values in [lo, hi], exactly representable in ``dtype`` (whole numbers only with
    ``integral``, so that comparisons see ties)."""
    if integral:
        return st.integers(int(np.ceil(lo)), int(np.floor(hi))).map(float)
    width = 32 if np.dtype(dtype) == np.float32 else 64
    if width == 32:  # bounds must be float32 numbers: round them inwards
        lo32, hi32 = np.float32(lo), np.float32(hi)
        lo = float(lo32 if lo32 >= lo else np.nextafter(lo32, np.float32(np.inf)))
        hi = float(hi32 if hi32 <= hi else np.nextafter(hi32, np.float32(-np.inf)))
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=width)


@st.composite
def arrays(draw: Any, dtype: Any = None, shape: Any = None, lo: float = -10.0,
           hi: float = 10.0, layout: Any = None, integral: bool = False) -> np.ndarray:
    """An array of ``shape`` (drawn if None) with values in [lo, hi] and a drawn layout."""
    dt = np.dtype(draw(float_dtypes) if dtype is None else dtype)
    shp = tuple(draw(shapes()) if shape is None else shape)
    lay = draw(layouts) if layout is None else layout
    els = elements(dt, lo, hi, integral)
    if lay == "transposed" and len(shp) >= 2:
        base = draw(hnp.arrays(dt, shp[::-1], elements=els))
        out = base.transpose()
    elif lay == "sliced" and len(shp) >= 1:
        steps = [draw(st.integers(1, 3)) for _ in shp]
        offs = [draw(st.integers(0, 1)) for _ in shp]
        big = tuple(o + n * s for n, s, o in zip(shp, steps, offs))
        base = draw(hnp.arrays(dt, big, elements=els))
        out = base[tuple(slice(o, o + n * s, s) for n, s, o in zip(shp, steps, offs))]
    elif lay == "expanded" and len(shp) >= 1:
        keep = [draw(st.booleans()) for _ in shp]
        small = tuple(n if k else 1 for n, k in zip(shp, keep))
        base = draw(hnp.arrays(dt, small, elements=els))
        out = np.broadcast_to(base, shp)
    else:
        out = draw(hnp.arrays(dt, shp, elements=els))
    assert out.shape == shp and out.dtype == dt
    return out


def describe(a: np.ndarray) -> str:
    """Shape, dtype and strides: for failure messages."""
    return f"{a.dtype}{list(a.shape)} strides={a.strides} contiguous={a.flags.c_contiguous}"
