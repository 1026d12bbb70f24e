"""tracejit.save / tracejit.load: round trips, the documented format, and hostile files."""
from __future__ import annotations

import io
import json
import math
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tracejit as tj
import tracejit.nn as nn


def _round_trip(obj, tmp_path):
    path = tmp_path / "ckpt.pt"
    tj.save(obj, path)
    assert path.exists() and not (tmp_path / "ckpt.pt.npz").exists()
    return tj.load(path)


def test_nested_round_trip(tmp_path) -> None:
    t = tj.arange(6, dtype=tj.float32).reshape(2, 3)
    obj = {
        "tensor": t,
        "same": t,
        "ints": [1, -2**70, True, None],
        "floats": (0.1, math.inf, -0.0),
        "nested": OrderedDict([("a", {"b": [tj.tensor([1, 2], dtype=tj.int8)]}),
                               ("c", "text ✓")]),
        3: "int key",
        (1, "x"): tj.tensor(True),
        "dtype": tj.float64,
        "empty": tj.zeros(0, 4),
        "scalar": tj.tensor(2.5, dtype=tj.float64),
        "nan": float("nan"),
    }
    back = _round_trip(obj, tmp_path)
    assert list(back) == list(obj)
    np.testing.assert_array_equal(back["tensor"].numpy(), t.numpy())
    assert back["tensor"] is back["same"]
    assert back["ints"] == [1, -2**70, True, None] and type(back["ints"][2]) is bool
    assert back["floats"] == (0.1, math.inf, -0.0) and math.copysign(1, back["floats"][2]) < 0
    assert isinstance(back["nested"], OrderedDict)
    assert back["nested"]["a"]["b"][0].dtype is tj.int8
    assert back[3] == "int key" and back[(1, "x")].dtype is tj.bool
    assert back["dtype"] is tj.float64
    assert back["empty"].shape == (0, 4) and back["scalar"].shape == ()
    assert math.isnan(back["nan"])


def test_module_and_optimizer_state_round_trip(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    opt = tj.optim.Adam(model.parameters(), lr=0.01)
    model(tj.randn(5, 3)).pow(2).sum().backward()
    opt.step()
    ckpt = {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}
    back = _round_trip(ckpt, tmp_path)
    assert back["model"]._metadata == ckpt["model"]._metadata
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    fresh.load_state_dict(back["model"])
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    opt2 = tj.optim.Adam(fresh.parameters())
    opt2.load_state_dict(back["opt"])
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    assert float(opt2.state[fresh[0].weight]["step"]) == 1.0
    assert back["epoch"] == 3


def test_parameters_and_requires_grad_survive(tmp_path) -> None:
    p = nn.Parameter(tj.ones(2))
    q = tj.ones(3, requires_grad=True)
    back = _round_trip([p, q, tj.ones(1)], tmp_path)
    assert isinstance(back[0], nn.Parameter) and back[0].requires_grad
    assert back[1].requires_grad and not isinstance(back[1], nn.Parameter)
    assert not back[2].requires_grad


def test_file_objects_and_non_contiguous(tmp_path) -> None:
    buf = io.BytesIO()
    x = tj.arange(12, dtype=tj.float64).reshape(3, 4).t()
    tj.save({"x": x}, buf)
    buf.seek(0)
    back = tj.load(buf)
    np.testing.assert_array_equal(back["x"].numpy(), x.numpy())
    assert back["x"].is_contiguous()


def test_format_is_a_documented_npz(tmp_path) -> None:
    path = tmp_path / "m.pt"
    tj.save({"w": tj.ones(2, 2)}, path)
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["__manifest__", "t0"]
        doc = json.loads(str(z["__manifest__"][()]))
    assert doc["format"] == "tracejit" and doc["version"] == 1
    assert doc["root"]["type"] == "dict"
    key, node = doc["root"]["items"][0]
    assert key == {"type": "str", "value": "w"}
    assert node == {"type": "tensor", "key": "t0", "dtype": "float32", "shape": [2, 2],
                    "requires_grad": False, "parameter": False}


def test_unsupported_objects_are_refused(tmp_path) -> None:
    with pytest.raises(TypeError, match="cannot save an object of type"):
        tj.save({"f": lambda: 1}, tmp_path / "x")
    with pytest.raises(TypeError, match="cannot save an object of type"):
        tj.save(nn.Linear(1, 1), tmp_path / "x")
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="cycle"):
        tj.save(loop, tmp_path / "x")
    assert not (tmp_path / "x").exists()


