"""Profiling the engine (and ONNX Runtime and OpenVINO as its peers): latency, throughput, CPU,
memory, and how far INT8 moves the outputs — the measurements of SPEC §6 (static vs dynamic PTQ)."""

from __future__ import annotations

import pathlib
import resource
import tempfile

from ..engine.session import MODES, Engine, _model_source
from .blocks import TimingBlocks
from .onnxruntime_peer import ort_session, typed_for
from .openvino_peer import profile_openvino
from .output_metrics import output_metrics
from .report import ProfileReport, failure
from .telemetry import TelemetryError
from .timing import random_inputs, rss_mib, settled_rss_mib, time_runs

__all__ = ["DEFAULT_CALIBRATION_SAMPLES", "profile"]

#: Samples of the generated calibration data when none is given (``--help`` promises them).
DEFAULT_CALIBRATION_SAMPLES = 32


def profile(
    model,
    mode: str = "fp32",
    threads: int | None = None,
    runs: int = 50,
    warmup: int = 5,
    batch: int = 1,
    size: tuple[int, int] | None = None,
    calibration=None,
    method: str = "minmax",
    compare: bool = False,
    inputs=None,
    progress: bool = False,
    cooldown: float | None = None,
    cooldown_timeout: float = 300.0,
    blocks: TimingBlocks | None = None,
) -> ProfileReport:
    """Time a model on the engine — in one mode, or (``compare``) in all three beside ONNX Runtime's
    FP32, static QDQ (``quantize_static``) and dynamic (``quantize_dynamic``) on the same inputs.

    With ``compare``, a session that fails to build or run (ours or ONNX Runtime's) keeps its row
    with the reason (``{"error": ...}``) and the other measurements stand.

    Parameters
    ----------
    model : path-like
        ONNX or TensorFlow Lite file (the peers run a ``.tflite`` model's ONNX form, as the engine does).
    mode : {"fp32", "static", "dynamic"}
    threads : int, optional
        Threads for both engines (default: all cores).
    runs, warmup : int
        Timed runs after ``warmup`` untimed ones.
    batch : int
        Size of the symbolic batch axis of the generated inputs.
    size : (int, int), optional
        (height, width) of an image input's symbolic spatial dims, for the generated inputs (a model
        exported with dynamic image sizes); without it such a model needs ``inputs``.
    calibration : array, list of arrays or dict name -> array, optional
        Static calibration inputs (samples on axis 0, any count: a model with a fixed batch size
        runs them in batches of it); default 32 uniform [0, 1) samples — pass real data
        (:func:`edgequant.datasets.load_calibration_data`) for meaningful static accuracy.
    method : {"minmax", "percentile", "entropy", "mse"}
    compare : bool
    inputs : array, list of arrays or dict, optional
        Inputs to time and to compare outputs on (default: uniform [0, 1) of the model's shape).
    progress : bool
        Progress bars over the timed runs.
    cooldown : float, optional
        Before each timing block, wait until the SoC is below this temperature (°C); raises
        :class:`~edgequant.profiling.telemetry.TelemetryError` at once where no temperature can be
        read, and :class:`~edgequant.profiling.blocks.CooldownTimeout` after ``cooldown_timeout`` s.
    cooldown_timeout : float
        Seconds to wait for ``cooldown`` before each block.
    blocks : TimingBlocks, optional
        What happens around each timing block (default: this machine's telemetry, recorded on a
        Raspberry Pi only, and ``cooldown``); tests pass one over a fake ``/sys`` tree.
    """
    path = pathlib.Path(model)
    if not path.is_file():
        raise FileNotFoundError(f"no model at {str(path)!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if runs < 1 or batch < 1 or warmup < 0:
        raise ValueError("runs and batch must be >= 1 and warmup >= 0")
    if size is not None and (len(size) != 2 or any(int(v) != v or v < 1 for v in size)):
        raise ValueError(f"size must be (height, width), two positive integers, got {size!r}")
    if blocks is None:
        blocks = TimingBlocks(cooldown_c=cooldown, cooldown_timeout_s=cooldown_timeout)
    probe = Engine(path, mode="fp32", threads=threads)  # the reference outputs (a quantized file: its float semantics)
    feeds = probe._prepare(inputs) if inputs is not None else random_inputs(probe, batch, size=size)
    if probe.carries_quantization:
        calibration = None  # static INT8 runs the file's own scales and zero points
    elif calibration is None:
        calibration = random_inputs(probe, batch, seed=1, samples=DEFAULT_CALIBRATION_SAMPLES, size=size)
    if calibration is not None:
        calibration = probe._prepare(calibration)
    reference = probe.run(feeds)
    input_names, output_names, fixed_batch = probe.input_names, probe.output_names, probe.fixed_batch_size()
    report = ProfileReport(
        model=str(path),
        model_bytes=path.stat().st_size,
        batch=int(feeds[0].shape[0]),
        threads=threads,
        platform=blocks.platform(),
    )
    del probe
    for name in MODES if compare else (mode,):
        try:
            report.runs[f"edgequant {name}"] = _profile_ours(
                path, name, calibration, method, threads, feeds, reference, output_names, runs, warmup, progress, blocks
            )
        except TelemetryError:
            raise
        except Exception as error:
            if not compare:
                raise
            report.runs[f"edgequant {name}"] = failure(error)
    if compare:
        with tempfile.TemporaryDirectory() as folder:
            peer_path = _peer_model(path, folder)
            for name in MODES:
                if name == "dynamic" and calibration is None:
                    report.runs["onnxruntime dynamic"] = {
                        "error": "the model is quantized already (ORT's quantize_dynamic takes float models)",
                        "absent": True,
                    }
                    continue
                try:
                    session = ort_session(peer_path, name, calibration, input_names, fixed_batch, threads, folder)
                    ort_feeds = typed_for(session, dict(zip(input_names, feeds, strict=True)))
                    outputs = session.run(output_names, ort_feeds)
                    result = blocks.run(
                        lambda s=session, f=ort_feeds, n=name: time_runs(
                            lambda: s.run(output_names, f), runs, warmup, progress, f"onnxruntime {n}"
                        )
                    )
                    result.update(output_metrics(output_names, reference, outputs, report.batch))
                except TelemetryError:
                    raise
                except Exception as error:  # ORT's quantizer or session refused the model
                    result = failure(error)
                report.runs[f"onnxruntime {name}"] = result
            profile_openvino(
                report,
                peer_path,
                pathlib.Path(folder) / "static.onnx",
                input_names,
                feeds,
                reference,
                output_names,
                threads,
                runs,
                warmup,
                progress,
                blocks,
            )
    for result in report.runs.values():
        if "mean_ms" in result:
            result["throughput_per_s"] = report.batch * 1e3 / result["mean_ms"]
    report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _peer_model(path: pathlib.Path, folder) -> str:
    """The file ONNX Runtime and OpenVINO load: the ONNX model itself, or a TensorFlow Lite model's ONNX
    form, the one the engine runs (:func:`edgequant.tflite.tflite_to_onnx`), written into ``folder``."""
    source = _model_source(path)
    if isinstance(source, bytes):
        converted = pathlib.Path(folder) / f"{path.stem}.onnx"
        converted.write_bytes(source)
        return str(converted)
    return str(path)


def _profile_ours(
    path, mode, calibration, method, threads, feeds, reference, output_names, runs, warmup, progress, blocks
) -> dict:
    batch = int(feeds[0].shape[0]) if feeds[0].ndim else None
    rss_start = settled_rss_mib()
    engine = Engine(
        path,
        mode=mode,
        calibration=calibration if mode == "static" else None,  # None for a quantized file
        method=method,
        threads=threads,
        progress=progress,
    )
    outputs = engine.run(feeds)
    result = blocks.run(lambda e=engine: time_runs(lambda: e.run(feeds), runs, warmup, progress, f"edgequant {mode}"))
    result["session_rss_mib"] = max(rss_mib() - rss_start, 0.0)
    engine.profile_layers(True)
    for _ in range(max(1, min(runs, 10))):
        engine.run(feeds)
    layers = sorted(engine.layer_times(), key=lambda t: -t[2])
    result["layers"] = [{"name": n, "op": op, "ms": s * 1e3 / max(c, 1)} for n, op, s, c in layers]
    result.update(output_metrics(output_names, reference, outputs, batch))
    del engine
    return result
