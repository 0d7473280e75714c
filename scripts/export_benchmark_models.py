"""Writes the full-size random-weight architectures the engine benchmark runs to
build/benchmark-models/<name>.onnx (ignored by git): ResNet-18/50, MobileNetV2, SqueezeNet 1.1,
ShuffleNetV2 and EfficientNet-lite0 at 224x224 (1000 classes), YOLOv8n at 640x640 (80 classes).

    .venv/bin/python scripts/export_benchmark_models.py [--out build/benchmark-models] [--force]
"""

from __future__ import annotations

import argparse
import pathlib

import onnx

from edgequant.zoo import architectures

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "build" / "benchmark-models"
MODELS = {name: architectures.DEFAULT_INPUT_SIZE[name] for name in architectures.ARCHITECTURES}


def export(out_dir=DEFAULT_DIR, names=None, force=False) -> list[pathlib.Path]:
    """Builds the models that are missing (all with ``force``); returns their paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names or MODELS:
        path = out_dir / f"{name}.onnx"
        model = architectures.build(name, input_size=MODELS[name], seed=0)
        if force or not path.is_file() or path.read_bytes() != model.SerializeToString():  # stale: rebuilt
            onnx.checker.check_model(model)
            onnx.save(model, str(path))
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(DEFAULT_DIR))
    parser.add_argument("--force", action="store_true", help="rebuild models that already exist")
    args = parser.parse_args()
    for path in export(args.out, force=args.force):
        print(f"{path}  {path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
