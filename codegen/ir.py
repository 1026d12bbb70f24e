"""Kernel IR: a tiny, backend-neutral description of fused loops.

It knows nothing of tensors or autograd so that the LLVM emitter here and a
CUDA C emitter later can both consume it.  Nodes are frozen dataclasses whose
hash is cached, because the JIT hashes whole kernels on its hot path.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

DTYPES = ("f16", "f32", "f64", "i8", "u8", "i32", "i64", "bool")
FLOATS = frozenset({"f16", "f32", "f64"})
INTS = frozenset({"i8", "u8", "i32", "i64"})

UNARY_OPS = frozenset(
    "neg abs sign exp log log1p expm1 sqrt rsqrt sin cos tan tanh sigmoid relu floor "
    "ceil round trunc reciprocal not isnan isinf erf".split()
)
BINARY_OPS = frozenset(
    "add sub mul div floordiv mod pow max min eq ne lt le gt ge and or xor".split()
)
COMPARE_OPS = frozenset("eq ne lt le gt ge".split())
PREDICATE_UNARY = frozenset({"isnan", "isinf"})
REDUCE_OPS = frozenset({"sum", "prod", "max", "min"})


def _check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {DTYPES}")


class _Node:
    """Mixin that caches the structural hash (deep trees are hashed often)."""

    __slots__ = ()

    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((type(self).__name__,) + self._fields())
            object.__setattr__(self, "_hash", h)
        return h

    def _fields(self) -> tuple:
        raise NotImplementedError


@dataclass(frozen=True, eq=True)
class Load(_Node):
    """Value of input ``arg`` at the current iteration index."""

    arg: int
    dtype: str

    def __post_init__(self) -> None:
        _check_dtype(self.dtype)

    def _fields(self) -> tuple:
        return (self.arg, self.dtype)

    __hash__ = _Node.__hash__


@dataclass(frozen=True, eq=True)
class Const(_Node):
    value: float | int | bool
    dtype: str

    def __post_init__(self) -> None:
        _check_dtype(self.dtype)

    def _fields(self) -> tuple:
        return (repr(self.value), self.dtype)

    __hash__ = _Node.__hash__


@dataclass(frozen=True, eq=True)
class Unary(_Node):
    op: str
    x: Expr
    dtype: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.op not in UNARY_OPS:
            raise ValueError(f"unknown unary op {self.op!r}")
        dt = "bool" if self.op in PREDICATE_UNARY else self.x.dtype
        object.__setattr__(self, "dtype", dt)

    def _fields(self) -> tuple:
        return (self.op, self.x)

    __hash__ = _Node.__hash__


@dataclass(frozen=True, eq=True)
class Binary(_Node):
    op: str
    a: Expr
    b: Expr
    dtype: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.op not in BINARY_OPS:
            raise ValueError(f"unknown binary op {self.op!r}")
        if self.a.dtype != self.b.dtype:
            raise TypeError(f"{self.op}: dtype mismatch {self.a.dtype} vs {self.b.dtype}")
        dt = "bool" if self.op in COMPARE_OPS else self.a.dtype
        object.__setattr__(self, "dtype", dt)

    def _fields(self) -> tuple:
        return (self.op, self.a, self.b)

    __hash__ = _Node.__hash__


@dataclass(frozen=True, eq=True)
class Where(_Node):
    cond: Expr
    a: Expr
    b: Expr
    dtype: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.cond.dtype != "bool":
            raise TypeError("where: condition must be bool")
        if self.a.dtype != self.b.dtype:
            raise TypeError(f"where: dtype mismatch {self.a.dtype} vs {self.b.dtype}")
        object.__setattr__(self, "dtype", self.a.dtype)

    def _fields(self) -> tuple:
        return (self.cond, self.a, self.b)

    __hash__ = _Node.__hash__


@dataclass(frozen=True, eq=True)
class Cast(_Node):
    x: Expr
    dtype: str

    def __post_init__(self) -> None:
        _check_dtype(self.dtype)

    def _fields(self) -> tuple:
        return (self.x, self.dtype)

    __hash__ = _Node.__hash__


@dataclass(frozen=True, eq=True)
class ReduceRef(_Node):
    """Result of the k-th reduction; only valid in a reduction kernel's outputs."""

    k: int
    dtype: str

    def __post_init__(self) -> None:
        _check_dtype(self.dtype)

    def _fields(self) -> tuple:
        return (self.k, self.dtype)

    __hash__ = _Node.__hash__


Expr = Load | Const | Unary | Binary | Where | Cast | ReduceRef


@dataclass(frozen=True, eq=True)
class Reduce(_Node):
    op: str
    expr: Expr
    dtype: str

    def __post_init__(self) -> None:
        if self.op not in REDUCE_OPS:
            raise ValueError(f"unknown reduce op {self.op!r}")
        _check_dtype(self.dtype)

    def _fields(self) -> tuple:
        return (self.op, self.expr, self.dtype)

    __hash__ = _Node.__hash__


