"""edgequant engine vs ONNX Runtime: median latency at batch 1, same thread count, same machine,
same run. Columns: FP32; dynamic INT8 (ORT: quantize_dynamic, QInt8 weights); static INT8 (ours:
minmax calibration; ORT: quantize_static QDQ, per-channel s8 weights, u8 activations, minmax,
after quant_pre_process), both calibrated on the same 16 random inputs (the digits models: their
first 16 test images). Models: the digits models, the shared third-party models when present,
and the random-weight architectures of ``edgequant.zoo.architectures`` at full size (ResNet-18/50,
MobileNetV2, SqueezeNet 1.1, ShuffleNetV2, EfficientNet-lite0 at 224x224, YOLOv8n at 640x640),
built into build/benchmark-models/ by scripts/export_benchmark_models.py when missing.

A second table gives each model's GMACs (Conv / Gemm / MatMul, shapes from
onnx.shape_inference) and the fraction of the CPU's peak each run reaches: peak = cores used x
clock x per-cycle throughput from the ISA flags in lscpu (AVX-512: 16 float32 lanes, AVX2: 8;
two FMA pipes per core; VNNI vpdpbusd: 4 u8·s8 MACs per 32-bit lane), FP32 runs against the
FP32 peak, INT8 runs against the INT8 peak. The clock is measured (a chain of dependent integer
adds compiled with cc, one per cycle) unless --clock-ghz gives it; /proc/cpuinfo's nominal
clock where no compiler is found.

    .venv/bin/python benchmarks/bench_engine.py [--threads 1] [--runs 50] [--suite all|architectures]
        [--models resnet18 mobilenet_v2 yolov8n] [--cpu-time] [--processes] [--sittings 3] [--scaling]

OpenVINO (when installed: pip install 'edgequant[bench]') is a third peer: FP32 on the ONNX file,
INT8 on ONNX Runtime's QDQ file (the same file as ORT st), the same thread count, latency hint, f32
precision (on a CPU with AVX-512 BF16 it would otherwise run the FP32 model in bfloat16).

With --threads 1 the runtimes of a model are timed in interleaved rounds (one run of each per
round), so load from other processes hits them alike; --cpu-time times by CPU time instead of wall
time. With more threads each runtime runs in a worker process of its own (_runtime_worker.py) and
the workers are timed in round-robin blocks (--block runs of one, then a pause of --pause s), over
--sittings sets of new processes (a process's speed at 2 threads on a VM can stay far off another's
for its whole life). In one process, alternating every run let one runtime's still-spinning pool
threads (ONNX Runtime's spin-wait, iomp's 200 ms KMP_BLOCKTIME, OpenVINO's TBB arena) take the core
the next runtime needed; --interleaved brings that way back for comparison. --scaling also times each
runtime at 1 thread in the same rounds and prints each one's speed-up and the whole 1-thread table of
those rounds (one command, both tables). --processes times 1 thread that way too: warm caches, where
interleaved rounds make every runtime read its weights and buffers back from memory each run (a
runtime with the larger working set loses more there). YOLOv8n
is built with its head as ultralytics exports it (DFL decode, class sigmoids); for it, the AP50 of
each runtime's INT8 boxes against its own FP32 boxes is printed too (ORT's quantize_static puts the
boxes, 0..640, and the class scores, 0..1, through one quantized Concat: its scores collapse).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(__file__))
from _measure import interleaved_ms, ort_session  # noqa: E402
from _ort_quantize import ort_quantized  # noqa: E402
from _runtime_worker import RuntimeProcess, blocked_process_samples  # noqa: E402

from edgequant import Engine, zoo
from edgequant.datasets import shared_data_dir
from edgequant.profiling.openvino_peer import openvino_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ["mnist-8.onnx", "cnn_mnist_pytorch.onnx", "cifar10_tutorial_cnn.onnx", "ultraface-rfb-320.onnx",
          "yolo-fastestv2.onnx"]
CALIBRATION_SAMPLES = 16
PAIRS = [("ours fp32", "ORT fp32"), ("ours dyn", "ORT dyn"), ("ours st", "ORT st"), ("ours fp32", "OV fp32"),
         ("ours st", "OV st")]
#: Detectors whose INT8 boxes are scored against FP32 boxes (AP50), with their output decoders.
DETECTION_AGREEMENT = {"yolov8n"}
DETECTION_IMAGES = 8


def detection_agreement(engines, sessions, input_name):
    """AP50 of each INT8 runtime's boxes against its own FP32 boxes on random images: ours against
    our FP32 engine, ORT's quantized sessions against ORT's FP32 session."""
    from edgequant.metrics.detection import mean_average_precision
    from edgequant.zoo.detectors import decode_yolov8

    images = np.random.default_rng(7).random((DETECTION_IMAGES, 3, 640, 640), dtype=np.float32)

    def boxes(run):
        return [decode_yolov8(run(images[k:k + 1]))[0] for k in range(len(images))]

    runs = {name: (lambda x, e=e: e.run([x])[0]) for name, e in engines.items()}
    runs.update({name: (lambda x, s=s: s.run(None, {input_name: x})[0]) for name, s in sessions.items()})
    found = {name: boxes(run) for name, run in runs.items()}
    return {name: mean_average_precision(found[name], found["ours fp32" if name.startswith("ours") else "ORT fp32"])[0]
            for name in found if "fp32" not in name}


# --- work and peak ------------------------------------------------------------------------------
def model_macs(path) -> float:
    """Multiply-accumulates of the Conv / Gemm / MatMul nodes at batch 1."""
    model = onnx.load(str(path))
    initializers = {i.name for i in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1
    model = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for value in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    macs = 0
    for node in model.graph.node:
        out = shapes.get(node.output[0])
        if not out or 0 in out:
            continue
        if node.op_type == "Conv":
            w = shapes.get(node.input[1])
            if w:
                macs += int(np.prod(out)) * int(np.prod(w[1:]))
        elif node.op_type in ("Gemm", "MatMul"):
            a = shapes.get(node.input[0])
            if a:
                trans_a = node.op_type == "Gemm" and any(at.name == "transA" and at.i for at in node.attribute)
                k = a[0] if trans_a else a[-1]
                macs += int(np.prod(out)) * k
    return float(macs)


CLOCK_PROBE = r"""
#include <stdio.h>
#include <time.h>
int main(int argc, char** argv) {  /* a chain of dependent 1-cycle adds: adds per second = cycles per second */
  long n = 200000000L; unsigned long x = 0, one = (unsigned long)argc; struct timespec a, b;
  /* register operands: Intel's cores since Golden Cove fold adds of immediates at rename (4x the clock) */
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; ++i)
    __asm__ volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
                     "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0" : "+r"(x) : "r"(one));
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%f\n", 8.0 * n / ((b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec)) / 1e9 + 0 * (double)x);
  return 0;
}
"""


def measured_clock_ghz() -> float | None:
    """The core clock under load, from a chain of dependent integer adds (x86-64, needs cc); best of 3."""
    try:
        with tempfile.TemporaryDirectory() as folder:
            source, binary = pathlib.Path(folder) / "probe.c", pathlib.Path(folder) / "probe"
            source.write_text(CLOCK_PROBE)
            subprocess.run(["cc", "-O1", "-o", str(binary), str(source)], check=True, capture_output=True)
            return max(float(subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout)
                       for _ in range(3))
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None


def cpu_peaks(threads: int, clock_ghz: float | None):
    """(description, FP32 GFLOP/s, INT8 GOP/s) for `threads` cores, from lscpu and the clock."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        lscpu = ""
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    flags = set(fields.get("Flags", "").split())
    cores = int(fields.get("CPU(s)", "1").strip() or 1)
    model = fields.get("Model name", "?").strip()
    source = "given, --clock-ghz"
    if clock_ghz is None:
        clock_ghz = measured_clock_ghz()
        source = "measured, dependent-add chain"
    if clock_ghz is None:
        clock_ghz = 0.0
        try:
            for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("cpu MHz"):
                    clock_ghz = float(line.split(":")[1]) / 1e3
                    break
        except OSError:
            pass
        source = "nominal, /proc/cpuinfo"
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    fma_pipes = 2
    fp32_per_cycle = fma_pipes * lanes * 2  # FMA = 2 flops
    if "avx512_vnni" in flags or "avx_vnni" in flags:
        int8_per_cycle = fma_pipes * (lanes if "avx512_vnni" in flags else 8) * 4 * 2  # vpdpbusd: 4 MACs per lane
        int8_isa = "avx512_vnni" if "avx512_vnni" in flags else "avx_vnni"
    else:
        int8_per_cycle = fma_pipes * lanes * 2 * 2  # vpmaddubsw + vpmaddwd: ~2 MACs per 32-bit lane per pipe
        int8_isa = "no VNNI"
    used = min(threads, cores)
    fp32 = used * clock_ghz * fp32_per_cycle
    int8 = used * clock_ghz * int8_per_cycle
    text = (f"{model}, {cores} cores ({used} used), {clock_ghz:.2f} GHz ({source}); "
            f"{'AVX-512' if lanes == 16 else 'AVX2'} {fp32_per_cycle} flop/cycle/core FP32 (2 FMA pipes), "
            f"{int8_isa} {int8_per_cycle} op/cycle/core INT8 -> peak {fp32:.0f} GFLOP/s FP32, {int8:.0f} GOP/s INT8")
    return text, fp32, int8


