"""Lower a Kernel plus per-input layouts to an LLVM module (one function).

Calling convention of the emitted function (C ABI)::

    void k(int64 start, int64 end, int64 *args)

``args`` packs: ``sizes[ndim]``, then data pointers of the inputs and then of the
outputs, then ``ndim`` strides (in elements, may be 0 or negative) for every input
whose layout is "strided", "rows" or "bcast", in input order.  Those three differ only
in what the innermost loop may assume of the last dim's stride: anything, 1 ("rows": a
contiguous run, so the loop vectorises), or 0 ("bcast": one load per run, e.g. a row
maximum subtracted from every element of the row).  ``[start, end)`` is a chunk of the
parallel index: the linear index over the whole iteration space for the flat
variant, else the linear index over the outer (non-reduced) dims; for a full
reduction to a scalar it is always [0, 1).
"""

from __future__ import annotations

from contextlib import contextmanager

from llvmlite import ir

from .ir import Binary, Cast, Const, Expr, Kernel, Load, ReduceRef, Unary, Where
from .llvm_ops import (
    I64,
    compute_type,
    const,
    emit_binary,
    emit_cast,
    emit_unary,
    is_float,
    is_unsigned,
    load_convert,
    storage_type,
    store_convert,
)

LAYOUTS = ("flat", "scalar", "strided", "rows", "bcast")
STRIDED = ("strided", "rows", "bcast")  # layouts that pass strides
REDUCE_BLOCK = 4096  # inner reduction block: bounds f32 sum error growth (blocked sum)
_REASSOC = ("reassoc", "nsz")


def is_flat_variant(kernel: Kernel, layouts: tuple) -> bool:
    return kernel.nreduce == 0 and all(lay not in STRIDED for lay in layouts)


def symbol_name(variant_key: str) -> str:
    import hashlib
    return "tj_" + hashlib.sha256(variant_key.encode()).hexdigest()[:24]


@contextmanager
def _loop(b: ir.IRBuilder, start, stop, name: str):
    """for (i = start; i < stop; ++i) with a phi induction variable."""
    pre = b.block
    head = b.append_basic_block(name + ".head")
    body = b.append_basic_block(name + ".body")
    done = b.append_basic_block(name + ".end")
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64, name=name)
    i.add_incoming(start, pre)
    b.cbranch(b.icmp_signed("<", i, stop), body, done)
    b.position_at_end(body)
    yield i
    i.add_incoming(b.add(i, ir.Constant(I64, 1), flags=["nsw"]), b.block)
    b.branch(head)
    b.position_at_end(done)


class _Exprs:
    """Emits expressions with memoisation (fused graphs share subtrees)."""

    def __init__(self, b: ir.IRBuilder, load, refs=None):
        self.b = b
        self.load = load
        self.refs = refs or {}
        self.memo: dict = {}

    def __call__(self, e: Expr):
        v = self.memo.get(e)
        if v is None:
            v = self._emit(e)
            self.memo[e] = v
        return v

    def _emit(self, e: Expr):
        b = self.b
        if isinstance(e, Load):
            return self.load(e.arg)
        if isinstance(e, Const):
            return const(e.dtype, e.value)
        if isinstance(e, Unary):
            return emit_unary(b, e.op, self(e.x), e.x.dtype)
        if isinstance(e, Binary):
            return emit_binary(b, e.op, self(e.a), self(e.b), e.a.dtype)
        if isinstance(e, Where):
            return b.select(self(e.cond), self(e.a), self(e.b))
        if isinstance(e, Cast):
            return emit_cast(b, self(e.x), e.x.dtype, e.dtype)
        if isinstance(e, ReduceRef):
            return b.load(self.refs[e.k])
        raise TypeError(f"not an expression: {e!r}")


