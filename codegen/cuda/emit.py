"""Lower Kernel IR (+ per-input layouts) to CUDA C: one ``extern "C" __global__`` per variant.

Parameter list of every kernel (all 8 bytes wide, the order of the LLVM backend's args)::

    long long s0..s{ndim-1}            run-time sizes
    const T* in0.., T* out0..          data pointers, inputs then outputs
    long long st{j}_0..st{j}_{ndim-1}  element strides of every "strided" input j

Outputs are contiguous over the outer (non-reduced) dims.  Elementwise kernels run a
grid-stride loop over the linear index (flat/scalar variants index inputs linearly, the
strided variant unravels it; an all-f32 flat kernel takes a guarded ``float4`` path).
Reductions give each block one outer element at a time (block-stride loop): threads
stride over the reduced dims, then a warp shuffle tree, per-warp partials in shared
memory and a second shuffle tree; thread 0 computes the epilogue.  All barriers and
shuffles sit in block-uniform control flow (the simulator depends on it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from ..ir import Binary, Cast, Const, Expr, Kernel, Load, Reduce, ReduceRef, Unary, Where
from . import ops
from .prelude import prelude

LAYOUTS = ("flat", "scalar", "strided")
WARP = 32
MAX_WARPS = 32  # 1024 threads per block


def symbol(kernel: Kernel, layouts: Sequence[str]) -> str:
    """Unique, stable kernel function name of one variant."""
    safe = "".join(c if c.isalnum() else "_" for c in kernel.name)[:32]
    digest = hashlib.sha256(f"{kernel.key()}|{','.join(layouts)}".encode()).hexdigest()
    return f"tj_{safe}_{digest[:16]}"


def normalize(items: Iterable) -> list:
    """[(kernel, layouts)] from Kernels (all-flat) or (kernel, layouts) pairs, deduplicated."""
    out: dict = {}
    for it in items:
        k, lay = (it, None) if isinstance(it, Kernel) else it
        lay = tuple(lay) if lay is not None else ("flat",) * len(k.inputs)
        if len(lay) != len(k.inputs):
            raise ValueError(f"{k.name}: one layout per input required")
        for x in lay:
            if x not in LAYOUTS:
                raise ValueError(f"unknown layout {x!r}; expected one of {LAYOUTS}")
        out[(k, lay)] = None
    return list(out)


def is_flat_variant(kernel: Kernel, layouts: Sequence[str]) -> bool:
    return kernel.ndim == 0 or (kernel.nreduce == 0 and "strided" not in layouts)


def _children(e) -> tuple:
    if isinstance(e, Unary | Cast):
        return (e.x,)
    if isinstance(e, Binary):
        return (e.a, e.b)
    if isinstance(e, Where):
        return (e.cond, e.a, e.b)
    if isinstance(e, Reduce):
        return (e.expr,)
    return ()


def _walk(roots: Iterable) -> list:
    seen: dict = {}
    stack = list(roots)
    while stack:
        e = stack.pop()
        if id(e) not in seen:
            seen[id(e)] = e
            stack.extend(_children(e))
    return list(seen.values())


def _loads(roots: Iterable) -> set:
    return {e.arg for e in _walk(roots) if isinstance(e, Load)}


def uses_f16(kernel: Kernel) -> bool:
    nodes = _walk(list(kernel.reductions) + list(kernel.outputs))
    return "f16" in kernel.inputs or any(getattr(e, "dtype", "") == "f16" for e in nodes)


class _Scope:
    """Binds each distinct sub-expression to a ``const`` temporary (memoised per scope)."""

    def __init__(self, em: _Emitter, indent: str, load, refs: dict | None = None):
        self.em, self.indent, self.load, self.refs = em, indent, load, refs or {}
        self.memo: dict = {}

    def __call__(self, e: Expr) -> str:
        v = self.memo.get(e)
        if v is None:
            v = self._emit(e)
            self.memo[e] = v
        return v

    def bind(self, dtype: str, expr: str) -> str:
        name = self.em.temp()
        self.em.line(self.indent, f"const {ops.COMPUTE[dtype]} {name} = {expr};")
        return name

    def _emit(self, e: Expr) -> str:
        if isinstance(e, Const):
            return f"tj_c({ops.const(e.dtype, e.value)})"  # opaque to nvcc's warnings
        if isinstance(e, ReduceRef):
            return self.refs[e.k]
        if isinstance(e, Load):
            text = self.load(e.arg)
            return self.bind(e.dtype, text) if "[" in text else text  # memory: read once
        if isinstance(e, Unary):
            text = ops.unary(e.op, self(e.x), e.x.dtype)
        elif isinstance(e, Binary):
            text = ops.binary(e.op, self(e.a), self(e.b), e.a.dtype)
        elif isinstance(e, Where):
            text = ops.where(self(e.cond), self(e.a), self(e.b))
        elif isinstance(e, Cast):
            text = ops.cast(self(e.x), e.x.dtype, e.dtype)
        else:
            raise TypeError(f"not an expression: {e!r}")
        return self.bind(e.dtype, text)


class _Emitter:
    def __init__(self, kernel: Kernel, layouts: tuple):
        self.k, self.layouts = kernel, layouts
        self.lines: list = []
        self._n = 0
        nin = len(kernel.inputs)
        self.used_red = _loads(kernel.reductions)
        self.used_out = _loads(kernel.outputs)
        self.used = self.used_red | self.used_out
        self.strided = [j for j in range(nin) if layouts[j] == "strided" and j in self.used]

    def temp(self) -> str:
        self._n += 1
        return f"t{self._n}"

    def line(self, indent: str, text: str) -> None:
        self.lines.append(indent + text)

    # -- signature -----------------------------------------------------------------------
    def signature(self, name: str) -> str:
        k = self.k
        params = [f"long long s{d}" for d in range(k.ndim)]
        params += [f"const {ops.STORAGE[dt]}* __restrict__ in{j}"
                   for j, dt in enumerate(k.inputs)]
        params += [f"{ops.STORAGE[e.dtype]}* __restrict__ out{o}"
                   for o, e in enumerate(k.outputs)]
        for j, lay in enumerate(self.layouts):
            if lay == "strided":
                params += [f"long long st{j}_{d}" for d in range(k.ndim)]
        return f'extern "C" __global__ void {name}({", ".join(params)})'

    def emit(self, name: str) -> str:
        self.line("", self.signature(name) + " {")
        for j in sorted(self.used):  # scalar inputs: loaded once per thread
            if self.layouts[j] == "scalar":
                ref = ops.load(self.k.inputs[j], f"in{j}[0]")
                self.line("  ", f"const {ops.COMPUTE[self.k.inputs[j]]} h{j} = {ref};")
        if self.k.nreduce == 0:
            self._elementwise()
        else:
            self._reduction()
        self.line("", "}")
        return "\n".join(self.lines) + "\n"

    # -- helpers ---------------------------------------------------------------------------
    def _product(self, dims: Sequence[int]) -> str:
        return " * ".join(f"s{d}" for d in dims) or "1"

    def _unravel(self, ind: str, lin: str, dims: list, prefix: str) -> None:
        """const long long {prefix}{d} = multi-index of ``lin`` over ``dims`` (C order)."""
        if not dims:
            return
        if len(dims) == 1:
            self.line(ind, f"const long long {prefix}{dims[0]} = {lin};")
            return
        rest = f"{prefix}_rest"
        self.line(ind, f"long long {rest} = {lin};")
        for d in reversed(dims[1:]):
            self.line(ind, f"const long long {prefix}{d} = {rest} % s{d};")
            self.line(ind, f"{rest} /= s{d};")
        self.line(ind, f"const long long {prefix}{dims[0]} = {rest};")

    def _offsets(self, ind: str, js: list, dims: list, prefix: str, base: str | None,
                 name: str) -> None:
        for j in js:
            terms = [f"{prefix}{d} * st{j}_{d}" for d in dims]
            if base is not None:
                terms.insert(0, f"{base}{j}")
            self.line(ind, f"const long long {name}{j} = {' + '.join(terms) or '0'};")

    def _loader(self, flat: str, offs: str):
        """j -> C text of input j at the current index (flat, offset or hoisted scalar)."""
        def load(j: int) -> str:
            lay = self.layouts[j]
            if lay == "scalar":
                return f"h{j}"
            ref = f"in{j}[{flat}]" if lay == "flat" else f"in{j}[{offs}{j}]"
            return ops.load(self.k.inputs[j], ref)
        return load

    def _store(self, scope: _Scope, ind: str, index: str) -> None:
        vals = [scope(e) for e in self.k.outputs]
        for o, (e, v) in enumerate(zip(self.k.outputs, vals)):
            self.line(ind, f"out{o}[{index}] = {ops.store(e.dtype, v)};")

    # -- elementwise ------------------------------------------------------------------------
    def _elementwise(self) -> None:
        k = self.k
        self.line("  ", f"const long long n = {self._product(range(k.ndim))};")
        self.line("  ", "const long long tj_step = (long long)blockDim.x * gridDim.x;")
        self.line("  ", "const long long tj_tid = (long long)blockIdx.x * blockDim.x"
                        " + threadIdx.x;")
        start = "0"
        if self._vectorizable():
            start = self._vector_path()
        ind = "    "
        self.line("  ", f"for (long long i = {start} + tj_tid; i < n; i += tj_step) {{")
        if self.strided:
            dims = list(range(k.ndim))
            self._unravel(ind, "i", dims, "q")
            self._offsets(ind, self.strided, dims, "q", None, "off")
        self._store(_Scope(self, ind, self._loader("i", "off")), ind, "i")
        self.line("  ", "}")

    def _vectorizable(self) -> bool:
        k = self.k
        return (k.ndim > 0 and is_flat_variant(k, self.layouts)
                and all(e.dtype == "f32" for e in k.outputs)
                and all(k.inputs[j] == "f32" for j in self.used
                        if self.layouts[j] == "flat"))

    def _vector_path(self) -> str:
        """float4 loads/stores when every flat pointer is 16-byte aligned; returns the tail."""
        k = self.k
        flat = [j for j in sorted(self.used) if self.layouts[j] == "flat"]
        ptrs = [f"in{j}" for j in flat] + [f"out{o}" for o in range(len(k.outputs))]
        aligned = " | ".join(f"(unsigned long long){p}" for p in ptrs)
        self.line("  ", "long long tj_start = 0;")
        self.line("  ", f"if ((({aligned}) & 15ULL) == 0) {{")
        self.line("    ", "const long long n4 = n >> 2;")
        self.line("    ", "for (long long v = tj_tid; v < n4; v += tj_step) {")
        ind = "      "
        for j in flat:
            self.line(ind, f"const float4 a{j} = reinterpret_cast<const float4*>(in{j})[v];")
        lanes = []
        for c in "xyzw":
            scope = _Scope(self, ind, lambda j, c=c: f"a{j}.{c}" if j in flat else f"h{j}")
            lanes.append([scope(e) for e in k.outputs])
        for o in range(len(k.outputs)):
            args = ", ".join(lane[o] for lane in lanes)
            self.line(ind, f"reinterpret_cast<float4*>(out{o})[v] = make_float4({args});")
        self.line("    ", "}")
        self.line("    ", "tj_start = n4 * 4;")
        self.line("  ", "}")
        return "tj_start"

    # -- reductions ---------------------------------------------------------------------------
    def _reduction(self) -> None:
        k = self.k
        nout = k.outer_ndim
        odims, rdims = list(range(nout)), list(range(nout, k.ndim))
        accs = [f"acc{m}" for m in range(len(k.reductions))]
        acc_t = [ops.COMPUTE[r.dtype] for r in k.reductions]
        for m, t in enumerate(acc_t):
            self.line("  ", f"__shared__ {t} tj_red{m}[{MAX_WARPS}];")
        self.line("  ", f"const long long n_outer = {self._product(odims)};")
        self.line("  ", f"const long long n_red = {self._product(rdims)};")
        self.line("  ", "for (long long o = blockIdx.x; o < n_outer; o += gridDim.x) {")
        ind = "    "
        if self.strided and odims:
            self._unravel(ind, "o", odims, "q")
            self._offsets(ind, self.strided, odims, "q", None, "base")
        base = "base" if (self.strided and odims) else None
        for m, r in enumerate(k.reductions):
            self.line(ind, f"{acc_t[m]} {accs[m]} = {ops.identity(r.op, r.dtype)};")
        self.line(ind, "for (long long r = threadIdx.x; r < n_red; r += blockDim.x) {")
        inner = ind + "  "
        red_strided = [j for j in self.strided if j in self.used_red]
        if red_strided:
            self._unravel(inner, "r", rdims, "p")
            self._offsets(inner, red_strided, rdims, "p", base, "off")
        scope = _Scope(self, inner, self._loader("o * n_red + r", "off"))
        vals = [scope(r.expr) for r in k.reductions]
        for m, r in enumerate(k.reductions):
            v = ops.cast(vals[m], r.expr.dtype, r.dtype)
            self.line(inner, f"{accs[m]} = {ops.combine(r.op, accs[m], v, r.dtype)};")
        self.line(ind, "}")
        self._block_reduce(ind, accs)
        self.line(ind, "if (threadIdx.x == 0) {")
        epi = ind + "  "
        out_strided = [j for j in self.strided if j in self.used_out]
        if out_strided and base is None:
            for j in out_strided:
                self.line(epi, f"const long long base{j} = 0;")
        scope = _Scope(self, epi, self._loader("o * n_red", "base"), dict(enumerate(accs)))
        self._store(scope, epi, "o")
        self.line(ind, "}")
        self.line(ind, "__syncthreads();  /* tj_red* are reused by the next outer element */")
        self.line("  ", "}")

    def _shuffle_tree(self, ind: str, accs: list, first: str) -> None:
        self.line(ind, f"for (int tj_d = {first}; tj_d > 0; tj_d >>= 1) {{")
        for m, r in enumerate(self.k.reductions):
            t = ops.COMPUTE[r.dtype]
            self.line(ind + "  ", f"const {t} tj_v{m} = tj_shfl_down({accs[m]}, tj_d);")
            self.line(ind + "  ",
                      f"{accs[m]} = {ops.combine(r.op, accs[m], f'tj_v{m}', r.dtype)};")
        self.line(ind, "}")

    def _block_reduce(self, ind: str, accs: list) -> None:
        """Warp tree, per-warp partials through shared memory, then a second warp tree."""
        red = self.k.reductions
        self._shuffle_tree(ind, accs, str(WARP // 2))
        self.line(ind, f"if ((threadIdx.x & {WARP - 1}) == 0) {{")
        for m in range(len(red)):
            self.line(ind + "  ", f"tj_red{m}[threadIdx.x / {WARP}] = {accs[m]};")
        self.line(ind, "}")
        self.line(ind, "__syncthreads();")
        for m, r in enumerate(red):
            ident = ops.identity(r.op, r.dtype)
            self.line(ind, f"{accs[m]} = threadIdx.x < blockDim.x / {WARP} ? "
                           f"tj_red{m}[threadIdx.x] : {ident};")
        # lanes >= the warp count hold the identity, so the second tree only needs
        # log2(warps) steps; every warp runs it (uniform), warp 0 holds the result
        self.line(ind, "int tj_w = 1;")
        self.line(ind, f"while (tj_w * {WARP} < (int)blockDim.x) tj_w <<= 1;")
        self._shuffle_tree(ind, accs, "tj_w >> 1")


def emit_kernel(kernel: Kernel, layouts: Sequence[str] | None = None) -> str:
    """The ``__global__`` function of one variant (without the module prelude)."""
    ((k, lay),) = normalize([(kernel, layouts)])
    return _Emitter(k, lay).emit(symbol(k, lay))


def emit_module(kernels: Iterable) -> str:
    """One CUDA C module holding every given variant (Kernel or (Kernel, layouts))."""
    items = normalize(kernels)
    if not items:
        raise ValueError("emit_module needs at least one kernel")
    f16 = any(uses_f16(k) for k, _ in items)
    body = [_Emitter(k, lay).emit(symbol(k, lay)) for k, lay in items]
    return prelude(f16) + "\n" + "\n".join(body)
