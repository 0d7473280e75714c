"""The engine's outputs on every shared model and every ``zoo.architectures`` graph, in FP32, static and
dynamic INT8, on fixed inputs — to check that a change leaves them bit-identical (run it before and
after, then compare the two files).

Usage::

    PYTHONPATH=python python scripts/engine_output_digest.py OUT.npz [--backend NAME] [--size 96]
    python scripts/engine_output_digest.py --compare BEFORE.npz AFTER.npz

Inputs uniform in [0, 1) (seed 0), static INT8 calibrated (minmax) on 4 more such inputs; the
architectures at ``--size`` pixels (default 96: every graph's downsampling still applies), random
weights (seed 0). A model the engine cannot load is reported and skipped.
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile

import numpy as np


def _models(size: int):
    from edgequant.datasets import shared_data_dir
    from edgequant.zoo import architectures

    shared = shared_data_dir()
    if shared is not None:
        for path in sorted((shared / "models").glob("*.onnx")):
            yield path.stem, path
    folder = pathlib.Path(tempfile.mkdtemp())
    for name in sorted(architectures.ARCHITECTURES):
        path = folder / f"{name}.onnx"
        path.write_bytes(architectures.build(name, input_size=size).SerializeToString())
        yield name, path


def _inputs(engine, count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = [d if d > 0 else 1 for d in engine._native.inputs[0][2]]
    return [rng.random(shape, dtype=np.float32) for _ in range(count)]


def digest(out: pathlib.Path, backend: str | None, size: int) -> None:
    from edgequant import Engine

    results = {}
    for name, path in _models(size):
        try:
            probe = Engine(str(path), backend=backend)
        except (ValueError, RuntimeError) as error:
            print(f"{name}: skipped ({str(error)[:100]})")
            continue
        if len(probe.input_names) != 1:
            print(f"{name}: skipped ({len(probe.input_names)} inputs)")
            continue
        x = _inputs(probe, 1, 0)[0]
        calibration = np.concatenate(_inputs(probe, 4, 1))
        for mode in ("fp32", "static", "dynamic"):
            engine = Engine(str(path), mode=mode, backend=backend, calibration_batch_size=1,
                            calibration=calibration if mode == "static" else None)
            for k, y in enumerate(engine.run(x)):
                results[f"{name}/{mode}/{k}"] = y
        print(f"{name}: {len(probe.output_names)} output(s)", flush=True)
    np.savez(out, **results)


def compare(before: pathlib.Path, after: pathlib.Path) -> None:
    a, b = np.load(before), np.load(after)
    for key in sorted(set(a.files) | set(b.files)):
        if key not in a.files or key not in b.files:
            print(f"{key}: only in {'after' if key in b.files else 'before'}")
            continue
        x, y = a[key], b[key]
        if x.shape != y.shape:
            print(f"{key}: shape {x.shape} -> {y.shape}")
        elif np.array_equal(x, y, equal_nan=True):
            print(f"{key}: identical")
        else:
            scale = max(float(np.abs(x).max()), 1e-30)
            line = (f"{key}: max |diff| {np.abs(x - y).max():.3g} ({np.abs(x - y).max() / scale:.2g} of max |x|), "
                    f"{np.mean(x != y):.1%} of values differ")
            fp32 = key.replace("/static/", "/fp32/").replace("/dynamic/", "/fp32/")
            if fp32 != key and fp32 in a.files and fp32 in b.files:  # INT8's distance to FP32, before and after
                line += f"; cosine to FP32 {_cosine(x, a[fp32]):.5f} -> {_cosine(y, b[fp32]):.5f}"
            print(line)


def _cosine(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x.astype(np.float64).ravel(), y.astype(np.float64).ravel()
    return float(x @ y / max(np.linalg.norm(x) * np.linalg.norm(y), 1e-300))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=pathlib.Path)
    parser.add_argument("--backend")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--compare", nargs=2, type=pathlib.Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
    elif args.out:
        digest(args.out, args.backend, args.size)
    else:
        parser.error("give OUT.npz or --compare BEFORE AFTER")


if __name__ == "__main__":
    main()
