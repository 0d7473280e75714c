"""``edgequant profile MODEL.onnx``: latency, throughput, CPU, memory and per-layer time of the engine,
optionally side by side with ONNX Runtime (``--compare``)."""

from __future__ import annotations

import json
import os
import pathlib
import sys

from .argument_types import NumberList, image_size, integer, real
from .errors import output_file
from .output_paths import atomic_output, refuse_output_is_input, with_default_suffix


def register(subparsers) -> None:
    parser = subparsers.add_parser("profile", help="time a model on the edgequant engine (and ONNX Runtime)")
    parser.add_argument("model", type=pathlib.Path, help="ONNX or TensorFlow Lite model file")
    parser.add_argument("--mode", choices=["fp32", "static", "dynamic"], default="fp32")
    parser.add_argument("--method", choices=["minmax", "percentile", "entropy", "mse"], default="minmax",
                        help="static calibration method")
    parser.add_argument("--inputs", type=pathlib.Path,
                        help="inputs to time and compare outputs on: .npy, .npz or a folder of images "
                             "(preprocessed as below)")
    parser.add_argument("--threads", type=integer(minimum=1), default=None, help="threads (default: all cores)")
    parser.add_argument("--runs", type=integer(minimum=1), default=50, help="timed runs after warm-up")
    parser.add_argument("--warmup", type=integer(minimum=0), default=5)
    parser.add_argument("--batch", type=integer(minimum=1), default=1, help="size of the symbolic batch axis")
    parser.add_argument("--layers", type=integer(minimum=0), default=10, help="slowest layers to list (0: none)")
    parser.add_argument("--json", type=pathlib.Path, help="write the results as JSON here")
    parser.add_argument("--csv", type=pathlib.Path, help="write one row per run as CSV here")
    parser.add_argument("--compare", action="store_true",
                        help="also run our three modes and ONNX Runtime FP32 / static QDQ / dynamic")
    parser.add_argument("--plot", metavar="PNG|FOLDER/",
                        help="latency + confidence-shift plot (PNG) to write, .png added to a name without suffix; "
                             "an existing folder, or a path ending in '/', gets FOLDER/MODEL_profile.png "
                             "(default with --compare: MODEL_profile.png)")
    group = parser.add_argument_group("Raspberry Pi (SoC temperature, ARM clock and throttling beside every block)")
    group.add_argument("--cooldown", type=real(above=0, maximum=110), metavar="C",
                       help="before each timing block, wait until the SoC is below C °C (an error where no "
                            "temperature sensor can be read)")
    group.add_argument("--cooldown-timeout", type=real(above=0), default=300.0, metavar="S",
                       help="give up (an error) when the SoC is not below --cooldown after S seconds (default 300)")
    add_calibration_arguments(parser)
    parser.set_defaults(handler=run)


def add_calibration_arguments(parser) -> None:
    """``--calibration`` and the image preprocessing options (shared by commands that calibrate)."""
    group = parser.add_argument_group("calibration data")
    group.add_argument("--calibration", type=pathlib.Path, metavar="FILE.npy|FILE.npz|FOLDER",
                       help="static calibration inputs: an array (samples on axis 0), an .npz (one array per "
                            "input name) or a folder of images; default: 32 uniform [0, 1) samples")
    group.add_argument("--calibration-limit", type=integer(minimum=1), metavar="N",
                       help="use at most N calibration samples")
    group.add_argument("--size", type=image_size, metavar="HxW",
                       help="image resize target, and the height and width of the generated inputs of a model "
                            "taking any image size (default: the model's)")
    group.add_argument("--scale", type=real(above=0), default=1 / 255,
                       help="pixel (0-255) multiplier before mean/std (default 1/255; 1 keeps 0-255)")
    group.add_argument("--mean", type=NumberList(real()), default=(0.0,), metavar="M[,M,M]",
                       help="subtracted after scaling, one value or one per channel (default 0)")
    group.add_argument("--std", type=NumberList(real(above=0)), default=(1.0,), metavar="S[,S,S]",
                       help="divides after the mean, one value or one per channel (default 1)")
    group.add_argument("--channel-order", type=str.upper, choices=["RGB", "BGR"], default="RGB")
    group.add_argument("--layout", type=str.upper, choices=["NCHW", "NHWC"], default="NCHW")


