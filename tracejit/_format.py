"""Tensor repr text, ported from PyTorch 2.13's ``torch/_tensor_str.py``.

tracejit tensors must print byte-for-byte like PyTorch's, so this module mirrors torch's
``_Formatter``, ``_tensor_str``, ``get_summarized_data`` and ``_add_suffixes`` on numpy
arrays. It deliberately imports only numpy and the stdlib so it can be loaded on its own.
"""

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["PRINT_OPTS", "get_printoptions", "set_printoptions", "tensor_str"]


@dataclasses.dataclass
class _PrinterOptions:
    """Module-wide print options; same fields and defaults as torch's ``PRINT_OPTS``."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Change print options like ``torch.set_printoptions``.

    As in torch, options left as ``None`` keep their value, except ``sci_mode``, which is
    always overwritten (passing nothing resets it to automatic).
    """
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return current options as kwargs for ``set_printoptions`` (lets callers restore them)."""
    return dataclasses.asdict(PRINT_OPTS)


def _is_float(arr: np.ndarray) -> bool:
    """torch's ``dtype.is_floating_point`` (complex is handled separately, per part)."""
    return arr.dtype.kind == "f"


class _Formatter:
    """Chooses int/fixed/scientific mode and a common column width for one tensor.

    Port of torch's ``_Formatter``; values are examined as Python scalars (double for
    floats) exactly as torch does via ``Tensor.item()``.
    """

    def __init__(self, arr: np.ndarray) -> None:
        self.floating_dtype = _is_float(arr)
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)

        if not self.floating_dtype:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return

        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            # no valid number, do nothing
            return

        # torch does the range checks in double ("HalfTensor overflows with 1e8").
        absvals = np.abs(vals).astype(np.float64)
        vmin = float(absvals.min())
        vmax = float(absvals.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))

        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode

        prec = PRINT_OPTS.precision
        pyvals: list[float] = vals.tolist()
        if self.sci_mode:
            widths = [len(f"{v:.{prec}e}") for v in pyvals]
        elif self.int_mode:
            # the trailing "." marks a float tensor; count it in the width
            widths = [len(f"{v:.0f}") + 1 for v in pyvals]
        else:
            widths = [len(f"{v:.{prec}f}") for v in pyvals]
        self.max_width = max(self.max_width, *widths)

    def width(self) -> int:
        """Width every element is right-aligned to."""
        return self.max_width

    def format(self, value: Any) -> str:
        """Format one Python scalar, left-padded to the common width."""
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


_Fmts = tuple[_Formatter, _Formatter | None]


def _complex_str(val: complex, fmts: _Fmts) -> str:
    """Join real and imaginary parts the way torch does (handles signs and -0.0)."""
    real_fmt, imag_fmt = fmts
    assert imag_fmt is not None
    real_str = real_fmt.format(val.real)
    imag_str = (imag_fmt.format(val.imag) + "j").lstrip()
    if imag_str[0] in "+-":
        return real_str + imag_str
    return real_str + "+" + imag_str


def _val_str(val: Any, fmts: _Fmts) -> str:
    """Format one element with the real formatter, or both for complex."""
    if fmts[1] is not None:
        return _complex_str(val, fmts)
    return fmts[0].format(val)


