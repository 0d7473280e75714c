"""``edgequant compress``: quantize a model and entropy-code its weights into an ``.eqz`` file."""

from __future__ import annotations

import dataclasses
import inspect
import math

from ..quantizers.registry import FAMILIES
from ..ranges import check_range_spec
from .argument_types import integer, real
from .errors import UsageError, input_file, output_file
from .output_paths import atomic_output, refuse_output_is_input


def _flag_type(parameters):
    """How a flag is read from the command line: integers and finite reals within the widest range the
    families taking it declare (each family's constructor then checks its own); ranges and choices as text."""
    low, high = min(p.low for p in parameters), max(p.high for p in parameters)
    if parameters[0].kind == "integer":
        return integer(int(low), int(high))
    if parameters[0].kind == "real":
        maximum = None if math.isinf(high) else high
        if all(p.low_open for p in parameters if p.low == low):
            return real(maximum=maximum, above=low)
        return real(minimum=low, maximum=maximum)
    return str


def _quantizer_flags() -> tuple[dict, dict]:
    """Every registered family's parameters as command-line flags, with their help.

    Returns ``(flags, switches)``: ``flags`` maps a parameter to ``(type, help)``; ``switches``
    maps a boolean parameter to ``(switch name, help)``, the switch setting it to False.
    """
    flags, switches, users, declared = {}, {}, {}, {}
    for family in FAMILIES.values():
        for parameter in family.parameters:
            users.setdefault(parameter.name, []).append(family.name)
            if parameter.kind == "boolean":
                switches.setdefault(parameter.name, (parameter.switch_name, parameter.help))
            else:
                declared.setdefault(parameter.name, []).append(parameter)
                flags.setdefault(parameter.name, parameter.help)
    flags = {name: (_flag_type(declared[name]), text) for name, text in flags.items()}
    used_by = {name: f" ({', '.join(methods)})" for name, methods in users.items()}
    return ({name: (kind, text + used_by[name]) for name, (kind, text) in flags.items()},
            {name: (switch, f"{text}: off{used_by[name]}") for name, (switch, text) in switches.items()})


#: Command-line flags (parameter -> (type, help)) and switches (boolean parameter -> (switch, help))
#: that map onto quantizer constructor arguments, from the registry (cpp/quant/registry.cpp).
QUANTIZER_FLAGS, QUANTIZER_SWITCHES = _quantizer_flags()


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compress", help="quantize + entropy-code a model into an .eqz file",
        description="Quantize every conv/gemm weight of an ONNX model with one quantizer and store the symbols "
                    "entropy-coded (edgequant's rANS coder) with the graph in an .eqz file; "
                    "`edgequant decompress` restores the quantize-dequantized ONNX exactly.")
    parser.add_argument("model", help="ONNX model")
    parser.add_argument("-o", "--output", required=True, help="the .eqz file to write")
    methods = "; ".join(f"{family.name}: {family.summary}" for family in FAMILIES.values())
    parser.add_argument("--method", help=f"quantizer ({methods}); or --bits-config")
    parser.add_argument("--bits-config", metavar="CFG.json",
                        help="mixed precision: each weight at its bit width from `edgequant mpq` (instead of --method)")
    for name, (kind, text) in QUANTIZER_FLAGS.items():
        parser.add_argument(_flag(name), dest=name, type=kind, default=None, help=text)
    for name, (_switch, text) in QUANTIZER_SWITCHES.items():
        parser.add_argument(_flag(name), dest=name, action="store_false", default=None, help=text)
    parser.add_argument("--include-biases", action="store_true", help="also quantize biases (as the paper)")
    _add_fidelity_arguments(parser)
    parser.set_defaults(handler=run)


def quantizer_from_args(args):
    """The quantizer the flags describe; flags the method does not take are an error."""
    from ..quantizers import QUANTIZERS

    if args.method not in QUANTIZERS:
        raise UsageError(f"unknown method {args.method!r}; known: {sorted(QUANTIZERS)}")
    cls = QUANTIZERS[args.method]
    parameters = inspect.signature(cls.__init__).parameters
    accepted = set(parameters) - {"self"}
    given = {name: getattr(args, name) for name in {**QUANTIZER_FLAGS, **QUANTIZER_SWITCHES}
             if getattr(args, name, None) is not None}
    unused = sorted(set(given) - accepted)
    if unused:
        raise UsageError(f"{args.method} does not take {', '.join(_flag(u) for u in unused)}; "
                         f"it takes {', '.join(_flag(a) for a in sorted(accepted))}")
    missing = [name for name in sorted(accepted - set(given)) if parameters[name].default is inspect.Parameter.empty]
    if missing:
        raise UsageError(f"--method {args.method} needs {', '.join(_flag(m) for m in missing)}")
    for range_name in _range_parameters(args.method):
        if range_name in given:
            try:
                given[range_name] = check_range_spec(given[range_name], _flag(range_name))
            except ValueError as error:
                raise UsageError(str(error)) from None
    try:
        return cls(**given)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--method {args.method}: {error}") from None


