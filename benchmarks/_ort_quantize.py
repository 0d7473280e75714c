"""ONNX Runtime's quantize_static file of a model, as the benchmarks build it (one recipe for
bench_engine.py, bench_qdq.py and bench_pypi_models.py): opset lifted to 13 where older (per-channel
DequantizeLinear needs it), ``quant_pre_process`` first where it succeeds (BN folding, shape inference),
per-channel s8 weights, u8 activations, minmax over ``calibration`` one sample at a time
(``calibration``: input name -> samples on axis 0, or a list of full feeds, one per run)."""

from __future__ import annotations

import pathlib

import onnx
import onnx.version_converter


def ort_quantized(
    path: pathlib.Path, calibration: dict, folder: pathlib.Path, quant_format: str = "QDQ"
) -> pathlib.Path:
    """The quantized file of ``path`` in ``folder`` (``quant_format``: "QDQ" or "QOperator")."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            if isinstance(calibration, list):  # one full feed per run (inputs without a batch axis)
                self.batches = iter(calibration)
                return
            count = len(next(iter(calibration.values())))
            self.batches = iter([{k: v[i:i + 1] for k, v in calibration.items()} for i in range(count)])

        def get_next(self):
            return next(self.batches, None)

    model = onnx.load(str(path))
    if min(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
        path = folder / f"{path.stem}_opset13.onnx"
        onnx.save(onnx.version_converter.convert_version(model, 13), str(path))
    prepared, target = folder / f"{path.stem}_prepared.onnx", folder / f"{path.stem}_{quant_format}.onnx"
    sources = [path]
    try:
        quant_pre_process(str(path), str(prepared), skip_symbolic_shape=True)
        sources.insert(0, prepared)
    except Exception:  # noqa: BLE001 - pre-processing is an optimisation
        pass
    for k, source in enumerate(sources):
        try:
            quantize_static(str(source), str(target), Reader(), quant_format=getattr(QuantFormat, quant_format),
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            return target
        except Exception:  # noqa: BLE001 - ORT's quantizer fails on some pre-processed models
            if k == len(sources) - 1:
                raise
    raise AssertionError("unreachable")
