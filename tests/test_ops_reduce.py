"""Reductions, sorting and softmax (tracejit/ops/reduce.py, sort.py, activation.py).

Two oracles: PyTorch (skipped without it) for values, dtypes, errors, node names and
gradients; numpy and central finite differences in float64 for the same properties where no
torch is installed.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tracejit as tj

# Both libraries warn on var/std with no degrees of freedom (checked once, ignored elsewhere);
# numpy's inf/nan RuntimeWarnings, which tracejit filters outside pytest, are expected here.
pytestmark = [pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

INF, NAN = math.inf, math.nan
FD_EPS, FD_TOL = 1e-6, 1e-5


def _torch() -> Any:
    return pytest.importorskip("torch")


# ---- helpers ------------------------------------------------------------------------------------

def distinct(shape: tuple[int, ...], seed: int = 0, dtype: str = "float64") -> np.ndarray:
    """Random values without ties (also in |x|) and away from zero: safe for max/sort/fd."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    mag = (rng.permutation(n) + 1.0) / n + 0.05
    sign = rng.choice([-1.0, 1.0], n)
    return (mag * sign * 1.5).reshape(shape).astype(dtype)


def transposed(shape: tuple[int, int], seed: int = 0, dtype: str = "float64") -> np.ndarray:
    """A non-contiguous (transposed) array of the given shape."""
    return distinct(shape[::-1], seed, dtype).T


def tj_t(a: np.ndarray, rg: bool = False, device: str = "cpu") -> tj.Tensor:
    """A tracejit tensor over a copy of a, keeping a's (possibly transposed) layout."""
    c = np.array(a, copy=True, order="K")
    if a.ndim == 2 and not a.flags.c_contiguous and a.size:
        c = np.ascontiguousarray(a.T).T  # same strides as a
    t = tj.from_numpy(c).to(device)
    return t.requires_grad_(True) if rg else t


def th_t(a: np.ndarray, rg: bool = False) -> Any:
    torch = _torch()
    t = torch.from_numpy(np.array(a, copy=True, order="C"))
    return t.requires_grad_(True) if rg else t


def npv(t: Any) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def dname(d: Any) -> str:
    return str(d).replace("tracejit.", "").replace("torch.", "")


def assert_same(a: Any, b: Any, rtol: float, atol: float, what: str = "") -> None:
    """tracejit output a equals torch output b: type, fields, shape, dtype, values."""
    torch = _torch()
    if isinstance(b, torch.Tensor):
        assert isinstance(a, tj.Tensor), f"{what}: got {type(a).__name__}"
        assert tuple(a.shape) == tuple(b.shape), f"{what}: shape {tuple(a.shape)} vs {b.shape}"
        assert dname(a.dtype) == dname(b.dtype), f"{what}: dtype {a.dtype} vs {b.dtype}"
        x, y = npv(a), npv(b)
        if y.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(x, y, err_msg=what)
    elif isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b), what
        if hasattr(b, "values"):  # torch.return_types: field access must work too
            assert_same(a.values, b.values, rtol, atol, what + ".values")
            assert_same(a.indices, b.indices, rtol, atol, what + ".indices")
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, rtol, atol, f"{what}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{what}: {a!r} vs {b!r}"


def run_both(fn: Callable, a: np.ndarray, what: str, rtol: float, atol: float,
             device: str = "cpu") -> None:
    """Run fn on both libraries; same results, or the same exception type."""
    torch = _torch()
    try:
        expect = fn(torch, th_t(a))
    except Exception as e:  # noqa: BLE001 - the oracle decides which errors are right
        with pytest.raises(type(e)):
            fn(tj, tj_t(a, device=device))
        return
    assert_same(fn(tj, tj_t(a, device=device)), expect, rtol, atol, what)


def tol(dtype: str) -> tuple[float, float]:
    return (1e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12)


def fd_check(fn: Callable, a: np.ndarray, seed: int = 1, device: str = "cpu") -> None:
    """tracejit's gradient of sum(w * fn(x)) vs central finite differences (float64)."""
    a = np.asarray(a, np.float64)
    x = tj_t(a, True, device)
    out = fn(tj, x)
    w = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    (out * tj.tensor(w, device=device)).sum().backward()
    assert x.grad.device.type == device
    analytic = npv(x.grad)

    def f(v: np.ndarray) -> float:
        with tj.no_grad():
            return float(np.sum(w * npv(fn(tj, tj.tensor(v, device=device)))))

    numeric = np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        p, m = a.copy(), a.copy()
        p[idx] += FD_EPS
        m[idx] -= FD_EPS
        numeric[idx] = (f(p) - f(m)) / (2 * FD_EPS)
    np.testing.assert_allclose(analytic, numeric, rtol=FD_TOL, atol=FD_TOL)


def torch_grad_check(fn: Callable, a: np.ndarray, seed: int = 1, rtol: float = 1e-10,
                     atol: float = 1e-12, device: str = "cpu") -> None:
    """Same gradient (and node name) as torch for sum(w * fn(x))."""
    torch = _torch()
    xt, xj = th_t(a, True), tj_t(a, True, device)
    ot, oj = fn(torch, xt), fn(tj, xj)
    assert oj.grad_fn.name() == ot.grad_fn.name()
    w = np.random.default_rng(seed).standard_normal(tuple(ot.shape))
    (ot * torch.tensor(w, dtype=ot.dtype)).sum().backward()
    (oj * tj.tensor(w, dtype=oj.dtype, device=device)).sum().backward()
    assert xj.grad.device.type == device
    assert dname(xj.grad.dtype) == dname(xt.grad.dtype)
    np.testing.assert_allclose(npv(xj.grad), npv(xt.grad), rtol=rtol, atol=atol, equal_nan=True)


# ---- forward against torch: every dim / keepdim, several shapes and dtypes ----------------------

SHAPES = {"0d": (), "1d": (5,), "2d": (3, 4), "3d": (2, 3, 4), "T": "T", "empty": (0, 3)}