# --- models -------------------------------------------------------------------------------------
def architecture_models():
    sys.path.insert(0, str(ROOT / "scripts"))
    from export_benchmark_models import export

    return export()


def calibration_inputs(path, engine):
    if path.parent.name == "data" and path.stem in zoo.list_models():
        return {engine.input_names[0]: zoo.load_test_set()[0][:CALIBRATION_SAMPLES]}
    feeds = {}
    for name, _, shape, _ in engine._native.inputs:
        dims = [CALIBRATION_SAMPLES] + [1 if d < 0 else d for d in shape[1:]]
        feeds[name] = np.random.default_rng(1).random(dims, dtype=np.float32)
    return feeds


def static_engine(path, calibration, threads):
    """Engine(mode="static", calibration=...) calibrating one sample at a time: some shared models
    declare a fixed batch of 1, and batch 1 keeps the captured activations of YOLOv8n at 640x640
    small. minmax ranges do not depend on the batching."""
    return Engine(path, mode="static", calibration=calibration, method="minmax", threads=threads,
                  calibration_batch_size=1)


def in_process_runtimes(path, engine, calibration, files, threads):
    """Our three engines and ONNX Runtime's sessions on ``files``, all in this process."""
    engines = {"ours fp32": engine, "ours dyn": Engine(path, mode="dynamic", threads=threads),
               "ours st": static_engine(path, [calibration[n] for n in engine.input_names], threads)}
    sessions = {name: ort_session(files[name], threads) for name in ("ORT fp32", "ORT dyn", "ORT st")
                if files[name] is not None}
    return engines, sessions


