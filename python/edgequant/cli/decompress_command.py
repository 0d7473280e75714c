"""``edgequant decompress``: restore the ONNX model stored in an ``.eqz`` file."""

from __future__ import annotations

from .errors import input_file, output_file
from .output_paths import atomic_output, refuse_output_is_input


def register(subparsers) -> None:
    parser = subparsers.add_parser("decompress", help="restore an ONNX model from an .eqz file",
                                   description="Decode an .eqz file back into the quantize-dequantized ONNX model.")
    parser.add_argument("eqz", help="the .eqz file")
    parser.add_argument("-o", "--output", required=True, help="the .onnx file to write (not the .eqz itself)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..compress import decompress_model

    source = input_file(args.eqz, "EQZ")
    output = output_file(args.output, "-o/--output")
    refuse_output_is_input({"-o/--output": output}, {"EQZ": source})
    model = decompress_model(source)
    with atomic_output(output) as temporary:
        temporary.write_bytes(model.SerializeToString())
    print(f"wrote {output} ({output.stat().st_size:,} bytes)")
    return 0
