"""Writes the notebooks in notebooks/ from the cell sources below (outputs are not committed:
the test suite executes them). Run after editing: python scripts/make_notebooks.py"""

import hashlib
import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = {}

NOTEBOOKS["01_weight_distributions.ipynb"] = [
    new_markdown_cell("""# Which distribution do the weights follow?

Reproduces the main source paper's weight-distribution experiment (SPEC §3; paper Tables 3.1–3.3) on every
model in `../shared/data/models` and on edgequant's embedded digits CNNs: the file composition, then the
eight families of the paper ranked by SSE and by KL against the weight histogram (centred on the mean,
99 % of the mass). The paper found Laplace first by SSE for 57 % of its 14 ONNX model-zoo CNNs and second for
43 %; by KL first for 43 % and second for 50 %."""),
    new_code_cell("""import pathlib
import pandas as pd
import edgequant
from edgequant.analysis import analyze_model, PAPER_FAMILIES
from edgequant.datasets import shared_data_dir
from edgequant.zoo import list_models, model_path

models = {name: model_path(name) for name in list_models()}
data = shared_data_dir()
if data is not None:
    models.update({p.stem: p for p in sorted((data / "models").glob("*.onnx"))})
analyses = {name: analyze_model(path, families="paper") for name, path in models.items()}
list(analyses)"""),
    new_markdown_cell("## Table 3.1 — composition of the files"),
    new_code_cell("""pd.DataFrame([{
    "model": name, "parameters": a.composition["parameters"], "file (bytes)": a.composition["file_bytes"],
    "weights + biases (bytes)": a.composition["weight_and_bias_bytes"],
    "weights + biases (%)": round(a.composition["weight_and_bias_percent"], 2),
} for name, a in analyses.items()])"""),
    new_markdown_cell("## Tables 3.2 and 3.3 — the three best families by SSE and by KL"),
    new_code_cell("""def top3(criterion):
    rows = []
    for name, a in analyses.items():
        ranked = a.whole.ranking(criterion)[:3]
        rows.append({"model": name, **{f"{i + 1}º": fit.family for i, fit in enumerate(ranked)}})
    return pd.DataFrame(rows)

top3("sse")"""),
    new_code_cell("""top3("kl")"""),
    new_markdown_cell("## Does Laplace lead, as in the paper?"),
    new_code_cell("""rows = []
for criterion, paper in (("sse", (57, 43)), ("kl", (43, 50))):
    ranks = [a.rank_of("laplace", criterion) for a in analyses.values()]
    rows.append({"criterion": criterion.upper(), "models": len(ranks),
                 "Laplace 1st (%)": round(100 * sum(r == 1 for r in ranks) / len(ranks), 1),
                 "Laplace 2nd (%)": round(100 * sum(r == 2 for r in ranks) / len(ranks), 1),
                 "paper 1st / 2nd (%)": f"{paper[0]} / {paper[1]}"})
pd.DataFrame(rows)"""),
    new_markdown_cell("""## With the paper's "future work" families

Student-t and the generalized normal (shape β: 1 = Laplace, 2 = Gaussian) nest Laplace, Cauchy and the
Gaussian, so they can only fit as well or better; their fitted shape says where between Laplace and Gaussian
the weights lie."""),
    new_code_cell("""extended = []
for name, path in models.items():
    a = analyze_model(path)  # all ten families
    gennorm = a.whole.fits["kl"]["gennorm"].params["beta"]
    suggestion = a.recommendation().split(": ", 1)[1].split(" (")[0]
    extended.append({"model": name, "best SSE": a.top("sse", 1)[0], "best KL": a.top("kl", 1)[0],
                     "gennorm β (KL fit)": round(gennorm, 3), "suggested quantizer": suggestion})
pd.DataFrame(extended)"""),
    new_code_cell("""from edgequant.plots import plot_fits
name = "squeezenet1.0_fp16" if "squeezenet1.0_fp16" in analyses else next(iter(analyses))
plot_fits(analyses[name].whole, title=name, criterion="kl");"""),
]

NOTEBOOKS["02_rate_distortion.ipynb"] = [
    new_markdown_cell("""# Rate–distortion: how few bits per weight keep the accuracy?

Every quantizer of the paper's default grid on two real classifiers: edgequant's embedded digits CNN (full
grid, k = 2…24) and the ONNX model-zoo `mnist-8.onnx` on 2,000 MNIST test images (a smaller grid, k ≤ 12, to
stay fast). For each curve, the best point within 1 percentage point (pp) of FP32 top-1 — the paper's Tables
3.9/3.10 — then the plots, the *CR ≥ 8 within 1 pp* question, and the best configuration written as `.eqz`."""),
    new_code_cell("""import pathlib
import pandas as pd
from IPython.display import Image, display
from edgequant import zoo
from edgequant.datasets import shared_data_dir
from edgequant.datasets import model_data
from edgequant.sweep import default_grid, run_sweep

def summary_frame(result):
    return pd.DataFrame([{
        "curve": e["label"], "params": ", ".join(f"{k}={v}" for k, v in e["params"].items() if k != "xmax"),
        "entropy (bits/w)": round(e["entropy"], 3), "CR": round(e["compression_ratio"], 2),
        "top-1 (%)": round(100 * e["metric"], 2), "loss (pp)": round(e["loss_pp"], 2),
    } for e in result.summary()])

x, y = zoo.load_test_set()
digits = run_sweep(zoo.model_path(), x, y, grid=default_grid(), db="digits.sqlite", workers=2, progress=False)
print(f"digits_cnn: {len(digits.table)} points, FP32 top-1 {100 * digits.baseline['top1']:.2f} %")
summary_frame(digits)"""),
    new_code_cell("""data = shared_data_dir()
mnist = None
if data is None:
    print("shared data folder absent: the mnist-8 part is skipped")
else:
    mnist_x, mnist_y = model_data("mnist-8.onnx", limit=2000)
    mnist = run_sweep(data / "models" / "mnist-8.onnx", mnist_x, mnist_y, grid=default_grid(max_bits=12),
                      db="mnist8.sqlite", workers=2, progress=False)
    print(f"mnist-8: {len(mnist.table)} points on {len(mnist_x)} images, "
          f"FP32 top-1 {100 * mnist.baseline['top1']:.2f} %")
    display(summary_frame(mnist))"""),
    new_markdown_cell("## The best configuration (lowest entropy within 1 pp)"),
    new_code_cell("""results = {"digits_cnn": digits, **({"mnist-8": mnist} if mnist is not None else {})}
pd.DataFrame([{"model": name, "curve": b["label"], "params": b["params"], "entropy (bits/w)": round(b["entropy"], 3),
               "CR": round(b["compression_ratio"], 2), "top-1 (%)": round(100 * b["top1"], 2),
               "loss (pp)": round(b["loss_pp"], 2)}
              for name, r in results.items() for b in [r.best()]])"""),
    new_markdown_cell("## Rate–distortion plots (entropy vs top-1, FP32 dashed)"),
    new_code_cell("""for name, r in results.items():
    display(Image(filename=str(r.plot(f"{name}_rd.png", title=f"{name}: entropy vs top-1"))))"""),
    new_markdown_cell("""## Can we reach CR ≥ 8 (≤ 4 bits/weight) within 1 pp?

Answered from the sweep rows: every curve's points with compression ratio ≥ 8 and loss ≤ 1 pp."""),
    new_code_cell("""answers = []
for name, r in results.items():
    frame = r.to_pandas()
    frame["loss_pp"] = 100 * (r.baseline["top1"] - frame["top1"])
    ok = frame[(frame["status"] == "ok") & (frame["compression_ratio"] >= 8) & (frame["loss_pp"] <= 1)]
    answers.append({"model": name, "CR >= 8 within 1 pp?": "yes" if len(ok) else "no", "points": len(ok),
                    "curves": ", ".join(sorted(ok["label"].unique())),
                    "highest CR": round(ok["compression_ratio"].max(), 2) if len(ok) else None})
pd.DataFrame(answers)"""),
    new_markdown_cell("""## The best configuration as an `.eqz` file

`compress_model` entropy-codes the quantized weights (per-channel affine included: each tensor's fitted
scales travel in the file); its size is compared with the ONNX file and `xz -9e`."""),
    new_code_cell("""from edgequant.compress import compress_model
from edgequant.sweep import make_quantizer

name = "mnist-8" if mnist is not None else "digits_cnn"
result = results[name]
path = data / "models" / "mnist-8.onnx" if mnist is not None else zoo.model_path()
best = result.best()
print(name, "best:", best["label"], best["params"])
report = compress_model(path, make_quantizer({"method": best["method"], "params": best["params"]}), f"{name}.eqz")
print(report)
pd.DataFrame(report.rows())"""),
]


