"""The tracing JIT: trace once per signature, optimise, fuse, compile to LLVM, replay.

`tracejit.jit` is the function `api.jit`; `tracejit.jit.TraceError` is an attribute of it.
"""
from .api import CacheInfo, CompiledFunctionBackward, JitFunction, Lowered, jit
from .graph import Graph
from .trace import TraceError

__all__ = ["CacheInfo", "CompiledFunctionBackward", "Graph", "JitFunction", "Lowered",
           "TraceError", "jit"]
