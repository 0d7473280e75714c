"""``edgequant analyze``: which distribution do a model's weights follow?"""

from __future__ import annotations

import json
import pathlib

from .argument_types import WordOrNumber, integer, real
from .errors import input_file, output_file, output_folder
from .output_paths import atomic_output, refuse_output_is_input

#: The files ``--plot DIR`` writes into DIR.
PLOT_FILES = ("whole_model.png", "layers.png")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "analyze", help="fit distribution families to a model's weights (SSE and KL rankings)",
        description="Fit distribution families to an ONNX model's weights, rank them by SSE and by KL "
                    "(the paper's Tables 3.2/3.3), show the file composition (Table 3.1) and recommend a quantizer.")
    parser.add_argument("model", nargs="?", help="ONNX model (default: the embedded digits CNN)")
    parser.add_argument("--per-layer", action="store_true", help="also fit every layer with >= 256 values")
    parser.add_argument("--families", default="all", help="'all' (default), 'paper' (its 8 families) or a comma list")
    parser.add_argument("--bins", type=WordOrNumber("fd", integer(1, 100_000)), default="fd",
                        help="histogram bins: 'fd' (Freedman-Diaconis) or a number")
    parser.add_argument("--mass", type=real(maximum=1, above=0), default=0.99,
                        help="fraction of weights inside the histogram range, in (0, 1]")
    parser.add_argument("--json", metavar="OUT", help="write the full analysis as JSON")
    parser.add_argument("--plot", metavar="DIR",
                        help=f"write histogram + fitted PDF plots into DIR ({', '.join(PLOT_FILES)})")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..analysis import analyze_model
    from ..report import format_table

    if args.model is None:
        from ..zoo import model_path

        model = model_path()
    else:
        model = input_file(args.model, "MODEL")
    plots = [pathlib.Path(args.plot) / name for name in PLOT_FILES] if args.plot else None
    refuse_output_is_input({"--json": args.json, "--plot": plots}, {"MODEL": model})
    json_path = output_file(args.json, "--json", create_folder=True) if args.json else None
    plot_folder = output_folder(args.plot, "--plot") if args.plot else None
    analysis = analyze_model(model, per_layer=args.per_layer, families=args.families, bins=args.bins, mass=args.mass,
                             progress=True)
    c = analysis.composition
    print(format_table([{
        "model": analysis.name, "parameters": c["parameters"], "file bytes": c["file_bytes"],
        "weights+biases bytes": c["weight_and_bias_bytes"], "weights+biases %": c["weight_and_bias_percent"],
    }]))
    print()
    print(analysis)
    if json_path:
        with atomic_output(json_path) as temporary:
            temporary.write_text(json.dumps(analysis.to_dict(), indent=1, default=str), encoding="utf-8")
        print(f"\nwrote {json_path}")
    if plot_folder:
        from ..plots import plot_fits, plot_layer_grid

        whole, layers = PLOT_FILES
        with atomic_output(plot_folder / whole) as temporary:
            plot_fits(analysis.whole, title=f"{analysis.name}: all conv/gemm weights").savefig(
                temporary, dpi=110, bbox_inches="tight")
        if analysis.by_layer:
            with atomic_output(plot_folder / layers) as temporary:
                plot_layer_grid(analysis.by_layer).savefig(temporary, dpi=90, bbox_inches="tight")
        print(f"wrote plots to {plot_folder}/")
    return 0
