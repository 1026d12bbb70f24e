"""On-disk cache of compiled object code, so a new process compiles nothing.

Files are ``<kernel key>-<variant hash>.o`` under ``$TRACEJIT_CACHE_DIR`` (default
``~/.cache/tracejit``); ``TRACEJIT_CACHE=0`` disables the disk cache.  Each file is
``MAGIC + sha256(payload) hex + "\\n" + payload``: a truncated or corrupted file fails the
check and is recompiled; so is a payload that is not an object file.  Writes go to a
temp file then ``os.replace`` (atomic), so concurrent processes never see half-written
entries.  Nothing is ever pickled.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

MAGIC = b"TJOBJ1\n"
_DIGEST_LEN = 64
# ELF, Mach-O 64 (LE), COFF x86-64 / arm64: LLVM may crash on non-object input
_OBJECT_MAGICS = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\x64\x86", b"\x64\xaa")


def enabled() -> bool:
    return os.environ.get("TRACEJIT_CACHE", "1") not in ("0", "false", "off", "")


def cache_dir() -> Path:
    d = os.environ.get("TRACEJIT_CACHE_DIR")
    return Path(d) if d else Path.home() / ".cache" / "tracejit"


def path_for(file_stem: str) -> Path:
    return cache_dir() / f"{file_stem}.o"


def read(file_stem: str) -> bytes | None:
    """Payload if present and intact, else None (any damage means 'not cached')."""
    try:
        data = path_for(file_stem).read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + _DIGEST_LEN + 1
    if len(data) < head or not data.startswith(MAGIC):
        return None
    digest = data[len(MAGIC):head - 1]
    payload = data[head:]
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        return None
    if not payload.startswith(_OBJECT_MAGICS):
        return None
    return payload


def write(file_stem: str, payload: bytes) -> None:
    """Atomic write; failures (read-only dir, full disk) are ignored, caching is optional."""
    path = path_for(file_stem)
    blob = MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".o")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass
