"""Differential test: random fused kernels on the CUDA backend (simulator) and on the LLVM
backend must agree bit for bit.

Only correctly rounded operations are generated (no transcendentals, whose libm and
polynomial versions legitimately differ in the last ulp), and no float -> int casts
(undefined out of range on both backends), so any difference is a semantic bug.
"""

import random

import numpy as np
import pytest
from test_cuda_common import cuda, nvcc_check, sim, sim_env  # noqa: F401

from kernels import cg

FLOAT_UN = ["neg", "abs", "sign", "sqrt", "floor", "ceil", "round", "trunc", "reciprocal",
            "relu", "rsqrt"]
INT_UN = ["neg", "abs", "sign", "not", "relu"]
FLOAT_BIN = ["add", "sub", "mul", "div", "floordiv", "mod", "max", "min"]
INT_BIN = ["add", "sub", "mul", "floordiv", "mod", "max", "min", "and", "or", "xor"]
CMP = ["eq", "ne", "lt", "le", "gt", "ge"]
TYPES = ["f32", "f64", "i32", "i8", "u8", "i64", "f16"]
N_KERNELS = int(__import__("os").environ.get("TJ_FUZZ_N", "40"))


def _expr(r: random.Random, dt: str, inputs: list, depth: int, refs: tuple = ()):
    """A random expression of dtype ``dt`` over ``inputs`` (list of dtypes, may grow) and
    the reduction results ``refs``."""
    if depth == 0 or r.random() < 0.2:
        mine = [ref for ref in refs if ref.dtype == dt]
        if mine and r.random() < 0.6:
            return r.choice(mine)
        if r.random() < 0.15:
            v = r.choice([0, 1, -1, 2.5, -0.5, 3]) if dt[0] == "f" else r.choice([0, 1, -3, 7])
            if dt == "u8":
                v = abs(int(v))
            return cg.Const(v, dt)
        cands = [j for j, t in enumerate(inputs) if t == dt]
        j = r.choice(cands) if cands and r.random() < 0.7 else None
        if j is None:
            inputs.append(dt)
            j = len(inputs) - 1
        return cg.Load(j, dt)
    kind = r.random()
    is_float = dt[0] == "f"

    def sub(t):
        return _expr(r, t, inputs, depth - 1, refs)

    if dt == "bool":
        if kind < 0.5:
            other = r.choice(TYPES)
            return cg.Binary(r.choice(CMP), sub(other), sub(other))
        if kind < 0.6:
            return cg.Unary("not", sub(dt))
        ops = ["and", "or", "xor", "max", "min", "add", "mul"]
        return cg.Binary(r.choice(ops), sub(dt), sub(dt))
    if kind < 0.3:
        return cg.Unary(r.choice(FLOAT_UN if is_float else INT_UN), sub(dt))
    if kind < 0.7:
        return cg.Binary(r.choice(FLOAT_BIN if is_float else INT_BIN), sub(dt), sub(dt))
    if kind < 0.85:
        other = r.choice(TYPES)
        return cg.Where(cg.Binary(r.choice(CMP), sub(other), sub(other)), sub(dt), sub(dt))
    src = r.choice([t for t in TYPES if t[0] != "f" or is_float] + ["bool"])
    inner = cg.Unary("isnan", sub("f32")) if src == "bool" else sub(src)
    return cg.Cast(inner, dt)


def _cases():
    r = random.Random(1234)
    out = []
    for i in range(N_KERNELS):
        inputs: list = []
        dts = [r.choice(TYPES) for _ in range(r.randint(1, 2))]
        outs = tuple(_expr(r, dt, inputs, 4) for dt in dts)
        k = cg.Kernel(f"rand{i}", 2, tuple(inputs), outputs=outs)
        lays = tuple(r.choice(["flat", "strided", "scalar"]) for _ in inputs)
        out.append((k, lays))
    return out


