"""Winograd F(4x4, 3x3) against oneDNN's direct convolution and ONNX Runtime, one conv at a time.

Each case is a one-node model, Conv 3x3 (pads 1) + SiLU, at a shape from YOLOv8n / ResNet / SqueezeNet.
Three runtimes in interleaved rounds, same process, same thread count: our engine with its Winograd
kernel where the rule picks it (backend/onednn/winograd_conv.cpp), our engine built with
EDGEQUANT_WINOGRAD=0 (oneDNN's direct brgconv), and ONNX Runtime (MLAS). Ratios > 1: Winograd faster.
The "winograd" column says whether the rule picked it for that shape (outputs differ from direct).

    .venv/bin/python benchmarks/bench_winograd.py [--threads 1] [--runs 30] [--cpu-time]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import interleaved_ms, ort_session, written_models  # noqa: E402

from edgequant import Engine  # noqa: E402

CASES = [  # in channels, out channels, size (output = input: stride 1, pads 1)
    (16, 16, 160),
    (32, 32, 80),
    (64, 64, 80),
    (64, 80, 80),
    (80, 80, 80),
    (64, 64, 40),
    (128, 128, 20),
    (256, 256, 20),
    (48, 192, 13),
    (64, 256, 13),
    (128, 128, 28),
    (256, 256, 14),
]


def conv_silu(ic: int, oc: int, size: int) -> bytes:
    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((oc, ic, 3, 3)) / np.sqrt(9 * ic)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", ["c", "s"], ["y"])]
    bias = rng.standard_normal(oc).astype(np.float32)
    inits = [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "B")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ic, size, size])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, oc, size, size])]
    graph = helper.make_graph(nodes, "conv", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def engine(model: bytes, threads: int, winograd: bool, x: np.ndarray) -> Engine:
    # The switch is read when the kernel is built: on the first run.
    previous = os.environ.pop("EDGEQUANT_WINOGRAD", None)
    if not winograd:
        os.environ["EDGEQUANT_WINOGRAD"] = "0"
    try:
        built = Engine(model, threads=threads, backend="onednn")
        built.run(x)
    finally:
        os.environ.pop("EDGEQUANT_WINOGRAD", None)
        if previous is not None:
            os.environ["EDGEQUANT_WINOGRAD"] = previous
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cpu-time", action="store_true", help="time by the process's CPU time (one thread)")
    args = parser.parse_args()
    print(f"threads {args.threads}; median of {args.runs} interleaved rounds (ms); ratio = other / winograd")
    print(f"{'ic':>4} {'oc':>4} {'size':>5} {'winograd':>9} {'ours':>8} {'direct':>8} {'ORT':>8} {'direct/ours':>12} "
          f"{'ORT/ours':>9}")
    for (ic, oc, size), model, path in written_models(CASES, conv_silu):
        x = np.random.default_rng(1).standard_normal((1, ic, size, size)).astype(np.float32)
        ours, direct = engine(model, args.threads, True, x), engine(model, args.threads, False, x)
        picked = not np.array_equal(ours.run(x)[0], direct.run(x)[0])
        session = ort_session(path, args.threads)
        runners = {"ours": lambda e=ours, x=x: e.run(x), "direct": lambda e=direct, x=x: e.run(x),
                   "ort": lambda s=session, x=x: s.run(None, {"x": x})}
        t = interleaved_ms(runners, args.runs, cpu_time=args.cpu_time)
        print(f"{ic:>4} {oc:>4} {size:>5} {'yes' if picked else 'no':>9} {t['ours']:8.3f} {t['direct']:8.3f} "
              f"{t['ort']:8.3f} {t['direct'] / t['ours']:12.2f} {t['ort'] / t['ours']:9.2f}")


if __name__ == "__main__":
    main()
