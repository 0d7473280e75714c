"""``edgequant train-pq``: compression-aware training over γ × bits × learning rate (SPEC §5)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .argument_types import integer, real
from .output_paths import refuse_output_is_input


def register(subparsers) -> None:
    """Add the ``train-pq`` subcommand."""
    parser = subparsers.add_parser(
        "train-pq",
        help="train with prune-then-quantize after every step; Tables I/II, figures, .eqz",
        description=(
            "Train a CNN with every weight pruned at gamma*std(W) and quantized to BITS after every "
            "optimizer step (paper 002), for each gamma x bits x learning rate; report accuracy, "
            "density and the efficiency score PE, draw the paper's figures 2-7 and export the "
            "compressed runs to .eqz. Each run is committed to a SQLite file as it ends: rerunning "
            "the same command resumes. Needs PyTorch: pip install 'edgequant[torch]'."
        ),
    )
    parser.add_argument("--dataset", choices=("digits", "cifar10"), default="digits",
                        help="digits: scikit-learn's bundled 8x8 digits (quick); cifar10: --data (default %(default)s)")
    parser.add_argument("--data", metavar="PATH",
                        help="CIFAR-10 archive or folder (JPEG tar.gz/folder or torchvision's layout); "
                             "default: the shared cifar10-jpg.tar.gz")
    parser.add_argument("--train-images", type=integer(minimum=1), metavar="N",
                        help="CIFAR-10: use at most N training images")
    parser.add_argument("--test-images", type=integer(minimum=1), metavar="N",
                        help="CIFAR-10: use at most N test images")
    parser.add_argument("--gammas", type=real(minimum=0), nargs="+", default=[0.0, 0.375, 0.625], metavar="G")
    parser.add_argument("--bits", type=integer(2, 16, also=(32,)), nargs="+", default=[32, 8, 4], metavar="B",
                        help="2-16, or 32 for prune only (default: %(default)s)")
    parser.add_argument("--lr", type=real(above=0), nargs="+", default=[0.02], metavar="LR")
    parser.add_argument("--epochs", type=integer(minimum=1), default=12)
    parser.add_argument("--patience", type=integer(minimum=1), default=4)
    parser.add_argument("--batch-size", type=integer(minimum=1), default=16)
    parser.add_argument("--mode", choices=("paper", "frozen", "straight-through", "pruned-shadow"), default="paper",
                        help="how the compression is applied (see edgequant.training.PruneQuantizeCompressor; "
                             "pruned-shadow reaches the paper's densities on long runs; default %(default)s)")
    parser.add_argument("--warmup-steps", type=integer(minimum=0), default=0,
                        help="frozen mode: steps before the mask is fixed")
    parser.add_argument("--out", default="train_pq", metavar="DIR",
                        help="folder for results.sqlite, checkpoints, figures, .eqz (default: %(default)s)")
    parser.add_argument("--workers", type=integer(minimum=1), default=1, help="runs in parallel (processes)")
    parser.add_argument("--threads", type=integer(minimum=1), default=None, help="torch threads per run")
    parser.add_argument("--device", default=None, help="torch device (default: cuda when present, else cpu)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    refuse_output_is_input({"--out": out, "--out folder's": [out / "results.sqlite"]}, {"--data": args.data})
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        raise ValueError("train-pq needs PyTorch: pip install 'edgequant[torch]' (torch==2.13.0)") from None
    from ..training import Protocol, cifar10_data, digits_data, run_training_grid, training_grid
    from ..training.export import export_runs
    from ..training.plots import plot_figures
    from ..training.tables import markdown, table_i, table_ii

    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    if args.dataset == "digits":
        data, model = digits_data(), "digits_cnn"
    else:
        data = cifar10_data(args.data, train_images=args.train_images, test_images=args.test_images)
        model = "paper_cifar10_cnn"
    protocol = Protocol(model=model, epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
                        mode=args.mode, warmup_steps=args.warmup_steps)
    grid = training_grid(args.gammas, args.bits, args.lr)
    rows = run_training_grid(data, grid, out / "results.sqlite", protocol, workers=args.workers,
                             progress=not args.no_progress, checkpoints=out / "checkpoints",
                             threads=args.threads, device=args.device)
    ok = [r for r in rows if r["status"] == "ok"]
    for row in rows:
        if row["status"] != "ok":
            print(f"failed: {row['label']}: {row['error'].splitlines()[0]}")
    print(data.describe())
    print("\nTable I: test accuracy (density), best learning rate per cell\n" + markdown(table_i(ok)))
    if any(r["params"]["gamma"] == 0 and r["params"]["bits"] == 32 for r in ok):
        print("\nTable II: efficiency score PE\n" + markdown(table_ii(ok, bits=sorted({b for b in args.bits if b < 32},
                                                                                     reverse=True))))
        exports = export_runs(ok, out / "checkpoints", out)
        print("\n.eqz of the quantized runs\n" + markdown(exports))
    else:
        print("\n(no finished gamma=0, 32-bit run: no baseline, so no PE and no export)")
    if ok:
        paths = plot_figures(ok, out)
        print(f"\nfigures: {', '.join(str(p) for p in paths)}")
    if len(ok) < len(rows):  # each failure is listed above; the error itself is one line
        print(f"edgequant train-pq: error: {len(rows) - len(ok)} of {len(rows)} runs failed", file=sys.stderr)
        return 1
    return 0