def load_cli_data(path, args, model, limit=None):
    """The arrays a ``--calibration`` / ``--inputs`` path names, preprocessed per the options."""
    from ..datasets.calibration_data import ImagePreprocessing, load_calibration_data

    if path is None:
        return None
    steps = ImagePreprocessing(size=args.size, scale=args.scale, mean=_one_or_many(args.mean),
                               std=_one_or_many(args.std), channel_order=args.channel_order, layout=args.layout)
    return load_calibration_data(path, model=model, preprocessing=steps, limit=limit)


def _one_or_many(values: tuple[float, ...]):
    return values[0] if len(values) == 1 else values


def run(args) -> int:
    from ..profiling import TelemetryError, TimingBlocks, profile

    if not args.model.is_file():
        raise FileNotFoundError(f"no model at {str(args.model)!r}")
    plot = _plot_path(args)
    refuse_output_is_input({"--json": args.json, "--csv": args.csv, "--plot": plot},
                           {"MODEL": args.model, "--inputs": args.inputs, "--calibration": args.calibration})
    for option, path in (("--json", args.json), ("--csv", args.csv)):
        if path is not None:
            output_file(path, option)
    try:  # before any work: a --cooldown this machine cannot honour is refused at once
        blocks = TimingBlocks(cooldown_c=args.cooldown, cooldown_timeout_s=args.cooldown_timeout)
    except TelemetryError as error:
        print(f"edgequant profile: error: {error}", file=sys.stderr)
        return 1
    if plot is not None:
        inside_a_folder = args.plot is not None and plot.parent != pathlib.Path(args.plot).parent
        output_file(plot, "--plot", create_folder=inside_a_folder)
    calibration = load_cli_data(args.calibration, args, args.model, args.calibration_limit)
    inputs = load_cli_data(args.inputs, args, args.model)
    try:
        report = profile(args.model, mode=args.mode, threads=args.threads, runs=args.runs, warmup=args.warmup,
                         batch=args.batch, size=args.size, method=args.method, compare=args.compare, progress=True,
                         calibration=calibration, inputs=inputs, blocks=blocks)
    except (ValueError, TypeError, FileNotFoundError):
        raise
    except Exception as error:  # the engine or a library refused the model: one line, not a traceback
        print(f"edgequant profile: error: {type(error).__name__}: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    print(report.table())
    problems = sorted({p for r in report.runs.values() for p in r.get("telemetry_problems", [])})
    if problems:
        print("\nSoC readings incomplete: " + "; ".join(problems))
    if any(len(r.get("outputs", {})) > 1 for r in report.runs.values()):
        print("\nper output:\n" + report.output_table())
    for name, result in report.runs.items():
        if args.layers and result.get("layers"):
            print(f"\n{name}: slowest layers (ms per run)")
            for layer in result["layers"][:args.layers]:
                print(f"  {layer['op']:<20}{layer['name'][:48]:<50}{layer['ms']:8.3f}")
    if plot:
        with atomic_output(plot) as temporary:
            report.plot(temporary)
        print(f"\nplot: {plot}")
    if args.json:
        with atomic_output(args.json) as temporary:
            temporary.write_text(json.dumps(report.to_dict(), indent=2))
    if args.csv:
        with atomic_output(args.csv) as temporary:
            temporary.write_text(report.csv())
    return 0


def _plot_path(args) -> pathlib.Path | None:
    """The PNG ``--plot`` names: a file path as given; an existing folder or a path ending in ``/`` gets
    ``MODEL_profile.png`` inside (created if missing); without ``--plot``, ``--compare`` writes it here."""
    name = f"{args.model.stem}_profile.png"
    if args.plot is None:
        return pathlib.Path(name) if args.compare else None
    given = pathlib.Path(args.plot)
    return given / name if given.is_dir() or args.plot.endswith(("/", os.sep)) else with_default_suffix(given, ".png")