def make_input(shape_id: str, dtype: str) -> np.ndarray:
    if shape_id == "T":
        return transposed((3, 4), 3, dtype)
    return distinct(SHAPES[shape_id], 3, dtype)


def tuple_dims(nd: int) -> list:
    dims: list = [None] + list(range(-max(nd, 1), max(nd, 1))) + [nd, -nd - 1]
    if nd >= 2:
        dims += [(0, -1), (-1, 0), [0, 1], ()]
    if nd == 3:
        dims += [(0, 1, 2), (1, 2), (0, 0)]
    return dims


def _lse_dim(d: Any, nd: int) -> Any:
    """logsumexp needs a dim; dim=() reduces everything in tracejit but fails in torch 2.x
    (unless the input is 0-d), so the oracle gets the explicit tuple of all dims."""
    if d is None or (d == () and nd):
        return tuple(range(nd))
    return d


TUPLE_OPS: dict[str, Callable] = {
    "sum": lambda m, x, d, k: m.sum(x, d, k) if d is not None else
    (m.sum(x) if not k else x.sum(dim=None, keepdim=True)),
    "mean": lambda m, x, d, k: m.mean(x) if d is None else m.mean(x, d, k),
    "nansum": lambda m, x, d, k: m.nansum(x) if d is None else m.nansum(x, d, k),
    "amax": lambda m, x, d, k: m.amax(x) if d is None else m.amax(x, d, k),
    "amin": lambda m, x, d, k: x.amin() if d is None else x.amin(d, keepdim=k),
    "logsumexp": lambda m, x, d, k: m.logsumexp(x, _lse_dim(d, x.ndim), k),
    "var": lambda m, x, d, k: m.var(x) if d is None else m.var(x, d, keepdim=k),
    "var_c0": lambda m, x, d, k: x.var(d, keepdim=k, correction=0),
    "std": lambda m, x, d, k: x.std() if d is None else x.std(d, False, k),
    "norm": lambda m, x, d, k: m.norm(x, dim=d, keepdim=k),
    "norm1": lambda m, x, d, k: x.norm(1, d, k),
    "norm3": lambda m, x, d, k: x.norm(3, d, k),
    "norm_inf": lambda m, x, d, k: x.norm(INF, d, k),
    "norm_ninf": lambda m, x, d, k: x.norm(-INF, d, k),
    "norm0": lambda m, x, d, k: x.norm(0, d, k),
    "all": lambda m, x, d, k: m.all(x > 0) if d is None else m.all(x > 0, d, k),
    "any": lambda m, x, d, k: (x > 0).any() if d is None else (x > 0).any(d, k),
    "count_nonzero": lambda m, x, d, k: m.count_nonzero(x > 0, d),
}


@pytest.mark.parametrize("shape_id", list(SHAPES))
@pytest.mark.parametrize("op", list(TUPLE_OPS))
def test_tuple_dim_reductions_vs_torch(op: str, shape_id: str, device: str) -> None:
    fn = TUPLE_OPS[op]
    for dtype in ("float32", "float64"):
        a = make_input(shape_id, dtype)
        for d in tuple_dims(a.ndim):
            if op == "count_nonzero" and (isinstance(d, int) and d >= a.ndim):
                continue
            for k in (False, True):
                run_both(lambda m, x, d=d, k=k: fn(m, x, d, k), a,
                         f"{op} {dtype} dim={d} keepdim={k}", *tol(dtype), device=device)


def int_dims(nd: int) -> list:
    return list(range(-max(nd, 1), max(nd, 1))) + [max(nd, 1)]


INT_OPS: dict[str, Callable] = {
    "prod": lambda m, x, d, k: m.prod(x, d, k),
    "max": lambda m, x, d, k: m.max(x, d, k),
    "min": lambda m, x, d, k: x.min(dim=d, keepdim=k),
    "argmax": lambda m, x, d, k: m.argmax(x, d, k),
    "argmin": lambda m, x, d, k: x.argmin(d, keepdim=k),
    "cumsum": lambda m, x, d, k: m.cumsum(x, d),
    "cumprod": lambda m, x, d, k: x.cumprod(dim=d),
    "softmax": lambda m, x, d, k: m.softmax(x, d),
    "log_softmax": lambda m, x, d, k: x.log_softmax(d),
    "sort": lambda m, x, d, k: m.sort(x, d, descending=k),
    "argsort": lambda m, x, d, k: m.argsort(x, d, descending=k),
    "topk": lambda m, x, d, k: m.topk(x, min(2, x.shape[d] if x.ndim else 1), d, largest=k),
    "kthvalue": lambda m, x, d, k: m.kthvalue(x, 1, d, k),
    "median": lambda m, x, d, k: m.median(x, d, k),
    "cummax": lambda m, x, d, k: m.cummax(x, d),
    "cummin": lambda m, x, d, k: x.cummin(d),
}


@pytest.mark.parametrize("shape_id", list(SHAPES))
@pytest.mark.parametrize("op", list(INT_OPS))
def test_single_dim_ops_vs_torch(op: str, shape_id: str) -> None:
    fn = INT_OPS[op]
    for dtype in ("float32", "float64"):
        a = make_input(shape_id, dtype)
        for d in int_dims(a.ndim):
            for k in (False, True):
                bad = a.ndim and not -a.ndim <= d < a.ndim
                if bad and (op == "topk" or (op.startswith("cum") and a.size == 0)):
                    continue  # torch checks k, or nothing for empty cummax, before the dim
                run_both(lambda m, x, d=d, k=k: fn(m, x, d, k), a,
                         f"{op} {dtype} dim={d} keepdim={k}", *tol(dtype))


FULL_OPS: dict[str, Callable] = {
    "sum": lambda m, x: m.sum(x), "mean": lambda m, x: x.mean(), "prod": lambda m, x: x.prod(),
    "max": lambda m, x: m.max(x), "min": lambda m, x: x.min(), "amax": lambda m, x: m.amax(x),
    "argmax": lambda m, x: m.argmax(x), "argmin": lambda m, x: x.argmin(keepdim=True),
    "argmax_k": lambda m, x: x.argmax(dim=None, keepdim=True),
    "var": lambda m, x: x.var(), "std": lambda m, x: m.std(x, correction=0),
    "norm": lambda m, x: x.norm(), "median": lambda m, x: x.median(),
    "all": lambda m, x: (x > 0).all(), "any": lambda m, x: m.any(x > 0),
}


