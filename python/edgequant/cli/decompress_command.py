"""``edgequant decompress``: restore the ONNX model stored in an ``.eqz`` file."""

from __future__ import annotations

from .errors import input_file, output_file


def register(subparsers) -> None:
    parser = subparsers.add_parser("decompress", help="restore an ONNX model from an .eqz file",
                                   description="Decode an .eqz file back into the quantize-dequantized ONNX model.")
    parser.add_argument("eqz", help="the .eqz file")
    parser.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..compress import decompress_model

    source = input_file(args.eqz, "EQZ")
    output = output_file(args.output, "-o/--output")
    model = decompress_model(source)
    output.write_bytes(model.SerializeToString())
    print(f"wrote {output} ({output.stat().st_size:,} bytes)")
    return 0
