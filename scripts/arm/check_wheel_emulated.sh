#!/usr/bin/env bash
# CI step (make test-arm): the aarch64 wheel as a Raspberry Pi user gets it, under emulation.
# Builds the wheel (scripts/build_wheel_aarch64.py), installs it with its run-time dependencies and
# ONNX Runtime into a fresh folder — aarch64 wheels only, by the host's pip (--platform ... --only-binary,
# so nothing is compiled) — and runs the sysroot's arm64 CPython 3.11 on that folder under qemu-user:
# the import (the ARM backend must be the default), `python -m edgequant demo` (small sweep) and
# tests/python/arm (and engine test files, below) against ONNX Runtime aarch64, on an emulated
# Cortex-A76 (Pi 5, dot product) and Cortex-A53 (Pi 3, without). Prints the wheel's size and the seconds each phase took.
#
#   scripts/arm/check_wheel_emulated.sh            # PY=.venv/bin/python by default
#   WHEEL=path/to.whl scripts/arm/check_wheel_emulated.sh   # skip the build
#   WHEEL_BUILD_DIR=build/arm ...   # build the wheel in that CMake folder (make test-arm: its C++ test build)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PY:-$ROOT/.venv/bin/python}
OUT=${OUT:-$ROOT/build/wheel-aarch64}
started=$SECONDS
phase() { echo "== $1 ($((SECONDS - started)) s so far)"; }

sysroot=$(bash scripts/arm/setup_cross.sh | tail -1)
if [ -z "${WHEEL:-}" ]; then
  phase "cross-build the aarch64 wheel"
  "$PY" scripts/build_wheel_aarch64.py --sysroot "$sysroot" --out "$OUT" ${WHEEL_BUILD_DIR:+--build-dir "$WHEEL_BUILD_DIR"} |
    grep -v '^+ patchelf'
  WHEEL=$(ls "$OUT"/edgequant-*-cp311-cp311-manylinux_*_aarch64.whl)
fi
echo "wheel: $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB)"

phase "install the wheel and its dependencies for aarch64 (host pip, binary wheels only)"
site="$OUT/site"
rm -rf "$site" "$OUT/demo"
# pip matches --platform literally: every manylinux tag an aarch64 bookworm system accepts.
platforms=(--platform manylinux2014_aarch64)
for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
# pip evaluates the wheel's environment markers for the host (x86-64 pulls oneDNN), so the wheel goes
# in with --no-deps and its requirements (and the onnx extra) are evaluated here for aarch64.
requirements=$("$PY" - "$WHEEL" <<'EOF'
import sys, zipfile
from packaging.requirements import Requirement
with zipfile.ZipFile(sys.argv[1]) as wheel:
    metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    lines = wheel.read(metadata).decode().splitlines()
aarch64 = {"platform_machine": "aarch64", "sys_platform": "linux", "python_version": "3.11", "extra": "onnx"}
for line in lines:
    if line.startswith("Requires-Dist:"):
        requirement = Requirement(line.split(":", 1)[1].strip())
        if requirement.marker is None or requirement.marker.evaluate(aarch64):
            requirement.marker = None
            print(requirement)
EOF
)
aarch64_pip() {  # pip's status decides (pipefail); its notes about index locations and bin/ are dropped
  "$PY" -m pip install -q --disable-pip-version-check --no-warn-script-location --target "$site" \
      "${platforms[@]}" --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 "$@" 2>&1 |
    { grep -v -e "^WARNING: Location" -e "^WARNING: Target directory" || true; }
}
aarch64_pip --no-deps "$WHEEL"
# shellcheck disable=SC2086  # one requirement per word
aarch64_pip $requirements pytest
"$PY" -c "import pathlib, sys; print('installed:', ', '.join(sorted(p.name.removesuffix('.dist-info').replace('-', ' ') \
    for p in pathlib.Path(sys.argv[1]).glob('*.dist-info'))))" "$site"

