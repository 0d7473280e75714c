"""Paper 002's CIFAR-10 experiment: compression-aware training over γ × bits × learning rate.

Reduced protocol (the default, for a shared CPU): γ ∈ {0, 0.375, 0.625} × b ∈ {4, 8, 32}, one
learning rate (0.01), 6,000 training images (10 % of them held out for early stopping), 2,000
test images, batch 32, at most 10 epochs (patience 3). ``--full`` runs the paper's protocol (all 50,000 / 10,000 images,
γ × b × lr of SPEC §5, up to 200 epochs, patience 10): meant for a GPU, picked when present.

Resumable: every finished run is a row in ``--db``; rerun the same command to go on, or to
print the tables, draw the figures and export the best compressed network once all are done.

    nice -n 10 .venv/bin/python benchmarks/paper_002_cifar10.py --out out/paper_002
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


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
    parser.add_argument("--mode", default="paper", choices=["paper", "frozen", "straight-through"])
    parser.add_argument("--report-only", action="store_true",
                        help="write the report from the runs finished so far (e.g. while the grid runs)")
    args = parser.parse_args(argv)

    import torch

    from edgequant.training import Protocol, cifar10_data, run_training_grid, training_grid
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
    protocol = Protocol(model="paper_cifar10_cnn", epochs=args.epochs, patience=args.patience,
                        batch_size=args.batch_size,
                        mode=args.mode)
    grid = training_grid(args.gammas, args.bits, args.lr)
    if args.report_only:
        from edgequant.sweep.store import ResultStore
        from edgequant.training.grid import grid_identity, grid_key

        wanted = {grid_key(p) for p in grid}
        with ResultStore(out / "results.sqlite") as store:
            rows = [r for r in store.rows(grid_identity(data, protocol)) if r["point_key"] in wanted]
    else:
        rows = run_training_grid(data, grid, out / "results.sqlite", protocol, checkpoints=out / "checkpoints",
                                 threads=args.threads, workers=args.workers, log_epochs=True)
    print(f"{len(rows)} of {len(grid)} runs finished ({time.perf_counter() - started:.0f} s)", flush=True)
    report(rows, data, protocol, out)
    return 0


def report(rows, data, protocol, out: Path) -> None:
    """Tables I and II (Markdown), figures 2–7, and the best compressed network as ONNX and .eqz."""
    from edgequant.training.tables import markdown, table_i, table_ii

    failed = [r for r in rows if r["status"] != "ok"]
    for row in failed:
        print(f"FAILED {row['label']}: {row['error'].splitlines()[0]}")
    text = [f"# Paper 002 on CIFAR-10: {data.describe()}",
            f"protocol: {json.dumps(protocol.__dict__)}", "", "## Table I", markdown(table_i(rows)), "",
            "## Table II", markdown(table_ii(rows, bits=(8, 4))), ""]
    runs = [{"run": r["label"], "best epoch": r["best_epoch"], "epochs": r["epochs_run"],
             "test %": round(100 * r["test_acc"], 2), "density %": round(100 * r["density"], 2),
             "test % (paper's epoch choice)": round(100 * r["test_acc_paper"], 2),
             "train s": round(r["evaluate_s"]), "compress / step": round(r["compress_s"] / r["step_s"], 4)}
            for r in rows if r["status"] == "ok"]
    text += ["## Runs", markdown(runs), ""]
    from edgequant.training.plots import plot_figures

    paths = plot_figures(rows, out)
    text += ["## Figures", *[f"- {p.name}" for p in paths], ""]
    from edgequant.training.export import export_runs

    exports = export_runs(rows, out / "checkpoints", out)
    text += ["## .eqz of the compressed runs: bits per weight actually coded", markdown(exports), ""]
    (out / "report.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    raise SystemExit(main())
