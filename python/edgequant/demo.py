"""The main job end to end on the embedded default: analysis, sweep, best configuration, compression.

``edgequant demo`` runs it on the digits CNN shipped in :mod:`edgequant.zoo` and writes a Markdown
report with its plots and tables; on any other ONNX classifier with a labelled data set, call
:func:`run_demo` with ``model=`` and ``data=``.
"""

from __future__ import annotations

import json
import pathlib
import time

import numpy as np


def _log(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, flush=True)


def run_demo(out="out/demo", model=None, data=None, max_bits: int = 24, workers: int = 2,
             budget_pp: float = 1.0, fresh: bool = False, quiet: bool = False) -> pathlib.Path:
    """Run the whole pipeline and write ``<out>/report.md``; returns its path.

    Parameters
    ----------
    out : path-like
        Output folder (created). The sweep's SQLite file lives there too, so a second run reuses
        finished points unless ``fresh``.
    model : path-like, optional
        ONNX classifier; default the embedded ``digits_cnn``.
    data : tuple (x, y), optional
        Labelled evaluation data; default the embedded digits test split.
    max_bits : int
        Largest k of the sweep's L = 2^k levels (the paper: 24).
    workers : int
        Processes for the sweep.
    budget_pp : float
        Allowed top-1 loss (percentage points) for the best configuration.
    fresh : bool
        Delete a previous sweep database in ``out`` first.
    quiet : bool
        No progress output.
    """
    import onnxruntime as ort

    from . import zoo
    from .analysis import analyze_model
    from .compress import compress_model, decompress_model
    from .model import quantize_weights
    from .plots import plot_fits, plot_layer_grid
    from .report import MarkdownReport
    from .sweep import default_grid, make_quantizer, run_sweep

    started = time.perf_counter()
    out = pathlib.Path(out)
    model_path = pathlib.Path(model) if model is not None else zoo.model_path()
    x, y = data if data is not None else zoo.load_test_set()
    report = MarkdownReport(out, f"edgequant demo — {model_path.name}")
    report.paragraph(f"Model `{model_path.name}`, evaluated on {len(y)} labelled images. "
                     "Every number below was measured by this run (`edgequant demo`).")

    _log(f"[1/4] weight distributions of {model_path.name}", quiet)
    analysis = analyze_model(model_path, per_layer=True)
    report.heading("1. Which distribution do the weights follow?")
    report.paragraph(f"Composition: {analysis.composition['parameters']:,} parameters, "
                     f"{analysis.composition['weight_and_bias_percent']:.1f}% of the file is weights and biases. "
                     f"Whole-model ranking of {analysis.whole.summary['count']:,} conv/gemm weights:")
    report.table([{"criterion": c.upper(), **{f"#{i + 1}": f"{fit.family} ({fit.score(c):.3g})"
                                              for i, fit in enumerate(analysis.whole.ranking(c)[:3])}}
                  for c in analysis.whole.criteria])
    report.paragraph(f"**Recommendation:** {analysis.recommendation()}")
    report.figure(plot_fits(analysis.whole, title="all conv/gemm weights", criterion="kl"), "distributions.png",
                  "histogram with the best fitted PDFs")
    if analysis.by_layer:
        report.table(analysis.layer_rows())
        report.figure(plot_layer_grid(analysis.by_layer), "layers.png", "per-layer fits")

    _log(f"[2/4] rate-distortion sweep (L = 2^k, k = 2..{max_bits}, all quantizers)", quiet)
    db = out / "sweep.sqlite"
    if fresh and db.exists():
        db.unlink()
    grid = default_grid(max_bits=max_bits)
    sweep = run_sweep(model_path, x, y, grid=grid, db=db, workers=workers, budget_pp=budget_pp, progress=not quiet)
    sweep.plot(out / "rate_distortion.png", title=f"{model_path.name}: entropy vs top-1")
    sweep.to_csv(out / "sweep.csv")
    best = sweep.best()
    report.heading("2. Rate–distortion sweep")
    report.paragraph(f"{len(sweep.table)} points ({len(grid)} in the grid) in {sweep.timings.get('wall_s', 0):.1f} s; "
                     f"FP32 top-1 = {100 * sweep.baseline['top1']:.2f}%. Best point of every curve within "
                     f"{budget_pp} pp (the paper's Tables 3.9/3.10):")
    report.table(sweep.summary())
    report.parts.append("![entropy vs top-1](rate_distortion.png)\n")

    report.heading("3. Best configuration and the compressed file")
    if best is None:
        report.paragraph(f"No point stays within {budget_pp} pp of FP32.")
        _log("no configuration within the budget", quiet)
    else:
        quantizer = make_quantizer({"method": best["method"], "params": best["params"]})
        _log(f"[3/4] best within {budget_pp} pp: {quantizer!r} at {best['entropy']:.3f} bits/weight", quiet)
        eqz = out / f"{model_path.stem}.eqz"
        compression = compress_model(model_path, quantizer, eqz, compare_general_purpose=True)  # the xz line below
        restored = decompress_model(eqz)
        expected = quantize_weights(model_path, quantizer).model
        identical = _same_outputs(ort, restored, expected, x[:256])
        report.paragraph(
            f"Lowest entropy within {budget_pp} pp: **{quantizer!r}** — {best['entropy']:.3f} bits/weight, "
            f"CR {best['compression_ratio']:.2f}, top-1 {100 * best['top1']:.2f}% "
            f"({100 * (best['top1'] - sweep.baseline['top1']):+.2f} pp).")
        report.table(compression.rows())
        report.paragraph(
            f"Coded {compression.coded_bits_per_weight:.4f} bits/weight against the entropy estimate "
            f"{compression.entropy_bits_per_weight:.4f} ({100 * compression.coding_overhead:+.2f}%). "
            f"`edgequant decompress` restores the model; its outputs are "
            f"{'identical to' if identical else 'DIFFERENT from'} the quantize-dequantized model's.")
        _log(f"[4/4] {eqz.name}: {compression.file_bytes:,} bytes vs ONNX {compression.original_bytes:,}, "
             f"xz -9 {compression.xz_bytes:,}; outputs identical after decompress: {identical}", quiet)
        (out / "best.json").write_text(json.dumps({"quantizer": quantizer.spec(), "entropy": best["entropy"],
                                                   "top1": best["top1"], "eqz_bytes": compression.file_bytes},
                                                  indent=1), encoding="utf-8")
    report.paragraph(f"_Total time: {time.perf_counter() - started:.1f} s._")
    path = report.write()
    _log(f"report: {path}", quiet)
    return path


def _same_outputs(ort, first, second, x) -> bool:
    outputs = []
    for model in (first, second):
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        outputs.append(session.run(None, {name: x})[0])
    return bool(np.array_equal(outputs[0], outputs[1]))