@pytest.mark.parametrize("shape_id", list(SHAPES))
def test_full_reductions_vs_torch(shape_id: str) -> None:
    for dtype in ("float32", "float64"):
        a = make_input(shape_id, dtype)
        for name, fn in FULL_OPS.items():
            run_both(fn, a, f"{name} {dtype}", *tol(dtype))


# ---- forward against numpy (no torch needed) ----------------------------------------------------

def _np_lse(a: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


NP_REF: dict[str, tuple[Callable, Callable]] = {
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), np.sum),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), np.mean),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), np.amax),
    "amin": (lambda x, d, k: x.amin(d, keepdim=k), np.amin),
    "var": (lambda x, d, k: x.var(d, keepdim=k), lambda a, axis, keepdims:
            np.var(a, axis=axis, keepdims=keepdims, ddof=1)),
    "std": (lambda x, d, k: x.std(d, keepdim=k, correction=0), np.std),
    "norm": (lambda x, d, k: x.norm(2, d, keepdim=k), lambda a, axis, keepdims:
             np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, keepdim=k), _np_lse),
}


@pytest.mark.parametrize("op", list(NP_REF))
@pytest.mark.parametrize("layout", ["3d", "T"])
def test_reductions_vs_numpy(op: str, layout: str) -> None:
    fn, ref = NP_REF[op]
    a = distinct((2, 3, 4), 5) if layout == "3d" else transposed((3, 4), 5)
    dims = [0, -1, (0, 1), tuple(range(a.ndim))]
    for d in dims:
        for k in (False, True):
            got = fn(tj_t(a), d, k)
            want = ref(a, axis=d if isinstance(d, int) else tuple(x % a.ndim for x in d),
                       keepdims=k)
            assert got.dtype is tj.float64
            np.testing.assert_allclose(npv(got), want, rtol=1e-12, err_msg=f"{op} {d} {k}")