NOTEBOOKS["03_static_vs_dynamic.ipynb"] = [
    new_markdown_cell("""# Static versus dynamic post-training quantization on a real detector

SPEC §6 (paper `000`): *static* PTQ fixes activation ranges from a calibration set and runs weights and
activations in INT8; *dynamic* PTQ quantizes weights offline and computes activation parameters from each
input. The paper measured YOLOv8n on people (Raspberry Pi 5) and found static fastest (with higher CPU use and
about 9 % less memory) and dynamic closest to FP32 in its confidences.

Here: the COCO-trained person detector **yolo-fastestv2** (shared models, 352×352) on the 16 labelled COCO
images of `coco128` (calibration: the model's 5 demo images), on edgequant's engine and on ONNX Runtime
(`quantize_static` QDQ / `quantize_dynamic`), FP32 / static / dynamic, batch 1, one thread. Latencies are CPU
times (the machine is shared); the full table with throughput, CPU use and peak memory, and YOLOv8n at
640×640, comes from `benchmarks/experiment_static_vs_dynamic.py` (numbers in `benchmarks/RESULTS.md`)."""),
    new_code_cell("""import logging, pathlib, tempfile, time
import numpy as np
import pandas as pd
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
from edgequant import Engine
from edgequant.datasets import shared_data_dir
from edgequant.datasets.detector_images import load_detector_images
from edgequant.metrics.detection import box_iou, mean_average_precision
from edgequant.zoo.detectors import decode_yolo_fastestv2, load_yolo_labels

logging.getLogger().setLevel(logging.ERROR)  # ORT's quantizer warns per tensor
data = shared_data_dir()
path = data / "models" / "yolo-fastestv2.onnx"
files = sorted((data / "coco128" / "images").glob("*.jpg"))
images = load_detector_images(data / "coco128" / "images", "yolofastestv2")
labels = [load_yolo_labels(data / "coco128" / "labels" / f"{f.stem}.txt") for f in files]
calibration = load_detector_images(data / "models" / "yolofastestv2_imgs", "yolofastestv2")
print(images.shape, sum(len(l.of_class(0)) for l in labels), "people labelled")"""),
    new_code_cell("""import onnx, onnx.version_converter

class Reader(CalibrationDataReader):
    def __init__(self):
        self.batches = iter([{"input.1": calibration[i:i + 1]} for i in range(len(calibration))])
    def get_next(self):
        return next(self.batches, None)

folder = pathlib.Path(tempfile.mkdtemp())
# the model is opset 11; per-channel DequantizeLinear (axis) needs opset 13
onnx.save(onnx.version_converter.convert_version(onnx.load(str(path)), 13), str(folder / "opset13.onnx"))
quantize_static(str(folder / "opset13.onnx"), str(folder / "static.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
quantize_dynamic(str(path), str(folder / "dynamic.onnx"), weight_type=QuantType.QInt8)
options = ort.SessionOptions(); options.intra_op_num_threads = 1

def ort_runner(model):
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input.1": x})[0]

def our_runner(mode):
    kwargs = dict(calibration=[calibration], method="minmax", calibration_batch_size=1) if mode == "static" else {}
    engine = Engine(path, mode=mode, threads=1, **kwargs)
    return lambda x: engine.run([x])[0]

runs = {f"ours {m}": our_runner(m) for m in ("fp32", "static", "dynamic")}
runs.update({"ORT fp32": ort_runner(path), "ORT static": ort_runner(folder / "static.onnx"),
             "ORT dynamic": ort_runner(folder / "dynamic.onnx")})"""),
    new_code_cell("""def cpu_ms(run, x, rounds=20):
    samples = []
    for _ in range(rounds):
        start = time.process_time(); run(x); samples.append(time.process_time() - start)
    return 1e3 * np.median(samples)

found = {name: [decode_yolo_fastestv2(run(x[None]), score_threshold=0.05) for x in images]
         for name, run in runs.items()}

def person_shift(mine, fp32):
    \"\"\"score of the matching person box (IoU >= 0.5, else 0) minus FP32's, for each FP32 person box\"\"\"
    shifts = []
    for a, b in zip(mine, fp32):
        a, b = a.of_class(0), b.of_class(0)
        iou = box_iou(b.boxes, a.boxes)
        for row in range(len(b)):
            hit = iou.shape[1] and iou[row].max() >= 0.5
            shifts.append((a.scores[iou[row].argmax()] if hit else 0.0) - b.scores[row])
    return np.array(shifts)

rows = []
for name, run in runs.items():
    fp32 = found[name.split()[0] + " fp32"]
    rows.append({"runtime": name, "latency CPU ms": cpu_ms(run, images[:1]),
                 "person AP50": mean_average_precision(found[name], labels, classes=[0])[0],
                 "mAP50 (all classes)": mean_average_precision(found[name], labels)[0],
                 "AP50 vs FP32": mean_average_precision(found[name], fp32)[0],
                 "person mean |Δconf| vs FP32": np.abs(person_shift(found[name], fp32)).mean()})
table = pd.DataFrame(rows).set_index("runtime")
table.round(3)"""),
    new_markdown_cell("""## Do the paper's findings hold here?

Speed relative to FP32 (CPU time) and fidelity to FP32 per runtime; memory is measured by the experiment
script in fresh processes (see `benchmarks/RESULTS.md`)."""),
    new_code_cell("""for who in ("ours", "ORT"):
    t = table.loc[[f"{who} fp32", f"{who} static", f"{who} dynamic"]]
    speed = t.loc[f"{who} fp32", "latency CPU ms"] / t["latency CPU ms"]
    print(f"{who}: speed vs FP32 static {speed.iloc[1]:.2f}x, dynamic {speed.iloc[2]:.2f}x -> fastest: "
          f"{speed.idxmax()}; closest to FP32 (AP50 vs FP32): {t['AP50 vs FP32'].iloc[1:].idxmax()}")"""),
    new_markdown_cell("""## How far do the person confidences move?

The paper's accuracy analysis: the distribution of person confidences under each scheme, and each FP32 person
detection's confidence against the same box's confidence under INT8 (0 when the box is lost)."""),
    new_code_cell("""import matplotlib.pyplot as plt

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
for name, colour in zip(runs, ["tab:blue", "tab:orange", "tab:green"] * 2):
    scores = np.concatenate([d.of_class(0).scores for d in found[name]])
    left.hist(scores, bins=20, range=(0, 1), histtype="step", color=colour,
              linestyle="-" if name.startswith("ours") else "--", label=name)
left.set_xlabel("person confidence"); left.set_ylabel("detections"); left.legend(fontsize=8)
for name, marker in (("ours static", "o"), ("ours dynamic", "x"), ("ORT static", "s"), ("ORT dynamic", "+")):
    fp32 = found[name.split()[0] + " fp32"]
    base = np.concatenate([d.of_class(0).scores for d in fp32])
    right.scatter(base, base + person_shift(found[name], fp32), s=12, marker=marker, label=name, alpha=0.7)
right.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
right.set_xlabel("FP32 person confidence"); right.set_ylabel("INT8 confidence of the same box")
right.legend(fontsize=8);"""),
]


