"""``edgequant compress``: quantize a model and entropy-code its weights into an ``.eqz`` file."""

from __future__ import annotations

import inspect

from .errors import UsageError, input_file, output_file

#: Command-line flags that map onto quantizer constructor arguments of the same name.
QUANTIZER_FLAGS = {
    "levels": int, "delta": float, "mu": float, "xmax": str, "bits": int, "gamma": float,
    "exponent_bits": int, "mantissa_bits": int, "bias": int, "mode": str, "axis": int,
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compress", help="quantize + entropy-code a model into an .eqz file",
        description="Quantize every conv/gemm weight of an ONNX model with one quantizer and store the symbols "
                    "entropy-coded (edgequant's rANS coder) with the graph in an .eqz file; "
                    "`edgequant decompress` restores the quantize-dequantized ONNX exactly.")
    parser.add_argument("model", help="ONNX model")
    parser.add_argument("-o", "--output", required=True, help="the .eqz file to write")
    parser.add_argument("--method", help="quantizer: midtread, midrise, deadzone, mulaw, minifloat, "
                                         "affine, prune_quantize (or --bits-config)")
    parser.add_argument("--bits-config", metavar="CFG.json",
                        help="mixed precision: each weight at its bit width from `edgequant mpq` (instead of --method)")
    for flag, kind in QUANTIZER_FLAGS.items():
        parser.add_argument("--" + flag.replace("_", "-"), dest=flag, type=kind, default=None)
    parser.add_argument("--asymmetric", action="store_true", help="affine: asymmetric range (zero point)")
    parser.add_argument("--unsigned", action="store_true", help="affine: unsigned codes")
    parser.add_argument("--include-biases", action="store_true", help="also quantize biases (as the paper)")
    parser.set_defaults(handler=run)


def quantizer_from_args(args):
    """The quantizer the flags describe; flags the method does not take are an error."""
    from ..quantizers import QUANTIZERS

    if args.method not in QUANTIZERS:
        raise UsageError(f"unknown method {args.method!r}; known: {sorted(QUANTIZERS)}")
    cls = QUANTIZERS[args.method]
    parameters = inspect.signature(cls.__init__).parameters
    accepted = set(parameters) - {"self"}
    given = {name: getattr(args, name) for name in QUANTIZER_FLAGS if getattr(args, name) is not None}
    if args.asymmetric:
        given["symmetric"] = False
    if args.unsigned:
        given["signed"] = False
    unused = sorted(set(given) - accepted)
    if unused:
        raise UsageError(f"{args.method} does not take {', '.join(_flag(u) for u in unused)}; "
                         f"it takes {', '.join(_flag(a) for a in sorted(accepted))}")
    missing = [name for name in sorted(accepted - set(given)) if parameters[name].default is inspect.Parameter.empty]
    if missing:
        raise UsageError(f"--method {args.method} needs {', '.join(_flag(m) for m in missing)}")
    if "xmax" in given and given["xmax"] != "max":
        try:
            given["xmax"] = float(given["xmax"])
        except ValueError:
            raise UsageError(f'--xmax must be a number or "max", got {given["xmax"]!r}') from None
    try:
        return cls(**given)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--method {args.method}: {error}") from None


def _flag(parameter: str) -> str:
    """The command-line flag of a quantizer parameter."""
    return {"symmetric": "--asymmetric", "signed": "--unsigned"}.get(parameter, "--" + parameter.replace("_", "-"))


def run(args) -> int:
    from ..compress import compress_model

    model = input_file(args.model, "MODEL")
    output = output_file(args.output, "-o/--output")
    if args.bits_config is not None:
        return _run_mixed_precision(args, model, output)
    if args.method is None:
        raise UsageError("give --method (one quantizer for every weight) or --bits-config (a mixed-precision config)")
    quantizer = quantizer_from_args(args)
    report = compress_model(model, quantizer, output, include_biases=args.include_biases)
    print(f"{quantizer!r}")
    print(report)
    return 0


def _run_mixed_precision(args, model, output) -> int:
    """``--bits-config``: the config's widths replace --method and the quantizer flags."""
    from ..mixed_precision.compress import MixedPrecisionAffine, compress_mixed_precision
    from ..mixed_precision.config import load_config

    given = [_flag(name) for name in QUANTIZER_FLAGS if getattr(args, name) is not None]
    given += ["--method"] * (args.method is not None) + ["--asymmetric"] * args.asymmetric
    given += ["--unsigned"] * args.unsigned + ["--include-biases"] * args.include_biases
    if given:
        raise UsageError(f"--bits-config sets every weight's quantizer: drop {', '.join(given)}")
    config = load_config(input_file(args.bits_config, "--bits-config"))
    print(repr(MixedPrecisionAffine(config, model)))
    print(compress_mixed_precision(model, config, output))
    return 0
