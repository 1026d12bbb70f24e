"""One distribution, one import package: codegen/ and kernels/ install as tracejit.*."""
import os

from setuptools import setup


def _packages(src: str, name: str) -> tuple[list[str], dict[str, str]]:
    """Every package folder under src, installed under the dotted name."""
    pkgs, dirs = [], {}
    for root, _, files in os.walk(src):
        if "__init__.py" in files and "__pycache__" not in root:
            rel = os.path.relpath(root, src)
            dotted = name if rel == "." else name + "." + rel.replace(os.sep, ".")
            pkgs.append(dotted)
            dirs[dotted] = root
    return pkgs, dirs


PACKAGES, PACKAGE_DIR = [], {}
for _src, _name in (("tracejit", "tracejit"), ("codegen", "tracejit.codegen"),
                    ("kernels", "tracejit.kernels")):
    _p, _d = _packages(_src, _name)
    PACKAGES += _p
    PACKAGE_DIR.update(_d)

setup(
    name="tracejit",
    version="0.1.0",
    description="PyTorch-style eager tensors with a tracing JIT to LLVM and CUDA C",
    python_requires=">=3.10",
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={"tracejit.codegen.cuda": ["*.h"]},
    install_requires=["numpy>=1.24", "llvmlite>=0.42"],
    extras_require={
        "test": ["pytest>=7", "pytest-benchmark>=4", "hypothesis>=6"],
        "cuda": ["pycuda>=2022.1"],
        "bench": ["pytest-benchmark>=4", "matplotlib>=3.5"],
        "viz": ["graphviz>=0.20"],
        "examples": ["scikit-learn>=1.2", "tqdm>=4"],
        "onnx": ["onnx>=1.14", "onnxruntime>=1.16"],
    },
)