def test_single_dim_ops_vs_numpy() -> None:
    a = distinct((3, 4), 6)
    x = tj_t(a)
    for d in (0, 1, -1):
        np.testing.assert_allclose(npv(x.prod(d)), np.prod(a, d), rtol=1e-12)
        np.testing.assert_allclose(npv(x.cumsum(d)), np.cumsum(a, d), rtol=1e-12)
        np.testing.assert_allclose(npv(x.cumprod(d)), np.cumprod(a, d), rtol=1e-12)
        e = np.exp(a - a.max(d, keepdims=True))
        np.testing.assert_allclose(npv(x.softmax(d)), e / e.sum(d, keepdims=True), rtol=1e-12)
        np.testing.assert_allclose(npv(x.log_softmax(d)),
                                   np.log(e / e.sum(d, keepdims=True)), rtol=1e-12)
        v, i = x.max(d)
        np.testing.assert_array_equal(npv(v), a.max(d))
        np.testing.assert_array_equal(npv(i), a.argmax(d))
        s = x.sort(d, descending=True)
        np.testing.assert_array_equal(npv(s.values), -np.sort(-a, d))
        np.testing.assert_array_equal(npv(s.indices), np.argsort(-a, d))
        np.testing.assert_array_equal(npv(x.argsort(d)), np.argsort(a, d))
        t = x.topk(2, d, largest=False)
        np.testing.assert_array_equal(npv(t.values), np.take(np.sort(a, d), [0, 1], d))
        kv = x.kthvalue(2, d)
        np.testing.assert_array_equal(npv(kv.values), np.take(np.sort(a, d), 1, d))
        med = x.median(d)
        np.testing.assert_array_equal(npv(med.values),
                                      np.take(np.sort(a, d), (a.shape[d] - 1) // 2, d))
    assert x.median().item() == np.sort(a.ravel())[(a.size - 1) // 2]
    assert x.argmax().item() == a.argmax()
    assert x.count_nonzero().item() == a.size


# ---- result dtypes ------------------------------------------------------------------------------

def test_result_dtypes() -> None:
    i = tj.tensor([[0, 1, 2], [3, 4, 5]])
    for t in (i, i.int(), i.bool(), i.byte(), i.short()):
        assert t.sum().dtype is tj.int64
        assert t.sum(0).dtype is tj.int64
        assert t.prod().dtype is tj.int64
        assert t.cumsum(0).dtype is tj.int64
        assert t.cumprod(1).dtype is tj.int64
        assert t.argmax().dtype is tj.int64
        assert t.count_nonzero().dtype is tj.int64
        assert t.amax(1).dtype is t.dtype
        assert t.max(1).indices.dtype is tj.int64
    assert i.bool().all().dtype is tj.bool
    assert i.byte().all().dtype is tj.uint8 and i.byte().any(1).dtype is tj.uint8
    assert i.float().any(1).dtype is tj.bool
    assert i.sum().item() == 15 and i.bool().sum().item() == 5
    assert i.sum(dtype=tj.float32).dtype is tj.float32
    assert i.mean(dtype=tj.float64).dtype is tj.float64
    assert i.mean(dtype=tj.float64).item() == 2.5
    assert i.logsumexp(1).dtype is tj.float32
    assert i.cumsum(0, dtype=tj.float32).dtype is tj.float32
    h = tj.tensor([1.0, 2.0], dtype=tj.float16)
    assert h.sum().dtype is tj.float16 and h.mean().dtype is tj.float16
    assert h.softmax(0).dtype is tj.float16
    x = tj.tensor([1.0, 2.0], requires_grad=True)
    y = x.sum(dtype=tj.float64)
    assert y.dtype is tj.float64 and y.grad_fn.name() == "SumBackward0"
    y.backward()
    assert x.grad.dtype is tj.float32
    s = x.softmax(0, dtype=tj.float64)
    assert s.dtype is tj.float64
    assert s.grad_fn.next_functions[0][0].name() == "ToCopyBackward0"
    assert tj.softmax(i.float(), 1).dtype is tj.float32


def test_integer_errors() -> None:
    i = tj.tensor([[0, 1, 2], [3, 4, 5]])
    with pytest.raises(RuntimeError, match=r"mean\(\): could not infer output dtype. Input "
                       r"dtype must be either a floating point or complex dtype. Got: Long"):
        i.mean()
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        i.var()
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        i.std(0)
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as "
                       "input. Got Long"):
        i.norm()
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        i.softmax(0)
    with pytest.raises(NotImplementedError, match="not implemented for 'Int'"):
        i.int().log_softmax(0)
    with pytest.raises(RuntimeError, match="topk does not support bool"):
        i.bool().topk(1)


# ---- errors: dims, empties ----------------------------------------------------------------------

def test_dim_errors() -> None:
    x = tj.ones(2, 3)
    msg = r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"
    calls = [lambda: x.sum(2), lambda: x.mean((0, 2)), lambda: x.max(2), lambda: x.argmax(2),
             lambda: x.amax((0, 2)), lambda: x.var(2), lambda: x.prod(2), lambda: x.cumsum(2),
             lambda: x.softmax(2), lambda: x.sort(2), lambda: x.logsumexp(2), lambda: x.all(2),
             lambda: x.norm(dim=2), lambda: x.topk(1, 2), lambda: x.median(2)]
    for c in calls:
        with pytest.raises(IndexError, match=msg):
            c()
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got -3\)"):
        x.sum(-3)
    with pytest.raises(IndexError, match=r"range of \[-1, 0\], but got 1\)"):
        tj.tensor(3.0).sum(1)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        x.sum((0, -2))
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(4)
    with pytest.raises(RuntimeError, match=r"kthvalue\(\): selected number k out of range for "
                       "dimension 1"):
        x.kthvalue(0)


def test_empty_reductions() -> None:
    e = tj.ones(0, 3)
    assert e.sum().item() == 0 and e.sum().shape == ()
    assert e.prod().item() == 1
    assert math.isnan(e.mean().item()) and math.isnan(e.var().item())
    assert e.sum(0).tolist() == [0.0, 0.0, 0.0] and tuple(e.sum(1).shape) == (0,)
    assert e.norm().item() == 0.0
    assert e.logsumexp(0).tolist() == [-INF] * 3
    assert e.all().item() is True and e.any().item() is False
    assert tuple(e.max(1).values.shape) == (0,) and tuple(e.amax(1).shape) == (0,)
    assert tuple(e.sort(0).values.shape) == (0, 3) and tuple(e.softmax(0).shape) == (0, 3)
    assert tuple(e.cumsum(0).shape) == (0, 3)
    full = ("Expected reduction dim to be specified for input.numel() == 0. Specify the "
            "reduction dim with the 'dim' argument.")
    for name in ("max", "min", "amax", "amin"):
        with pytest.raises(RuntimeError, match=rf"{name}\(\): " + full.replace(".", r"\.")
                           .replace("(", r"\(").replace(")", r"\)")):
            getattr(e, name)()
    with pytest.raises(IndexError, match=r"max\(\): Expected reduction dim 0 to have non-zero "):
        e.max(0)
    with pytest.raises(IndexError, match=r"amin\(\): Expected reduction dim 0 to have non-zero"):
        e.amin(0)
    with pytest.raises(IndexError, match=r"argmax\(\): Expected reduction dim to be specified "
                       r"for input.numel\(\) == 0."):
        e.argmax()
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        e.norm(INF)


def test_empty_and_errors_vs_torch() -> None:
    torch = _torch()
    for shape in ((0, 3), (2, 0), (0,)):
        a = np.ones(shape, np.float32)
        for name, fn in {**FULL_OPS, "max0": lambda m, x: x.max(0), "amax0": lambda m, x:
                         x.amax(0), "argmin0": lambda m, x: x.argmin(0), "lse": lambda m, x:
                         x.logsumexp(0), "norm_inf": lambda m, x: x.norm(INF, 0),
                         "median0": lambda m, x: x.median(0)}.items():
            try:
                expect = fn(torch, th_t(a))
            except Exception as e:  # noqa: BLE001
                with pytest.raises(type(e)) as info:
                    fn(tj, tj_t(a))
                assert str(info.value) == str(e).split("\n")[0], name
                continue
            assert_same(fn(tj, tj_t(a)), expect, 1e-6, 1e-6, f"{name} {shape}")


# ---- special values -----------------------------------------------------------------------------

def test_nan_inf_vs_torch() -> None:
    a = np.array([[1.0, NAN, 3.0, -1.0], [2.0, 5.0, -INF, 0.5], [INF, 1.0, 2.0, 2.0]])
    fns = [lambda m, x: x.max(1), lambda m, x: x.min(0), lambda m, x: x.amax(1),
           lambda m, x: x.argmax(1), lambda m, x: x.argmin(), lambda m, x: x.sum(1),
           lambda m, x: x.sort(1), lambda m, x: x.sort(1, descending=True),
           lambda m, x: x.argsort(0), lambda m, x: x.topk(2, 1), lambda m, x: x.median(1),
           lambda m, x: x.median(), lambda m, x: x.logsumexp(1), lambda m, x: x.softmax(1),
           lambda m, x: x.log_softmax(1), lambda m, x: x.nansum(1), lambda m, x: x.nanmean(1),
           lambda m, x: x.cummax(1), lambda m, x: x.cummin(1), lambda m, x: x.norm(INF, 1),
           lambda m, x: x.cumsum(1), lambda m, x: x.count_nonzero(0)]
    for i, fn in enumerate(fns):
        run_both(fn, a, f"case {i}", 1e-12, 1e-12)


def test_logsumexp_softmax_stability() -> None:
    x = tj.tensor([[1000.0, 1000.0], [-1000.0, -1001.0]], dtype=tj.float64)
    np.testing.assert_allclose(npv(x.logsumexp(1)),
                               [1000 + math.log(2), -1000 + math.log(1 + math.exp(-1))])
    np.testing.assert_allclose(npv(x.softmax(1))[0], [0.5, 0.5])
    np.testing.assert_allclose(npv(x.log_softmax(1))[1], [-math.log(1 + math.exp(-1)),
                                                          -1 - math.log(1 + math.exp(-1))])
    assert tj.tensor([-INF, -INF]).logsumexp(0).item() == -INF
    assert tj.tensor([INF, 1.0]).logsumexp(0).item() == INF
    assert tj.tensor([-INF, 0.0]).log_softmax(0).tolist() == [-INF, 0.0]
    assert np.isnan(npv(tj.tensor([-INF, -INF]).softmax(0))).all()
    assert not np.isnan(npv(tj.tensor([88.0, 89.0, 90.0]).softmax(0))).any()


# ---- named tuples, max(a, b), allclose/equal ----------------------------------------------------

def test_return_types() -> None:
    x = tj.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    r = tj.max(x, 1)
    assert r.values.tolist() == [5.0, 6.0] and r.indices.tolist() == [1, 2]
    v, i = r
    assert v is r[0] and i is r[1] and isinstance(r, tuple)
    assert type(r).__name__ == "max" and repr(r).startswith("tracejit.return_types.max(")
    for res, name in ((x.min(0), "min"), (x.sort(), "sort"), (x.topk(1), "topk"),
                      (x.kthvalue(1), "kthvalue"), (x.median(1), "median"),
                      (x.cummax(1), "cummax")):
        assert type(res).__name__ == name and res._fields == ("values", "indices")
    mm = tj.aminmax(x)
    assert mm.min.item() == 1.0 and mm.max.item() == 6.0
    kd = x.max(dim=-1, keepdim=True)
    assert tuple(kd.values.shape) == (2, 1) and tuple(kd.indices.shape) == (2, 1)


def test_max_with_tensor_is_maximum() -> None:
    a = tj.tensor([1.0, 5.0, 3.0], requires_grad=True)
    b = tj.tensor([2.0, 4.0, 3.0])
    for m, name in ((tj.max(a, b), "MaximumBackward0"), (a.min(b), "MinimumBackward0")):
        assert m.grad_fn.name() == name
    assert tj.max(a, b).tolist() == [2.0, 5.0, 3.0]
    assert a.min(b).tolist() == [1.0, 4.0, 3.0]


def test_allclose_equal() -> None:
    a = tj.tensor([1.0, 2.0, NAN])
    b = tj.tensor([1.0, 2.0 + 1e-7, NAN])
    assert not tj.allclose(a, b) and tj.allclose(a, b, equal_nan=True)
    assert a.allclose(b, equal_nan=True) is True
    assert tj.allclose(tj.ones(2, 3), tj.ones(3))
    assert not tj.allclose(tj.tensor([1.0]), tj.tensor([1.1]))
    assert tj.allclose(tj.tensor([1.0]), tj.tensor([1.1]), rtol=0.1)
    assert tj.allclose(tj.tensor([INF]), tj.tensor([INF]))
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        tj.allclose(tj.ones(2), tj.ones(2, dtype=tj.float64))
    with pytest.raises(RuntimeError, match="The size of tensor a"):
        tj.allclose(tj.ones(2, 3), tj.ones(2, 4))
    assert tj.equal(tj.ones(2), tj.ones(2)) is True
    assert not tj.equal(tj.ones(2), tj.ones(3))
    assert not tj.equal(a, a)  # NaN != NaN
    assert tj.equal(tj.tensor([1, 2]), tj.tensor([1.0, 2.0]))
    assert tj.ones(2).equal(tj.ones(2))


def test_allclose_equal_vs_torch() -> None:
    torch = _torch()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    for b in (a, a + 1e-6, a + 1e-3, a[0]):
        for kw in ({}, {"rtol": 1e-2}, {"atol": 1e-5}):
            want = torch.allclose(th_t(a), th_t(b), **kw)
            assert tj.allclose(tj_t(a), tj_t(b), **kw) is want
        assert tj.equal(tj_t(a), tj_t(b)) is torch.equal(th_t(a), th_t(b))


# ---- sorting details ----------------------------------------------------------------------------

def test_sort_stability_and_ties_vs_torch() -> None:
    a = np.array([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [0.0, 0.0, -1.0, 0.0, 2.0, 2.0]])
    for desc in (False, True):
        run_both(lambda m, x, s=desc: m.sort(x, dim=1, descending=s, stable=True), a, "sort", 0, 0)
        run_both(lambda m, x, s=desc: m.argsort(x, dim=1, descending=s, stable=True), a, "argsort",
                 0, 0)
    run_both(lambda m, x: x.max(1), a, "max ties: first index", 0, 0)
    run_both(lambda m, x: x.argmin(1), a, "argmin ties", 0, 0)
    ints = np.array([[3, 1, 2], [9, -4, 0]])
    run_both(lambda m, x: x.sort(1), ints, "int sort", 0, 0)
    run_both(lambda m, x: x.topk(2), ints, "int topk", 0, 0)
    run_both(lambda m, x: x.sort(0), ints.astype(bool), "bool sort", 0, 0)


def test_sort_stable_without_torch() -> None:
    x = tj.tensor([2.0, 1.0, 2.0, 1.0])
    assert x.sort().indices.tolist() == [1, 3, 0, 2]
    assert x.sort(descending=True).indices.tolist() == [0, 2, 1, 3]
    assert x.argsort(descending=True).tolist() == [0, 2, 1, 3]
    assert tj.tensor([1.0, NAN, 0.0]).sort().indices.tolist() == [2, 0, 1]
    assert tj.tensor([1.0, NAN, 0.0]).sort(descending=True).indices.tolist() == [1, 0, 2]
    assert tj.tensor([5.0, 1.0, 4.0]).topk(2).values.tolist() == [5.0, 4.0]
    assert tj.tensor([5.0, 1.0, 4.0]).topk(2, largest=False).indices.tolist() == [1, 2]
    assert tj.tensor([5.0, 1.0, 4.0, 2.0]).median().item() == 2.0
    assert tj.tensor([5.0, NAN, 4.0]).median(0).indices.item() == 1
    assert tj.msort(tj.tensor([[3.0], [1.0]])).tolist() == [[1.0], [3.0]]


# ---- node names ---------------------------------------------------------------------------------

NODE_NAMES: dict[str, tuple[Callable, str]] = {
    "sum": (lambda m, x: x.sum(), "SumBackward0"),
    "sum_dim": (lambda m, x: x.sum(1), "SumBackward1"),
    "sum_tuple": (lambda m, x: x.sum((0, 1)), "SumBackward1"),
    "sum_keep": (lambda m, x: x.sum(dim=None, keepdim=True), "SumBackward1"),
    "mean": (lambda m, x: x.mean(), "MeanBackward0"),
    "mean_dim": (lambda m, x: m.mean(x, 1, True), "MeanBackward1"),
    "prod": (lambda m, x: x.prod(), "ProdBackward0"),
    "prod_dim": (lambda m, x: x.prod(1), "ProdBackward1"),
    "max": (lambda m, x: x.max(), "MaxBackward1"),
    "max_dim": (lambda m, x: x.max(1).values, "MaxBackward0"),
    "min": (lambda m, x: x.min(), "MinBackward1"),
    "min_dim": (lambda m, x: x.min(0)[0], "MinBackward0"),
    "amax": (lambda m, x: x.amax((0, 1)), "AmaxBackward0"),
    "amin": (lambda m, x: x.amin(1), "AminBackward0"),
    "var": (lambda m, x: x.var(), "VarBackward0"),
    "std": (lambda m, x: x.std(1), "StdBackward0"),
    "norm": (lambda m, x: x.norm(), "LinalgVectorNormBackward0"),
    "norm_p": (lambda m, x: x.norm(1, dim=1), "LinalgVectorNormBackward0"),
    "logsumexp": (lambda m, x: x.logsumexp(1), "LogsumexpBackward0"),
    "cumsum": (lambda m, x: x.cumsum(1), "CumsumBackward0"),
    "cumprod": (lambda m, x: x.cumprod(1), "CumprodBackward0"),
    "sort": (lambda m, x: x.sort().values, "SortBackward0"),
    "sort_stable": (lambda m, x: x.sort(stable=True).values, "SortBackward1"),
    "msort": (lambda m, x: m.msort(x), "SortBackward0"),
    "topk": (lambda m, x: x.topk(2).values, "TopkBackward0"),
    "kthvalue": (lambda m, x: x.kthvalue(2).values, "KthvalueBackward0"),
    "median": (lambda m, x: x.median(), "MedianBackward0"),
    "median_dim": (lambda m, x: x.median(1).values, "MedianBackward1"),
    "softmax": (lambda m, x: m.softmax(x, 1), "SoftmaxBackward0"),
    "log_softmax": (lambda m, x: m.log_softmax(x, 1), "LogSoftmaxBackward0"),
    "nansum": (lambda m, x: x.nansum(), "NansumBackward0"),
    "cummax": (lambda m, x: x.cummax(0).values, "CummaxBackward0"),
}


@pytest.mark.parametrize("case", list(NODE_NAMES))
def test_node_names(case: str) -> None:
    fn, name = NODE_NAMES[case]
    x = tj.ones(2, 3, requires_grad=True)
    assert fn(tj, x).grad_fn.name() == name
    assert type(fn(tj, x).grad_fn).__name__ == name


def test_node_names_vs_torch() -> None:
    torch = _torch()
    for case, (fn, _) in NODE_NAMES.items():
        xt = torch.ones(2, 3, requires_grad=True)
        xj = tj.ones(2, 3, requires_grad=True)
        assert fn(tj, xj).grad_fn.name() == fn(torch, xt).grad_fn.name(), case
    assert tj.max(tj.ones(2, requires_grad=True), 1 - tj.ones(2)).grad_fn.name() == \
        torch.max(torch.ones(2, requires_grad=True), 1 - torch.ones(2)).grad_fn.name()
    # indices, argmax, sort indices and integer sums carry no history
    x = tj.ones(2, 3, requires_grad=True)
    for t in (x.max(1).indices, x.argmax(), x.sort().indices, x.all(), x.count_nonzero()):
        assert t.grad_fn is None and not t.requires_grad


# ---- gradients ----------------------------------------------------------------------------------

GRAD_CASES: dict[str, Callable] = {
    "sum": lambda m, x: x.sum(),
    "sum_d1": lambda m, x: x.sum(1),
    "sum_tuple_keep": lambda m, x: m.sum(x, (0, -1), True),
    "mean": lambda m, x: x.mean(),
    "mean_d": lambda m, x: x.mean(-1, keepdim=True),
    "mean_tuple": lambda m, x: x.mean((0, 2)),
    "prod": lambda m, x: x.prod(),
    "prod_d": lambda m, x: x.prod(1),
    "prod_keep": lambda m, x: m.prod(x, -1, True),
    "max": lambda m, x: x.max(),
    "max_d": lambda m, x: x.max(1).values,
    "min_keep": lambda m, x: x.min(0, keepdim=True)[0],
    "amax": lambda m, x: x.amax((0, 2)),
    "amin_keep": lambda m, x: x.amin(-1, True),
    "var": lambda m, x: x.var(),
    "var_d": lambda m, x: x.var(1, keepdim=True),
    "var_c0": lambda m, x: m.var(x, (0, 2), correction=0),
    "std": lambda m, x: x.std(),
    "std_d": lambda m, x: x.std(-1, unbiased=False),
    "norm": lambda m, x: x.norm(),
    "norm_d": lambda m, x: x.norm(dim=1, keepdim=True),
    "norm1": lambda m, x: x.norm(1, (0, 1)),
    "norm3": lambda m, x: x.norm(3, 2),
    "norm_half": lambda m, x: x.norm(0.5),
    "norm_inf": lambda m, x: x.norm(INF, 1),
    "norm_ninf": lambda m, x: x.norm(-INF),
    "logsumexp": lambda m, x: x.logsumexp(1),
    "logsumexp_t": lambda m, x: m.logsumexp(x, (0, 2), True),
    "cumsum": lambda m, x: x.cumsum(1),
    "cumsum_neg": lambda m, x: m.cumsum(x, -1),
    "cumprod": lambda m, x: x.cumprod(2),
    "softmax": lambda m, x: x.softmax(1),
    "softmax_last": lambda m, x: m.softmax(x, -1),
    "log_softmax": lambda m, x: x.log_softmax(0),
    "sort": lambda m, x: x.sort(1).values,
    "sort_desc": lambda m, x: m.sort(x, -1, descending=True)[0],
    "topk": lambda m, x: x.topk(2).values,
    "topk_small": lambda m, x: x.topk(2, 1, largest=False).values,
    "kthvalue": lambda m, x: x.kthvalue(2, 1).values,
    "median": lambda m, x: x.median(),
    "median_d": lambda m, x: x.median(2, keepdim=True).values,
    "nansum": lambda m, x: x.nansum(1),
    "nanmean": lambda m, x: x.nanmean(0),
    "cummax": lambda m, x: x.cummax(1).values,
    "cummin": lambda m, x: x.cummin(2).values,
}


@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_grad_finite_differences(case: str, device: str) -> None:
    fd_check(GRAD_CASES[case], distinct((2, 3, 4), 7), device=device)


@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_grad_vs_torch(case: str, device: str) -> None:
    torch_grad_check(GRAD_CASES[case], distinct((2, 3, 4), 7), device=device)
    torch_grad_check(GRAD_CASES[case], distinct((2, 3, 4), 8, "float32"), rtol=1e-5,
                     atol=1e-6, device=device)


@pytest.mark.parametrize("case", ["sum_d", "mean_d", "prod_d", "max_d", "amax", "var", "std",
                                  "norm", "logsumexp", "cumsum", "cumprod", "softmax", "sort"])
def test_grad_non_contiguous(case: str) -> None:
    fns = {"sum_d": lambda m, x: x.sum(0), "mean_d": lambda m, x: x.mean(1),
           "prod_d": lambda m, x: x.prod(0), "max_d": lambda m, x: x.max(0).values,
           "amax": lambda m, x: x.amax(1), "var": lambda m, x: x.var(0),
           "std": lambda m, x: x.std(1), "norm": lambda m, x: x.norm(dim=0),
           "logsumexp": lambda m, x: x.logsumexp(0), "cumsum": lambda m, x: x.cumsum(0),
           "cumprod": lambda m, x: x.cumprod(1), "softmax": lambda m, x: x.softmax(0),
           "sort": lambda m, x: x.sort(0).values}
    a = transposed((3, 4), 9)
    assert not tj_t(a).is_contiguous()
    fd_check(fns[case], a)
    try:
        _torch()
    except pytest.skip.Exception:
        return
    torch_grad_check(fns[case], a)


def test_grad_0d() -> None:
    for fn in (lambda x: x.sum(), lambda x: x.sum(0), lambda x: x.mean(-1), lambda x: x.prod(),
               lambda x: x.max(), lambda x: x.max(0).values, lambda x: x.amax(), lambda x:
               x.cumsum(0), lambda x: x.cumprod(0), lambda x: x.sort().values,
               lambda x: x.logsumexp(0), lambda x: x.norm(), lambda x: x.median()):
        x = tj.tensor(1.5, dtype=tj.float64, requires_grad=True)
        y = fn(x)
        assert y.shape == ()
        y.backward()
        assert x.grad.item() == pytest.approx(1.0, abs=1e-12)
    x = tj.tensor(1.5, dtype=tj.float64, requires_grad=True)
    x.softmax(0).backward()
    assert x.grad.item() == 0.0


def test_grad_ties_split_evenly() -> None:
    x = tj.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]
    x.grad = None
    x.amax(1).sum().backward()
    np.testing.assert_allclose(npv(x.grad), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x.grad = None
    x.max(1).values.sum().backward()  # one winner: the first index
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    x.grad = None
    x.norm(INF).backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]


