"""Export a fixed set of models with export-c and print one SHA-256 per generated file, so a change
to the exporter's code generation can be checked for byte-identical output (run it before and after,
then ``diff`` the two listings or the two output folders).

Usage: ``PYTHONPATH=python python scripts/export_c_digest.py OUT_DIR [--data ../shared/data]``.
Exported: the MLPerf Tiny models (plain and ``--coded-weights``), two ONNX models (fixed random
calibration inputs, seed 0) and the packaged digits CNN (plain and coded); a missing model file is
reported and skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib
import sys

import numpy as np

TFLITE = ("tflite/pretrainedResnet_quant.tflite", "tflite/vww_96_int8.tflite", "tflite/kws_ref_model.tflite")
ONNX = {"models/mnist-8.onnx": (1, 28, 28), "models/cifar10_tutorial_cnn.onnx": (3, 32, 32)}


def _exports(data: pathlib.Path):
    for name in TFLITE:
        for coded in (False, True):
            yield data / name, None, coded
    for name, shape in ONNX.items():
        calibration = np.random.default_rng(0).random((16, *shape), np.float32)
        yield data / name, calibration, False
    from edgequant import zoo  # the packaged digits CNN, calibrated on its own test images

    x, _ = zoo.load_test_set()
    for coded in (False, True):
        yield zoo.model_path(), x[:100], coded


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--data", type=pathlib.Path, default=pathlib.Path("../shared/data"))
    args = parser.parse_args(argv)
    from edgequant.microcontroller import export_c

    for model, calibration, coded in _exports(args.data):
        if not model.is_file():
            print(f"missing {model}", file=sys.stderr)
            continue
        target = args.out / (model.stem + ("-coded" if coded else ""))
        export_c(model, target, calibration=calibration, coded_weights=coded)
        for path in sorted(target.iterdir()):
            print(hashlib.sha256(path.read_bytes()).hexdigest(), f"{target.name}/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
