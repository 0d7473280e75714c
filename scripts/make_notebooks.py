"""Writes the notebooks in notebooks/ from the cell sources below (outputs are not committed:
the test suite executes them). Run after editing: python scripts/make_notebooks.py"""

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
from edgequant.data import shared_data_dir
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
from edgequant.data import shared_data_dir
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
    new_markdown_cell("""# Static versus dynamic post-training quantization on edgequant's engine

SPEC §6 (paper `000`): *static* PTQ fixes activation ranges from a calibration set and runs weights and
activations in INT8; *dynamic* PTQ quantizes weights offline and computes activation parameters from each
input. The paper measured YOLOv8n on a Raspberry Pi 5; here the embedded digits CNN on this machine, with
ONNX Runtime's `quantize_static` / `quantize_dynamic` on the same calibration data as the peer. Latencies
on a shared 2-core machine are indicative only."""),
    new_code_cell("""import time
import numpy as np
import pandas as pd
import onnxruntime as ort
from edgequant import Engine, zoo
from edgequant.metrics import accuracy, top1_agreement, mean_softmax_kl

path = zoo.model_path()
x, y = zoo.load_test_set()
calibration, test = x[:200], x
fp32 = Engine(path, mode="fp32")
reference = fp32.run([test])[0]
engines = {"fp32": fp32, "dynamic": Engine(path, mode="dynamic")}
for method in ("minmax", "percentile", "entropy", "mse"):
    engines[f"static ({method})"] = Engine(path, mode="static", calibration=calibration, method=method)"""),
    new_code_cell("""def latency_ms(run, repeats=200):
    run()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats * 1e3

rows = []
for name, engine in engines.items():
    logits = engine.run([test])[0]
    one = [test[:1]]
    rows.append({"engine": f"edgequant {name}", "accuracy (%)": 100 * accuracy(logits.argmax(1), y),
                 "top-1 agreement with FP32 (%)": 100 * top1_agreement(reference, logits),
                 "softmax KL vs FP32": mean_softmax_kl(reference, logits),
                 "latency batch 1 (ms)": latency_ms(lambda e=engine, i=one: e.run(i))})
pd.DataFrame(rows).round(6)"""),
    new_markdown_cell("## The same with ONNX Runtime's quantizers (same calibration images)"),
    new_code_cell("""import tempfile, pathlib
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

class Reader(CalibrationDataReader):
    def __init__(self, data):
        self.batches = iter([{"input": data[i:i + 1]} for i in range(len(data))])
    def get_next(self):
        return next(self.batches, None)

folder = pathlib.Path(tempfile.mkdtemp())
quantize_static(str(path), str(folder / "static.onnx"), Reader(calibration), quant_format=QuantFormat.QDQ,
                per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
quantize_dynamic(str(path), str(folder / "dynamic.onnx"), weight_type=QuantType.QInt8)
peer_rows = []
for name, model in (("fp32", path), ("static QDQ", folder / "static.onnx"), ("dynamic", folder / "dynamic.onnx")):
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": test})[0]
    peer_rows.append({"engine": f"onnxruntime {name}", "accuracy (%)": 100 * accuracy(logits.argmax(1), y),
                      "top-1 agreement with FP32 (%)": 100 * top1_agreement(reference, logits),
                      "softmax KL vs FP32": mean_softmax_kl(reference, logits),
                      "latency batch 1 (ms)": latency_ms(lambda s=session: s.run(None, {"input": test[:1]}))})
pd.DataFrame(rows + peer_rows).round(6)"""),
    new_markdown_cell("""## How far do the confidences move?

The paper's accuracy analysis: the distribution of the top-class confidence under each scheme against FP32.
Dynamic quantization is expected to stay closest to FP32."""),
    new_code_cell("""import matplotlib.pyplot as plt

def confidence(logits):
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return p.max(1)

base = confidence(reference)
figure, ax = plt.subplots(figsize=(7, 3.5))
for name in ("dynamic", "static (minmax)", "static (entropy)"):
    shift = confidence(engines[name].run([test])[0]) - base
    ax.hist(shift, bins=60, histtype="step", label=f"{name}: mean |Δ| = {np.abs(shift).mean():.2e}")
ax.set_xlabel("top-class confidence shift against FP32"); ax.set_ylabel("images"); ax.legend(fontsize=8);"""),
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
from edgequant.data import shared_data_dir
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


def main():
    folder = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
    folder.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                      "language": "python"}})
        nbformat.write(notebook, folder / name)
        print("wrote", folder / name)


if __name__ == "__main__":
    main()
