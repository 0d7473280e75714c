"""Instructions per inference on an emulated Raspberry Pi 5 (Cortex-A76) or Pi 3 (Cortex-A53): our
ARM backend (``edgequant-run``, cross-built) against ONNX Runtime aarch64 (FP32, and its
``quantize_static`` QDQ file for INT8), one thread, counted in the same run. The MLPerf Tiny int8
models (``--models resnet8 vww kws``) run as the ONNX QDQ model ``edgequant.tflite.tflite_to_onnx``
writes (the file's own scales and int8 codes, no calibration) against LiteRT (XNNPACK) on the
``.tflite`` itself. ``--ncnn`` adds ncnn (its aarch64 wheel in the emulated CPython) for FP32: the ONNX
file converted by pnnx on this machine (``pip install pnnx``), run with fp16 / bf16 storage and arithmetic
off (ncnn's defaults on a core with half-precision arithmetic, as the A76 has), everything else ncnn's
defaults (packed layouts, Winograd, sgemm); its output is checked against ONNX Runtime's on the same input.

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
        [--layers 12] [--ncnn]

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

# One ncnn inference (FP32: no fp16 / bf16 storage or arithmetic) between the same markers; the outputs
# are saved for the host to compare with ONNX Runtime's.
NCNN_GUEST = """
import ctypes, sys
import numpy as np, ncnn
param, weights, saved = sys.argv[1:4]
shape = [int(d) for d in sys.argv[4].split("x")]
outputs = sys.argv[5].split(",")
net = ncnn.Net()
net.opt.num_threads = 1
net.opt.use_fp16_storage = net.opt.use_fp16_arithmetic = net.opt.use_fp16_packed = False
net.opt.use_bf16_storage = False
assert net.load_param(param) == 0 and net.load_model(weights) == 0
x = np.random.default_rng(0).random(shape, dtype=np.float32)

def infer():
    with net.create_extractor() as ex:
        ex.input("in0", ncnn.Mat(x[0]).clone())
        return [np.array(ex.extract(name)[1]) for name in outputs]

infer()
libc = ctypes.CDLL(None)
libc.syscall(0x7E57, 1)
values = infer()
libc.syscall(0x7E57, 2)
np.savez(saved, *values)
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


def ncnn_fp32(model, cpu, folder) -> tuple[int, float]:
    """ncnn's instructions for one FP32 inference of an ONNX file (converted by pnnx here) and the largest
    difference of its outputs from ONNX Runtime's (x86) on the same input, relative to their range."""
    import shutil

    import onnx
    import onnxruntime as ort

    pnnx = shutil.which("pnnx") or str(pathlib.Path(sys.executable).parent / "pnnx")
    if not os.access(pnnx, os.X_OK):
        raise SystemExit("--ncnn converts the models with pnnx: pip install pnnx")
    name_in, shape = first_input(model)
    work = folder / f"ncnn-{model.stem}"
    work.mkdir(exist_ok=True)
    source = work / model.name
    proto = onnx.load(str(model))  # older exports list initializers as inputs: pnnx would take one for the image
    constants = {t.name for t in proto.graph.initializer}
    kept = [v for v in proto.graph.input if v.name not in constants]
    del proto.graph.input[:]
    proto.graph.input.extend(kept)
    onnx.save(proto, str(source))
    param, weights = work / "model.ncnn.param", work / "model.ncnn.bin"
    done = subprocess.run([pnnx, source.name, f"inputshape=[{','.join(map(str, shape))}]", "fp16=0",
                           f"ncnnparam={param.name}", f"ncnnbin={weights.name}", "ncnnpy=model_ncnn.py",
                           "pnnxparam=model.pnnx.param", "pnnxbin=model.pnnx.bin", "pnnxpy=model_pnnx.py",
                           "pnnxonnx=model.pnnx.onnx"], cwd=work, capture_output=True, text=True)
    if done.returncode != 0 or not param.is_file():
        raise RuntimeError(f"pnnx could not convert {model.name}: {done.stdout[-300:]}{done.stderr[-300:]}")
    names = re.findall(r"\b(out\d+)\b", param.read_text())
    outputs = sorted(set(names), key=lambda n: int(n[3:]))
    script = folder / "ncnn_one_run.py"
    script.write_text(NCNN_GUEST)
    saved = work / "outputs.npz"
    out = icount(["pyarm", str(script), str(param), str(weights), str(saved), "x".join(map(str, shape)),
                  ",".join(outputs)], cpu)
    count = int(re.search(r"icount region 1->2 (\d+)", out).group(1))
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    expected = session.run(None, {name_in: x})
    with np.load(saved) as got:
        values = [got[f"arr_{k}"] for k in range(len(got.files))]
    if len(values) != len(expected):
        return count, float("inf")
    worst = 0.0
    for want, have in zip(expected, values, strict=True):  # ncnn drops the batch axis
        want = want.reshape(have.shape) if want.size == have.size else want
        scale = max(float(np.abs(want).max()), 1e-12)
        worst = max(worst, float(np.abs(want - have).max()) / scale) if want.shape == have.shape else float("inf")
    return count, worst


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
    model converted to ONNX QDQ, a zoo architecture (``NAME@SIZE``: at that input size), or a user's own
    ``.onnx`` file as it is."""
    from edgequant.datasets import shared_data_dir
    from edgequant.tflite import tflite_to_onnx
    from edgequant.zoo import architectures

    if name.endswith(".onnx"):
        if not pathlib.Path(name).is_file():
            raise FileNotFoundError(f"{name}: no such ONNX file")
        return pathlib.Path(name)
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
    parser.add_argument("--ncnn", action="store_true", help="ncnn as a second FP32 peer (needs pnnx)")
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
    ncnn_header = f"{'ncnn':>10}{'ours/ncnn':>10}{'ncnn err':>10}" if args.ncnn else ""
    print(f"{'model':<22}{'mode':<8}{'ours':>10}{'peer':>10}{'ours/peer':>10}{ncnn_header}")
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
            ncnn_text = ""
            if args.ncnn and mode == "fp32" and tflite_file(name) is None:
                count, error = ncnn_fp32(path, args.cpu, folder)
                ncnn_text = f"{count / 1e6:>9.2f}M{mine / count:>10.2f}{error:>10.1e}"
            print(f"{name:<22}{mode:<8}{mine / 1e6:>9.2f}M{peer_text}{ratio}{ncnn_text}", flush=True)


if __name__ == "__main__":
    main()
