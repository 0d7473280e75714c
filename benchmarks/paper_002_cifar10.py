"""Paper 002's CIFAR-10 experiment: compression-aware training over γ × bits × learning rate.

Reduced protocol (the default, for a shared CPU): γ ∈ {0, 0.375, 0.625} × b ∈ {4, 8, 32}, one
learning rate (0.01), 6,000 training images (10 % of them held out for early stopping), 2,000
test images, batch 32, at most 10 epochs (patience 3). ``--full`` runs the paper's protocol (all 50,000 / 10,000 images,
γ × b × lr of SPEC §5, up to 200 epochs, patience 10): meant for a GPU, picked when present.

``--compare-modes frozen straight-through`` also trains the point ``--compare-point`` (default
γ = 0.375, 8 bits) in those compressor modes and adds a mode table; all runs share ``--workers``
processes. Resumable: every finished run is a row in ``<out>/results.sqlite``; rerun the same
command to go on, or to print the tables, draw the figures and export the compressed networks
(``.eqz``, bits per weight actually coded) once all are done.

    nice -n 10 .venv/bin/python benchmarks/paper_002_cifar10.py --out out/paper_002
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

MODES = ["paper", "frozen", "straight-through", "pruned-shadow"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="CIFAR-10 archive or folder (default: the shared one)")
    parser.add_argument("--out", default="out/paper_002", help="folder for the database, figures and exports")
    parser.add_argument("--full", action="store_true", help="the paper's full protocol (GPU)")
    parser.add_argument("--train-images", type=int, default=6000)
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, nargs="+", default=[0.01])
    # the headline point (0.375, 8 bits) runs right after the baseline
    parser.add_argument("--gammas", type=float, nargs="+", default=[0.375, 0.0, 0.625])
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 32, 4])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (1 on a shared machine)")
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel (processes)")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--mode", default="paper", choices=MODES, help="the compressor mode of the main grid")
    parser.add_argument("--compare-modes", nargs="*", default=[], choices=MODES,
                        help="also train --compare-point in these modes (first --lr)")
    parser.add_argument("--compare-point", type=float, nargs=2, default=[0.375, 8], metavar=("GAMMA", "BITS"))
    parser.add_argument("--warmup-steps", type=int, default=None,
                        help="frozen mode: steps before the mask is fixed (default: one epoch)")
    parser.add_argument("--report-only", action="store_true",
                        help="write the report from the runs finished so far (e.g. while the grid runs)")
    args = parser.parse_args(argv)

    import torch

    from edgequant.training import Protocol, cifar10_data, training_grid
    from edgequant.training.grid import PAPER_BITS, PAPER_GAMMAS, PAPER_LRS

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.full:
        args.train_images = args.test_images = None
        args.epochs, args.patience, args.batch_size = 200, 10, 64
        args.gammas, args.bits, args.lr = PAPER_GAMMAS, PAPER_BITS, PAPER_LRS
    started = time.perf_counter()
    data = cifar10_data(args.data, train_images=args.train_images, test_images=args.test_images)
    print(f"{data.describe()} (loaded in {time.perf_counter() - started:.0f} s)", flush=True)
    steps_per_epoch = max(1, len(data.y_train) // args.batch_size)
    warmup = steps_per_epoch if args.warmup_steps is None else args.warmup_steps
    jobs = []  # (protocol, grid): the main grid, then one point per compared mode
    for mode, grid in [(args.mode, training_grid(args.gammas, args.bits, args.lr))] + [
            (m, training_grid([args.compare_point[0]], [int(args.compare_point[1])], args.lr[:1]))
            for m in args.compare_modes if m != args.mode]:
        protocol = Protocol(model="paper_cifar10_cnn", epochs=args.epochs, patience=args.patience,
                            batch_size=args.batch_size, momentum=args.momentum, weight_decay=args.weight_decay,
                            mode=mode, warmup_steps=warmup if mode == "frozen" else 0)
        jobs.append((protocol, grid))
    runs = {protocol.mode: rows_of(data, protocol, grid, out, args) for protocol, grid in jobs} if args.report_only \
        else run_jobs(data, jobs, out, args)
    rows = runs[args.mode]
    protocol = jobs[0][0]
    print(f"{sum(map(len, runs.values()))} of {sum(len(g) for _, g in jobs)} runs finished "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    report(rows, data, protocol, out, runs)
    return 0


def rows_of(data, protocol, grid, out: Path, args) -> list[dict]:
    """The finished rows of one job, without training."""
    from edgequant.sweep.store import ResultStore
    from edgequant.training.grid import grid_identity, grid_key

    wanted = {grid_key(p) for p in grid}
    with ResultStore(out / "results.sqlite") as store:
        return [r for r in store.rows(grid_identity(data, protocol)) if r["point_key"] in wanted]


def run_jobs(data, jobs, out: Path, args) -> dict[str, list[dict]]:
    """Every job's runs on one pool of ``--workers`` processes (one submitting thread per job)."""
    from concurrent.futures import ThreadPoolExecutor

    from edgequant.training import run_training_grid

    def run(job, executor=None):
        protocol, grid = job
        return protocol.mode, run_training_grid(data, grid, out / "results.sqlite", protocol,
                                                checkpoints=out / "checkpoints", threads=args.threads,
                                                workers=args.workers, executor=executor, log_epochs=True,
                                                progress=False)

    if args.workers == 1:
        return dict(run(job) for job in jobs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context(method)) as pool, \
            ThreadPoolExecutor(len(jobs)) as submitters:
        return dict(submitters.map(lambda job: run(job, pool), jobs))


