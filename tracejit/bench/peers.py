"""The systems a CLI benchmark compares: tracejit (jit, eager) and installed peers.

A target file gives each peer its own version of the function by name: for ``chain`` it may
define ``chain_numpy``, ``chain_torch``, ``chain_jax`` and ``chain_numba``. Without
``chain_torch`` the tracejit function itself is tried on torch tensors (the APIs match).
Peers that are not installed, or have no version of the function, are skipped with a reason.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

PEERS = ("numpy", "torch", "torch.compile", "jax", "numba")
ALIASES = {"torch_compile": "torch.compile", "inductor": "torch.compile", "jax.jit": "jax",
           "np": "numpy", "torch-eager": "torch", "torch eager": "torch"}


@dataclass
class System:
    """A named zero-argument call, its output (for the agreement check) and work figures."""

    name: str
    call: Callable[[], Any]
    to_numpy: Callable[[Any], np.ndarray]
    fn: Any = None  # what bench.benchmark counts work from (tracejit systems)
    args: tuple = ()


def _first(out: Any) -> Any:
    return out[0] if isinstance(out, (tuple, list)) else out


def _try_import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:  # ImportError, or a peer broken against this numpy
        return None


def parse(spec: str | None) -> list[str]:
    """Peer names from "numpy,torch,jax" (aliases allowed); unknown names raise."""
    out = []
    for s in (spec or "").split(","):
        s = s.strip().lower()
        if not s:
            continue
        s = ALIASES.get(s, s)
        if s not in PEERS:
            raise ValueError(f"unknown peer {s!r}; expected some of {', '.join(PEERS)}")
        out.append(s)
    return out


def tracejit_systems(fn: Callable, arrays: list[np.ndarray], device: str,
                     eager: bool) -> list[System]:
    import tracejit as tj

    xs = tuple(tj.tensor(a, device=device) if device != "cpu" else tj.tensor(a)
               for a in arrays)
    jf = tj.jit(fn)
    conv = lambda o: _first(o).numpy()  # noqa: E731
    out = [System("tracejit.jit", lambda: jf(*xs), conv, jf, xs)]
    if eager:
        out.append(System("tracejit eager", lambda: fn(*xs), conv, fn, xs))
    return out


def peer_system(peer: str, module: ModuleType, name: str, arrays: list[np.ndarray],
                device: str) -> System | str:
    """The peer's System, or a string saying why it is skipped."""
    if peer == "numpy":
        f = getattr(module, f"{name}_numpy", None)
        if f is None:
            return f"no {name}_numpy in the target file"
        return System("numpy", lambda: f(*arrays), lambda o: np.asarray(_first(o)))
    if peer in ("torch", "torch.compile"):
        torch = _try_import("torch")
        if torch is None:
            return "torch is not installed"
        f = getattr(module, f"{name}_torch", None) or getattr(module, name)
        dev = "cuda" if device == "cuda" and torch.cuda.is_available() else "cpu"
        xs = [torch.from_numpy(np.ascontiguousarray(a)).to(dev) for a in arrays]
        if peer == "torch.compile":
            f = torch.compile(f)
        sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

        def call() -> Any:
            r = f(*xs)
            sync()
            return r

        return System(peer if peer != "torch" else "torch eager", call,
                      lambda o: _first(o).detach().cpu().numpy())
    if peer == "jax":
        jax = _try_import("jax")
        f = getattr(module, f"{name}_jax", None)
        if jax is None:
            return "jax is not installed"
        if f is None:
            return f"no {name}_jax in the target file"
        jf = jax.jit(f)
        xs = [jax.numpy.asarray(a) for a in arrays]
        return System("jax.jit", lambda: jax.block_until_ready(jf(*xs)),
                      lambda o: np.asarray(_first(o)))
    numba = _try_import("numba")
    f = getattr(module, f"{name}_numba", None)
    if numba is None:
        return "numba is not installed"
    if f is None:
        return f"no {name}_numba in the target file"
    return System("numba", lambda: f(*arrays), lambda o: np.asarray(_first(o)))


def agree(ref: np.ndarray, other: np.ndarray) -> bool:
    """Loose agreement (float32 chains of transcendentals differ in the last bits)."""
    ref, other = np.asarray(ref), np.asarray(other)
    if ref.shape != other.shape:
        return False
    if ref.dtype.kind != "f":
        return bool(np.array_equal(ref, other))
    return bool(np.allclose(ref.astype(np.float64), other.astype(np.float64),
                            rtol=2e-3, atol=1e-4 * (1 + float(np.abs(ref).max(initial=0)))))
