"""``edgequant export-c``: a .tflite (int8) or .onnx model as C99 sources for a microcontroller."""

from __future__ import annotations

import pathlib

import numpy as np

from .argument_types import real
from .output_paths import atomic_folder_output, refuse_output_is_input


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-c", help="write a model as C99 (model.h, model.c, the int8 runtime) for a microcontroller",
        description="Write model.h / model.c and the integer-only C99 runtime into DIR, so that "
                    "`cc -std=c99 DIR/*.c app.c` builds a program calling edgequant_invoke(input, output). "
                    "A .tflite model must be int8; an .onnx model is quantized to static INT8 first.")
    parser.add_argument("model", help="the .tflite or .onnx model")
    parser.add_argument("-o", "--output", required=True,
                        help="folder to write (created if missing); each file is replaced only once the export "
                             "succeeded")
    parser.add_argument("--calibration", help="ONNX only: .npy or .npz of float inputs (batch on axis 0)")
    parser.add_argument("--method", default="minmax", help="ONNX only: calibration method (default minmax)")
    parser.add_argument("--flash-kb", type=real(above=0), help="fail if the model's constants exceed N KB of flash")
    parser.add_argument("--ram-kb", type=real(above=0), help="fail if the activation arena exceeds N KB of RAM")
    parser.add_argument("--coded-weights", action="store_true",
                        help="store weights rANS-coded; each layer's are decoded into the arena before it runs")
    parser.set_defaults(handler=run)


def _calibration(path):
    if path is None:
        return None
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no calibration file at {str(path)!r}")
    if path.suffix == ".npz":
        with np.load(path) as archive:
            if not archive.files:
                raise ValueError(f"{str(path)!r} holds no arrays")
            return archive[archive.files[0]]
    if path.suffix == ".npy":
        return np.load(path)
    raise ValueError(f"calibration data must be a .npy or .npz file, not {path.suffix!r}")


def _files_an_export_writes() -> list[str]:
    """Every file name an export may write into its folder (the runtime's files with the rANS decoder)."""
    from ..microcontroller.runtime_sources import runtime_files

    return [source.name for source in runtime_files(coded_weights=True)] + ["model.h", "model.c"]


def run(args) -> int:
    from ..microcontroller import export_c

    names = _files_an_export_writes()
    folder = pathlib.Path(args.output)
    refuse_output_is_input({"-o/--output": folder, "-o/--output folder's": [folder / name for name in names]},
                           {"MODEL": args.model, "--calibration": args.calibration})
    calibration = _calibration(args.calibration)
    # written into a temporary folder first: a refused model or a budget overrun leaves the folder as it was,
    # and files of an earlier export this one does not write (the rANS decoder) are removed
    with atomic_folder_output(folder, stale=names) as temporary:
        report = export_c(args.model, temporary, calibration=calibration, method=args.method,
                          flash_kb=args.flash_kb, ram_kb=args.ram_kb, coded_weights=args.coded_weights)
    graph = report.graph
    print(f"wrote {len(report.files)} files to {folder}: {len(graph.layers)} layers, "
          f"input {graph.input_activation.size} int8, output {graph.output_activation.size} int8")
    print(f"arena {report.arena_bytes:,} B RAM; constants {report.weight_bytes:,} B flash"
          + (f" (plain: {report.plain_weight_bytes:,} B)" if args.coded_weights else ""))
    if args.coded_weights:
        print(f"coded weights: {report.coded_layers} layer(s) coded" if report.coded_layers else
              "coded weights: no layer's weights code small enough to pay for the decoder; stored plainly")
    return 0
