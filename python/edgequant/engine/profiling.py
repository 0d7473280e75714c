"""Profiling the engine (and ONNX Runtime as its peer): latency, throughput, CPU, memory, and how
far INT8 moves the outputs — the measurements of SPEC §6 (static vs dynamic PTQ)."""

from __future__ import annotations

import ctypes
import gc
import logging
import pathlib
import resource
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from .output_metrics import output_metrics
from .session import MODES, Engine

#: Samples of the generated calibration data when none is given (``--help`` promises them).
DEFAULT_CALIBRATION_SAMPLES = 32


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - Linux only


def _settled_rss_mib() -> float:
    """RSS after collecting garbage and handing freed heap back to the system, so that memory a
    previous session freed is not counted against (or for) the next one."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass
    return _rss_mib()


def random_inputs(engine: Engine, batch: int, seed: int = 0, samples: int | None = None) -> list[np.ndarray]:
    """Inputs of the model's shapes (symbolic dims = ``batch``): uniform [0, 1) floats, zero integers.

    ``samples``: the size of axis 0 whatever the model fixes there (calibration data, which the
    engine runs in batches of the model's size)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for _, dtype, shape, _ in engine._native.inputs:
        dims = [batch if d < 0 else d for d in shape]
        if samples is not None and dims:
            dims[0] = samples
        arrays.append(rng.random(dims, dtype=np.float32) if dtype == "float32" else np.zeros(dims, np.int64))
    return arrays


def time_runs(run, runs: int, warmup: int, progress: bool = False, label: str = "") -> dict:
    """Latency statistics of ``run()`` after ``warmup`` calls, CPU utilisation and RSS growth."""
    from tqdm.auto import tqdm

    for _ in range(warmup):
        run()
    rss_before = _rss_mib()
    latencies = np.empty(runs)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for i in tqdm(range(runs), desc=label, disable=not progress, leave=False):
        start = time.perf_counter()
        run()
        latencies[i] = time.perf_counter() - start
    wall = max(time.perf_counter() - wall_start, 1e-12)
    ms = latencies * 1e3
    return {"mean_ms": float(ms.mean()), "p50_ms": float(np.percentile(ms, 50)),
            "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99)),
            "cpu_utilisation": (time.process_time() - cpu_start) / wall,
            "rss_growth_mib": _rss_mib() - rss_before}


def _cell(run: dict, key: str, width: int, spec: str, factor: float = 1.0) -> str:
    value = run.get(key)
    return f"{factor * value:{width}{spec}}" if isinstance(value, (int, float)) else " " * width


@dataclass
class ProfileReport:
    """What :func:`profile` measured; ``runs`` maps "edgequant fp32", "onnxruntime dynamic"... to a dict
    of ``mean_ms``, ``p50_ms``, ``p90_ms``, ``p99_ms``, ``throughput_per_s``, ``cpu_utilisation``,
    ``rss_growth_mib`` (during the timed runs), ``session_rss_mib`` (our sessions: RSS added by
    building and warming up the engine, never negative), ``layers`` (ours: per-node ms per run,
    slowest first) and, against FP32 on the same inputs, the metrics of
    :func:`edgequant.engine.output_metrics.output_metrics` (worst output at the top level, every
    output under ``outputs``). A run that failed holds only ``error``, its reason."""

    model: str
    model_bytes: int
    batch: int
    threads: int | None
    runs: dict = field(default_factory=dict)
    peak_rss_mib: float = 0.0

    def to_dict(self) -> dict:
        return {"model": self.model, "model_bytes": self.model_bytes, "batch": self.batch, "threads": self.threads,
                "peak_rss_mib": self.peak_rss_mib, "runs": self.runs}

    def table(self) -> str:
        lines = [f"{self.model}  ({self.model_bytes / 1e6:.2f} MB, batch {self.batch}, threads "
                 f"{self.threads or 'all'}, peak RSS {self.peak_rss_mib:.0f} MiB)",
                 f"{'run':<22}{'mean ms':>9}{'p50':>9}{'p90':>9}{'p99':>9}{'per s':>10}{'CPU':>6}"
                 f"{'session MiB':>12}{'max|Δ|':>10}{'cosine':>9}{'top1 %':>8}{'det %':>7}{'|Δconf|':>9}"]
        for name, r in self.runs.items():
            if "error" in r:
                lines.append(f"{name:<22}{'absent' if r.get('absent') else 'failed'}: {r['error']}")
                continue
            lines.append(f"{name:<22}{r['mean_ms']:9.3f}{r['p50_ms']:9.3f}{r['p90_ms']:9.3f}{r['p99_ms']:9.3f}"
                         f"{r['throughput_per_s']:10.1f}{r['cpu_utilisation']:6.2f}"
                         f"{_cell(r, 'session_rss_mib', 12, '.1f')}{_cell(r, 'max_abs_error', 10, '.2e')}"
                         f"{_cell(r, 'cosine', 9, '.5f')}{_cell(r, 'top1_agreement', 8, '.2f', 100)}"
                         f"{_cell(r, 'detection_agreement', 7, '.1f', 100)}"
                         f"{_cell(r, 'confidence_shift_mean_abs', 9, '.2e')}")
        return "\n".join(lines)

    def output_table(self) -> str:
        """Every output's metrics per run (the main table shows the worst output)."""
        lines = [f"{'run':<22}{'output':<24}{'max|Δ|':>10}{'max rel':>10}{'cosine':>10}{'top1 %':>8}"]
        for name, r in self.runs.items():
            for output, m in r.get("outputs", {}).items():
                lines.append(f"{name:<22}{output[:23]:<24}{_cell(m, 'max_abs_error', 10, '.2e')}"
                             f"{_cell(m, 'max_relative_error', 10, '.2e')}{_cell(m, 'cosine', 10, '.6f')}"
                             f"{_cell(m, 'top1_agreement', 8, '.2f', 100)}")
        return "\n".join(lines)

    def plot(self, path) -> pathlib.Path:
        """Latency (p50 with p90 whiskers) per run and the confidence shifts against FP32 (PNG)."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        names = [n for n in self.runs if "error" not in self.runs[n]]
        figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
        p50 = [self.runs[n]["p50_ms"] for n in names]
        p90 = [self.runs[n]["p90_ms"] for n in names]
        colors = ["tab:blue" if n.startswith("edgequant") else "tab:gray" for n in names]
        left.barh(names, p50, xerr=[np.zeros(len(names)), np.subtract(p90, p50)], color=colors)
        left.set_xlabel("latency per batch (ms): p50, whisker to p90")
        left.invert_yaxis()
        for name in names:
            shift = self.runs[name].get("confidence_shift")
            if shift and not name.endswith("fp32"):
                right.hist(shift, bins=40, histtype="step", label=name)
        right.set_xlabel("top-class confidence shift against FP32")
        right.set_ylabel("samples")
        if right.get_legend_handles_labels()[0]:
            right.legend(fontsize=7)
        figure.suptitle(pathlib.Path(self.model).name)
        figure.tight_layout()
        path = pathlib.Path(path)
        figure.savefig(path, dpi=110)
        plt.close(figure)
        return path


def _ort_session(model_path: str, mode: str, calibration: list[np.ndarray], input_names: list[str], batch: int | None,
                 threads, folder: str):
    import onnxruntime as ort

    path = model_path
    if mode != "fp32":
        # ORT's quantizer logs a warning per tensor through the root logger: quiet while it runs.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            path = _ort_quantized(path, mode, calibration, input_names, batch, folder)
        finally:
            root.setLevel(level)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: not a warning per initializer listed as an input
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _ort_quantized(path: str, mode: str, calibration: list[np.ndarray], input_names: list[str], batch: int | None,
                   folder: str) -> str:
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

        quantize_static(path, target, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
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


def _typed_for(session, feeds: dict) -> dict:
    """The feeds in the element types the session declares (float16 models take float16)."""
    types = {"tensor(float16)": np.float16, "tensor(double)": np.float64, "tensor(int32)": np.int32}
    declared = {i.name: types.get(i.type) for i in session.get_inputs()}
    return {name: value.astype(declared[name]) if declared.get(name) else value for name, value in feeds.items()}


def _failure(error: BaseException) -> dict:
    message = " ".join(str(error).split()) or type(error).__name__
    return {"error": f"{type(error).__name__}: {message[:300]}"}


def profile(model, mode: str = "fp32", threads: int | None = None, runs: int = 50, warmup: int = 5, batch: int = 1,
            calibration=None, method: str = "minmax", compare: bool = False, inputs=None,
            progress: bool = False) -> ProfileReport:
    """Time a model on the engine — in one mode, or (``compare``) in all three beside ONNX Runtime's
    FP32, static QDQ (``quantize_static``) and dynamic (``quantize_dynamic``) on the same inputs.

    With ``compare``, a session that fails to build or run (ours or ONNX Runtime's) keeps its row
    with the reason (``{"error": ...}``) and the other measurements stand.

    Parameters
    ----------
    model : path-like
        ONNX file.
    mode : {"fp32", "static", "dynamic"}
    threads : int, optional
        Threads for both engines (default: all cores).
    runs, warmup : int
        Timed runs after ``warmup`` untimed ones.
    batch : int
        Size of the symbolic (batch) dimensions of the generated inputs.
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
    """
    path = pathlib.Path(model)
    if not path.is_file():
        raise FileNotFoundError(f"no ONNX model at {str(path)!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if runs < 1 or batch < 1 or warmup < 0:
        raise ValueError("runs and batch must be >= 1 and warmup >= 0")
    probe = Engine(path, threads=threads)
    feeds = probe._prepare(inputs) if inputs is not None else random_inputs(probe, batch)
    if calibration is None:
        calibration = random_inputs(probe, batch, seed=1, samples=DEFAULT_CALIBRATION_SAMPLES)
    calibration = probe._prepare(calibration)
    reference = probe.run(feeds)
    input_names, output_names, fixed_batch = probe.input_names, probe.output_names, probe.fixed_batch_size()
    report = ProfileReport(model=str(path), model_bytes=path.stat().st_size, batch=int(feeds[0].shape[0]),
                           threads=threads)
    del probe
    for name in (MODES if compare else (mode,)):
        try:
            report.runs[f"edgequant {name}"] = _profile_ours(path, name, calibration, method, threads, feeds,
                                                             reference, output_names, runs, warmup, progress)
        except Exception as error:
            if not compare:
                raise
            report.runs[f"edgequant {name}"] = _failure(error)
    if compare:
        with tempfile.TemporaryDirectory() as folder:
            for name in MODES:
                try:
                    session = _ort_session(str(path), name, calibration, input_names, fixed_batch, threads, folder)
                    ort_feeds = _typed_for(session, dict(zip(input_names, feeds, strict=True)))
                    outputs = session.run(output_names, ort_feeds)
                    result = time_runs(lambda s=session, f=ort_feeds: s.run(output_names, f), runs, warmup, progress,
                                       f"onnxruntime {name}")
                    result.update(output_metrics(output_names, reference, outputs, report.batch))
                except Exception as error:  # ORT's quantizer or session refused the model
                    result = _failure(error)
                report.runs[f"onnxruntime {name}"] = result
            _profile_openvino(report, str(path), pathlib.Path(folder) / "static.onnx", input_names, feeds, reference,
                              output_names, threads, runs, warmup, progress)
    for result in report.runs.values():
        if "mean_ms" in result:
            result["throughput_per_s"] = report.batch * 1e3 / result["mean_ms"]
    report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def openvino_model(path, threads):
    """An OpenVINO CPU compiled model of the ONNX file at ``path``: latency hint, ``threads`` inference
    threads (default: OpenVINO's choice), float32 precision. Raises ImportError when openvino is not installed.

    The precision hint matters: on a CPU with AVX-512 BF16 or AMX, OpenVINO runs a float32 model in
    bfloat16 unless told otherwise (|Δ| ~3e-2 on the digits model), which is not an FP32 comparison."""
    import openvino

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    return openvino.Core().compile_model(str(path), "CPU", config)


def _profile_openvino(report, fp32_path, qdq_path, input_names, feeds, reference, output_names, threads, runs,
                      warmup, progress) -> None:
    """OpenVINO beside ONNX Runtime: FP32 on the ONNX file, INT8 on ONNX Runtime's QDQ file (OpenVINO
    runs QDQ graphs in INT8); one line saying it is absent when openvino is not installed."""
    import importlib.util

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
            result = time_runs(run, runs, warmup, progress, f"openvino {name}")
            result.update(output_metrics(output_names, reference, outputs, report.batch))
        except Exception as error:  # OpenVINO refused the model
            result = _failure(error)
        report.runs[f"openvino {name}"] = result


def _profile_ours(path, mode, calibration, method, threads, feeds, reference, output_names, runs, warmup,
                  progress) -> dict:
    batch = int(feeds[0].shape[0]) if feeds[0].ndim else None
    rss_start = _settled_rss_mib()
    engine = Engine(path, mode=mode, calibration=calibration if mode == "static" else None, method=method,
                    threads=threads, progress=progress)
    outputs = engine.run(feeds)
    result = time_runs(lambda e=engine: e.run(feeds), runs, warmup, progress, f"edgequant {mode}")
    result["session_rss_mib"] = max(_rss_mib() - rss_start, 0.0)
    engine.profile_layers(True)
    for _ in range(max(1, min(runs, 10))):
        engine.run(feeds)
    layers = sorted(engine.layer_times(), key=lambda t: -t[2])
    result["layers"] = [{"name": n, "op": op, "ms": s * 1e3 / max(c, 1)} for n, op, s, c in layers]
    result.update(output_metrics(output_names, reference, outputs, batch))
    del engine
    return result
