"""Disk cache across processes, corruption handling, debug output, layering."""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np

from kernels import cg

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]

SCRIPT = r"""
import json, sys
sys.path.insert(0, {here!r})
from conftest import load_codegen
import numpy as np
cg = load_codegen()
L0, L1 = cg.Load(0, "f32"), cg.Load(1, "f32")
k = cg.Kernel("cached_fused", 2, ("f32", "f32"), outputs=(
    cg.Unary("tanh", cg.Binary("add", cg.Binary("mul", L0, L1), cg.Const(1.0, "f32"))),))
x = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
out = cg.run(k, [x, x.T.copy().T])[0]
assert np.allclose(out, np.tanh(x * x + 1), rtol=1e-6)
print(json.dumps(cg.cache_stats()))
"""


def _run(env_extra):
    env = dict(os.environ, **env_extra)
    res = subprocess.run([sys.executable, "-c", SCRIPT.format(here=str(HERE))],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1]), res.stderr


def test_second_process_compiles_nothing(tmp_path):
    env = {"TRACEJIT_CACHE_DIR": str(tmp_path), "TRACEJIT_DEBUG": "1"}
    first, err1 = _run(env)
    assert first["compiled"] == 1 and first["disk_loads"] == 0
    assert "compiled cached_fused" in err1
    files = list(tmp_path.glob("*.o"))
    assert len(files) == 1 and files[0].name.startswith("cached_fused-")
    second, err2 = _run(env)
    assert second["compiled"] == 0 and second["disk_loads"] == 1
    assert "loaded cached_fused" in err2
    # corrupt: flip payload bytes -> checksum mismatch -> recompiled, no crash
    data = bytearray(files[0].read_bytes())
    data[-50] ^= 0xFF
    files[0].write_bytes(bytes(data))
    third, _ = _run(env)
    assert third["compiled"] == 1 and third["disk_loads"] == 0
    # truncated file
    files[0].write_bytes(files[0].read_bytes()[:100])
    fourth, _ = _run(env)
    assert fourth["compiled"] == 1
    fifth, _ = _run(env)  # the recompiled entry was rewritten intact
    assert fifth["compiled"] == 0 and fifth["disk_loads"] == 1
    # garbage that even carries a valid checksum: add_object_file failure -> recompile
    blob = b"not an object file"
    import hashlib
    files[0].write_bytes(b"TJOBJ1\n" + hashlib.sha256(blob).hexdigest().encode() + b"\n"
                         + blob)
    sixth, _ = _run(env)
    assert sixth["compiled"] == 1


def test_cache_disabled(tmp_path):
    env = {"TRACEJIT_CACHE_DIR": str(tmp_path), "TRACEJIT_CACHE": "0"}
    _run(env)
    assert not list(tmp_path.glob("*.o"))


def test_in_process_reload_and_stats(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TRACEJIT_CACHE_DIR", str(tmp_path))
    k = cg.Kernel("statk", 1, ("f64",), outputs=(cg.Unary("sin", cg.Load(0, "f64")),))
    x = np.linspace(0, 3, 10)
    before = cg.cache_stats()
    cg.run(k, [x])
    cg.run(k, [x])
    mid = cg.cache_stats()
    assert mid["compiled"] == before["compiled"] + 1
    assert mid["memory_hits"] >= before["memory_hits"] + 1
    assert mid["compile_seconds"] > before["compile_seconds"]
    cg.clear_memory_cache()
    monkeypatch.setenv("TRACEJIT_DEBUG", "4")
    np.testing.assert_allclose(cg.run(k, [x])[0], np.sin(x), rtol=1e-15)
    after = cg.cache_stats()
    assert after["disk_loads"] == mid["disk_loads"] + 1
    assert after["compiled"] == mid["compiled"]
    k2 = cg.Kernel("statk2", 1, ("f64",), outputs=(cg.Unary("cos", cg.Load(0, "f64")),))
    cg.run(k2, [x])
    err = capsys.readouterr().err
    assert "loaded statk" in err and "compiled statk2" in err
    assert "define void" in err  # level >= 3: LLVM IR
    assert re.search(r"\.text|ret\b", err)  # level >= 4: assembly


def test_layering_only_relative_imports():
    bad = []
    for path in (ROOT / "codegen").rglob("*.py"):
        for line in path.read_text().splitlines():
            s = line.strip()
            if re.match(r"(from|import)\s+tracejit\b", s) or re.match(
                    r"from\s+(codegen)\b", s):
                bad.append(f"{path.name}: {s}")
    assert not bad, bad