def report(rows, data, protocol, out: Path, runs: dict[str, list[dict]]) -> None:
    """Tables I and II (Markdown), the modes compared, figures 2–7, and the compressed networks as
    ``.eqz`` with the bits per weight actually coded."""
    from edgequant.training.tables import markdown, table_i, table_ii

    failed = [r for r in rows if r["status"] != "ok"]
    for row in failed:
        print(f"FAILED {row['label']}: {row['error'].splitlines()[0]}")
    text = [f"# Paper 002 on CIFAR-10: {data.describe()}",
            f"protocol: {json.dumps(protocol.__dict__)}", "", "## Table I", markdown(table_i(rows)), "",
            "## Table II", markdown(table_ii(rows, bits=(8, 4))), ""]
    modes = runs
    run_lines = [{"run": r["label"], "best epoch": r["best_epoch"], "epochs": r["epochs_run"],
             "test %": round(100 * r["test_acc"], 2), "density %": round(100 * r["density"], 2),
             "test % (paper's epoch choice)": round(100 * r["test_acc_paper"], 2),
             "train s": round(r["evaluate_s"]), "compress / step": round(r["compress_s"] / r["step_s"], 4)}
            for r in rows if r["status"] == "ok"]
    text += ["## Runs", markdown(run_lines), ""]
    text += ["## Compressor modes", markdown(mode_table(rows, modes)), ""]
    from edgequant.training.plots import plot_figures

    paths = plot_figures(rows, out)
    text += ["## Figures", *[f"- {p.name}" for p in paths], ""]
    from edgequant.training.export import export_runs

    exports = []
    for mode, mode_rows in modes.items():
        # the baseline (for PE) comes from the main grid
        baseline = [r for r in rows if r["params"]["gamma"] == 0 and r["params"]["bits"] == 32]
        (out / mode).mkdir(exist_ok=True)
        exported = export_runs(baseline + [r for r in mode_rows if r not in baseline], out / "checkpoints", out / mode)
        exports += [{"mode": mode, **e} for e in exported]
    text += ["## .eqz of the compressed runs: bits per weight actually coded", markdown(exports), ""]
    (out / "report.md").write_text("\n".join(text))
    print("\n".join(text))


def mode_table(rows: list[dict], modes: dict[str, list[dict]]) -> list[dict]:
    """One line per (mode, run) beside the main grid's baseline: accuracy drop and density."""
    base = [r for r in rows if r["status"] == "ok" and r["params"]["gamma"] == 0 and r["params"]["bits"] == 32]
    base_acc = base[0]["test_acc"] if base else None
    table = []
    for mode, mode_rows in modes.items():
        for r in mode_rows:
            if r["status"] != "ok" or (r["params"]["gamma"] == 0 and r["params"]["bits"] == 32):
                continue
            table.append({"mode": mode, "run": r["label"], "test %": round(100 * r["test_acc"], 2),
                          "vs baseline (pp)": "" if base_acc is None else round(100 * (r["test_acc"] - base_acc), 2),
                          "density %": round(100 * r["density"], 2), "best epoch": r["best_epoch"],
                          "compress / step": round(r["compress_s"] / r["step_s"], 4)})
    return table


if __name__ == "__main__":
    raise SystemExit(main())
