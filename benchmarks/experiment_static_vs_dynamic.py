"""SPEC §6 (paper 000), static versus dynamic post-training quantization, on real detectors.

Models: yolo-fastestv2 (shared models; COCO-trained, 352x352) on the 16 COCO images with labels in
coco128 (calibration: the 5 demo images of models/yolofastestv2_imgs), and YOLOv8n with its head as
ultralytics exports it (zoo.architectures, random weights, 640x640; random images: speed, memory
and agreement with FP32 only). Runtimes: our engine and ONNX Runtime, each FP32 / static INT8
(minmax calibration; ORT: quantize_static QDQ, per-channel s8 weights, u8 activations) / dynamic
INT8 (ORT: quantize_dynamic).

Per runtime: latency (median of interleaved rounds, batch 1), throughput (images/s over a run of
consecutive inferences), CPU use (process CPU time / wall time over that run, % of one core), peak
memory (peak RSS of a fresh process while it runs the model, after loading and calibrating it;
and that peak minus the process's RSS before it loaded the model), AP50 against the labels
(person, and the mean over classes), AP50 against the same runtime's FP32 detections, and the
person confidences (FP32's person boxes matched per scheme: mean |shift| against FP32; the
histograms of all person confidences in the plot). Latency is given in wall time and in the
process's CPU time (with one thread the steadier of the two on a loaded machine).

On a Raspberry Pi every timing block (the two interleaved latency blocks, each runtime's throughput
block) records the SoC temperature, ARM clock and throttling flags (edgequant.profiling.blocks); a
row whose blocks were throttled says so, and its times are not the chip's full speed. ``--cooldown C``
waits before each block until the SoC is below C °C (an error where no temperature can be read).

    PYTHONPATH=python python benchmarks/experiment_static_vs_dynamic.py [--runs 15] [--threads 1]
        [--models yolo-fastestv2 yolov8n] [--plot build/static_vs_dynamic.png] [--json out.json]
        [--cooldown 55] [--cooldown-timeout 300]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _measure import interleaved_ms, ort_session  # noqa: E402
from _ort_quantize import ort_quantized  # noqa: E402

from edgequant import Engine  # noqa: E402
from edgequant.cli.argument_types import real  # noqa: E402
from edgequant.datasets import shared_data_dir  # noqa: E402
from edgequant.datasets.detector_images import load_detector_images  # noqa: E402
from edgequant.metrics.detection import Detections, box_iou, mean_average_precision  # noqa: E402
from edgequant.profiling import TelemetryError, TimingBlocks  # noqa: E402
from edgequant.zoo import architectures  # noqa: E402
from edgequant.zoo.detectors import decode_yolo_fastestv2, decode_yolov8, load_yolo_labels  # noqa: E402

SCHEMES = ("fp32", "static", "dynamic")
RUNTIMES = [f"{who} {scheme}" for who in ("ours", "ORT") for scheme in SCHEMES]
PERSON = 0


# --- the two detectors --------------------------------------------------------------------------
class Detector:
    """A model file, its input name, evaluation / calibration images, labels and decoder."""

    def __init__(self, name, path, input_name, images, calibration, labels, decode):
        self.name, self.path, self.input_name = name, pathlib.Path(path), input_name
        self.images, self.calibration, self.labels, self.decode = images, calibration, labels, decode


def yolo_fastestv2(data: pathlib.Path) -> Detector:
    coco = data / "coco128"
    files = sorted((coco / "images").glob("*.jpg"))
    labels = [load_yolo_labels(coco / "labels" / f"{f.stem}.txt") for f in files]
    return Detector("yolo-fastestv2", data / "models" / "yolo-fastestv2.onnx", "input.1",
                    load_detector_images(coco / "images", "yolofastestv2"),
                    load_detector_images(data / "models" / "yolofastestv2_imgs", "yolofastestv2"), labels,
                    lambda out: decode_yolo_fastestv2(out, score_threshold=0.05))  # out: [605, 95]


def yolov8n(folder: pathlib.Path) -> Detector:
    path = folder / "yolov8n_exported.onnx"
    path.write_bytes(architectures.build("yolov8n", seed=0).SerializeToString())
    rng = np.random.default_rng(0)
    return Detector("yolov8n", path, "input", rng.random((4, 3, 640, 640), dtype=np.float32),
                    rng.random((4, 3, 640, 640), dtype=np.float32), None,
                    lambda out: decode_yolov8(out, score_threshold=0.25)[0])


# --- runtimes -----------------------------------------------------------------------------------
def quantized_models(detector: Detector, folder: pathlib.Path, threads: int) -> dict:
    """ORT's static QDQ and dynamic model files for the detector."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dynamic = folder / f"{detector.path.stem}_dynamic.onnx"
    quantize_dynamic(str(detector.path), str(dynamic), weight_type=QuantType.QInt8)
    static = ort_quantized(detector.path, {detector.input_name: detector.calibration}, folder)
    return {"ORT fp32": detector.path, "ORT static": static, "ORT dynamic": dynamic}


