"""Peak memory of static calibration against the FP32 session's: YOLOv8n
(``edgequant.zoo.architectures``), calibrated on coco128 images (random data without the shared
data folder) by a range method, each measurement in a fresh process.

``fp32 peak``: the high-water mark above the process's RSS before the session (libraries and the
calibration images already loaded) while building an FP32 session and running it on one image 3
times. ``calibration peak``: the same for ``Engine(mode="static", calibration=images,
method=...)`` (parsing, the FP32 calibration runs, the ranges, quantization) and 3 runs. The
target (issue 10): calibration peak < 2x the FP32 peak, whatever the number of images.

    .venv/bin/python benchmarks/bench_calibration_memory.py [--images 64] [--method entropy]
                                                            [--input-size 640] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _measure import status_kib


def _images(count: int, size: int):
    """coco128 images resized to size x size, RGB in [0, 1] (YOLOv8's input), NCHW float32, used in
    turn when there are fewer than ``count``; random images without the shared data folder."""
    import numpy as np

    from edgequant.datasets import shared_data_dir

    try:
        from PIL import Image

        files = sorted((shared_data_dir() / "coco128" / "images").rglob("*.jpg"))[:count]
    except Exception:  # no shared data folder
        files = []
    if not files:
        return np.random.default_rng(0).random((count, 3, size, size), dtype=np.float32), "random images"
    images = [np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.BILINEAR), np.float32) / 255
              for f in files]
    batch = np.stack([images[k % len(images)] for k in range(count)]).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch), f"calibration images ({len(files)} coco128 images in turn)"


def measure(mode: str, images: int, method: str, size: int, threads: int) -> dict:
    """In the child process: one session, its peak above the baseline in MiB."""
    import gc

    import numpy as np

    from edgequant import Engine
    from edgequant.engine.session import _native
    from edgequant.zoo import architectures

    _native()
    model = architectures.build("yolov8n", input_size=size).SerializeToString()
    calibration, source = _images(images, size)
    x = np.ascontiguousarray(calibration[:1])
    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets VmHWM to the current RSS
    base = status_kib("VmRSS:")
    if mode == "fp32":
        engine = Engine(model, threads=threads)
    else:
        engine = Engine(model, mode="static", calibration=calibration, method=method, threads=threads,
                        calibration_batch_size=1)
    for _ in range(3):
        engine.run(x)
    return {"peak_mib": (status_kib("VmHWM:") - base) / 1024, "data": source}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--method", default="entropy")
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.images, args.method, args.input_size, args.threads)))
        return
    peaks = {}
    for mode in ("fp32", "static"):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--images", str(args.images), "--method",
                              args.method, "--input-size", str(args.input_size), "--threads", str(args.threads)],
                             check=True, capture_output=True, text=True, env=dict(os.environ)).stdout
        peaks[mode] = json.loads(out.strip().splitlines()[-1])
    fp32, static = peaks["fp32"]["peak_mib"], peaks["static"]["peak_mib"]
    print(f"YOLOv8n {args.input_size}x{args.input_size}, {args.images} {peaks['static']['data']}, "
          f"method {args.method}, {args.threads} thread(s)")
    print(f"fp32 peak {fp32:.1f} MiB | calibration peak {static:.1f} MiB | ratio {static / fp32:.2f} "
          f"(target < 2)")


if __name__ == "__main__":
    main()
