"""ONNX Runtime as the profiler's peer: its FP32 session, and its own static (QDQ) and dynamic
quantization of the same model on the same calibration data."""

from __future__ import annotations

import logging
import pathlib
import platform

import numpy as np

__all__ = ["int8_kernels_saturate", "ort_session", "quantized_model", "typed_for"]


def int8_kernels_saturate() -> bool:
    """Whether ONNX Runtime's INT8 kernels (QLinearConv, ConvInteger, fused QDQ) lose sums on this
    CPU: x86 without VNNI (AVX512-VNNI, AVX-VNNI or AMX) adds pairs of u8·s8 products in saturating
    16 bits (``vpmaddubsw``), so its ``quantize_static`` / ``quantize_dynamic`` output with full 8-bit
    weights can be far off there. (edgequant's engine quantizes weights on 7 bits on such CPUs.)"""
    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        with open("/proc/cpuinfo") as info:
            flags = info.read()
    except OSError:
        return False
    return not any(f" {flag}" in flags for flag in ("avx512_vnni", "avx_vnni", "amx_int8"))


def ort_session(
    model_path: str,
    mode: str,
    calibration: list[np.ndarray] | None,
    input_names: list[str],
    batch: int | None,
    threads,
    folder: str,
):
    """An ONNX Runtime CPU session of the model in ``mode`` (``fp32``, ``static``, ``dynamic``); the
    quantized files are written to ``folder``. Static without ``calibration`` (None): the model is
    quantized already (QDQ), and ORT runs it as it is."""
    import onnxruntime as ort

    path = model_path
    if mode == "dynamic" or (mode == "static" and calibration is not None):
        # ORT's quantizer logs a warning per tensor through the root logger: quiet while it runs.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            path = quantized_model(path, mode, calibration, input_names, batch, folder)
        finally:
            root.setLevel(level)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: not a warning per initializer listed as an input
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def quantized_model(
    path: str, mode: str, calibration: list[np.ndarray], input_names: list[str], batch: int | None, folder: str
) -> str:
    """ORT's quantize_static (QDQ, per-channel s8 weights, u8 activations) or quantize_dynamic;
    calibration runs in batches of the model's fixed batch size (one sample when symbolic)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    target = str(pathlib.Path(folder) / f"{mode}.onnx")
    path = _at_qdq_opset(path, folder)
    if mode == "static":
        calibration = _typed_like_model_inputs(path, input_names, calibration)
        step = batch or 1
        count = calibration[0].shape[0]
        feeds = []
        for start in range(0, count, step):
            rows = np.arange(start, start + step) % count
            feeds.append({name: array[rows] for name, array in zip(input_names, calibration, strict=True)})
        batches = iter(feeds)

        class Reader(CalibrationDataReader):
            def get_next(self):
                return next(batches, None)

        quantize_static(
            path,
            target,
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    else:
        quantize_dynamic(path, target, weight_type=QuantType.QInt8)
    return target


def _at_qdq_opset(path: str, folder: str) -> str:
    """The model converted to opset 13 when older: ORT's quantizers only raise the opset number,
    and the file they write is then refused (or they fail on old node forms)."""
    import onnx

    from ..model.qdq import QDQ_OPSET, converted_for_qdq

    model = onnx.load(path)
    if all(o.version >= QDQ_OPSET for o in model.opset_import if o.domain in ("", "ai.onnx")):
        return path
    converted = str(pathlib.Path(folder) / "converted.onnx")
    onnx.save(converted_for_qdq(model), converted)
    return converted


def _typed_like_model_inputs(path: str, input_names: list[str], arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Calibration arrays in the element types the model's inputs declare (float16 models)."""
    import onnx
    from onnx import helper

    model = onnx.load(path, load_external_data=False)
    declared = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    typed = []
    for name, array in zip(input_names, arrays, strict=True):
        elem = declared.get(name, 0)
        typed.append(array.astype(helper.tensor_dtype_to_np_dtype(elem)) if elem else array)
    return typed


def typed_for(session, feeds: dict) -> dict:
    """The feeds in the element types the session declares (float16 models take float16)."""
    types = {"tensor(float16)": np.float16, "tensor(double)": np.float64, "tensor(int32)": np.int32}
    declared = {i.name: types.get(i.type) for i in session.get_inputs()}
    return {name: value.astype(declared[name]) if declared.get(name) else value for name, value in feeds.items()}
