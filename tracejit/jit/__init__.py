"""The tracing JIT: trace once per signature, optimise, fuse, compile to LLVM, replay."""
from .api import CacheInfo, CompiledFunctionBackward, JitFunction, Lowered, jit
from .graph import Graph
from .trace import TraceError

__all__ = ["CacheInfo", "CompiledFunctionBackward", "Graph", "JitFunction", "Lowered",
           "TraceError", "jit"]
