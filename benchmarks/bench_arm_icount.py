"""Instructions per inference on an emulated Raspberry Pi 5 (Cortex-A76) or Pi 3 (Cortex-A53): our
ARM backend (``edgequant-run``, cross-built) against ONNX Runtime aarch64 (FP32, and its
``quantize_static`` QDQ file for INT8), one thread, counted in the same run. The MLPerf Tiny int8
models (``--models resnet8 vww kws``) run as the ONNX QDQ model ``edgequant.tflite.tflite_to_onnx``
writes (the file's own scales and int8 codes, no calibration) against LiteRT (XNNPACK) on the
``.tflite`` itself.

Emulated time says nothing (qemu emulates vector float in software), so the measure is the
instruction count, with the ARM kit's qemu plugin: ``../shared/tools/arm`` (``setup.sh`` once; a
measuring tool outside this repository). Ours: ``edgequant-run MODEL --runs 2`` minus ``--runs 1``
(calibration and load cancel out); ONNX Runtime: markers around one run after a warm-up in the
emulated CPython. Inputs uniform in [0, 1); static INT8 calibrated on 8 such inputs (both).

    make wheel-aarch64   # or: cmake -S . -B build/arm-icount -G Ninja \\
        # -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake -DEDGEQUANT_WITH_ONEDNN=OFF \\
        # -DEDGEQUANT_ARM_SYSROOT=$(scripts/arm/setup_cross.sh | tail -1) && cmake --build build/arm-icount \\
        # --target edgequant-run
    .venv/bin/python benchmarks/bench_arm_icount.py --run build/arm-icount/cpp/engine/edgequant-run \\
        [--cpu cortex-a76] [--models squeezenet1.0_fp16 ultraface-rfb-320 mobilenet_v2] [--modes fp32 static]
        [--layers 12]

``--layers N`` breaks our count down instead (no ONNX Runtime): the instructions of each op type
and precision, and the N costliest layers (``edgequant-run --markers 1`` brackets every step).
``--functions N`` profiles one inference by function: a plugin of ours (``scripts/arm/iprofile.c``,
built against the kit's ``qemu-plugin.h``) counts the instructions of every translation block from
the run's first step, and the N functions of ``edgequant-run`` that executed the most are listed
(the shared libraries' code, memset and malloc among it, as one line).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _ort_quantize import ort_quantized  # noqa: E402
from bench_engine_int8 import float32_copy  # noqa: E402

KIT = pathlib.Path(__file__).resolve().parents[2] / "shared" / "tools" / "arm"

# One ONNX Runtime inference between two markers (syscall 0x7e57, which the kit's plugin reports).
ORT_GUEST = """
import ctypes, sys
import numpy as np, onnxruntime as ort
options = ort.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = 1
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
first = session.get_inputs()[0]
shape = [d if isinstance(d, int) and d > 0 else 1 for d in first.shape]
feed = {first.name: np.random.default_rng(0).random(shape, dtype=np.float32)}
session.run(None, feed)
libc = ctypes.CDLL(None)
libc.syscall(0x7E57, 1)
session.run(None, feed)
libc.syscall(0x7E57, 2)
"""


# One LiteRT (XNNPACK, its default delegate) inference of a .tflite file between the same markers.
LITERT_GUEST = """
import ctypes, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
interpreter = Interpreter(model_path=sys.argv[1], num_threads=1)
interpreter.allocate_tensors()
for detail in interpreter.get_input_details():
    info = np.iinfo(detail["dtype"]) if np.issubdtype(detail["dtype"], np.integer) else None
    rng = np.random.default_rng(0)
    value = rng.integers(info.min, info.max, detail["shape"]) if info else rng.random(detail["shape"])
    interpreter.set_tensor(detail["index"], value.astype(detail["dtype"]))
