"""tracejit._format must reproduce PyTorch's tensor repr exactly; torch is the oracle."""

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest


def _load_format() -> ModuleType:
    """Import tracejit._format, or load it by path when the package itself can't import."""
    try:
        import tracejit._format as mod

        return mod
    except Exception:
        path = Path(__file__).resolve().parents[1] / "tracejit" / "_format.py"
        spec = importlib.util.spec_from_file_location("_tracejit_format_standalone", path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod


fmt = _load_format()
tensor_str = fmt.tensor_str

DEFAULTS: dict[str, Any] = dict(
    precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None
)


@pytest.fixture
def torch() -> Any:
    """torch is only the oracle: comparison tests skip cleanly without it."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _reset_options() -> Iterator[None]:
    """Every test starts and ends with default options in both libraries."""
    fmt.set_printoptions(**DEFAULTS)
    yield
    fmt.set_printoptions(**DEFAULTS)
    if "torch" in sys.modules:
        sys.modules["torch"].set_printoptions(profile="default", sci_mode=None)


# ---------------------------------------------------------------- no-torch checks


def test_examples_without_torch() -> None:
    f32 = np.float32
    assert tensor_str(np.array([[3, 3]], f32), ["grad_fn=<AddBackward0>"]) == (
        "tensor([[3., 3.]], grad_fn=<AddBackward0>)"
    )
    assert tensor_str(np.array(3.0, f32), []) == "tensor(3.)"
    assert tensor_str(np.zeros(0, f32), []) == "tensor([])"
    assert tensor_str(np.zeros((0, 3), f32), []) == "tensor([], size=(0, 3))"
    assert tensor_str(np.array([1.5, -0.25], f32), ["requires_grad=True"]) == (
        "tensor([ 1.5000, -0.2500], requires_grad=True)"
    )
    assert tensor_str(np.array([1e-5, 1e9], f32), []) == "tensor([1.0000e-05, 1.0000e+09])"
    assert tensor_str(np.array([True, False]), []) == "tensor([ True, False])"
    assert tensor_str(np.arange(3, dtype=np.int32), ["dtype=tracejit.int32"]) == (
        "tensor([0, 1, 2], dtype=tracejit.int32)"
    )
    assert tensor_str(np.arange(1001), []) == "tensor([   0,    1,    2,  ...,  998,  999, 1000])"


def test_set_printoptions_without_torch() -> None:
    fmt.set_printoptions(precision=2)
    assert tensor_str(np.array([1.12345]), []) == "tensor([1.12])"
    fmt.set_printoptions(threshold=5)
    assert tensor_str(np.arange(10), []) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    fmt.set_printoptions(**DEFAULTS)
    assert tensor_str(np.array([1.12345]), []) == "tensor([1.1235])"
    assert fmt.get_printoptions() == DEFAULTS


# ---------------------------------------------------------------- torch comparisons

_RNG = np.random.default_rng(1234)
_DEFAULT_DTYPES = ("float32", "complex64", "int64", "bool")


def _cases() -> list[tuple[str, np.ndarray]]:
    """Arrays covering every formatter branch; built once with a fixed seed."""
    r = _RNG
    f = [np.float16, np.float32, np.float64]
    ints = [np.int8, np.int16, np.int32, np.int64, np.uint8]
    c: list[tuple[str, Any]] = []
    for dt in f:
        n = np.dtype(dt).name
        c += [
            (f"rand_{n}", r.standard_normal((3, 4)).astype(dt)),
            (f"intvalued_{n}", r.integers(-50, 50, (2, 5)).astype(dt)),
            (f"neg_{n}", -r.random(7).astype(dt)),
            (f"naninf_{n}", np.array([np.nan, np.inf, -np.inf, 1.5, -2.0], dt)),
            (f"naninf_int_{n}", np.array([np.nan, np.inf, -np.inf, 2.0], dt)),
            (f"nonfinite_only_{n}", np.array([np.nan, -np.inf, 0.0], dt)),
            (f"negzero_{n}", np.array([-0.0, 0.0, -0.0], dt)),
            (f"negzero_mixed_{n}", np.array([-0.0, 1.0, 2.5], dt)),
            (f"negzero_int_{n}", np.array([-0.0, 1.0, 7.0], dt)),
            (f"scalar_{n}", np.array(3.0, dt)),
            (f"scalar_frac_{n}", np.array(-2.71828, dt)),
            (f"empty_{n}", np.zeros(0, dt)),
            (f"empty03_{n}", np.zeros((0, 3), dt)),
            (f"long1d_{n}", (r.standard_normal(45) * 10).astype(dt)),
            (f"3d_{n}", r.standard_normal((2, 3, 4)).astype(dt)),
            (f"big_{n}", r.standard_normal((40, 30)).astype(dt)),
        ]
    c += [
        ("tiny_mix", np.array([1e-5, 0.5, 3.0], np.float32)),
        ("huge_mix", np.array([1e9, 1.5, -3.0], np.float64)),
        ("huge_int", np.array([1e9, 2.0, -3.0], np.float64)),
        ("range_gt_1000", np.array([0.001, 2.0], np.float32)),
        ("range_gt_1000_int", np.array([1.0, 5000.0], np.float32)),
        ("sci_int_mode", np.array([1.0, 2e8], np.float64)),
        ("small_all", np.array([1e-6, 2e-6, -3e-6], np.float64)),
        ("1e-4_edge", np.array([1e-4, 2e-4], np.float64)),
        ("1e8_edge", np.array([1e8, 5e7], np.float64)),
        ("f16_max", np.array([65504.0, -0.5], np.float16)),
        ("f16_sub", np.array([6e-8, 1.0], np.float16)),
        ("f64_precise", np.array([1 / 3, 2 / 3, 123456.789], np.float64)),
        ("rounding", np.array([0.00005, 0.99995, 9.99995], np.float64)),
        ("mag_mix", (r.standard_normal(20) * 10.0 ** r.integers(-6, 10, 20)).astype(np.float32)),
        ("sci_long", (r.standard_normal(30) * 1e10).astype(np.float64)),
        ("empty204", np.zeros((2, 0, 4), np.float32)),
        ("empty0_int", np.zeros(0, np.int64)),
        ("empty03_bool", np.zeros((0, 3), bool)),
        ("empty_2d_int32", np.zeros((3, 0), np.int32)),
        ("bool_1d", r.random(9) > 0.5),
        ("bool_true", np.ones((2, 2), bool)),
        ("bool_scalar", np.array(False)),
        ("bool_long", r.random(40) > 0.5),
        ("bool_big", r.random((5, 300)) > 0.5),
        ("big_1d_2001", np.arange(2001, dtype=np.float32) / 7),
        ("big_3d", r.standard_normal((11, 10, 12)).astype(np.float32)),
        ("big_4d_int", r.integers(-9, 9, (7, 2, 8, 10)).astype(np.int64)),
        ("big_int_bounds", np.array([np.iinfo(np.int64).min] + [0] * 1000, np.int64)),
        ("exactly_1000", np.arange(1000, dtype=np.float32).reshape(10, 100)),
        ("outlier_hidden", np.concatenate([np.ones(3), np.full(995, 1e-9), np.ones(3)])),
        ("4d_small", r.standard_normal((2, 2, 2, 2)).astype(np.float64)),
        ("row_vec", r.standard_normal((1, 30)).astype(np.float32)),
        ("col_vec", r.standard_normal((30, 1)).astype(np.float32)),
        ("complex64", (r.standard_normal(5) + 1j * r.standard_normal(5)).astype(np.complex64)),
        ("complex128_int", np.array([1 + 2j, -3 - 0j, 0 - 1j], np.complex128)),
        ("complex_scalar", np.array(1.5 - 2j, np.complex128)),
    ]
    for dt in ints:
        n = np.dtype(dt).name
        info = np.iinfo(dt)
        c += [
            (f"rand_{n}", r.integers(info.min, info.max, (3, 5), endpoint=True).astype(dt)),
            (f"bounds_{n}", np.array([info.min, 0, info.max], dt)),
            (f"scalar_{n}", np.array(info.max, dt)),
            (f"long_{n}", r.integers(0, 100, 60).astype(dt)),
            (f"big_{n}", r.integers(0, 100, (2, 3, 200)).astype(dt)),
            (f"empty_{n}", np.zeros((0,), dt)),
        ]
    return c


CASES = _cases()


def _torch_suffixes(t: Any, kind: str) -> list[str]:
    """The suffixes torch will print for t, in torch's order, with torch's spelling."""
    sfx: list[str] = []
    dtype = str(t.dtype).removeprefix("torch.")
    if (t.numel() == 0 and dtype != "float32") or (t.numel() != 0 and dtype not in _DEFAULT_DTYPES):
        sfx.append(f"dtype={t.dtype}")
    if kind == "requires_grad":
        sfx.append("requires_grad=True")
    elif kind == "grad_fn":
        sfx.append("grad_fn=<CloneBackward0>")
    return sfx


def _make(torch: Any, a: np.ndarray, kind: str) -> Any:
    """A torch tensor with a's exact values that prints the wanted suffix kind."""
    t = torch.from_numpy(a.copy())
    if kind == "requires_grad":
        t.requires_grad_()
    elif kind == "grad_fn":
        t = t.requires_grad_().clone()  # clone keeps -0.0 and nan bit-exact
    return t


def _kinds(a: np.ndarray) -> list[str]:
    return ["plain", "requires_grad", "grad_fn"] if a.dtype.kind in "fc" else ["plain"]


@pytest.mark.parametrize(("name", "arr"), CASES, ids=[n for n, _ in CASES])
def test_matches_torch(torch: Any, name: str, arr: np.ndarray) -> None:
    for kind in _kinds(arr):
        t = _make(torch, arr, kind)
        assert tensor_str(arr, _torch_suffixes(t, kind)) == repr(t), (name, kind)


def test_tracejit_dtype_spelling(torch: Any) -> None:
    """The caller's dtype text is printed verbatim where torch prints its own."""
    for arr in (np.arange(4, dtype=np.int32), np.ones((2, 2), np.float64), np.zeros((0, 2))):
        t = torch.from_numpy(arr)
        sfx = [s.replace("torch.", "tracejit.") for s in _torch_suffixes(t, "plain")]
        assert tensor_str(arr, sfx) == repr(t).replace("torch.", "tracejit.")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_suffix_wrapping_each_line_length(torch: Any, dtype: type) -> None:
    """Suffixes move to a new line exactly when torch's width rule says so."""
    r = np.random.default_rng(7)
    for n in range(1, 25):
        for scale in (1.0, 1000.0):
            arr = (r.standard_normal(n) * scale).astype(dtype)
            for kind in _kinds(arr):
                t = _make(torch, arr, kind)
                assert tensor_str(arr, _torch_suffixes(t, kind)) == repr(t)


def test_add_suffixes_matches_torch(torch: Any) -> None:
    """Arbitrary suffix strings (long grad_fn names, several suffixes) wrap like torch."""
    from torch._tensor_str import _add_suffixes

    body = "tensor([1.0000, 2.0000,\n        3.0000])"
    for extra in range(0, 70, 3):
        sfx = ["dtype=tracejit.float64", "grad_fn=<" + "X" * extra + "Backward0>"]
        assert fmt._add_suffixes(body, sfx, 7, False) == _add_suffixes(body, sfx, 7, False)
        flat = "tensor([" + "1., " * extra + "2.])"
        assert fmt._add_suffixes(flat, sfx, 7, False) == _add_suffixes(flat, sfx, 7, False)


OPTIONS = [
    dict(precision=2),
    dict(precision=8),
    dict(precision=0),
    dict(sci_mode=True),
    dict(sci_mode=False),
    dict(linewidth=40),
    dict(linewidth=200),
    dict(threshold=5),
    dict(threshold=5, edgeitems=1),
    dict(threshold=5, edgeitems=0),
    dict(edgeitems=0),
    dict(threshold=float("inf")),
]
OPTION_ARRAYS = [
    np.array([1.12345, -2.5, 1e-5], np.float32),
    np.array([1.0, -2.0, 300.0], np.float64),
    np.arange(10, dtype=np.int64),
    np.arange(10, dtype=np.float32).reshape(2, 5) / 3,
    np.arange(24, dtype=np.int16).reshape(2, 3, 4),
    np.array(2.5, np.float32),
    np.zeros((0, 2), np.float32),
    np.linspace(-1, 1, 1200).astype(np.float32).reshape(40, 30),
]


@pytest.mark.parametrize("opts", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_printoptions_match_torch(torch: Any, opts: dict[str, Any]) -> None:
    torch.set_printoptions(**opts)
    fmt.set_printoptions(**opts)
    for arr in OPTION_ARRAYS:
        for kind in _kinds(arr):
            t = _make(torch, arr, kind)
            got = tensor_str(arr, _torch_suffixes(t, kind))
            assert got == repr(t), (opts, arr.shape, kind)
