#!/usr/bin/env bash
# CI step: build the manylinux wheel (scripts/build_wheel.py), install it into a fresh virtual
# environment whose PATH has no compiler (no gcc/g++/cc/c++/clang/cmake) and that uses no Debian
# -dev package, then import it, run `edgequant demo` and a few test folders against it.
# Needs `make setup` first (build requirements, auditwheel, patchelf). Prints the wheel's size,
# what it bundles, and the seconds each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/build/wheel}
PY=$ROOT/.venv/bin/python
started=$SECONDS
phase() { echo "== $1 ($((SECONDS - started)) s so far)"; }

phase "build and repair the wheel"
"$PY" scripts/build_wheel.py --out "$OUT"
wheel=$(ls "$OUT"/dist/edgequant-*manylinux*.whl)

phase "fresh virtual environment, no compiler on PATH"
base_python=$("$PY" -c "import sys; print(sys._base_executable)")
rm -rf "$OUT/venv" "$OUT/tools" "$OUT/demo"
"$base_python" -m venv "$OUT/venv"
# The only commands on PATH: the environment's own, and a few shell tools (no compiler, no linker).
mkdir -p "$OUT/tools"
for tool in sh bash env uname cat ls rm mkdir; do
  ln -s "$(command -v "$tool")" "$OUT/tools/$tool"
done
clean_path="$OUT/venv/bin:$OUT/tools"
# The caller's environment (pip's index and certificates) minus PATH, compilers and library paths.
in_venv() {
  env -u CC -u CXX -u CMAKE_CXX_COMPILER_LAUNCHER -u CMAKE_C_COMPILER_LAUNCHER -u PYTHONPATH \
      -u LD_LIBRARY_PATH -u LD_PRELOAD -u VIRTUAL_ENV -u PYTEST_ADDOPTS \
      PATH="$clean_path" PIP_DISABLE_PIP_VERSION_CHECK=1 MPLBACKEND=Agg "$@"
}
in_venv python -c "
import shutil, sys
found = {tool: shutil.which(tool) for tool in ('gcc', 'g++', 'cc', 'c++', 'clang', 'cmake', 'ld', 'make')}
assert not any(found.values()), f'a compiler is on PATH: {found}'
print('no compiler on PATH:', ', '.join(found))
"

phase "install the wheel and its run-time dependencies"
in_venv python -m pip install -q "${wheel}[onnx]" pytest hypothesis scipy 2>&1 | grep -v "^WARNING: Location" || true
in_venv python -c "import edgequant" || { echo "the wheel did not install" >&2; exit 1; }

phase "import: extension modules and where their libraries come from"
in_venv python - <<'EOF'
import pathlib, sys
import edgequant, edgequant._engine  # noqa: F401  (loads oneDNN and protobuf)
site = pathlib.Path(edgequant.__file__).parent
assert str(site).startswith(sys.prefix), f"edgequant imported from {site}, not from the fresh environment"
maps = pathlib.Path("/proc/self/maps").read_text().splitlines()
loaded = sorted({line.split()[-1] for line in maps if any(k in line for k in ("dnnl", "protobuf", "iomp5", "svml"))})
for library in loaded:
    print("loaded", library)
assert all(path.startswith(sys.prefix) for path in loaded), "a library came from outside the environment"
print("edgequant", edgequant.__version__, "from", site)
EOF

phase "edgequant demo"
(cd "$OUT" && in_venv edgequant demo --out "$OUT/demo")
grep -q "identical to" "$OUT/demo/report.md" || { echo "the demo's .eqz round trip failed" >&2; exit 1; }

phase "tests against the installed wheel"
# Run from the tree's tests: edgequant is imported from the fresh environment (python/ is not on the path).
# The example suite runs the pytest plugin through the wheel's pytest11 entry point.
in_venv python -m pytest -q -p no:cacheprovider tests/python/testing tests/python/plugin/test_example_suite.py \
    tests/python/quantizers/test_every_quantizer.py tests/python/engine/test_engine_int8.py
phase "done"