NOTEBOOKS["06_microcontroller.ipynb"] = [
    new_markdown_cell("""# Deploying to a microcontroller (SPEC §8)

The MLPerf Tiny reference models (int8 TFLite: ResNet-8 on CIFAR-10, visual-wake-words MobileNet, keyword
spotting DS-CNN) exported with `edgequant export-c` to C99: integer-only kernels bit-exact with TensorFlow Lite
Micro, one static arena planned at export time, weights as `const` arrays for flash (or rANS-coded). This
notebook shows the footprint table, checks a few outputs against TFLite Micro, and plots the RAM each layer
needs. `benchmarks/bench_mcu.py` adds the Cortex-M4 instruction counts and the full accuracy run."""),
    new_code_cell("""import pathlib, tempfile
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from edgequant.datasets import shared_data_dir
from edgequant.microcontroller import HostModel, export_c, cortex_m4
from edgequant.microcontroller.footprint import tflm_arena

data = shared_data_dir()
models = {"ResNet-8": "pretrainedResnet_quant.tflite", "VWW": "vww_96_int8.tflite", "KWS": "kws_ref_model.tflite"}
work = pathlib.Path(tempfile.mkdtemp())
reports = {name: export_c(data / "tflite" / file, work / name) for name, file in models.items()}
coded = {name: export_c(data / "tflite" / file, work / f"{name}_coded", coded_weights=True)
         for name, file in models.items()}
print((reports["KWS"].directory / "model.h").read_text())"""),
    new_markdown_cell("""## Footprint

Flash and RAM the model adds to a Cortex-M4 firmware (its sources compiled with `arm-none-eabi-gcc -O2`,
sections summed: kernels, constants, the arena), beside TFLite Micro's arena for the same model (its
interpreter's report: *head* = tensors, *total* adds its own bookkeeping) and the model file. Our arena holds
no input or output: the model reads the caller's input in place and writes the output straight into the
caller's buffer."""),
    new_code_cell("""has_arm = not cortex_m4.toolchain_missing()
rows = []
for name, report in reports.items():
    path = data / "tflite" / models[name]
    tflm = tflm_arena(path)
    row = {"model": name, "file (B)": path.stat().st_size, "constants (B)": report.weight_bytes,
           "constants coded (B)": coded[name].weight_bytes, "arena (B)": report.arena_bytes,
           "arena coded (B)": coded[name].arena_bytes,
           "TFLM arena head / total (B)": f"{tflm.get('head', '–')} / {tflm.get('total', '–')}"}
    if has_arm:
        size = cortex_m4.object_footprint(report.directory)
        row.update({"M4 flash (B)": size.flash, "M4 RAM (B)": size.ram})
    rows.append(row)
pd.DataFrame(rows)"""),
    new_markdown_cell("## Bit-exact with TensorFlow Lite Micro (a few inputs here; the tests run 200 per model)"),
    new_code_cell("""try:
    from tflite_micro.python.tflite_micro import runtime
except ImportError:
    runtime = None
checks = []
for name, report in reports.items():
    host = HostModel.from_report(report)
    inputs = np.random.default_rng(0).integers(-128, 128, (10, report.graph.input_activation.size), dtype=np.int8)
    ours = host(inputs)
    row = {"model": name, "inputs": len(inputs)}
    if runtime is not None:
        interpreter = runtime.Interpreter.from_file(str(data / "tflite" / models[name]))
        shape = interpreter.get_input_details(0)["shape"]
        theirs = []
        for x in inputs:
            interpreter.set_input(x.reshape(shape), 0)
            interpreter.invoke()
            theirs.append(interpreter.get_output(0).reshape(-1))
        row["identical to TFLite Micro"] = bool(np.array_equal(ours, np.array(theirs)))
    row["coded weights give the same"] = bool(np.array_equal(ours, HostModel.from_report(coded[name])(inputs)))
    checks.append(row)
pd.DataFrame(checks)"""),
    new_markdown_cell("""## RAM per layer

The bytes of the arena alive while each layer runs (its inputs, its output and anything kept for later
layers, e.g. ResNet-8's residual branches), against the planned arena size: the planner reuses memory
whenever lifetimes do not overlap."""),
    new_code_cell("""fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for ax, (name, report) in zip(axes, reports.items()):
    live = np.asarray(report.plan.live_bytes) / 1024
    ax.bar(range(len(live)), live, color="tab:blue", label="live activations")
    ax.axhline(report.arena_bytes / 1024, color="tab:red", linestyle="--", label="arena")
    ax.axhline(coded[name].arena_bytes / 1024, color="tab:orange", linestyle=":", label="arena, coded weights")
    ax.set_title(name)
    ax.set_xlabel("layer")
    ax.set_ylabel("KiB")
axes[0].legend()
fig.tight_layout()"""),
]

