"""LSTM, GRU and ConvTranspose on the engine against ONNX Runtime (issue #21), one thread each.

Single-node models with random weights: median latency of the engine (reference backend: the plain
loops; default backend) and of ONNX Runtime in interleaved rounds, and the ratio engine / ORT
(< 1: we are faster). ``--silero`` also runs Silero VAD ONNX files (from the silero-vad wheel:
``pip download --no-deps silero-vad -d DIR`` and unzip; its models hold an LSTM) over 20 audio
chunks with the recurrent state fed back, printing the largest output difference from ONNX Runtime.

    .venv/bin/python benchmarks/bench_recurrent_ops.py [--runs 30] [--cpu-time]
        [--silero DIR/silero_vad/data/silero_vad_16k_op15.onnx ...]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
import onnxruntime as ort  # noqa: E402
from _measure import interleaved_ms, ort_session  # noqa: E402

from edgequant import Engine  # noqa: E402

RNG = np.random.default_rng(21)
GATES = {"LSTM": 4, "GRU": 3}


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape) * 0.1, np.float32)  # keeps 100 GRU steps from amplifying rounding


def _model(node, x_shape, inits):
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model.SerializeToString(), {"x": _normal(*x_shape)}


def recurrent(op_type, seq, batch, size, direction="forward"):
    dirs = 2 if direction == "bidirectional" else 1
    gh = GATES[op_type] * size
    inits = {"w": _normal(dirs, gh, size), "r": _normal(dirs, gh, size), "b": _normal(dirs, 2 * gh)}
    node = helper.make_node(op_type, ["x", "w", "r", "b"], ["y"], hidden_size=size, direction=direction)
    return _model(node, (seq, batch, size), inits)


def conv_transpose(x_shape, w_shape, **attributes):
    inits = {"w": _normal(*w_shape), "b": _normal(w_shape[1])}
    return _model(helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attributes), x_shape, inits)


CASES = {
    "LSTM 128, seq 1, batch 1": lambda: recurrent("LSTM", 1, 1, 128),
    "LSTM 128, seq 100, batch 1": lambda: recurrent("LSTM", 100, 1, 128),
    "LSTM 128, seq 100, batch 8, bidirectional": lambda: recurrent("LSTM", 100, 8, 128, "bidirectional"),
    "GRU 128, seq 100, batch 8": lambda: recurrent("GRU", 100, 8, 128),
    "ConvTranspose 64->32, 32x32, k4 s2 p1": lambda: conv_transpose(
        (1, 64, 32, 32), (64, 32, 4, 4), strides=[2, 2], pads=[1, 1, 1, 1]
    ),
    "ConvTranspose 1-D 16->16, 1000, k8 s4": lambda: conv_transpose((1, 16, 1000), (16, 16, 8), strides=[4]),
}


def bench_ops(runs, cpu_time):
    print("| case | engine reference ms | engine default ms | ORT ms | default / ORT | max abs diff |")
    print("|---|---|---|---|---|---|")
    for label, make in CASES.items():
        model, feeds = make()
        ref, fast = Engine(model, backend="reference", threads=1), Engine(model, threads=1)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        diff = float(np.abs(fast.run(feeds)[0] - session.run(None, feeds)[0]).max())
        runners = {
            "ref": lambda ref=ref, feeds=feeds: ref.run(feeds),
            "fast": lambda fast=fast, feeds=feeds: fast.run(feeds),
            "ort": lambda session=session, feeds=feeds: session.run(None, feeds),
        }
        ms = interleaved_ms(runners, runs, cpu_time=cpu_time)
        print(
            f"| {label} | {ms['ref']:.3f} | {ms['fast']:.3f} | {ms['ort']:.3f} | "
            f"{ms['fast'] / ms['ort']:.2f} | {diff:.1e} |"
        )


def bench_silero(path, runs, cpu_time, chunks=20):
    """Silero VAD: 512 samples (+ 64 of context) a chunk at 16 kHz, the state fed back."""
    model = onnx.load(path)
    names = [i.name for i in model.graph.input]
    engine, session = Engine(path, threads=1), ort_session(path, 1)
    state_e = state_o = np.zeros((2, 1, 128), np.float32)
    t = np.arange(576 * chunks) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) * (t > 0.25) + 0.05 * RNG.standard_normal(t.size)).astype(np.float32)
    worst = 0.0
    for c in range(chunks):
        chunk = audio[c * 576 : (c + 1) * 576][None, :]
        feeds_e = {"input": chunk, "state": state_e, "sr": np.array(16000, np.int64)}
        feeds_o = {"input": chunk, "state": state_o, "sr": np.array(16000, np.int64)}
        feeds_e = {k: v for k, v in feeds_e.items() if k in names}
        feeds_o = {k: v for k, v in feeds_o.items() if k in names}
        got, expected = engine.run(feeds_e), session.run(None, feeds_o)
        worst = max(worst, *(float(np.abs(g - e).max()) for g, e in zip(got, expected, strict=True)))
        state_e, state_o = got[1], expected[1]
    ms = interleaved_ms(
        {"fast": lambda: engine.run(feeds_e), "ort": lambda: session.run(None, feeds_o)}, runs, cpu_time=cpu_time
    )
    print(
        f"| {os.path.basename(path)} | {worst:.1e} over {chunks} chunks | {ms['fast']:.3f} | {ms['ort']:.3f} | "
        f"{ms['fast'] / ms['ort']:.2f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cpu-time", action="store_true", help="process CPU time instead of wall time")
    parser.add_argument("--silero", nargs="*", default=[], help="Silero VAD .onnx files (input, state, sr)")
    args = parser.parse_args()
    bench_ops(args.runs, args.cpu_time)
    if args.silero:
        print("\n| Silero VAD model | max abs diff from ORT | engine ms / chunk | ORT ms / chunk | engine / ORT |")
        print("|---|---|---|---|---|")
        for path in args.silero:
            bench_silero(path, args.runs, args.cpu_time)


if __name__ == "__main__":
    main()