def make_runtime(name: str, detector: Detector, ort_files: dict, threads: int):
    """run(x [1, 3, H, W]) -> the model's first output, for runtime ``name``."""
    if name.startswith("ORT"):
        session = ort_session(ort_files[name], threads)
        return lambda x: session.run(None, {detector.input_name: x})[0]
    scheme = name.split()[1]
    options = dict(calibration=[detector.calibration], method="minmax", calibration_batch_size=1) \
        if scheme == "static" else {}
    engine = Engine(detector.path, mode=scheme, threads=threads, **options)
    return lambda x: engine.run([x])[0]


def memory_child(name: str, detector_name: str, folder: str, threads: int, runs: int):
    """In a fresh process: RSS before loading, peak RSS while loading and running ``runs`` times."""
    def status(field):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024

    data = shared_data_dir()
    detector = yolo_fastestv2(data) if detector_name == "yolo-fastestv2" else yolov8n(pathlib.Path(folder))
    files = json.loads((pathlib.Path(folder) / f"{detector_name}_files.json").read_text())
    before = status("VmRSS:")
    run = make_runtime(name, detector, files, threads)
    run(detector.images[:1])
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark from here: inference, not loading or calibrating
    for k in range(runs):
        run(detector.images[k % len(detector.images)][None])
    print(json.dumps({"peak_mib": status("VmHWM:"), "before_mib": before}))


def peak_memory(name, detector, folder, threads, runs=5) -> dict:
    command = [sys.executable, __file__, "--memory-child", name, detector.name, str(folder), str(threads), str(runs)]
    result = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return json.loads(result.stdout.strip().splitlines()[-1])


def throughput_and_cpu(run, images, seconds: float = 2.0) -> tuple[float, float]:
    """(images per second, CPU % of one core) over consecutive batch-1 inferences for ``seconds``."""
    count, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds or count < 3:
        run(images[count % len(images)][None])
        count += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, 100 * cpu / wall


# --- accuracy -----------------------------------------------------------------------------------
def person_confidence_shift(found: list[Detections], reference: list[Detections]) -> np.ndarray:
    """For each FP32 person box: the score of the scheme's best-overlapping person box (IoU >= 0.5,
    else 0) minus FP32's score."""
    shifts = []
    for mine, fp32 in zip(found, reference, strict=True):
        ours, theirs = mine.of_class(PERSON), fp32.of_class(PERSON)
        if not len(theirs):
            continue
        iou = box_iou(theirs.boxes, ours.boxes) if len(ours) else np.zeros((len(theirs), 0))
        for row in range(len(theirs)):
            match = int(np.argmax(iou[row])) if iou.shape[1] else -1
            score = ours.scores[match] if match >= 0 and iou[row, match] >= 0.5 else 0.0
            shifts.append(score - theirs.scores[row])
    return np.asarray(shifts)


def evaluate(detector: Detector, runs: dict) -> dict:
    outputs = {name: [detector.decode(run(x[None])) for x in detector.images] for name, run in runs.items()}
    result = {}
    for name, found in outputs.items():
        fp32 = outputs[name.split()[0] + " fp32"]
        row = {"AP50 vs FP32": mean_average_precision(found, fp32)[0]}
        if detector.labels is not None:
            row["person AP50"] = mean_average_precision(found, detector.labels, classes=[PERSON])[0]
            row["mAP50"] = mean_average_precision(found, detector.labels)[0]
        shift = person_confidence_shift(found, fp32)
        row["person |Δconf|"] = float(np.abs(shift).mean()) if shift.size else float("nan")
        row["_person_scores"] = [float(s) for d in found for s in d.of_class(PERSON).scores]
        result[name] = row
    return result


# --- the experiment -----------------------------------------------------------------------------
def run_experiment(detector: Detector, folder: pathlib.Path, threads: int, rounds: int, blocks: TimingBlocks) -> dict:
    """The table of one detector; ``blocks`` cools down before and records the SoC around each timing block."""
    files = quantized_models(detector, folder, threads)
    (folder / f"{detector.name}_files.json").write_text(json.dumps({k: str(v) for k, v in files.items()}))
    runs = {name: make_runtime(name, detector, files, threads) for name in RUNTIMES}
    x = detector.images[:1]
    timed = {name: (lambda r=run: r(x)) for name, run in runs.items()}
    latency, latency_soc = blocks.around(lambda: interleaved_ms(timed, rounds))
    cpu_latency, cpu_latency_soc = blocks.around(lambda: interleaved_ms(timed, rounds, cpu_time=True))
    table = evaluate(detector, runs)
    for name, run in runs.items():
        (throughput, cpu), soc = blocks.around(lambda r=run: throughput_and_cpu(r, detector.images))
        memory = peak_memory(name, detector, folder, threads)
        table[name].update({"latency ms": latency[name], "CPU-time ms": cpu_latency[name], "images/s": throughput,
                            "CPU %": cpu,
                            "peak RSS MiB": memory["peak_mib"],
                            "above load MiB": memory["peak_mib"] - memory["before_mib"]})
        if soc:  # a Raspberry Pi: the row's throughput block, and the shared latency blocks
            flags = [f"latency: {f}" for f in latency_soc["throttle_flags"] + cpu_latency_soc["throttle_flags"]]
            table[name].update({"SoC °C": soc["soc_temp_c"], "ARM MHz": soc["arm_clock_mhz"],
                                "throttled": "; ".join(soc["throttle_flags"] + flags) or "no"})
    return table