def _flag(parameter: str) -> str:
    """The command-line flag of a quantizer parameter (a boolean's: its switch)."""
    name = QUANTIZER_SWITCHES[parameter][0] if parameter in QUANTIZER_SWITCHES else parameter
    return "--" + name.replace("_", "-")


def _range_parameters(method: str) -> list[str]:
    return [parameter.name for parameter in FAMILIES[method].parameters if parameter.kind == "range"]


def run(args) -> int:
    from ..compress import compress_model

    model = input_file(args.model, "MODEL")
    output = output_file(args.output, "-o/--output")
    refuse_output_is_input({"-o/--output": output},
                           {"MODEL": model, "--bits-config": args.bits_config, "--data": args.data})
    if args.bits_config is not None:
        return _run_mixed_precision(args, model, output)
    if args.method is None:
        raise UsageError("give --method (one quantizer for every weight) or --bits-config (a mixed-precision config)")
    quantizer = quantizer_from_args(args)
    inputs = _fidelity_inputs(args, model)
    with atomic_output(output) as temporary:
        report = dataclasses.replace(compress_model(model, quantizer, temporary, include_biases=args.include_biases,
                                                    compare_general_purpose=args.compare_general_purpose),
                                     path=output)
    print(f"{quantizer!r}")
    print(report)
    _report_fidelity(args, model, output, inputs)
    return 0


def _run_mixed_precision(args, model, output) -> int:
    """``--bits-config``: the config's widths replace --method and the quantizer flags."""
    from ..compress import compress_model
    from ..mixed_precision.compress import MixedPrecisionAffine
    from ..mixed_precision.config import load_config

    given = [_flag(name) for name in {**QUANTIZER_FLAGS, **QUANTIZER_SWITCHES} if getattr(args, name) is not None]
    given += ["--method"] * (args.method is not None) + ["--include-biases"] * args.include_biases
    if given:
        raise UsageError(f"--bits-config sets every weight's quantizer: drop {', '.join(given)}")
    config = load_config(input_file(args.bits_config, "--bits-config"))
    inputs = _fidelity_inputs(args, model)
    quantizer = MixedPrecisionAffine(config, model)  # reads the model once to check the config against it
    print(repr(quantizer))
    with atomic_output(output) as temporary:
        report = dataclasses.replace(
            compress_model(model, quantizer, temporary, compare_general_purpose=args.compare_general_purpose),
            path=output)
    print(report)
    _report_fidelity(args, model, output, inputs)
    return 0


def _add_fidelity_arguments(parser) -> None:
    from ..compress.fidelity import DEFAULT_MIN_COSINE, DEFAULT_SAMPLES

    group = parser.add_argument_group("output fidelity (ONNX Runtime: the original vs the restored model)")
    group.add_argument("--data", metavar="FILE.npy|FILE.npz|FOLDER",
                       help=f"sample inputs, samples on axis 0 (the first {DEFAULT_SAMPLES} are run; an image folder "
                            f"is read as RGB 0-1); default: {DEFAULT_SAMPLES} synthetic samples of the model's input "
                            "shapes (uniform [0, 1) floats, seed 0; symbolic dims 1 on axis 0, else 64)")
    group.add_argument("--min-cosine", type=real(minimum=-1, maximum=1), default=DEFAULT_MIN_COSINE,
                       help="warn when an output's cosine similarity to the original's is below this "
                            "(default: %(default)s)")
    group.add_argument("--no-fidelity", action="store_true",
                       help="skip the check (it holds two ONNX Runtime sessions in memory, one at a time: on a large "
                            "model the compression alone needs about half the peak)")
    parser.add_argument("--compare-general-purpose", action="store_true",
                        help="also report the sizes of xz -9e and zstd -19 of the ONNX (slow on large models)")


def _fidelity_inputs(args, model):
    """``--data`` read before compressing, so that a bad file fails before the work."""
    from ..compress.fidelity import DEFAULT_SAMPLES
    from ..datasets import load_calibration_data

    if args.no_fidelity and args.data is not None:
        raise UsageError("--data feeds the fidelity check: drop it with --no-fidelity")
    return None if args.data is None else load_calibration_data(args.data, model=model, limit=DEFAULT_SAMPLES)


def _report_fidelity(args, model, output, inputs) -> None:
    """Print each output's fidelity on the sample inputs; a warning line for each below --min-cosine."""
    import sys

    from ..compress.fidelity import compressed_model_fidelity

    if args.no_fidelity:
        return
    report = compressed_model_fidelity(model, output, inputs, f"--data {args.data}")
    print(report)
    for problem in report.problems(args.min_cosine):  # printed, not warned: a damaged model is no error
        print(f"edgequant compress: warning: {problem}", file=sys.stderr)
