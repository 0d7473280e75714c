"""OpenVINO as the profiler's second peer (optional): FP32 on the ONNX file, INT8 on ONNX Runtime's
QDQ file, which OpenVINO runs in INT8."""

from __future__ import annotations

import importlib.util
import pathlib

from .output_metrics import output_metrics
from .report import failure
from .telemetry import TelemetryError
from .timing import time_runs

__all__ = ["openvino_model", "profile_openvino"]


def openvino_model(path, threads):
    """An OpenVINO CPU compiled model of the ONNX file at ``path``: latency hint, ``threads`` inference
    threads (default: OpenVINO's choice), float32 precision. Raises ImportError when openvino is not installed.

    The precision hint matters: on a CPU with AVX-512 BF16 or AMX, OpenVINO runs a float32 model in
    bfloat16 unless told otherwise (``|Δ|`` ~3e-2 on the digits model), which is not an FP32 comparison."""
    import openvino

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    return openvino.Core().compile_model(str(path), "CPU", config)


def profile_openvino(
    report, fp32_path, qdq_path, input_names, feeds, reference, output_names, threads, runs, warmup, progress, blocks
) -> None:
    """OpenVINO's rows in ``report``: FP32 and static (ONNX Runtime's QDQ file); one row saying it is
    absent when openvino is not installed. ``blocks``: the :class:`~.blocks.TimingBlocks` of the profile."""
    if importlib.util.find_spec("openvino") is None:
        report.runs["openvino"] = {"error": "not installed (pip install openvino to compare with it)", "absent": True}
        return
    for name, path in (("fp32", fp32_path), ("static", qdq_path)):
        try:
            if not pathlib.Path(path).is_file():
                raise FileNotFoundError("ONNX Runtime's QDQ model was not made")
            compiled = openvino_model(path, threads)
            request = compiled.create_infer_request()
            inputs = dict(zip(input_names, feeds, strict=True))

            def run(r=request, i=inputs):
                r.infer(i)
                return [r.get_output_tensor(k).data.copy() for k in range(len(output_names))]

            outputs = run()
            result = blocks.run(lambda r=run, n=name: time_runs(r, runs, warmup, progress, f"openvino {n}"))
            result.update(output_metrics(output_names, reference, outputs, report.batch))
        except TelemetryError:  # --cooldown could not be honoured: the whole profile stops
            raise
        except Exception as error:  # OpenVINO refused the model
            result = failure(error)
        report.runs[f"openvino {name}"] = result
