"""``.eqz`` against ``xz -9`` on every shared model: the ONNX, its ``.eqz``, and ``xz -9`` of the ``.eqz``.

The ``.eqz`` codes every part (quantized weights with edgequant's rANS coder; graph, biases and
other constants with xz), so ``xz -9`` of the ``.eqz`` should gain almost nothing. Run after
``make setup``::

    .venv/bin/python benchmarks/bench_eqz.py [--levels 256] [--delta 0.7]
"""

from __future__ import annotations

import argparse
import lzma
import pathlib
import sys
import tempfile

from edgequant.compress import compress_model, decompress_model
from edgequant.datasets import shared_data_dir
from edgequant.quantizers import Deadzone
from edgequant.report import format_table


def xz9(data: bytes) -> int:
    """Size after ``xz -9`` (liblzma preset 9)."""
    return len(lzma.compress(data, preset=9))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=256)
    parser.add_argument("--delta", type=float, default=0.7)
    args = parser.parse_args(argv)
    data = shared_data_dir()
    if data is None:
        print("shared data folder not found (set EDGEQUANT_DATA)", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in sorted((data / "models").glob("*.onnx")):
            original = model.read_bytes()
            eqz = pathlib.Path(tmp) / f"{model.stem}.eqz"
            quantizer = Deadzone(args.levels, args.delta, xmax="max")
            compress_model(model, quantizer, eqz)
            decompress_model(eqz)  # it must read back
            packed = eqz.read_bytes()
            rows.append({
                "model": model.name, "ONNX bytes": len(original), "xz -9 ONNX": xz9(original),
                ".eqz bytes": len(packed), "xz -9 .eqz": xz9(packed),
                "ONNX/.eqz": len(original) / len(packed), "xz(ONNX)/.eqz": xz9(original) / len(packed),
                ".eqz/xz(.eqz)": len(packed) / xz9(packed),
            })
    print(f"Deadzone(levels={args.levels}, delta={args.delta}, xmax='max') on conv/gemm weights")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
