"""``edgequant demo``: the main job on the embedded default model, with a report."""

from __future__ import annotations

from .argument_types import integer, real
from .errors import output_folder


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="analyse, sweep, pick the best configuration and compress the embedded digits CNN",
        description="Run the whole pipeline on the embedded default model (scikit-learn digits CNN): weight "
                    "distribution analysis, the paper's rate-distortion sweep, the lowest-entropy configuration "
                    "within the accuracy budget, and its .eqz compressed file; writes OUT/report.md.")
    parser.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    parser.add_argument("--max-bits", type=integer(2, 24), default=24, help="largest k of L = 2^k levels (default 24)")
    parser.add_argument("--workers", type=integer(minimum=1), default=2, help="sweep processes (default 2)")
    parser.add_argument("--budget", type=real(minimum=0), default=1.0, help="allowed top-1 loss in pp (default 1)")
    parser.add_argument("--fresh", action="store_true", help="discard finished points of a previous run")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..demo import run_demo

    run_demo(output_folder(args.out, "--out"), max_bits=args.max_bits, workers=args.workers, budget_pp=args.budget,
             fresh=args.fresh)
    return 0
