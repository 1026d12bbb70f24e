"""TRACEJIT_DEBUG levels: 1 cache hits/misses/compiles with reasons and times, 2 graphs before
and after the passes, 3 generated LLVM IR, 4 assembly. Read per use so tests can set it."""
from __future__ import annotations

import os
import sys

_override: list[int | None] = [None]


def set_debug(level: int | None) -> None:
    """Set the debug level from code (None: back to the TRACEJIT_DEBUG variable)."""
    _override[0] = level


def _from_env() -> int:
    try:
        return int(os.environ.get("TRACEJIT_DEBUG", "0") or 0)
    except ValueError:
        return 0


_env_level = _from_env()  # read once: the hot path must not look up the environment


def level() -> int:
    if _override[0] is not None:
        return _override[0]
    return _env_level


def log(lvl: int, msg: str) -> None:
    if level() >= lvl:
        print(f"[tracejit] {msg}", file=sys.stderr)
