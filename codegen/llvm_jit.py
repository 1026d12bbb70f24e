"""Host target machine, O3 optimisation, object emission and object loading.

Fresh compiles and disk-cache hits share one path (object code -> MCJIT), so a cached
kernel behaves exactly like a freshly compiled one.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache

import llvmlite
import llvmlite.binding as llvm

_lock = threading.RLock()


@cache
def _init() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()


@cache
def target_machine() -> llvm.TargetMachine:
    """Shared machine for optimising and emitting code (never given to an engine)."""
    return new_target_machine()


def new_target_machine() -> llvm.TargetMachine:
    """The host CPU with all its features (AVX2/AVX-512 where present), opt level 3."""
    _init()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
        opt=3,
        reloc="static",
        codemodel="jitdefault",
    )


@cache
def host_features() -> str:
    """The host CPU's feature string (+avx512f,...)."""
    _init()
    return llvm.get_host_cpu_features().flatten()


@cache
def host_fingerprint() -> str:
    """Identifies code compatibility: triple, CPU, features and llvmlite version."""
    _init()
    text = "|".join([llvm.get_process_triple(), llvm.get_host_cpu_name(),
                     llvm.get_host_cpu_features().flatten(), llvmlite.__version__])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse(ir_text: str) -> llvm.ModuleRef:
    _init()
    tm = target_machine()
    mod = llvm.parse_assembly(ir_text)
    mod.triple = llvm.get_process_triple()
    mod.data_layout = str(tm.target_data)
    mod.verify()
    return mod


def optimize(mod: llvm.ModuleRef) -> llvm.ModuleRef:
    """New-pass-manager O3 pipeline with loop and SLP vectorisation enabled."""
    tm = target_machine()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_interleaving = True
    pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(mod, pb)
    return mod


def compile_object(ir_text: str) -> bytes:
    with _lock:
        mod = optimize(parse(ir_text))
        return target_machine().emit_object(mod)


def assembly_of(ir_text: str) -> str:
    with _lock:
        return target_machine().emit_assembly(optimize(parse(ir_text)))


def optimized_ir(ir_text: str) -> str:
    with _lock:
        return str(optimize(parse(ir_text)))


class Engine:
    """One MCJIT engine; objects are added to it and symbols resolved to addresses."""

    def __init__(self) -> None:
        _init()
        with _lock:
            # MCJIT takes ownership of its target machine: give it a private one
            self._ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""),
                                                  new_target_machine())
            self._symbols: dict = {}

    def load(self, obj: bytes, symbol: str) -> int:
        """Add an object file (once per symbol) and return the function address."""
        with _lock:
            addr = self._symbols.get(symbol)
            if addr is None:
                self._ee.add_object_file(llvm.ObjectFileRef.from_data(obj))
                addr = self._ee.get_function_address(symbol)
                if not addr:
                    raise RuntimeError(f"symbol {symbol} not found in object code")
                self._symbols[symbol] = addr
            return addr

    def has(self, symbol: str) -> bool:
        return symbol in self._symbols