# ---- damaged and hostile files -------------------------------------------------------------

def _write_npz(path, manifest, **arrays) -> None:
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    with open(path, "wb") as fh:
        np.savez(fh, __manifest__=np.array(text), **arrays)


def _good_manifest(shape=(2,), dtype="float32", key="t0") -> dict:
    return {"format": "tracejit", "version": 1,
            "root": {"type": "tensor", "key": key, "dtype": dtype, "shape": list(shape),
                     "requires_grad": False, "parameter": False}}


def _fails(path, match: str) -> None:
    with pytest.raises(RuntimeError, match=match):
        tj.load(path)


def test_truncated_and_random_files(tmp_path) -> None:
    good = tmp_path / "good.pt"
    tj.save({"w": tj.ones(100, 100)}, good)
    data = good.read_bytes()
    for n in (0, 10, len(data) // 2, len(data) - 30):
        bad = tmp_path / f"trunc{n}.pt"
        bad.write_bytes(data[:n])
        _fails(bad, "not a valid tracejit checkpoint")
    noise = tmp_path / "noise.pt"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    _fails(noise, "not a valid tracejit checkpoint")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # corrupt the array data: zip's CRC check catches it
    (tmp_path / "flip.pt").write_bytes(bytes(flipped))
    _fails(tmp_path / "flip.pt", "not a valid tracejit checkpoint")
    with pytest.raises(FileNotFoundError):
        tj.load(tmp_path / "missing.pt")


def test_bad_manifests(tmp_path) -> None:
    p = tmp_path / "m.npz"
    _write_npz(p, "{not json", t0=np.zeros(2, np.float32))
    _fails(p, "not valid JSON")
    _write_npz(p, {"format": "other", "version": 1, "root": {"type": "none"}})
    _fails(p, "format marker")
    _write_npz(p, {"format": "tracejit", "version": 99, "root": {"type": "none"}})
    _fails(p, "version")
    _write_npz(p, {"format": "tracejit", "version": 1, "root": {"type": "exec", "value": "x"}})
    _fails(p, "unknown node type")
    _write_npz(p, _good_manifest(key="t1"), t0=np.zeros(2, np.float32))
    _fails(p, "missing")
    _write_npz(p, _good_manifest(shape=(3,)), t0=np.zeros(2, np.float32))
    _fails(p, "the manifest says")
    _write_npz(p, _good_manifest(dtype="object"), t0=np.zeros(2, np.float32))
    _fails(p, "bad dtype")
    _write_npz(p, _good_manifest(), t0=np.zeros(2, np.float32), t1=np.zeros(1))
    _fails(p, "unreferenced")
    for depth in (600, 5000):
        deep = '{"type": "list", "items": [' * depth + '{"type": "none"}' + "]}" * depth
        _write_npz(p, '{"format": "tracejit", "version": 1, "root": ' + deep + "}")
        _fails(p, "nested too deeply|not valid JSON")
    with open(p, "wb") as fh:
        np.savez(fh, t0=np.zeros(2))
    _fails(p, "no __manifest__")
    np.save(tmp_path / "bare.npy", np.zeros(3))
    _fails(tmp_path / "bare.npy", "not an archive")


def test_pickled_objects_are_never_loaded(tmp_path) -> None:
    p = tmp_path / "evil.npz"
    evil = np.array([{"a": 1}], dtype=object)  # an object array is stored as a pickle
    with open(p, "wb") as fh:
        np.savez(fh, __manifest__=np.array(json.dumps(_good_manifest())), t0=evil)
    _fails(p, "not a valid tracejit checkpoint")
    with open(p, "wb") as fh:
        np.savez(fh, __manifest__=evil)
    _fails(p, "not a valid tracejit checkpoint")


def test_lying_header_is_rejected_before_allocating(tmp_path) -> None:
    p = tmp_path / "huge.npz"
    shape = [1 << 20, 1 << 20]  # 8 TiB claimed, a few bytes stored
    header = {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)}
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, header)
    npy.write(b"\0" * 16)
    with zipfile.ZipFile(p, "w") as z:
        with z.open("__manifest__.npy", "w") as fh:
            np.lib.format.write_array(fh, np.array(json.dumps(
                _good_manifest(shape=shape, dtype="float64"))))
        z.writestr("t0.npy", npy.getvalue())
    _fails(p, "truncated")