class KernelEmitter:
    def __init__(self, kernel: Kernel, layouts: tuple, symbol: str):
        if len(layouts) != len(kernel.inputs):
            raise ValueError("one layout per input required")
        for lay in layouts:
            if lay not in LAYOUTS:
                raise ValueError(f"unknown layout {lay!r}")
        self.k = kernel
        self.layouts = tuple(layouts)
        self.module = ir.Module(name=kernel.name)
        fnty = ir.FunctionType(ir.VoidType(), [I64, I64, I64.as_pointer()])
        self.fn = ir.Function(self.module, fnty, symbol)
        self.fn.attributes.add("nounwind")
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))

    # -- argument unpacking --------------------------------------------------
    def _arg(self, i: int):
        b = self.b
        return b.load(b.gep(self.fn.args[2], [ir.Constant(I64, i)]))

    def _unpack(self):
        k, b = self.k, self.b
        nd = k.ndim
        self.sizes = [self._arg(d) for d in range(nd)]
        dtypes = list(k.inputs) + [e.dtype for e in k.outputs]
        self.ptrs = [b.inttoptr(self._arg(nd + j), storage_type(dt).as_pointer())
                     for j, dt in enumerate(dtypes)]
        self.strides = {}
        pos = nd + len(dtypes)
        for j, lay in enumerate(self.layouts):
            if lay in STRIDED:
                self.strides[j] = [self._arg(pos + d) for d in range(nd)]
                pos += nd
        # scalar inputs are loaded once, here in the entry block
        self.hoisted = {j: self._load_at(j, ir.Constant(I64, 0))
                        for j, lay in enumerate(self.layouts) if lay == "scalar"}

    def _load_at(self, j: int, offset):
        b = self.b
        v = b.load(b.gep(self.ptrs[j], [offset]))
        return load_convert(b, v, self.k.inputs[j])

    def _store(self, outs: _Exprs, index):
        b = self.b
        nin = len(self.k.inputs)
        for o, e in enumerate(self.k.outputs):
            v = store_convert(b, outs(e), e.dtype)
            b.store(v, b.gep(self.ptrs[nin + o], [index]))

    # -- entry point -----------------------------------------------------------
    def emit(self) -> ir.Module:
        self._unpack()
        start, end = self.fn.args[0], self.fn.args[1]
        if is_flat_variant(self.k, self.layouts) or self.k.ndim == 0:
            self._emit_flat(start, end)
        elif self.k.nreduce == 0:
            self._emit_strided(start, end)
        else:
            self._emit_reduce(start, end)
        self.b.ret_void()
        return self.module

    def _loader(self, flat_index, offsets, run_values=None):
        def load(j):
            lay = self.layouts[j]
            if lay == "scalar":
                return self.hoisted[j]
            if lay == "flat":
                return self._load_at(j, flat_index)
            if run_values and j in run_values:
                return run_values[j]
            return self._load_at(j, offsets[j])
        return load

    def _emit_flat(self, start, end):
        with _loop(self.b, start, end, "i") as i:
            self._store(_Exprs(self.b, self._loader(i, {})), i)

    def _alloca(self, init, name: str):
        """Entry-block alloca (SROA turns these into SSA values)."""
        b = self.b
        with b.goto_entry_block():
            slot = b.alloca(init.type, name=name)
        b.store(init, slot)
        return slot

    def _unravel(self, lin, dims: list):
        """Multi-index of linear index ``lin`` over ``dims`` (C order)."""
        b = self.b
        if not dims:
            return []
        idx = [None] * len(dims)
        rest = lin
        for d in range(len(dims) - 1, 0, -1):
            idx[d] = b.srem(rest, self.sizes[dims[d]])
            rest = b.sdiv(rest, self.sizes[dims[d]])
        idx[0] = rest
        return idx

    def _carry(self, slots: list, dims: list, first: int):
        """Increment the multi-index stored in slots[:first+1] (odometer)."""
        b = self.b
        done = b.append_basic_block("carry.done")
        for d in range(first, -1, -1):
            v = b.add(b.load(slots[d]), ir.Constant(I64, 1))
            ok = b.icmp_signed("<", v, self.sizes[dims[d]])
            b.store(b.select(ok, v, ir.Constant(I64, 0)), slots[d])
            if d == 0:
                b.branch(done)
            else:
                nxt = b.append_basic_block(f"carry{d - 1}")
                b.cbranch(ok, done, nxt)
                b.position_at_end(nxt)
        b.position_at_end(done)

    def _offsets(self, slots: list, dims: list):
        b = self.b
        offs = {}
        for j, st in self.strides.items():
            acc = ir.Constant(I64, 0)
            for s, d in zip(slots, dims):
                acc = b.add(acc, b.mul(b.load(s) if isinstance(s, ir.AllocaInstr) else s,
                                       st[d]))
            offs[j] = acc
        return offs

    def _inner_offsets(self, offs: dict, i, d: int, hoisted: dict) -> dict:
        """Offsets at index ``i`` of dim ``d``; the last dim uses the layout's stride class."""
        b = self.b
        last = d == self.k.ndim - 1
        o = {}
        for j in offs:
            lay = self.layouts[j]
            if last and lay == "bcast":
                continue  # value loaded once per run (``hoisted``)
            step = i if last and lay == "rows" else b.mul(i, self.strides[j][d])
            o[j] = b.add(offs[j], step)
        return o

    def _hoist_bcast(self, offs: dict) -> dict:
        """Values of "bcast" inputs for the run starting at ``offs`` (loaded before it)."""
        return {j: self._load_at(j, offs[j]) for j in offs if self.layouts[j] == "bcast"}

    def _while(self, cond_fn, name: str):
        """Return (body_block, exit_block) of a while loop whose header tests cond_fn()."""
        b = self.b
        head = b.append_basic_block(name + ".head")
        body = b.append_basic_block(name + ".body")
        done = b.append_basic_block(name + ".end")
        b.branch(head)
        b.position_at_end(head)
        b.cbranch(cond_fn(), body, done)
        b.position_at_end(body)
        return head, done

    def _emit_strided(self, start, end):
        """Odometer over [start, end): inner runs along the last dim vectorise."""
        b, nd = self.b, self.k.ndim
        dims = list(range(nd))
        idx0 = self._unravel(start, dims)
        slots = [self._alloca(v, f"idx{d}") for d, v in enumerate(idx0)]
        lin = self._alloca(start, "lin")
        head, done = self._while(lambda: b.icmp_signed("<", b.load(lin), end), "run")
        linv = b.load(lin)
        offs = self._offsets(slots[:-1], dims[:-1])
        i0 = b.load(slots[-1])
        left_dim = b.sub(self.sizes[-1], i0)
        left_all = b.sub(end, linv)
        run = b.select(b.icmp_signed("<", left_dim, left_all), left_dim, left_all)
        hoisted = self._hoist_bcast(offs)
        base = {j: b.add(offs[j], b.mul(i0, self.strides[j][-1])) for j in self.strides}
        with _loop(b, ir.Constant(I64, 0), run, "t") as t:
            o = self._inner_offsets(base, t, nd - 1, hoisted)
            flat = b.add(linv, t)
            self._store(_Exprs(b, self._loader(flat, o, hoisted)), flat)
        b.store(b.add(linv, run), lin)
        b.store(ir.Constant(I64, 0), slots[-1])
        if nd > 1:
            self._carry(slots, dims, nd - 2)
        b.branch(head)
        b.position_at_end(done)

    # -- reductions ------------------------------------------------------------------
    def _emit_reduce(self, start, end):
        b, k = self.b, self.k
        nout = k.outer_ndim
        odims = list(range(nout))
        rdims = list(range(nout, k.ndim))
        rsize = ir.Constant(I64, 1)
        for d in rdims:
            rsize = b.mul(rsize, self.sizes[d])
        if nout == 0:
            start, end = ir.Constant(I64, 0), ir.Constant(I64, 1)
        slots = [self._alloca(v, f"o{d}") for d, v in enumerate(self._unravel(start, odims))]
        accs = [self._alloca(_identity(r.op, r.dtype), f"acc{n}")
                for n, r in enumerate(k.reductions)]
        with _loop(b, start, end, "o") as lin:
            for n, r in enumerate(k.reductions):
                b.store(_identity(r.op, r.dtype), accs[n])
            offs = self._offsets(slots, odims)
            self._reduce_dims(rdims, 0, lin, offs, accs)
            refs = dict(enumerate(accs))
            self._store(_Exprs(b, self._loader(b.mul(lin, rsize), offs), refs), lin)
            if nout:
                self._carry(slots, odims, nout - 1)

    def _reduce_dims(self, rdims, level, flat, offs, accs):
        """Nested loops over reduced dims; the innermost is blocked (see REDUCE_BLOCK)."""
        b = self.b
        d = rdims[level]
        n = self.sizes[d]
        if level < len(rdims) - 1:
            with _loop(b, ir.Constant(I64, 0), n, f"r{d}") as i:
                o = {j: b.add(offs[j], b.mul(i, self.strides[j][d])) for j in offs}
                self._reduce_dims(rdims, level + 1, b.add(b.mul(flat, n), i), o, accs)
            return
        flat = b.mul(flat, n)
        red = self.k.reductions
        blk = ir.Constant(I64, REDUCE_BLOCK)
        nblk = b.sdiv(b.add(n, ir.Constant(I64, REDUCE_BLOCK - 1)), blk)
        hoisted = self._hoist_bcast(offs) if d == self.k.ndim - 1 else {}
        with _loop(b, ir.Constant(I64, 0), nblk, f"blk{d}") as jb:
            lo = b.mul(jb, blk)
            hi = b.add(lo, blk)
            hi = b.select(b.icmp_signed("<", hi, n), hi, n)
            parts = [self._alloca(_identity(r.op, r.dtype), f"part{m}")
                     for m, r in enumerate(red)]
            with _loop(b, lo, hi, f"r{d}") as i:
                o = self._inner_offsets(offs, i, d, hoisted)
                ex = _Exprs(b, self._loader(b.add(flat, i), o, hoisted))
                for m, r in enumerate(red):
                    v = emit_cast(b, ex(r.expr), r.expr.dtype, r.dtype)
                    b.store(_combine(b, r.op, r.dtype, b.load(parts[m]), v), parts[m])
            for m, r in enumerate(red):
                b.store(_combine(b, r.op, r.dtype, b.load(accs[m]), b.load(parts[m])),
                        accs[m])


def _identity(op: str, dtype: str) -> ir.Constant:
    if dtype == "bool":
        return const(dtype, op in ("prod", "min"))
    if op == "sum":
        return const(dtype, 0)
    if op == "prod":
        return const(dtype, 1)
    if is_float(dtype):
        return const(dtype, float("-inf") if op == "max" else float("inf"))
    width = compute_type(dtype).width
    if is_unsigned(dtype):
        return const(dtype, 0 if op == "max" else (1 << width) - 1)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return const(dtype, lo if op == "max" else hi)


def _combine(b: ir.IRBuilder, op: str, dtype: str, acc, v):
    """acc (op) v; float sum/prod may be reassociated so the loop vectorises."""
    if is_float(dtype) and op in ("sum", "prod"):
        fn = b.fadd if op == "sum" else b.fmul
        return fn(acc, v, flags=_REASSOC)
    return emit_binary(b, {"sum": "add", "prod": "mul"}.get(op, op), acc, v, dtype)


def emit_module(kernel: Kernel, layouts: tuple, symbol: str) -> ir.Module:
    """Build the (unoptimised) LLVM module for one compiled variant."""
    return KernelEmitter(kernel, layouts, symbol).emit()