def _reduce_cases():
    """Order-independent reductions only (exact on both backends): float max/min, integer
    and bool sum/prod/max/min (wrapping), with epilogues mixing results and loads."""
    r = random.Random(99)
    out = []
    for i in range(N_REDUCE):
        inputs: list = []
        reds = []
        for _ in range(r.randint(1, 2)):
            dt = r.choice(TYPES + ["bool"])
            if dt == "bool":
                expr = cg.Binary(r.choice(CMP), _expr(r, "i32", inputs, 2),
                                 _expr(r, "i32", inputs, 2))
            else:
                expr = _expr(r, dt, inputs, 3)
            op = r.choice(["max", "min"] if dt[0] == "f" else ["sum", "prod", "max", "min"])
            acc = "i64" if dt == "bool" and op == "sum" else dt
            reds.append(cg.Reduce(op, expr if acc == dt else cg.Cast(expr, acc), acc))
        refs = tuple(cg.ReduceRef(m, red.dtype) for m, red in enumerate(reds))
        outs = tuple(_expr(r, red.dtype, inputs, 2, refs) for red in reds)
        nred = r.choice([1, 2])
        k = cg.Kernel(f"rred{i}", 3, tuple(inputs), nred, tuple(reds), outs)
        out.append((k, tuple(r.choice(["flat", "strided", "scalar"]) for _ in inputs)))
    return out


CASES = _cases()
N_REDUCE = int(__import__("os").environ.get("TJ_FUZZ_NRED", "24"))
REDUCE_CASES = _reduce_cases()


def _array(r: np.random.Generator, dt: str, lay: str, shape):
    npdt = cg.NP_DTYPES[dt]
    pool = (np.array([0, -0.0, 1, -1, 0.5, -2.5, 3.75, 1e30, -7, np.inf, -np.inf, np.nan])
            if dt[0] == "f" else np.array([0, 1, -1, 2, -3, 7, 100, -128, 127]))
    vals = np.concatenate([pool, r.normal(0, 20, 64)])
    if dt[0] != "f":
        vals = np.round(vals).astype(np.int64)
    with np.errstate(all="ignore"):
        if lay == "scalar":
            return np.broadcast_to(np.asarray(r.choice(vals)).astype(npdt), shape)
        a = r.choice(vals, shape[::-1][:-1] + (shape[0] + 2,)).astype(npdt)
    a = a.T[:-2]  # reversed axes, first one sliced: neither C- nor F-contiguous
    return a if lay == "strided" else np.ascontiguousarray(a)


@pytest.fixture(scope="module")
def prog(sim):  # noqa: F811
    p = cuda.Program(CASES + REDUCE_CASES, sim)
    nvcc_check(p.source)
    return p


@pytest.mark.parametrize("idx", range(N_KERNELS))
def test_random_kernel_matches_llvm(prog, idx):
    k, lays = CASES[idx]
    r = np.random.default_rng(idx)
    shape = (9, 37)
    xs = [_array(r, dt, lay, shape) for dt, lay in zip(k.inputs, lays)]
    assert tuple(cuda.classify(a.shape, [s // a.itemsize for s in a.strides])
                 for a in xs) == lays
    want = cg.run(k, xs, shape=shape)
    got = prog.run(k, xs, shape=shape)
    for w, g in zip(want, got):
        assert w.dtype == g.dtype
        np.testing.assert_array_equal(g, w, err_msg=k.pretty())


@pytest.mark.parametrize("idx", range(N_REDUCE))
def test_random_reduction_matches_llvm(prog, idx):
    k, lays = REDUCE_CASES[idx]
    r = np.random.default_rng(1000 + idx)
    shape = (5, 6, 70)
    xs = [_array(r, dt, lay, shape) for dt, lay in zip(k.inputs, lays)]
    want = cg.run(k, xs, shape=shape)
    got = prog.run(k, xs, shape=shape)
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w, err_msg=k.pretty())