def test_grad_ties_vs_torch() -> None:
    a = np.array([[1.0, 3.0, 3.0, -3.0], [2.0, 2.0, 2.0, 0.0], [0.0, 0.0, 5.0, -5.0]])
    for fn in (lambda m, x: x.max(), lambda m, x: x.min(), lambda m, x: x.amax(1),
               lambda m, x: x.amin((0, 1)), lambda m, x: x.max(1).values,
               lambda m, x: x.min(0).values, lambda m, x: x.norm(INF, 1),
               lambda m, x: x.norm(1, 1), lambda m, x: x.norm(dim=1),
               lambda m, x: x.median(), lambda m, x: x.sort(dim=1, stable=True).values):
        torch_grad_check(fn, a)


ZERO_INPUTS = [
    np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 1.5, 0.0, 2.0], [1.0, 2.0, 3.0, 0.5]]),
    np.array([[0.0, 0.0, 0.0, 0.0], [0.0, -1.0, 2.0, 0.0], [3.0, -1.0, 0.0, 0.5]]),
]


@pytest.mark.parametrize("k", [0, 1])
def test_prod_cumprod_grad_with_zeros(k: int) -> None:
    a = ZERO_INPUTS[k]
    fns = [lambda m, x: x.prod(), lambda m, x: x.prod(1), lambda m, x: x.prod(0, True),
           lambda m, x: x.cumprod(1), lambda m, x: x.cumprod(0), lambda m, x: x.norm(0.5, 1)]
    for fn in fns[:5]:
        fd_check(fn, a)
    try:
        _torch()
    except pytest.skip.Exception:
        return
    for fn in fns:
        torch_grad_check(fn, a)


