"""``edgequant analyze``: which distribution do a model's weights follow?"""

from __future__ import annotations

import json

from .errors import UsageError, input_file, output_file, output_folder


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "analyze", help="fit distribution families to a model's weights (SSE and KL rankings)",
        description="Fit distribution families to an ONNX model's weights, rank them by SSE and by KL "
                    "(the paper's Tables 3.2/3.3), show the file composition (Table 3.1) and recommend a quantizer.")
    parser.add_argument("model", nargs="?", help="ONNX model (default: the embedded digits CNN)")
    parser.add_argument("--per-layer", action="store_true", help="also fit every layer with >= 256 values")
    parser.add_argument("--families", default="all", help="'all' (default), 'paper' (its 8 families) or a comma list")
    parser.add_argument("--bins", default="fd", help="histogram bins: 'fd' (Freedman-Diaconis) or a number")
    parser.add_argument("--mass", type=float, default=0.99, help="fraction of weights inside the histogram range")
    parser.add_argument("--json", metavar="OUT", help="write the full analysis as JSON")
    parser.add_argument("--plot", metavar="DIR", help="write histogram + fitted PDF plots (PNG) into DIR")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..analysis import analyze_model
    from ..report import format_table

    if args.model is None:
        from ..zoo import model_path

        model = model_path()
    else:
        model = input_file(args.model, "MODEL")
    try:
        bins = args.bins if args.bins == "fd" else int(args.bins)
    except ValueError:
        raise UsageError(f"--bins must be 'fd' or a number, got {args.bins!r}") from None
    json_path = output_file(args.json, "--json", create_folder=True) if args.json else None
    plot_folder = output_folder(args.plot, "--plot") if args.plot else None
    analysis = analyze_model(model, per_layer=args.per_layer, families=args.families, bins=bins, mass=args.mass,
                             progress=True)
    c = analysis.composition
    print(format_table([{
        "model": analysis.name, "parameters": c["parameters"], "file bytes": c["file_bytes"],
        "weights+biases bytes": c["weight_and_bias_bytes"], "weights+biases %": c["weight_and_bias_percent"],
    }]))
    print()
    print(analysis)
    if json_path:
        path = json_path
        path.write_text(json.dumps(analysis.to_dict(), indent=1, default=str), encoding="utf-8")
        print(f"\nwrote {path}")
    if plot_folder:
        from ..plots import plot_fits, plot_layer_grid

        folder = plot_folder
        plot_fits(analysis.whole, title=f"{analysis.name}: all conv/gemm weights").savefig(
            folder / "whole_model.png", dpi=110, bbox_inches="tight")
        if analysis.by_layer:
            plot_layer_grid(analysis.by_layer).savefig(folder / "layers.png", dpi=90, bbox_inches="tight")
        print(f"wrote plots to {folder}/")
    return 0