interpreter.invoke()
libc = ctypes.CDLL(None)
libc.syscall(0x7E57, 1)
interpreter.invoke()
libc.syscall(0x7E57, 2)
"""

#: The MLPerf Tiny int8 models (../shared/data/tflite), run by us as the ONNX QDQ model
#: edgequant.tflite.tflite_to_onnx writes (the file's own scales and codes) and by LiteRT as they are.
MLPERF_TINY = {"resnet8": "pretrainedResnet_quant.tflite", "vww": "vww_96_int8.tflite", "kws": "kws_ref_model.tflite"}


def icount(command, cpu, env=None) -> str:
    environment = dict(os.environ, QEMU_CPU=cpu, **(env or {}))
    done = subprocess.run([str(KIT / "icount-run"), *command], capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed under qemu: {done.stdout[-500:]}{done.stderr[-500:]}")
    return done.stdout


def ours(run, model, mode, cpu) -> int:
    """Instructions of one inference: --runs 2 minus --runs 1."""
    totals = []
    for runs in (1, 2):
        out = icount([str(run), str(model), "--mode", mode, "--threads", "1", "--runs", str(runs)], cpu)
        totals.append(int(re.search(r"icount total (\d+)", out).group(1)))
    return totals[1] - totals[0]


def layer_counts(run, model, mode, cpu) -> list[tuple[str, str, str, int]]:
    """(precision, op type, name, instructions) of every step of one inference."""
    out = icount([str(run), str(model), "--mode", mode, "--threads", "1", "--runs", "1", "--markers", "1"], cpu)
    listed = re.findall(r"^step (\d+) (\S+) (\S+) (.*)$", out, re.M)
    steps = {int(k): (precision, op, name) for k, precision, op, name in listed}
    marked = re.findall(r"icount region (\d+)->(\d+) (\d+)", out)
    regions = {int(a): int(n) for a, b, n in marked if int(b) == int(a) + 1}
    return [(*steps[k], regions[k]) for k in sorted(steps) if k in regions]


def function_profile(run, model, mode, cpu, top) -> None:
    """One inference's instructions by function of the binary (iprofile.c, from marker 0 on)."""
    import bisect
    import collections
    import shutil

    kit_dir = pathlib.Path(os.environ.get("EQ_ARM_DIR", pathlib.Path.home() / ".cache" / "edgequant-arm"))
    plugin = pathlib.Path(tempfile.mkdtemp()) / "libiprofile.so"
    glib = subprocess.run(["pkg-config", "--cflags", "--libs", "glib-2.0"], capture_output=True, text=True,
                          check=True).stdout.split()
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", f"-I{kit_dir / 'src'}",
                    str(pathlib.Path(__file__).resolve().parents[1] / "scripts" / "arm" / "iprofile.c"), "-o",
                    str(plugin), *glib], check=True)
    counts = plugin.parent / "blocks.txt"
    root = kit_dir / (f"sysroot-{cpu}" if (kit_dir / f"sysroot-{cpu}").is_dir() else "sysroot")
    subprocess.run(["qemu-aarch64", "-L", str(root), "-cpu", cpu, "-plugin", f"{plugin},start=0", str(run), str(model),
                    "--mode", mode, "--threads", "1", "--runs", "1", "--markers", "1"],
                   env=dict(os.environ, IPROFILE_OUT=str(counts)), capture_output=True, check=True)
    nm = shutil.which("aarch64-linux-gnu-nm") or "nm"
    symbols = sorted((int(address, 16), name) for address, kind, name in
                     (line.split(" ", 2) for line in subprocess.run([nm, "-C", "--defined-only", str(run)],
                                                                    capture_output=True, text=True).stdout.splitlines()
                      if line.count(" ") >= 2) if kind in "tTwW")
    starts = [address for address, _ in symbols]
    base, size = 0x5500000000, max(starts) + 0x100000  # where qemu-user loads a PIE binary
    by_function = collections.Counter()
    for line in counts.read_text().splitlines():
        pc, n = line.split()
        offset = int(pc, 16) - base
        i = bisect.bisect_right(starts, offset) - 1
        by_function[symbols[i][1][:110] if 0 <= offset < size and i >= 0 else "[shared libraries]"] += int(n)
    total = sum(by_function.values())
    print(f"{model.stem} {mode}: {total / 1e6:.1f} M instructions from the run's first step to the exit")
    for name, n in by_function.most_common(top):
        print(f"  {n / 1e6:9.2f}M {100 * n / total:5.1f} %  {name}")


def print_layers(name, mode, counts, top):
    total = sum(c[3] for c in counts)
    by_kind = {}
    for precision, op, _, n in counts:
        by_kind[(op, precision)] = by_kind.get((op, precision), 0) + n
    print(f"{name} {mode}: {total / 1e6:.2f} M instructions in {len(counts)} steps")
    for (op, precision), n in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {op:<20}{precision:<14}{n / 1e6:>9.2f}M {100 * n / total:>5.1f} %")
    print(f"  costliest {top}:")
    for precision, op, layer, n in sorted(counts, key=lambda c: -c[3])[:top]:
        print(f"    {layer:<40}{op:<14}{precision:<14}{n / 1e6:>8.2f}M")


def litert(model, cpu, folder) -> int:
    script = folder / "litert_one_run.py"
    script.write_text(LITERT_GUEST)
    out = icount(["pyarm", str(script), str(model)], cpu)
    return int(re.search(r"icount region 1->2 (\d+)", out).group(1))


def onnxruntime(model, cpu, folder) -> int:
    script = folder / "ort_one_run.py"
    script.write_text(ORT_GUEST)
    out = icount(["pyarm", str(script), str(model)], cpu)
    return int(re.search(r"icount region 1->2 (\d+)", out).group(1))


def first_input(path):
    """The model's first input that is not an initializer: its name and shape (symbolic dims 1)."""
    import onnx

    graph = onnx.load(str(path)).graph
    constants = {t.name for t in graph.initializer}
    value = next(v for v in graph.input if v.name not in constants)
    return value.name, [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]


def tflite_file(name) -> pathlib.Path | None:
    """The .tflite file of an MLPerf Tiny model name, or None."""
    from edgequant.datasets import shared_data_dir

    shared = shared_data_dir()
    return shared / "tflite" / MLPERF_TINY[name] if shared is not None and name in MLPERF_TINY else None


def model_file(name, folder) -> pathlib.Path:
    """A shared model (float16 ones as a float32 copy, what ORT's quantizer takes), an MLPerf Tiny
    model converted to ONNX QDQ, or a zoo architecture (``NAME@SIZE``: at that input size)."""
    from edgequant.datasets import shared_data_dir
    from edgequant.tflite import tflite_to_onnx
    from edgequant.zoo import architectures

    if tflite_file(name) is not None:
        path = folder / f"{name}.onnx"
        path.write_bytes(tflite_to_onnx(tflite_file(name)).SerializeToString())
        return path
    shared = shared_data_dir()
    if shared is not None and (shared / "models" / f"{name}.onnx").is_file():
        return float32_copy(shared / "models" / f"{name}.onnx", folder / f"{name}.onnx")
    path = folder / f"{name}.onnx"
    architecture, _, size = name.partition("@")  # "yolov8n@320": a zoo architecture at another input size
    path.write_bytes(architectures.build(architecture, input_size=int(size) if size else None).SerializeToString())
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, type=pathlib.Path, help="the aarch64 edgequant-run")
    parser.add_argument("--cpu", default="cortex-a76", help="qemu's CPU: cortex-a76 (Pi 5) or cortex-a53 (Pi 3)")
    parser.add_argument("--models", nargs="+", default=["squeezenet1.0_fp16", "ultraface-rfb-320", "mobilenet_v2"])
    parser.add_argument("--modes", nargs="+", default=["fp32", "static"], choices=["fp32", "static", "dynamic"])
    parser.add_argument("--no-ort", action="store_true", help="ours only")
    parser.add_argument("--layers", type=int, metavar="N", help="ours per op type and the N costliest layers")
    parser.add_argument("--functions", type=int, metavar="N", help="ours by function: the N costliest")
    args = parser.parse_args()
    if not (KIT / "icount-run").is_file():
        raise SystemExit(f"needs the ARM kit at {KIT} (run its setup.sh once)")
    folder = pathlib.Path(tempfile.mkdtemp())
    if args.functions:
        for name in args.models:
            for mode in args.modes:
                function_profile(args.run, model_file(name, folder), mode, args.cpu, args.functions)
        return
    if args.layers:
        for name in args.models:
            for mode in args.modes:
                print_layers(name, mode, layer_counts(args.run, model_file(name, folder), mode, args.cpu), args.layers)
        return
    print(f"instructions per inference, {args.cpu}, 1 thread (M = 10^6); the peer: ONNX Runtime, or LiteRT for "
          f"the MLPerf Tiny models ({', '.join(MLPERF_TINY)}: static = the file's own int8)")
    print(f"{'model':<22}{'mode':<8}{'ours':>10}{'peer':>10}{'ours/peer':>10}")
    for name in args.models:
        path = model_file(name, folder)
        for mode in args.modes:
            if tflite_file(name) is not None and mode != "static":
                continue  # the int8 file as it is
            mine = ours(args.run, path, mode, args.cpu)
            peer = None
            if tflite_file(name) is not None:
                peer = None if args.no_ort else litert(tflite_file(name), args.cpu, folder)
            elif not args.no_ort and mode != "dynamic":
                peer_model = path
                if mode == "static":
                    name_in, shape = first_input(path)
                    samples = np.random.default_rng(1).random((8, *shape[1:]), dtype=np.float32)
                    peer_model = ort_quantized(path, {name_in: samples}, folder)
                peer = onnxruntime(peer_model, args.cpu, folder)
            ratio = f"{mine / peer:>10.2f}" if peer else f"{'-':>10}"
            peer_text = f"{peer / 1e6:>9.2f}M" if peer else f"{'-':>10}"
            print(f"{name:<22}{mode:<8}{mine / 1e6:>9.2f}M{peer_text}{ratio}", flush=True)


if __name__ == "__main__":
    main()