def _vector_str(arr: np.ndarray, indent: int, summarize: bool, fmts: _Fmts) -> str:
    """1-D body: fixed number of elements per line so columns line up when wrapped."""
    real_fmt, imag_fmt = fmts
    element_length = real_fmt.width() + 2
    if imag_fmt is not None:
        element_length += imag_fmt.width() + 1
    elements_per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))

    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and arr.shape[0] > 2 * edge:
        data = (
            [_val_str(v, fmts) for v in arr[:edge].tolist()]
            + [" ..."]
            + [_val_str(v, fmts) for v in arr[-edge:].tolist()]
        )
    else:
        data = [_val_str(v, fmts) for v in arr.tolist()]

    lines = [
        ", ".join(data[i : i + elements_per_line]) for i in range(0, len(data), elements_per_line)
    ]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(arr: np.ndarray, indent: int, summarize: bool, fmts: _Fmts) -> str:
    """Recursive body: rows of an n-D tensor are separated by n-1 newlines."""
    dim = arr.ndim
    if dim == 0:
        return _val_str(arr.item(), fmts)
    if dim == 1:
        return _vector_str(arr, indent, summarize, fmts)

    edge = PRINT_OPTS.edgeitems
    n = arr.shape[0]
    if summarize and n > 2 * edge:
        slices = (
            [_tensor_str_with_formatter(arr[i], indent + 1, summarize, fmts) for i in range(edge)]
            + ["..."]
            + [
                _tensor_str_with_formatter(arr[i], indent + 1, summarize, fmts)
                for i in range(n - edge, n)
            ]
        )
    else:
        slices = [_tensor_str_with_formatter(arr[i], indent + 1, summarize, fmts) for i in range(n)]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(arr: np.ndarray) -> np.ndarray:
    """Only the elements that will be shown, so the formatter ignores hidden ones.

    Faithful to torch, including its quirk that ``arr[-0:]`` is the whole 1-D array when
    edgeitems is 0.
    """
    dim = arr.ndim
    edge = PRINT_OPTS.edgeitems
    if dim == 0:
        return arr
    if dim == 1:
        if arr.shape[0] > 2 * edge:
            return np.concatenate((arr[:edge], arr[-edge:]))
        return arr
    if not edge:
        return np.empty([0] * dim, dtype=arr.dtype)
    n = arr.shape[0]
    rows = [*range(edge), *range(n - edge, n)] if n > 2 * edge else list(range(n))
    return np.stack([_summarized_data(arr[i]) for i in rows])


def _tensor_body(arr: np.ndarray, indent: int) -> str:
    """torch's ``_tensor_str``: the bracketed data with formatters chosen for it."""
    if arr.size == 0:
        return "[]"
    summarize = arr.size > PRINT_OPTS.threshold
    shown = _summarized_data(arr) if summarize else arr
    if arr.dtype.kind == "c":
        fmts: _Fmts = (_Formatter(shown.real), _Formatter(shown.imag))
    else:
        fmts = (_Formatter(shown), None)
    return _tensor_str_with_formatter(arr, indent, summarize, fmts)


def _add_suffixes(text: str, suffixes: list[str], indent: int, force_newline: bool) -> str:
    """Append ``key=value`` suffixes, moving one to a new line if it would pass linewidth."""
    parts = [text]
    # torch's own arithmetic, kept verbatim so wrapping decisions match exactly
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = len(suffix)
        if force_newline or last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
            force_newline = False
        else:
            parts.append(", " + suffix)
            last_line_len += suffix_len + 2
    parts.append(")")
    return "".join(parts)


def tensor_str(arr: np.ndarray, suffixes: list[str]) -> str:
    """Full ``repr`` text torch prints for a dense CPU tensor holding ``arr``.

    ``suffixes`` (dtype=, requires_grad=, grad_fn=, ...) are chosen by the caller, in
    torch's order. The ``size=(...)`` suffix depends on the data, so it is added here:
    for empty non-1-D arrays, or any non-empty array when edgeitems is 0. It goes before
    the caller's suffixes (after any leading ``device=``), where torch puts it.
    """
    a = np.asarray(arr)
    prefix = "tensor("
    indent = len(prefix)
    all_suffixes = list(suffixes)
    if (a.size == 0 and a.ndim != 1) or (a.size != 0 and not PRINT_OPTS.edgeitems):
        pos = 0
        while pos < len(all_suffixes) and all_suffixes[pos].startswith("device="):
            pos += 1
        all_suffixes.insert(pos, "size=" + str(tuple(int(s) for s in a.shape)))
    return _add_suffixes(prefix + _tensor_body(a, indent), all_suffixes, indent, False)