def print_table(name: str, table: dict):
    columns = [c for c in next(iter(table.values())) if not c.startswith("_")]
    print(f"\n### {name}\n")
    print("| runtime | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for runtime, row in table.items():
        print(f"| {runtime} | " + " | ".join(_shown(row[c]) for c in columns) + " |")
    for who in ("ours", "ORT"):
        fp32, static, dynamic = (table[f"{who} {s}"] for s in SCHEMES)
        print(f"\n{who}: static {fp32['CPU-time ms'] / static['CPU-time ms']:.2f}x and dynamic "
              f"{fp32['CPU-time ms'] / dynamic['CPU-time ms']:.2f}x FP32's speed (CPU time); peak memory static "
              f"{100 * (static['peak RSS MiB'] / fp32['peak RSS MiB'] - 1):+.1f} %, dynamic "
              f"{100 * (dynamic['peak RSS MiB'] / fp32['peak RSS MiB'] - 1):+.1f} % of FP32's; "
              f"AP50 vs FP32 static {static['AP50 vs FP32']:.3f}, dynamic {dynamic['AP50 vs FP32']:.3f}")


def _shown(value) -> str:
    if isinstance(value, str) or value is None:
        return "–" if value is None else value
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def plot(results: dict, path: pathlib.Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(results), 3, figsize=(14, 3.6 * len(results)), squeeze=False)
    for row, (model, table) in enumerate(results.items()):
        names = list(table)
        colours = ["tab:blue", "tab:orange", "tab:green"] * 2
        bars = axes[row, 0].bar(names, [table[n]["CPU-time ms"] for n in names], color=colours)
        for bar, name in zip(bars, names, strict=True):
            if table[name].get("throttled", "no") != "no":  # a Raspberry Pi that slowed down: not full speed
                bar.set_hatch("//")
                bar.set_edgecolor("tab:red")
        axes[row, 0].set_ylabel("latency, CPU time (ms)")
        axes[row, 0].set_title(f"{model}: latency, batch 1")
        axes[row, 1].bar(names, [table[n]["peak RSS MiB"] for n in names], color=colours)
        axes[row, 1].set_ylabel("peak RSS (MiB)")
        axes[row, 1].set_title("peak memory")
        for axis in axes[row, :2]:
            axis.tick_params(axis="x", rotation=45)
        for name, colour in zip(names, colours, strict=True):
            scores = table[name]["_person_scores"]
            if scores:
                axes[row, 2].hist(scores, bins=20, range=(0, 1), histtype="step", color=colour,
                                  linestyle="-" if name.startswith("ours") else "--", label=name)
        axes[row, 2].set_xlabel("person confidence")
        axes[row, 2].set_ylabel("detections")
        axes[row, 2].set_title("person confidences per scheme")
        if axes[row, 2].get_legend_handles_labels()[0]:
            axes[row, 2].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        logging.getLogger().setLevel(logging.ERROR)
        name, detector, folder, threads, runs = sys.argv[2:7]
        return memory_child(name, detector, folder, int(threads), int(runs))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="interleaved latency rounds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="*", default=["yolo-fastestv2", "yolov8n"])
    parser.add_argument("--plot", default="build/static_vs_dynamic.png")
    parser.add_argument("--json", default=None)
    parser.add_argument("--cooldown", type=real(above=0, maximum=110), metavar="C",
                        help="before each timing block, wait until the SoC is below C °C")
    parser.add_argument("--cooldown-timeout", type=real(above=0), default=300.0, metavar="S")
    args = parser.parse_args()
    try:
        blocks = TimingBlocks(cooldown_c=args.cooldown, cooldown_timeout_s=args.cooldown_timeout)
    except TelemetryError as error:
        parser.error(str(error))
    if blocks.platform():
        print(f"{blocks.platform()['model']}: SoC temperature, ARM clock and throttling recorded per timing block")
    logging.getLogger().setLevel(logging.ERROR)  # ORT's quantizer warns per tensor
    data = shared_data_dir()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        for name in args.models:
            if name == "yolo-fastestv2" and data is None:
                print("no shared data folder (EDGEQUANT_DATA): yolo-fastestv2 skipped")
                continue
            detector = yolo_fastestv2(data) if name == "yolo-fastestv2" else yolov8n(folder)
            results[name] = run_experiment(detector, folder, args.threads, args.runs, blocks)
            print_table(name, results[name])
    if results and args.plot:
        pathlib.Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        plot(results, pathlib.Path(args.plot))
        print(f"\nplot: {args.plot}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