NOTEBOOKS["04_prune_quantize.ipynb"] = [
    new_markdown_cell("""# Compression-aware training: prune, then quantize, after every step

Paper 002 (SPEC §5) trains a CNN whose weights are pruned at β = γ·std(W) and quantized to b bits after
*every* optimizer step, so the network learns under the compression it will ship with. This notebook runs
the quick default — scikit-learn's 8×8 digits with a proportionally smaller CNN (≈ 9 k weights), a few
seconds per run on one CPU core — over γ ∈ {0, 0.375, 0.625} × b ∈ {32, 8, 4}, then: the paper's Tables I
and II, its figures, the compressed networks written as `.eqz` with the bits per weight the coder actually
spends (against the paper's density × bits), and the three compressor modes side by side. The CIFAR-10
experiment is `benchmarks/paper_002_cifar10.py` (numbers in `benchmarks/RESULTS.md`). Needs PyTorch:
`pip install 'edgequant[torch]'`."""),
    new_code_cell("""import pathlib, tempfile
import numpy as np
import pandas as pd
import torch
from IPython.display import Image, display
from edgequant.training import (Protocol, digits_data, run_training_grid, training_grid, table_i, table_ii,
                                plot_figures)

torch.set_num_threads(1)
work = pathlib.Path(tempfile.mkdtemp())
data = digits_data()
protocol = Protocol(model="digits_cnn", epochs=8, patience=4, batch_size=32)  # SGD, momentum 0.9
rows = run_training_grid(data, training_grid([0.0, 0.375, 0.625], [32, 8, 4], [0.05]), work / "results.sqlite",
                         protocol, checkpoints=work / "checkpoints", threads=1, progress=False)
print(data.describe())
pd.DataFrame([{"run": r["label"], "status": r["status"], "best epoch": r["best_epoch"],
               "test %": round(100 * r["test_acc"], 1), "density %": round(100 * r["density"], 1)} for r in rows])"""),
    new_markdown_cell("""## Table I — test accuracy (density) per γ × bits

Beside the paper's CIFAR-10 numbers for the same cells (a different data set and network: compare the
shape, not the values). Density counts the non-zero weights of every Conv / Linear layer."""),
    new_code_cell("""pd.DataFrame(table_i(rows)).set_index("gamma")"""),
    new_markdown_cell("""## Table II — efficiency score PE = (acc / acc_baseline)^ρ / (density × b / 32)"""),
    new_code_cell("""pd.DataFrame(table_ii(rows, bits=(8, 4))).set_index("gamma")"""),
    new_markdown_cell("""## The paper's figures 2–7

Accuracy and density vs bits, PE for ρ = 2 (heat map and curves), test and training accuracy per epoch."""),
    new_code_cell("""figures = plot_figures(rows, work)
for path in figures:
    display(Image(filename=str(path), width=380))"""),
    new_markdown_cell("""## `.eqz`: the bits per weight actually coded

Each quantized run's weights are written as their integer symbols, entropy-coded (`edgequant.coding`), with
the network's graph. The paper's accounting charges density × b bits per weight; the coder pays for *where*
the non-zeros are too, and less than b bits for each surviving symbol when their distribution is peaked.
PE *measured* replaces density × b by the coded bits."""),
    new_code_cell("""from edgequant.training.export import export_runs

exports = pd.DataFrame(export_runs(rows, work / "checkpoints", work))
exports"""),
    new_markdown_cell("""The best compressed network by measured PE, decoded from its `.eqz` and run by ONNX Runtime:
the accuracy is the one the training measured, the file a fraction of the float32 ONNX."""),
    new_code_cell("""import onnxruntime as ort
from edgequant.compress import decompress_model

best = exports.sort_values(exports.columns[-1], ascending=False).iloc[0]
eqz = work / f"g{best.gamma:g}_b{int(best.bits)}_lr{best.lr:g}.eqz"
session = ort.InferenceSession(decompress_model(eqz).SerializeToString(), providers=["CPUExecutionProvider"])
logits = session.run(None, {session.get_inputs()[0].name: data.x_test})[0]
print(f"{eqz.name}: {eqz.stat().st_size:,} bytes vs float32 ONNX {int(best['ONNX bytes']):,}; "
      f"decoded test accuracy {100 * np.mean(logits.argmax(1) == data.y_test):.2f}% "
      f"(training measured {best['test %']}%)")"""),
    new_markdown_cell("""## Three ways to apply the compression

`paper` recomputes β and the mask every step (a pruned weight can come back); `frozen` fixes the mask after
a warm-up (one epoch here), so pruned weights stay exactly zero — what users of other tools ask for;
`straight-through` keeps full-precision shadow weights that accumulate the updates, so steps smaller than
half a quantization step are not rounded away (the reason 4-bit training needs a large learning rate in
paper mode)."""),
    new_code_cell("""steps_per_epoch = len(data.y_train) // protocol.batch_size
modes = {"paper": [r for r in rows if r["params"]["gamma"] == 0.375]}
for mode in ("frozen", "straight-through"):
    variant = Protocol(**{**protocol.__dict__, "mode": mode,
                          "warmup_steps": steps_per_epoch if mode == "frozen" else 0})
    modes[mode] = run_training_grid(data, training_grid([0.375], [8, 4], [0.05]), work / "results.sqlite",
                                    variant, threads=1, progress=False)
baseline = next(r for r in rows if r["params"]["gamma"] == 0 and r["params"]["bits"] == 32)["test_acc"]
pd.DataFrame([{"mode": mode, "bits": r["params"]["bits"], "test %": round(100 * r["test_acc"], 1),
               "vs baseline (pp)": round(100 * (r["test_acc"] - baseline), 1),
               "density %": round(100 * r["density"], 1)}
              for mode, runs in modes.items() for r in runs if r["params"]["bits"] in (8, 4)])"""),
]


#: Packages a notebook needs beyond the base install; the notebook test skips it, naming them, when absent.
REQUIRES = {"04_prune_quantize.ipynb": ["torch"]}


def main():
    folder = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
    folder.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        path = folder / name
        # Cell ids are random in nbformat: keep the committed ones (by position) so that rewriting an
        # unchanged notebook changes nothing, and derive new ones from the name and position.
        old = [cell.get("id") for cell in nbformat.read(path, as_version=4).cells] if path.exists() else []
        for index, cell in enumerate(cells):
            cell["id"] = old[index] if index < len(old) and old[index] else \
                hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:8]
        metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
        if name in REQUIRES:
            metadata["edgequant"] = {"requires": REQUIRES[name]}
        nbformat.write(new_notebook(cells=cells, metadata=metadata), path)
        print("wrote", path)


if __name__ == "__main__":
    main()