def test_norm_grad_at_zero_vs_torch() -> None:
    a = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.0]])
    for p in (2, 1, 3, INF):
        torch_grad_check(lambda m, x, p=p: x.norm(p, 1), a)
    x = tj.zeros(3, dtype=tj.float64, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


# ---- second derivatives -------------------------------------------------------------------------

SECOND_ORDER: dict[str, Callable] = {
    "softmax": lambda m, x: x.softmax(1),
    "softmax0": lambda m, x: m.softmax(x, 0),
    "log_softmax": lambda m, x: x.log_softmax(-1),
    "logsumexp": lambda m, x: x.logsumexp(1),
    "logsumexp_all": lambda m, x: m.logsumexp(x, (0, 1), keepdim=True),
    "var": lambda m, x: x.var(1),
    "std": lambda m, x: x.std(0),
    "norm": lambda m, x: x.norm(dim=1),
    "norm3": lambda m, x: x.norm(3),
    "prod": lambda m, x: x.prod(1),
    "cumprod": lambda m, x: x.cumprod(1),
    "mean": lambda m, x: (x * x).mean(0),
    "amax": lambda m, x: (x * x).amax(1),
    "sort": lambda m, x: (x * x).sort(1).values,
}


def _first_grad(m: Any, fn: Callable, x: Any, w: Any) -> Any:
    (g,) = m.autograd.grad((fn(m, x) * w).sum(), x, create_graph=True)
    return g


@pytest.mark.parametrize("case", list(SECOND_ORDER))
def test_second_derivative_finite_differences(case: str) -> None:
    fn = SECOND_ORDER[case]
    a = distinct((3, 4), 11)
    rng = np.random.default_rng(2)
    w = tj.tensor(rng.standard_normal(tuple(fn(tj, tj.tensor(a)).shape)))
    v = rng.standard_normal(a.shape)

    def gv(b: np.ndarray) -> float:
        xb = tj.tensor(b, requires_grad=True)
        return float(np.sum(npv(_first_grad(tj, fn, xb, w)) * v))

    x = tj.tensor(a, requires_grad=True)
    g = _first_grad(tj, fn, x, w)
    assert g.requires_grad
    (h,) = tj.autograd.grad((g * tj.tensor(v)).sum(), x)
    numeric = np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        p, m = a.copy(), a.copy()
        p[idx] += FD_EPS
        m[idx] -= FD_EPS
        numeric[idx] = (gv(p) - gv(m)) / (2 * FD_EPS)
    np.testing.assert_allclose(npv(h), numeric, rtol=FD_TOL, atol=FD_TOL)


@pytest.mark.parametrize("case", list(SECOND_ORDER))
def test_second_derivative_vs_torch(case: str) -> None:
    torch = _torch()
    fn = SECOND_ORDER[case]
    a = distinct((3, 4), 11)
    rng = np.random.default_rng(2)
    w = rng.standard_normal(tuple(fn(tj, tj.tensor(a)).shape))
    v = rng.standard_normal(a.shape)
    res = []
    for m in (tj, torch):
        x = m.tensor(a, requires_grad=True)
        g = _first_grad(m, fn, x, m.tensor(w))
        (h,) = m.autograd.grad((g * m.tensor(v)).sum(), x)
        res.append((npv(g), npv(h)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-9, atol=1e-11)


# ---- in-place and saved values ------------------------------------------------------------------

def test_saved_output_version_check() -> None:
    x = tj.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x.softmax(1)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    z = x * 1
    s = z.sum()
    z.add_(1)  # sum saves nothing: still fine
    s.backward()
    assert x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_cumsum_inplace() -> None:
    x = tj.tensor([[1, 2, 3], [4, 5, 6]])
    assert x.cumsum_(1) is x
    assert x.tolist() == [[1, 3, 6], [4, 9, 15]]
    y = tj.tensor([1.0, 2.0, 3.0])
    y.cumprod_(0)
    assert y.tolist() == [1.0, 2.0, 6.0]


def test_var_std_signatures() -> None:
    a = distinct((3, 4), 12)
    x = tj_t(a)
    np.testing.assert_allclose(npv(x.var(False)), a.var(), rtol=1e-12)
    np.testing.assert_allclose(npv(x.var(0, False)), a.var(0), rtol=1e-12)
    np.testing.assert_allclose(npv(x.var(0, True, True)), a.var(0, ddof=1, keepdims=True),
                               rtol=1e-12)
    np.testing.assert_allclose(npv(tj.var(x, 1, correction=2)), a.var(1, ddof=2), rtol=1e-12)
    np.testing.assert_allclose(npv(x.std(dim=1, unbiased=False)), a.std(1), rtol=1e-12)
    v, mu = tj.var_mean(x, 1)
    np.testing.assert_allclose(npv(v), a.var(1, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(npv(mu), a.mean(1), rtol=1e-12)
    s, mu = tj.std_mean(x, unbiased=False)
    np.testing.assert_allclose(npv(s), a.std(), rtol=1e-12)
    with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0"):
        assert math.isnan(tj.tensor([1.0]).var().item())
    with pytest.warns(UserWarning, match=r"std\(\): degrees of freedom is <= 0"):
        assert tj.tensor([1.0, 2.0]).std(correction=2).item() == INF


def test_softmax_implicit_dim() -> None:
    x = tj.tensor([[1.0, 2.0], [3.0, 5.0]])
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = tj.softmax(x)
    np.testing.assert_allclose(npv(y), npv(x.softmax(1)))
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        y = tj.log_softmax(x.sum(0))
    np.testing.assert_allclose(npv(y), npv(x.sum(0).log_softmax(0)))


def test_functions_and_methods_exist() -> None:
    names = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var",
             "std", "norm", "logsumexp", "cumsum", "cumprod", "all", "any", "count_nonzero",
             "sort", "argsort", "topk", "kthvalue", "median", "softmax", "log_softmax",
             "allclose", "equal", "nansum", "nanmean", "cummax", "cummin", "aminmax"]
    for n in names:
        assert callable(getattr(tj, n)), n
        assert callable(getattr(tj.Tensor, n)), n
    for n in ("var_mean", "std_mean", "msort"):
        assert callable(getattr(tj, n)), n
