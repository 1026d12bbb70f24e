"""The package layering, checked on the source (ast) and at import time.

* codegen/ (installed as tracejit.codegen) is the bottom layer: it imports nothing of tracejit
  except tracejit.codegen itself, and its relative imports stay inside codegen/.
* kernels/ (installed as tracejit.kernels) builds on codegen only: tracejit.codegen or
  relative imports within kernels/.
* Nothing in tracejit, codegen or kernels imports torch: torch is the tests' oracle only.
"""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYERS = ("tracejit", "codegen", "kernels")


def _sources(folder: str) -> list[pathlib.Path]:
    base = ROOT / folder
    return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: pathlib.Path) -> list[tuple[int, str, int, list[str]]]:
    """(line, module, relative level, imported names) for every import in the file,
    including imports inside functions and importlib/__import__ calls with a constant name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, 0, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.append((node.lineno, node.module or "", node.level, [a.name for a in node.names]))
        elif isinstance(node, ast.Call) and node.args:
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            arg = node.args[0]
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant) \
                    and isinstance(arg.value, str):
                out.append((node.lineno, arg.value, 0, []))
    return out


def _relative_escapes(path: pathlib.Path, folder: str, level: int) -> bool:
    """Does a relative import of ``level`` from ``path`` leave ``folder``?"""
    depth = len(path.relative_to(ROOT / folder).parts) - 1  # packages below the folder root
    return level - 1 > depth


def _top(module: str) -> str:
    return module.split(".")[0]


def _is_codegen(module: str, names: list[str]) -> bool:
    if module == "tracejit":
        return bool(names) and all(n == "codegen" for n in names)
    return module == "tracejit.codegen" or module.startswith("tracejit.codegen.")


def _violations(folder: str, allowed_tracejit: bool = False) -> list[str]:
    bad = []
    for path in _sources(folder):
        rel = path.relative_to(ROOT)
        for line, module, level, names in _imports(path):
            where = f"{rel}:{line}"
            if level:
                if _relative_escapes(path, folder, level):
                    bad.append(f"{where}: relative import {'.' * level}{module} leaves {folder}/")
                continue
            if _top(module) == "torch":
                bad.append(f"{where}: imports torch")
            elif _top(module) == "tracejit" and not allowed_tracejit \
                    and not _is_codegen(module, names):
                bad.append(f"{where}: imports {module} (only tracejit.codegen is allowed)")
            elif folder == "kernels" and _top(module) in ("codegen", "kernels"):
                bad.append(f"{where}: imports {module} by its source-tree name; use "
                           "tracejit.codegen or a relative import")
            elif folder == "codegen" and _top(module) in ("kernels",):
                bad.append(f"{where}: codegen must not depend on kernels")
    return bad


def test_layer_folders_exist() -> None:
    assert _sources("tracejit"), "tracejit/ has no sources"
    assert _sources("codegen"), "codegen/ has no sources"


def test_codegen_imports_nothing_above_it() -> None:
    bad = _violations("codegen")
    assert not bad, "\n".join(bad)


def test_kernels_import_only_codegen() -> None:
    if not _sources("kernels"):
        pytest.skip("kernels/ has no sources yet")
    bad = _violations("kernels")
    assert not bad, "\n".join(bad)


def test_tracejit_never_imports_torch_in_source() -> None:
    bad = [v for v in _violations("tracejit", allowed_tracejit=True) if "torch" in v]
    assert not bad, "\n".join(bad)


def test_relative_import_rule_is_checked() -> None:
    """The checker itself: a relative import that leaves the folder is caught."""
    p = ROOT / "codegen" / "sub" / "mod.py"
    assert not _relative_escapes(p, "codegen", 1)
    assert not _relative_escapes(p, "codegen", 2)
    assert _relative_escapes(p, "codegen", 3)
    assert _relative_escapes(ROOT / "codegen" / "ir.py", "codegen", 2)
    assert _is_codegen("tracejit.codegen.ir", []) and _is_codegen("tracejit", ["codegen"])
    assert not _is_codegen("tracejit", ["codegen", "tensor"])
    assert not _is_codegen("tracejit.tensor", [])


def test_importing_tracejit_does_not_load_torch() -> None:
    """At run time too: import every tracejit module with torch made unimportable."""
    code = (
        "import sys, importlib, pkgutil\n"
        "sys.modules['torch'] = None  # any 'import torch' now raises ImportError\n"
        "import tracejit\n"
        "bad = []\n"
        "for m in pkgutil.walk_packages(tracejit.__path__, 'tracejit.'):\n"
        "    try:\n"
        "        importlib.import_module(m.name)\n"
        "    except ImportError as e:\n"
        "        if 'torch' in str(e):\n"
        "            bad.append(m.name)\n"
        "    except Exception:\n"
        "        pass  # modules with optional dependencies (pycuda, llvmlite) may fail\n"
        "x = tracejit.ones(2, requires_grad=True)\n"
        "(x * 2).sum().backward()\n"
        "assert bad == [], bad\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-3000:]
