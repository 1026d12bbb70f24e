"""``tracejit.save`` / ``tracejit.load``: checkpoints in a documented, non-pickle format.

Format (version 1)
------------------
A checkpoint is one ``.npz`` archive (``np.savez``, uncompressed, no pickled objects):

* ``__manifest__``: a 0-d unicode array holding a JSON document
  ``{"format": "tracejit", "version": 1, "root": NODE}``;
* ``t0``, ``t1``, ...: one plain numpy array per distinct tensor (C-contiguous).

A NODE is a JSON object with a ``"type"``:

* ``{"type": "tensor", "key": "t0", "dtype": "float32", "shape": [2, 3],
  "requires_grad": false, "parameter": false}`` (the same tensor object saved twice is stored
  once and loads as one object);
* ``{"type": "none"}``, ``{"type": "bool", "value": true}``, ``{"type": "int", "value": 3}``,
  ``{"type": "float", "value": "0.1"}`` (Python's repr, so inf and nan survive),
  ``{"type": "str", "value": "..."}``, ``{"type": "dtype", "value": "float32"}``;
* ``{"type": "list" | "tuple", "items": [NODE, ...]}``;
* ``{"type": "dict", "ordered": bool, "items": [[KEY_NODE, NODE], ...]}`` with scalar (or
  tuple) key nodes; an OrderedDict's ``_metadata`` (Module.state_dict versions) is kept as
  ``"metadata": NODE``.

``load`` opens the archive with ``np.load(allow_pickle=False)``, so nothing in a file is ever
executed; it checks the manifest's structure, every array's header against the manifest
(before reading its data, so a lying header cannot make it allocate), and that no array is
missing or unreferenced. Anything else raises ``RuntimeError`` naming the problem.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from . import dtypes
from .tensor import Size, Tensor

__all__ = ["load", "save"]

FORMAT, VERSION = "tracejit", 1
_MAX_DEPTH = 512
_MAX_MANIFEST = 256 * 1024 * 1024
_DTYPES = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
           "float64"}


# ---- save -------------------------------------------------------------------------------------

class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, str] = {}
        self.active: set[int] = set()

    def node(self, obj: Any, depth: int = 0) -> dict:
        if depth > _MAX_DEPTH:
            raise ValueError("tracejit.save: object is nested too deeply")
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, (bool, np.bool_)):
            return {"type": "bool", "value": bool(obj)}
        if isinstance(obj, (int, np.integer)):
            return {"type": "int", "value": int(obj)}
        if isinstance(obj, (float, np.floating)):
            return {"type": "float", "value": repr(float(obj))}
        if isinstance(obj, str):
            return {"type": "str", "value": obj}
        if isinstance(obj, dtypes.dtype):
            return {"type": "dtype", "value": obj.name}
        if isinstance(obj, np.ndarray):
            return self.tensor(Tensor._make(obj))
        if id(obj) in self.active:
            raise ValueError("tracejit.save: object contains a reference cycle")
        self.active.add(id(obj))
        try:
            return self.container(obj, depth)
        finally:
            self.active.discard(id(obj))

    def container(self, obj: Any, depth: int) -> dict:
        if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple, Size) or \
                (isinstance(obj, tuple) and hasattr(obj, "_fields")):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"type": kind, "items": [self.node(o, depth + 1) for o in obj]}
        if isinstance(obj, dict):
            items = [[self.key(k), self.node(v, depth + 1)] for k, v in obj.items()]
            out: dict[str, Any] = {"type": "dict", "ordered": isinstance(obj, OrderedDict),
                                   "items": items}
            meta = getattr(obj, "_metadata", None)
            if meta is not None:
                out["metadata"] = self.node(meta, depth + 1)
            return out
        raise TypeError(
            f"tracejit.save: cannot save an object of type {type(obj).__qualname__}; supported "
            "are tensors, dicts, lists, tuples, str, int, float, bool, None and dtypes"
        )

    def key(self, k: Any) -> dict:
        if isinstance(k, tuple):
            return {"type": "tuple", "items": [self.key(v) for v in k]}
        if k is None or isinstance(k, (bool, int, float, str, np.integer, np.floating)):
            return self.node(k)
        raise TypeError(f"tracejit.save: unsupported dict key type {type(k).__qualname__}")

    def tensor(self, t: Tensor) -> dict:
        from .nn.parameter import Parameter

        arr = t._data
        if not isinstance(arr, np.ndarray):
            raise TypeError("tracejit.save: cannot save a tensor being traced by tracejit.jit")
        key = self.seen.get(id(t))
        if key is None:
            key = self.seen[id(t)] = f"t{len(self.arrays)}"
            self.arrays[key] = np.array(arr, order="C", copy=None)
        return {"type": "tensor", "key": key, "dtype": arr.dtype.name,
                "shape": list(arr.shape), "requires_grad": bool(t._rg),
                "parameter": isinstance(t, Parameter)}


def save(obj: Any, f: str | os.PathLike | io.IOBase, pickle_module: Any = None,
         pickle_protocol: int = 2, _use_new_zipfile_serialization: bool = True) -> None:
    """Write ``obj`` (tensors in nested dicts/lists/tuples and scalars) to ``f``.

    ``f`` is a path (written atomically, never renamed to ``.npz``) or a binary file object.
    """
    w = _Writer()
    manifest = {"format": FORMAT, "version": VERSION, "root": w.node(obj)}
    text = json.dumps(manifest, allow_nan=False)
    payload = {"__manifest__": np.array(text), **w.arrays}
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, **payload)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    else:
        np.savez(f, **payload)


# ---- load -------------------------------------------------------------------------------------

class CheckpointError(RuntimeError):
    """A file is not a valid tracejit checkpoint (damaged, truncated or not ours)."""


class _Reader:
    def __init__(self, npz: Any, where: str) -> None:
        self.npz = npz
        self.where = where
        self.loaded: dict[str, Tensor] = {}
        self.names = {n[:-4] if n.endswith(".npy") else n for n in npz.zip.namelist()}

    def fail(self, msg: str) -> CheckpointError:
        return CheckpointError(f"tracejit.load: {self.where} is not a valid tracejit "
                               f"checkpoint: {msg}")

    def node(self, n: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self.fail("structure nested too deeply")
        if not isinstance(n, dict) or not isinstance(n.get("type"), str):
            raise self.fail("malformed manifest node")
        kind = n["type"]
        if kind == "tensor":
            return self.tensor(n)
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            v = n.get("value")
            want = {"bool": bool, "int": int, "str": str}[kind]
            if type(v) is not want:
                raise self.fail(f"bad {kind} value {v!r}")
            return v
        if kind == "float":
            try:
                return float(n["value"])
            except (KeyError, TypeError, ValueError):
                raise self.fail(f"bad float value {n.get('value')!r}") from None
        if kind == "dtype":
            if n.get("value") not in _DTYPES:
                raise self.fail(f"unknown dtype {n.get('value')!r}")
            return dtypes.as_dtype(n["value"])
        if kind in ("list", "tuple"):
            items = self.items(n)
            vals = [self.node(i, depth + 1) for i in items]
            return vals if kind == "list" else tuple(vals)
        if kind == "dict":
            out: dict = OrderedDict() if n.get("ordered") else {}
            for pair in self.items(n):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.fail("malformed dict item")
                k = self.node(pair[0], depth + 1)
                try:
                    hash(k)
                except TypeError:
                    raise self.fail("unhashable dict key") from None
                out[k] = self.node(pair[1], depth + 1)
            if "metadata" in n:
                meta = self.node(n["metadata"], depth + 1)
                if isinstance(out, OrderedDict):
                    out._metadata = meta  # type: ignore[attr-defined]
            return out
        raise self.fail(f"unknown node type {kind!r}")

    def items(self, n: dict) -> list:
        items = n.get("items")
        if not isinstance(items, list):
            raise self.fail(f"{n['type']} node without an item list")
        return items

    def tensor(self, n: dict) -> Tensor:
        key = n.get("key")
        if not isinstance(key, str) or key not in self.names:
            raise self.fail(f"tensor array {key!r} is missing")
        shape, dt = n.get("shape"), n.get("dtype")
        if dt not in _DTYPES or not isinstance(shape, list) or \
                not all(type(s) is int and s >= 0 for s in shape):
            raise self.fail(f"bad dtype/shape for tensor {key}")
        if not isinstance(n.get("requires_grad"), bool) or \
                not isinstance(n.get("parameter"), bool):
            raise self.fail(f"bad flags for tensor {key}")
        t = self.loaded.get(key)
        if t is None:
            arr = self.array(key, tuple(shape), np.dtype(dt))
            if n["parameter"]:
                from .nn.parameter import Parameter

                t = Parameter(Tensor._make(arr), requires_grad=n["requires_grad"])
            else:
                t = Tensor._make(arr)
                if n["requires_grad"]:
                    t.requires_grad_(True)
            self.loaded[key] = t
        return t

    def array(self, key: str, shape: tuple, dt: np.dtype) -> np.ndarray:
        member = key + ".npy"
        try:
            info = self.npz.zip.getinfo(member)
            with self.npz.zip.open(member) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    hshape, _, hdtype = np.lib.format.read_array_header_1_0(fh)
                elif version == (2, 0):
                    hshape, _, hdtype = np.lib.format.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise self.fail(f"array {key} has a bad header ({e})") from None
        if tuple(hshape) != shape or np.dtype(hdtype) != dt:
            raise self.fail(f"array {key} is {hdtype}{list(hshape)}, the manifest says "
                            f"{dt}{list(shape)}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        if info.file_size < nbytes:
            raise self.fail(f"array {key} is truncated")
        try:
            arr = self.npz[key]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise self.fail(f"array {key} cannot be read ({e})") from None
        if arr.shape != shape or arr.dtype != dt:
            raise self.fail(f"array {key} does not match the manifest")
        return np.array(arr, order="C", copy=None)


def load(f: str | os.PathLike | io.IOBase, map_location: Any = None, pickle_module: Any = None,
         *, weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Read a checkpoint written by ``save``; damaged or foreign files raise RuntimeError."""
    where = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file object"
    try:
        npz = np.load(f, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"tracejit.load: {where} is not a valid tracejit checkpoint "
                              f"(not a readable .npz archive: {e})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise CheckpointError(f"tracejit.load: {where} is not a valid tracejit checkpoint "
                              "(a bare .npy array, not an archive)")
    with npz:
        reader = _Reader(npz, where)
        root = _manifest(reader)
        obj = reader.node(root)
        extra = reader.names - set(reader.loaded) - {"__manifest__"}
        if extra:
            raise reader.fail(f"unreferenced arrays {sorted(extra)[:5]}")
    return obj


def _manifest(reader: _Reader) -> Any:
    if "__manifest__" not in reader.names:
        raise reader.fail("no __manifest__ entry")
    info = reader.npz.zip.getinfo("__manifest__.npy")
    if info.file_size > _MAX_MANIFEST:
        raise reader.fail("manifest too large")
    try:
        m = reader.npz["__manifest__"]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise reader.fail(f"unreadable manifest ({e})") from None
    if m.shape != () or m.dtype.kind != "U":
        raise reader.fail("manifest is not a string")
    try:
        doc = json.loads(str(m[()]))
    except (ValueError, RecursionError) as e:
        raise reader.fail(f"manifest is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise reader.fail("manifest has no tracejit format marker")
    if doc.get("version") != VERSION:
        raise reader.fail(f"unsupported format version {doc.get('version')!r}")
    if "root" not in doc:
        raise reader.fail("manifest has no root")
    return doc["root"]
