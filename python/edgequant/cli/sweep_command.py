"""``edgequant sweep``: the rate–distortion sweep of a model (SPEC §2/§4)."""

from __future__ import annotations

import argparse

from .argument_types import integer, real
from .errors import input_file, output_file
from .output_paths import atomic_output, refuse_output_is_input, with_default_suffix


def register(subparsers) -> None:
    """Add the ``sweep`` subcommand."""
    from ..sweep.grid import DEFAULT_METHODS

    parser = subparsers.add_parser(
        "sweep",
        help="quantize a model with every quantizer at every setting; lowest rate within budget",
        description=(
            "Quantize every weight of MODEL with each quantizer at each setting, measure the "
            "entropy (bits/weight) and the task metric, and report the lowest rate within an "
            "accuracy budget. Results go to a SQLite file point by point: rerunning the same "
            "command resumes an interrupted sweep."
        ),
    )
    parser.add_argument(
        "model",
        nargs="?",
        metavar="MODEL.onnx",
        help="ONNX model (default: the embedded digits_cnn)",
    )
    parser.add_argument(
        "--data",
        metavar="NPZ",
        help="npz with x (inputs) and optionally y (labels); default: the embedded digits test set",
    )
    parser.add_argument(
        "--db",
        default="results.sqlite",
        metavar="PATH",
        help="SQLite results file, updated point by point (default: %(default)s)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=DEFAULT_METHODS,
        metavar="METHOD",
        help=f"methods to sweep (default: all of {', '.join(DEFAULT_METHODS)})",
    )
    parser.add_argument(
        "--max-bits",
        type=integer(2, 24),
        default=24,
        metavar="K",
        help="largest k of L = 2^k levels (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=integer(minimum=1),
        default=2,
        metavar="N",
        help="worker processes (default: %(default)s)",
    )
    parser.add_argument(
        "--budget",
        type=real(minimum=0),
        default=1.0,
        metavar="PP",
        help="allowed metric loss in percentage points (default: %(default)s)",
    )
    parser.add_argument("--include-biases", action="store_true", help="quantize biases too")
    parser.add_argument("--plot", metavar="PNG", help="save the entropy-vs-metric plot here (.png added if no suffix)")
    parser.add_argument("--csv", metavar="OUT", help="export the points to this CSV file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from .. import zoo
    from ..sweep import default_grid, run_sweep

    model = input_file(args.model, "MODEL") if args.model is not None else zoo.model_path()
    args.plot = with_default_suffix(args.plot, ".png")
    refuse_output_is_input({"--db": args.db, "--plot": args.plot, "--csv": args.csv},
                           {"MODEL": model, "--data": args.data})
    inputs, labels = load_data(args.data) if args.data else zoo.load_test_set()
    for option, path in (("--db", args.db), ("--plot", args.plot), ("--csv", args.csv)):
        if path is not None:
            output_file(path, option)
    grid = default_grid(max_bits=args.max_bits, methods=args.methods)
    result = run_sweep(
        model,
        inputs,
        labels,
        grid=grid,
        db=args.db,
        budget_pp=args.budget,
        progress=not args.no_progress,
        workers=args.workers,
        include_biases=args.include_biases,
    )
    print(result.format_summary())
    best = result.best()
    if best is None:
        print(f"no configuration within {args.budget:g} pp of the FP32 {result.metric}")
    else:
        print(
            f"best: {best['label']} {best['params']}: {best['entropy']:.4f} bits/weight, "
            f"CR {best['compression_ratio']:.2f}, {result.metric} {best[result.metric]:.4f} "
            f"(loss {best['loss_pp']:.2f} pp)"
        )
    timings = result.timings
    print(
        f"{timings['points_run']} point(s) run, {timings['points_skipped']} already in {args.db}; "
        f"{timings['wall_s']:.1f} s"
    )
    if args.plot:
        with atomic_output(args.plot) as temporary:
            result.plot(temporary)
        print(f"plot: {args.plot}")
    if args.csv:
        with atomic_output(args.csv) as temporary:
            result.to_csv(temporary)
        print(f"csv: {args.csv}")
    return 0


def load_data(path: str):
    """(x, y or None) from an npz archive with keys ``x`` and optionally ``y``."""
    import numpy as np

    input_file(path, "--data")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"--data {path} is not a readable npz archive: {error}") from error
    with archive:
        if not hasattr(archive, "files") or "x" not in archive.files:
            found = getattr(archive, "files", [])
            raise ValueError(f"--data {path} must hold an array 'x' (and optionally 'y'); found {found}")
        return archive["x"], (archive["y"] if "y" in archive.files else None)