# The emulated Python: the sysroot's CPython 3.11 with $site as its only extra path. The A53 view of the
# sysroot differs only in /proc/cpuinfo (setup_cross.sh). Nothing of the host's Python environment leaks in.
# Subprocesses (the demo's sweep workers) start through the host script $OUT/pyarm
# (scripts/arm/emulated_site/sitecustomize.py says why); QEMU_CPU and the sysroot view pass on to them.
cat > "$OUT/pyarm" <<EOF
#!/bin/sh
root="$sysroot"; [ "\$QEMU_CPU" = cortex-a53 ] && root="$sysroot-cortex-a53"
exec qemu-aarch64 -L "\$root" "$sysroot/usr/bin/python3.11" "\$@"
EOF
chmod +x "$OUT/pyarm"
pyarm() {  # cpu args...
  local cpu=$1; shift
  env -u PYTHONHOME -u VIRTUAL_ENV -u OPENBLAS_CORETYPE -u PYTEST_ADDOPTS \
      QEMU_CPU="$cpu" MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1 EDGEQUANT_PYARM="$OUT/pyarm" \
      PYTHONPATH="$site:$ROOT/scripts/arm/emulated_site" "$OUT/pyarm" "$@"
}

for cpu in cortex-a76 cortex-a53; do
  phase "$cpu: import"
  pyarm "$cpu" - <<'EOF'
import os, pathlib, platform
import edgequant
from edgequant.engine import supported_backends
site = pathlib.Path(edgequant.__file__).parent
assert platform.machine() == "aarch64", platform.machine()
assert str(site).startswith(os.environ["PYTHONPATH"].split(":")[0]), f"edgequant imported from {site}, not the fresh folder"
backends = supported_backends()  # loads edgequant._engine, and libprotobuf with it
maps = pathlib.Path("/proc/self/maps").read_text().splitlines()
loaded = sorted({line.split()[-1] for line in maps if "libprotobuf" in line})
print("python", platform.python_version(), platform.machine(), "edgequant", edgequant.__version__, "from", site)
print("loaded", *loaded)
print("supported_backends:", backends)
assert backends[0] == "arm", f"the ARM backend is not the default: {backends}"
assert loaded and all("edgequant.libs" in path for path in loaded), f"libprotobuf not from the wheel: {loaded}"
EOF
done

phase "cortex-a76: python -m edgequant demo (--max-bits 2 --workers 2)"
pyarm cortex-a76 -m edgequant demo --out "$OUT/demo" --max-bits 2 --workers 2 | tail -8
grep -q "identical to" "$OUT/demo/report.md" || { echo "the demo's .eqz round trip failed" >&2; exit 1; }

# The MLPerf Tiny int8 models of ../shared/data (when present) as the ONNX QDQ files tflite_to_onnx writes,
# converted by the host's Python (the tflite schema readers are a test extra, not in the emulated folder):
# tests/python/arm runs them on the ARM backend against the reference backend.
phase "the MLPerf Tiny models as ONNX (host Python)"
rm -rf "$OUT/mlperf-tiny"
"$PY" - "$OUT/mlperf-tiny" <<'EOF'
import pathlib, sys
from edgequant.datasets import shared_data_dir
from edgequant.tflite import tflite_to_onnx
shared, out = shared_data_dir(), pathlib.Path(sys.argv[1])
files = {"resnet8": "pretrainedResnet_quant.tflite", "vww": "vww_96_int8.tflite", "kws": "kws_ref_model.tflite"}
present = {name: shared / "tflite" / file for name, file in files.items() if shared and (shared / "tflite" / file).is_file()}
out.mkdir(parents=True)
for name, path in present.items():
    (out / f"{name}.onnx").write_bytes(tflite_to_onnx(path).SerializeToString())
print("converted:", ", ".join(present) or "none (no shared data)")
EOF

for cpu in cortex-a76 cortex-a53; do
  phase "$cpu: tests/python/arm (the engine against ONNX Runtime aarch64)"
  # Run from the tree's tests; edgequant is imported from $site (python/ is not on the path). Engine test
  # files whose kernels have an aarch64 path of their own join them: a quantized file's LSTM on its int8
  # codes (the plain loop), global average pools (the ARM backend's double sums), ConvTranspose with what
  # folds into it (the ARM backend's 1x1 conv in place of a GEMM), the Focus as SpaceToDepth (NEON gather)
  # and static INT8 inside If branches (the ARM INT8 kernels in a branch's engine, against the inlined model).
  EDGEQUANT_MLPERF_TINY_ONNX="$OUT/mlperf-tiny" pyarm "$cpu" -m pytest -q -p no:cacheprovider tests/python/arm tests/python/engine/test_dynamic_quantized_lstm.py \
      tests/python/engine/test_global_average_pool.py tests/python/engine/test_conv_transpose_folding.py \
      tests/python/engine/test_space_to_depth_folding.py tests/python/engine/test_branch_static_int8.py
done
phase "done"
