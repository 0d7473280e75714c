"""Figures and tables of long compression-aware runs (:mod:`edgequant.training.long_run` folders)."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .long_run import LongRunConfig, LongRunTrace, load_trace

#: The MNIST runs of ``benchmarks/paper_002_long_runs.py --plan mnist`` as shipped (thinned).
SAVED_MNIST_RUNS = Path(__file__).parent / "results" / "paper_002_long_runs_mnist.json"

#: Steps at which the summary table reads the density.
_MILESTONES = (20_000, 100_000, 200_000, 300_000)


def load_traces(out, plan=None) -> list[LongRunTrace]:
    """The traces under ``out``: the folders of ``plan`` (``[(config fields, target), ...]``) in
    its order, or every run folder found."""
    out = Path(out)
    if plan is None:
        folders = sorted(p.parent for p in out.glob("*/config.json"))
    else:
        folders = [out / LongRunConfig(**fields).name for fields, _ in plan]
    return [load_trace(folder) for folder in folders if (folder / "config.json").is_file()]


def density_at(trace: LongRunTrace, step: int) -> float | None:
    """The density recorded at ``step`` (None if the run has not got there or diverged before)."""
    for record in trace.records:
        if record["step"] == step and "density" in record:
            return record["density"]
    return None


def best_record(trace: LongRunTrace) -> dict | None:
    """The record with the highest test accuracy (the paper's choice of epoch), latest on ties."""
    scored = [r for r in trace.records if r.get("test_acc") is not None]
    return max(reversed(scored), key=lambda r: r["test_acc"]) if scored else None


def summary_table(traces: list[LongRunTrace]) -> str:
    """One markdown row per run: how far it got, density at the milestones, when it crossed 15 %
    and 10 %, its last and best test accuracy."""
    header = ("| run | steps | status | density % at " + " / ".join(f"{m // 1000}k" for m in _MILESTONES)
              + " | step < 15 % | step < 10 % | last: test % (density %) | best test % (density %, step) |")
    lines = [header, "|" + "---|" * 8]
    for trace in traces:
        densities = " / ".join(_percent(density_at(trace, m)) for m in _MILESTONES)
        measured = [r for r in trace.records if "density" in r]
        last = measured[-1] if measured else {}
        best = best_record(trace)
        status = trace.status if trace.status != "diverged" else f"**diverged** at {trace.records[-1]['step']:,}"
        lines.append(
            f"| {trace.config.label()} | {trace.steps:,} | {status} | {densities} "
            f"| {_step(trace.first_step_below(0.15))} | {_step(trace.first_step_below(0.10))} "
            f"| {_percent(last.get('test_acc'))} ({_percent(last.get('density'))}) "
            f"| {_percent(best and best['test_acc'])} ({_percent(best and best['density'])}, "
            f"{best['step'] if best else 0:,}) |")
    return "\n".join(lines)


def paper_table(traces: list[LongRunTrace], paper: dict) -> str:
    """Paper 002's Table I entries beside the best record of our runs at the same γ and b."""
    lines = ["| γ | b | paper: test % (density %) | ours: run | best test % (density %) at step |",
             "|---|---|---|---|---|"]
    for (gamma, bits), (accuracy, density) in paper.items():
        ours = [t for t in traces if t.config.gamma == gamma and t.config.bits == bits]
        if not ours:
            continue
        for trace in ours:
            best = best_record(trace)
            lines.append(f"| {gamma:g} | {bits} | {accuracy:.2f} ({density:.2f}) | {trace.config.label()} | "
                         f"{_percent(best and best['test_acc'])} ({_percent(best and best['density'])}) at "
                         f"{best['step'] if best else 0:,} |")
    return "\n".join(lines)


def plot_density_accuracy(traces: list[LongRunTrace], path) -> Path:
    """Density and test accuracy against steps (log axis), one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 9), sharex=True)
    for trace in traces:
        records = [r for r in trace.records if "density" in r and r["step"] > 0]
        if not records:
            continue
        steps = [r["step"] for r in records]
        style = "--" if trace.config.mode == "paper" and trace.config.bits < 32 else "-"
        line, = top.plot(steps, [100 * r["density"] for r in records], style, label=trace.config.label())
        bottom.plot(steps, [100 * r["test_acc"] for r in records], style, color=line.get_color())
        if trace.status == "diverged":
            top.plot(steps[-1], 100 * records[-1]["density"], "x", color=line.get_color(), markersize=10)
    for level in (15, 10):
        top.axhline(level, color="grey", linewidth=0.6, linestyle=":")
    top.axhline(8.68, color="black", linewidth=0.8, linestyle=":", label="paper: 8.68 % (γ=0.375, b=8)")
    top.set(xscale="log", yscale="log", ylabel="density (% of weights non-zero)",
            title="Compression-aware training at the paper's length (× = diverged)")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    top.yaxis.set_major_formatter(plain)
    top.yaxis.set_minor_formatter(plain)
    bottom.set(xscale="log", xlabel="optimizer steps (batch 32)", ylabel="test accuracy (%)", ylim=(0, 100))
    top.legend(fontsize=7, ncol=2)
    for axis in (top, bottom):
        axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_layers(trace: LongRunTrace, path) -> Path:
    """One run's per-layer density, β / RMS of the survivors, and kurtosis against steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in trace.records if "layers" in r and r["step"] > 0]
    names = list(records[0]["layers"]) if records else []
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    steps = [r["step"] for r in records]
    for name in names:
        layer = [r["layers"][name] for r in records]
        line, = axes[0].plot(steps, [100 * x["density"] for x in layer], label=name)
        axes[1].plot(steps, [x["beta"] / x["rms_survivors"] if x["rms_survivors"] else np.nan for x in layer],
                     color=line.get_color())
        axes[2].plot(steps, [np.nan if x["kurtosis"] is None else x["kurtosis"] for x in layer],
                     color=line.get_color())
    axes[0].set(ylabel="density %", yscale="log")
    axes[1].set(ylabel="β / RMS of the survivors")
    axes[2].set(ylabel="excess kurtosis of W (zeros included)", yscale="symlog")
    for axis in axes:
        axis.set(xscale="log", xlabel="steps")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle(trace.config.label())
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_report(out, plan=None, paper: dict | None = None, earlier: list[LongRunTrace] | None = None) -> str:
    """Write ``density_accuracy.png`` (and ``density_accuracy_<dataset>.png`` per data set when
    there are several), ``layers.png`` (the first run), ``report.md`` and the thinned
    ``traces.json`` into ``out``; returns the markdown. ``earlier``: traces of earlier sittings (e.g.
    :func:`load_exported`) joined after the runs under ``out``, each unless a run of the same
    configuration is there (a thinned trace: crossing steps read from its kept records, :func:`export_traces`).
    With ``plan``, the runs follow its order wherever they were trained."""
    out = Path(out)
    traces = load_traces(out, plan)
    names = {trace.config.name for trace in traces}
    traces += [trace for trace in earlier or [] if trace.config.name not in names]
    if plan is not None:  # the plan's order, whichever sitting trained a run; runs outside it after
        order = {LongRunConfig(**fields).name: i for i, (fields, _) in enumerate(plan)}
        traces.sort(key=lambda trace: order.get(trace.config.name, len(order)))
    if not traces:
        raise FileNotFoundError(f"no long runs under {str(out)!r}")
    plot_density_accuracy(traces, out / "density_accuracy.png")
    datasets = sorted({trace.config.dataset for trace in traces})
    if len(datasets) > 1:  # one readable figure per data set beside the crowded one
        for dataset in datasets:
            plot_density_accuracy([t for t in traces if t.config.dataset == dataset],
                                  out / f"density_accuracy_{dataset}.png")
    plot_layers(traces[0], out / "layers.png")
    text = summary_table(traces)
    if paper:
        text += "\n\n" + paper_table(traces, paper)
    (out / "report.md").write_text(text + "\n")
    export_traces(traces, out / "traces.json")
    return text


def export_traces(traces: list[LongRunTrace], path, every: int = 20_000) -> Path:
    """Write the traces thinned to the early records and every ``every`` steps (plus each run's
    last record; a run shorter than ten times ``every`` keeps a tenth of its length, at least every
    2,000 steps), numbers to 4 significant digits: a small file to keep beside the results."""
    def thin(value):
        if isinstance(value, float):
            return float(f"{value:.4g}")
        if isinstance(value, dict):
            return {k: thin(v) for k, v in value.items()}
        return value

    runs = []
    for trace in traces:
        last = trace.records[-1]["step"] if trace.records else 0
        grid = every if last >= 10 * every else max(2000, last // 10 // 2000 * 2000)
        kept = [thin(r) for r in trace.records if r["step"] <= 1000 or r["step"] % grid == 0 or r["step"] == last]
        runs.append({"config": asdict(trace.config), "status": trace.status, "reason": trace.reason, "records": kept})
    document = {"written": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()} {platform.processor()}",
                "runs": runs}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    return path


def load_exported(path=None) -> list[LongRunTrace]:
    """Traces written by :func:`export_traces`; default: the MNIST runs shipped with edgequant
    (:data:`SAVED_MNIST_RUNS`)."""
    document = json.loads(Path(SAVED_MNIST_RUNS if path is None else path).read_text())
    return [LongRunTrace(LongRunConfig(**run["config"]), run["records"], run["status"], run["reason"])
            for run in document["runs"]]


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def _step(value) -> str:
    return "—" if value is None else f"{value:,}"
