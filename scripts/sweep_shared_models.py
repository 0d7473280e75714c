"""Rate–distortion sweep (the default grid) on the embedded digits CNN and every shared model.

Prints, and writes as Markdown, per model: the best configuration within 1 pp of FP32 and the
best point of every curve (the paper's Tables 3.9/3.10). Classifiers are scored by top-1 on
labelled data; the detectors by top-1 agreement with FP32 per anchor (``per_anchor=True``).

    .venv/bin/python scripts/sweep_shared_models.py --max-bits 24 --out build/sweeps
"""

from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path

from edgequant import zoo
from edgequant.datasets import model_data, shared_data_dir
from edgequant.sweep import default_grid, run_sweep

#: Samples per shared model: enough for a stable metric, few enough that a sweep on 2 cores
#: stays within about 3 minutes (the MNIST models have a fixed batch of 1).
SAMPLE_LIMITS = {
    "mnist-8.onnx": None,  # all 10,000
    "cnn_mnist_pytorch.onnx": None,  # all 10,000
    "cifar10_tutorial_cnn.onnx": 1000,
    "squeezenet1.0_fp16.onnx": None,  # all 50
    "ultraface-rfb-320.onnx": None,  # all 4
    "yolo-fastestv2.onnx": None,  # all 21
}

#: Models without labels: fidelity per anchor of their first output.
DETECTORS = {"ultraface-rfb-320.onnx", "yolo-fastestv2.onnx"}


def sweep_targets(data_root: Path | None):
    """(name, model path, inputs, labels, per_anchor) of every model to sweep."""
    x, y = zoo.load_test_set()
    yield "digits_cnn (embedded)", zoo.model_path("digits_cnn"), x, y, False
    if data_root is None:
        print("no shared data folder: only the embedded model is swept")
        return
    for path in sorted((data_root / "models").glob("*.onnx")):
        if path.name not in SAMPLE_LIMITS:
            print(f"skipping {path.name}: no data is known for it")
            continue
        inputs, labels = model_data(path.name, data_root, SAMPLE_LIMITS[path.name])
        yield path.name, path, inputs, labels, path.name in DETECTORS


def markdown_section(name: str, result, samples: int, seconds: float, per_anchor: bool) -> str:
    """The Markdown tables of one model's sweep."""
    metric = result.metric + (" (per anchor)" if per_anchor else "")
    fp32 = 100 * float(result.baseline[result.metric])
    best = result.best()
    lines = [
        f"### {name}",
        "",
        f"{samples} samples, {len(result.table)} points, {seconds:.0f} s; metric {metric}, FP32 {fp32:.2f} %.",
        "",
    ]
    if best is None:
        lines.append("Best within 1 pp: none.")
    else:
        params = ", ".join(f"{k}={v}" for k, v in best["params"].items())
        lines.append(
            f"**Best within 1 pp:** {best['label']} ({params}): {best['entropy']:.3f} bits/weight, "
            f"CR {best['compression_ratio']:.2f}, {metric} {100 * best[result.metric]:.2f} %, "
            f"loss {best['loss_pp']:.2f} pp, output SQNR {best['output_sqnr_db']:.1f} dB."
        )
    lines += [
        "",
        "| curve | params | entropy (bits/w) | CR | metric (%) | loss (pp) | output SQNR (dB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    rows_by_key = {(r["label"], str(r["params"])): r for r in result.table}
    for entry in result.summary():
        params = ", ".join(f"{k}={v}" for k, v in entry["params"].items() if k != "xmax")
        sqnr = rows_by_key[(entry["label"], str(entry["params"]))]["output_sqnr_db"]
        lines.append(
            f"| {entry['label']} | {params} | {entry['entropy']:.3f} | {entry['compression_ratio']:.2f} | "
            f"{100 * entry['metric']:.2f} | {entry['loss_pp']:.2f} | {sqnr:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-bits", type=int, default=24, help="largest k of L = 2^k (default 24)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("build/sweeps"), help="folder for the databases and tables")
    parser.add_argument("--only", nargs="*", help="sweep only these names (e.g. mnist-8.onnx)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    grid = default_grid(max_bits=args.max_bits)
    sections = [
        f"Command: `.venv/bin/python scripts/sweep_shared_models.py --max-bits {args.max_bits} "
        f"--workers {args.workers}`; {datetime.date.today().isoformat()}; default grid, max_bits={args.max_bits} "
        f"({len(grid)} points), budget 1 pp.\n"
    ]
    for name, path, inputs, labels, per_anchor in sweep_targets(shared_data_dir()):
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        result = run_sweep(
            path,
            inputs,
            labels,
            grid=grid,
            db=args.out / f"{Path(name.split()[0]).stem}.sqlite",
            workers=args.workers,
            progress=False,
            per_anchor=per_anchor,
        )
        seconds = time.perf_counter() - started
        section = markdown_section(name, result, len(inputs), seconds, per_anchor)
        print(section, flush=True)
        sections.append(section)
    table = args.out / "rate_distortion_shared_models.md"
    table.write_text("\n".join(sections))
    print("wrote", table)


if __name__ == "__main__":
    main()