def in_process_runners(engines, sessions, engine, feeds, files, threads, stem):
    """A call per runtime, all in this process (OpenVINO's when it is installed and takes the file)."""
    inputs = [feeds[n] for n in engine.input_names]
    runners = {name: (lambda e=e, i=inputs: e.run(i)) for name, e in engines.items()}
    runners.update({name: (lambda s=s, f=feeds: s.run(None, f)) for name, s in sessions.items()})
    for name in ("OV fp32", "OV st"):
        try:
            runner = openvino_runner(files[name], feeds, threads) if files[name] is not None else None
        except Exception as error:  # noqa: BLE001 - OpenVINO refuses some QDQ files (ultraface)
            print(f"  ({stem}: OpenVINO {name[3:]} failed: {' '.join(str(error).split())[:100]})")
            runner = None
        if runner is not None:
            runners[name] = runner
    return runners


#: runtime column -> the worker kind that runs it (see _runtime_worker.py)
WORKER_KINDS = {"ours fp32": "ours-fp32", "ours dyn": "ours-dynamic", "ours st": "ours-static",
                "ORT fp32": "ort", "ORT dyn": "ort", "ORT st": "ort", "OV fp32": "openvino", "OV st": "openvino"}


def process_times(path, engine, calibration, feeds, files, folder, args):
    """Each runtime in its own worker process, timed in round-robin blocks (``_runtime_worker``).
    Returns (times at args.threads, times at 1 thread when ``args.scaling`` else {})."""
    folder = pathlib.Path(folder)
    feeds_npz, calibration_npz = folder / f"{path.stem}_feeds.npz", folder / f"{path.stem}_calibration.npz"
    np.savez(feeds_npz, **feeds)
    np.savez(calibration_npz, **calibration)
    thread_counts = [args.threads] + ([1] if args.scaling else [])
    openvino_installed = importlib.util.find_spec("openvino") is not None
    samples, failed = {}, set()
    for _ in range(args.sittings):  # new processes each sitting: see _runtime_worker.py
        workers = {}
        try:
            for threads in thread_counts:
                for name, kind in WORKER_KINDS.items():
                    model = path if kind.startswith("ours") else files[name]
                    if model is None or name in failed or (kind == "openvino" and not openvino_installed):
                        continue
                    try:
                        workers[(name, threads)] = RuntimeProcess(
                            kind, model, feeds_npz, threads, calibration_npz if kind == "ours-static" else None,
                            cpu_time=args.cpu_time)
                    except RuntimeError as error:  # OpenVINO refuses some QDQ files (ultraface)
                        failed.add(name)
                        print(f"  ({path.stem}: {name} failed: {' '.join(str(error).split())[:100]})")
            runs = -(-args.runs // args.sittings)
            for key, values in blocked_process_samples(workers, runs, args.block, args.pause).items():
                samples.setdefault(key, []).extend(values)
        finally:
            for worker in workers.values():
                worker.close()
    times = {key: statistics.median(values) * 1e3 for key, values in samples.items() if key[0] not in failed}
    at = {threads: {name: ms for (name, t), ms in times.items() if t == threads} for threads in thread_counts}
    return at[args.threads], at.get(1, {}) if args.scaling else {}


def openvino_runner(path, feeds, threads):
    """A call running the OpenVINO compiled model of ``path`` on ``feeds`` (None without openvino)."""
    if importlib.util.find_spec("openvino") is None:
        return None
    request = openvino_model(path, threads).create_infer_request()
    return lambda r=request, f=feeds: r.infer(f)


def print_markdown(rows, peak_fp32, peak_int8):
    """The table of ``rows`` [(model path, {runtime column: ms})] in Markdown, with each run's fraction of peak."""
    print("\n| model | GMACs | ours fp32 ms | ORT fp32 ms | ratio | ours dyn ms | ORT dyn ms | ratio | ours static ms "
          "| ORT static ms | ratio | OV fp32 ms | ratio | OV static ms | ratio "
          "| % peak: ours fp32 / ORT fp32 / ours dyn / ORT dyn / ours st / ORT st |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for path, times in rows:
        times = {name: times.get(name, float("nan")) for name in WORKER_KINDS}
        gops = 2 * model_macs(path) / 1e9
        cells = " | ".join(f"{times[ours]:.3f} | {times[peer]:.3f} | {times[peer] / times[ours]:.2f}"
                           for ours, peer in PAIRS[:3])
        cells += "".join(f" | {times[peer]:.3f} | {times[peer] / times[ours]:.2f}" for ours, peer in PAIRS[3:])
        fractions = []
        for column in [name for pair in PAIRS[:3] for name in pair]:
            ms = times[column]
            peak = peak_fp32 if "fp32" in column else peak_int8
            fractions.append(f"{100 * gops / (ms / 1e3) / peak:.1f}" if peak > 0 and ms == ms else "–")
        print(f"| {path.stem} | {gops / 2:.3f} | {cells.replace('nan', '–')} | {' / '.join(fractions)} |")


def print_scaling(scaling, threads):
    """Each runtime's speed-up from 1 to ``threads`` threads (1-thread ms / N-thread ms, same rounds)."""
    names = list(WORKER_KINDS)
    print(f"\n{threads}-thread scaling: 1-thread time / {threads}-thread time, each runtime in its own process, "
          "the same rounds")
    print("| model | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for path, one_thread, times in scaling:
        cells = [f"{one_thread[n] / times[n]:.2f}" if n in one_thread and times.get(n) == times.get(n) else "–"
                 for n in names]
        print(f"| {path.stem} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--suite", choices=["all", "architectures"], default="all")
    parser.add_argument("--clock-ghz", type=float, default=None, help="core clock (default: measured)")
    parser.add_argument("--models", nargs="*", help="only the models with these file stems (default: the suite)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time by the process's CPU time instead of wall time (steadier on a loaded machine; "
                             "meaningful with --threads 1)")
    parser.add_argument("--block", type=int, default=10, help="with --threads > 1: runs per block (default 10)")
    parser.add_argument("--pause", type=float, default=0.3, help="with --threads > 1: seconds between blocks")
    parser.add_argument("--interleaved", action="store_true",
                        help="with --threads > 1: all runtimes in this process, alternating every run (the old, "
                             "unfair way)")
    parser.add_argument("--processes", action="store_true",
                        help="with --threads 1 too: each runtime in its own worker processes, timed in blocks (warm "
                             "caches: interleaved rounds evict each runtime's data and weights between its runs)")
    parser.add_argument("--sittings", type=int, default=3,
                        help="with --threads > 1: new worker processes this many times, --runs spread over them "
                             "(default 3)")
    parser.add_argument("--scaling", action="store_true",
                        help="with --threads > 1: also time every runtime at 1 thread in the same rounds and print "
                             "each one's speed-up (1-thread time / N-thread time)")
    args = parser.parse_args()
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # quantize_static warns per tensor
    ort.set_default_logger_severity(3)  # and ORT per initializer listed as an input (ultraface)
    models = []
    if args.suite == "all":
        models = [zoo.model_path(name) for name in zoo.list_models()]
        shared = shared_data_dir()
        if shared is not None:
            models += [shared / "models" / name for name in SHARED if (shared / "models" / name).is_file()]
    models += architecture_models()
    if args.models:
        models = [path for path in models if path.stem in args.models]
    peak_text, peak_fp32, peak_int8 = cpu_peaks(args.threads, args.clock_ghz)
    clock = "CPU time of the process" if args.cpu_time else "wall time"
    processes = args.processes or (args.threads > 1 and not args.interleaved)
    args.scaling = args.scaling and args.threads > 1
    scheme = (f"each runtime in its own process, {args.sittings} sittings of new processes, round-robin blocks of "
              f"{args.block} runs, {args.pause} s pause"
              if processes else "interleaved rounds")
    print(f"threads {args.threads}, batch 1, {clock}: median of {args.runs} runs in {scheme} (ms); "
          "ratio = peer / ours (> 1: we are faster); OV = OpenVINO")
    print(f"{'model':<22}{'ours fp32':>10}{'ORT fp32':>10}{'ratio':>7}{'ours dyn':>10}{'ORT dyn':>10}{'ratio':>7}"
          f"{'ours st':>10}{'ORT st':>10}{'ratio':>7}{'OV fp32':>10}{'ratio':>7}{'OV st':>10}{'ratio':>7}")
    rows, detections, scaling = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for path in models:
            engine = Engine(path, threads=args.threads)
            calibration = calibration_inputs(path, engine)
            feeds = {name: values[:1] for name, values in calibration.items()}
            target = pathlib.Path(folder) / f"{path.stem}_dynamic.onnx"
            quantize_dynamic(str(path), str(target), weight_type=QuantType.QInt8)
            qdq = None
            try:
                qdq = ort_quantized(pathlib.Path(path), calibration, pathlib.Path(folder))
            except Exception as error:  # noqa: BLE001 - ORT's quantizer fails on some models (mnist-8)
                print(f"  ({path.stem}: ORT quantize_static failed: {type(error).__name__}: {str(error)[:80]})")
            files = {"ORT fp32": path, "ORT dyn": target, "ORT st": qdq, "OV fp32": path, "OV st": qdq}
            engines = sessions = None
            if not processes or path.stem in DETECTION_AGREEMENT:
                engines, sessions = in_process_runtimes(path, engine, calibration, files, args.threads)
            if processes:
                times, one_thread = process_times(path, engine, calibration, feeds, files, folder, args)
                if one_thread:
                    scaling.append((path, one_thread, times))
            else:
                runners = in_process_runners(engines, sessions, engine, feeds, files, args.threads, path.stem)
                times = interleaved_ms(runners, args.runs, cpu_time=args.cpu_time)
                del runners
            for name in ("ORT st", "OV fp32", "OV st"):
                times.setdefault(name, float("nan"))
            cells = "".join(f"{times[ours]:10.3f}{times[peer]:10.3f}{times[peer] / times[ours]:7.2f}"
                            for ours, peer in PAIRS[:3])
            cells += "".join(f"{times[peer]:10.3f}{times[peer] / times[ours]:7.2f}" for ours, peer in PAIRS[3:])
            print(f"{path.stem[:21]:<22}{cells}", flush=True)
            rows.append((path, times))
            if path.stem in DETECTION_AGREEMENT:
                detections.append((path.stem, detection_agreement(engines, sessions, engine.input_names[0])))
            del engines, sessions
    for stem, agreement in detections:
        print(f"\n{stem}: AP50 of INT8 boxes against the same runtime's FP32 boxes ({DETECTION_IMAGES} random images, "
              "score > 0.25, NMS 0.45): " + ", ".join(f"{k} {v:.3f}" for k, v in agreement.items()))
    print(f"\nCPU: {peak_text}")
    print("fraction of peak = 2 x MACs / time / peak (FP32 columns vs the FP32 peak, INT8 columns vs the INT8 peak)")
    print_markdown(rows, peak_fp32, peak_int8)
    if scaling:
        print_scaling(scaling, args.threads)
        _, peak_fp32, peak_int8 = cpu_peaks(1, args.clock_ghz)
        print(f"\nThe same rounds at 1 thread (wall time, {scheme}):")
        print_markdown([(path, one_thread) for path, one_thread, _ in scaling], peak_fp32, peak_int8)

if __name__ == "__main__":
    main()
