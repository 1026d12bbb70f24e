#!/usr/bin/env bash
# Fetch, on a machine with internet access, what bench/gpu_check.sh installs on a GPU machine
# without it: the pycuda sdist and the pure-Python (or cp312) dependencies that machine's
# image lacks (its Python 3.12 already has numpy, llvmlite, pytest, setuptools, wheel,
# platformdirs, typing_extensions and markupsafe). Files go to build/gpu_pkgs (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/gpu_pkgs
cd build/gpu_pkgs
url=$(python - <<'PY'
import json, urllib.request
d = json.load(urllib.request.urlopen("https://pypi.org/pypi/pycuda/json", timeout=30))
print(next(f["url"] for f in d["urls"] if f["packagetype"] == "sdist"))
PY
)
curl -sSLO "$url"
python -m pip download --no-deps pytools mako
python -m pip download --no-deps --python-version 3.12 --only-binary=:all: \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 siphash24
ls -la