@dataclass(frozen=True, eq=True)
class Kernel(_Node):
    """A loop nest over ``ndim`` run-time-sized dims; the last ``nreduce`` are reduced."""

    name: str
    ndim: int
    inputs: tuple
    nreduce: int = 0
    reductions: tuple = ()
    outputs: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "reductions", tuple(self.reductions))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        for dt in self.inputs:
            _check_dtype(dt)
        if not 0 <= self.nreduce <= self.ndim:
            raise ValueError("nreduce must be in [0, ndim]")
        if self.nreduce == 0 and self.reductions:
            raise ValueError("reductions given but nreduce == 0")
        if self.nreduce > 0 and not self.reductions:
            raise ValueError("nreduce > 0 needs at least one reduction")
        if not self.outputs:
            raise ValueError("kernel needs at least one output")
        _validate(self)

    def _fields(self) -> tuple:
        return (self.name, self.ndim, self.inputs, self.nreduce, self.reductions,
                self.outputs)

    __hash__ = _Node.__hash__

    @property
    def outer_ndim(self) -> int:
        return self.ndim - self.nreduce

    def key(self) -> str:
        """Stable structural id (sizes excluded) usable as a cache file name."""
        k = self.__dict__.get("_key")
        if k is None:
            digest = hashlib.sha256(self.pretty().encode()).hexdigest()[:24]
            safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in self.name)[:40]
            k = f"{safe}-{digest}"
            object.__setattr__(self, "_key", k)
        return k

    def pretty(self) -> str:
        """Readable text; also the canonical form hashed by :meth:`key`."""
        lines = [f"kernel {self.name}(ndim={self.ndim}, nreduce={self.nreduce})"]
        for i, dt in enumerate(self.inputs):
            lines.append(f"  in{i}: {dt}")
        for i, r in enumerate(self.reductions):
            lines.append(f"  r{i} = {r.op}<{r.dtype}>({_fmt(r.expr)})")
        for i, e in enumerate(self.outputs):
            lines.append(f"  out{i}: {e.dtype} = {_fmt(e)}")
        return "\n".join(lines)


def _fmt(e: Expr) -> str:
    if isinstance(e, Load):
        return f"in{e.arg}"
    if isinstance(e, Const):
        v = e.value
        if isinstance(v, float) and not math.isfinite(v):
            v = repr(v)
        return f"{v!r}:{e.dtype}"
    if isinstance(e, Unary):
        return f"{e.op}({_fmt(e.x)})"
    if isinstance(e, Binary):
        return f"{e.op}({_fmt(e.a)}, {_fmt(e.b)})"
    if isinstance(e, Where):
        return f"where({_fmt(e.cond)}, {_fmt(e.a)}, {_fmt(e.b)})"
    if isinstance(e, Cast):
        return f"{e.dtype}({_fmt(e.x)})"
    if isinstance(e, ReduceRef):
        return f"r{e.k}"
    raise TypeError(f"not an expression: {e!r}")


def _walk(e: Expr, seen: set):
    if id(e) in seen:
        return
    seen.add(id(e))
    yield e
    for child in _children(e):
        yield from _walk(child, seen)


def _children(e: Expr) -> tuple:
    if isinstance(e, Unary):
        return (e.x,)
    if isinstance(e, Binary):
        return (e.a, e.b)
    if isinstance(e, Where):
        return (e.cond, e.a, e.b)
    if isinstance(e, Cast):
        return (e.x,)
    return ()


def _validate(k: Kernel) -> None:
    """Catch malformed kernels early, where the error message can be clear."""
    seen: set = set()
    for r in k.reductions:
        for e in _walk(r.expr, seen):
            _check_leaf(k, e, allow_ref=False)
    seen = set()
    for out in k.outputs:
        for e in _walk(out, seen):
            _check_leaf(k, e, allow_ref=bool(k.reductions))


def _check_leaf(k: Kernel, e: Expr, allow_ref: bool) -> None:
    if isinstance(e, Load):
        if not 0 <= e.arg < len(k.inputs):
            raise ValueError(f"Load({e.arg}) out of range for {len(k.inputs)} inputs")
        if k.inputs[e.arg] != e.dtype:
            raise TypeError(f"Load({e.arg}) dtype {e.dtype} != input {k.inputs[e.arg]}")
    elif isinstance(e, ReduceRef):
        if not allow_ref:
            raise ValueError("ReduceRef only allowed in outputs of a reduction kernel")
        if not 0 <= e.k < len(k.reductions):
            raise ValueError(f"ReduceRef({e.k}) out of range")
        if k.reductions[e.k].dtype != e.dtype:
            raise TypeError(f"ReduceRef({e.k}) dtype mismatch")
