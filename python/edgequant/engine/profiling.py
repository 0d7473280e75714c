"""Profiling the engine (and ONNX Runtime as its peer): latency, throughput, CPU, memory, and how
far INT8 moves the outputs — the measurements of SPEC §6 (static vs dynamic PTQ)."""

from __future__ import annotations

import logging
import pathlib
import resource
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from . import MODES, Engine


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - Linux only


def random_inputs(engine: Engine, batch: int, seed: int = 0) -> list[np.ndarray]:
    """Inputs of the model's shapes (symbolic dims = ``batch``): uniform [0, 1) floats, zero integers."""
    rng = np.random.default_rng(seed)
    arrays = []
    for _, dtype, shape, _ in engine._native.inputs:
        dims = [batch if d < 0 else d for d in shape]
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


def _softmax_confidence(logits: np.ndarray) -> np.ndarray:
    z = logits.reshape(logits.shape[0], -1).astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(axis=1, keepdims=True)).max(axis=1)


def output_shift(reference: np.ndarray, outputs: np.ndarray) -> dict:
    """How far ``outputs`` moved from ``reference`` (first output, rows = samples)."""
    ref = reference.reshape(reference.shape[0], -1)
    out = outputs.reshape(outputs.shape[0], -1)
    shift = _softmax_confidence(out) - _softmax_confidence(ref)
    return {"top1_agreement": float(np.mean(ref.argmax(1) == out.argmax(1))),
            "confidence_shift_mean_abs": float(np.abs(shift).mean()), "confidence_shift": shift.tolist()}


@dataclass
class ProfileReport:
    """What :func:`profile` measured; ``runs`` maps "edgequant fp32", "onnxruntime dynamic"... to a dict
    of ``mean_ms``, ``p50_ms``, ``p90_ms``, ``p99_ms``, ``throughput_per_s``, ``cpu_utilisation``,
    ``rss_growth_mib`` (during the timed runs), ``session_rss_mib`` (our sessions: RSS added by
    building and warming up the engine), ``layers`` (ours: per-node ms per run, slowest first) and,
    against FP32 on the same inputs, ``top1_agreement`` and ``confidence_shift_mean_abs``."""

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
                 f"{'session MiB':>12}{'agree %':>9}{'|Δconf|':>9}"]
        for name, r in self.runs.items():
            session = f"{r['session_rss_mib']:12.1f}" if "session_rss_mib" in r else f"{'':>12}"
            agree = f"{100 * r['top1_agreement']:9.2f}" if "top1_agreement" in r else f"{'':>9}"
            shift = f"{r['confidence_shift_mean_abs']:9.2e}" if "confidence_shift_mean_abs" in r else f"{'':>9}"
            lines.append(f"{name:<22}{r['mean_ms']:9.3f}{r['p50_ms']:9.3f}{r['p90_ms']:9.3f}{r['p99_ms']:9.3f}"
                         f"{r['throughput_per_s']:10.1f}{r['cpu_utilisation']:6.2f}{session}{agree}{shift}")
        return "\n".join(lines)

    def plot(self, path) -> pathlib.Path:
        """Latency (p50 with p90 whiskers) per run and the confidence shifts against FP32 (PNG)."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        names = list(self.runs)
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


def _ort_session(model_path: str, mode: str, calibration, input_name: str, threads, folder: str):
    import onnxruntime as ort

    path = model_path
    if mode != "fp32":
        # ORT's quantizer logs a warning per tensor through the root logger: quiet while it runs.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            path = _ort_quantized(path, mode, calibration, input_name, folder)
        finally:
            root.setLevel(level)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _ort_quantized(path: str, mode: str, calibration, input_name: str, folder: str) -> str:
    """ORT's quantize_static (QDQ, per-channel s8 weights, u8 activations) or quantize_dynamic."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    target = str(pathlib.Path(folder) / f"{mode}.onnx")
    if mode == "static":
        batches = iter([{input_name: calibration[i:i + 1]} for i in range(len(calibration))])

        class Reader(CalibrationDataReader):
            def get_next(self):
                return next(batches, None)

        quantize_static(path, target, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    else:
        quantize_dynamic(path, target, weight_type=QuantType.QInt8)
    return target


def profile(model, mode: str = "fp32", threads: int | None = None, runs: int = 50, warmup: int = 5, batch: int = 1,
            calibration=None, method: str = "minmax", compare: bool = False, inputs=None,
            progress: bool = False) -> ProfileReport:
    """Time a model on the engine — in one mode, or (``compare``) in all three beside ONNX Runtime's
    FP32, static QDQ (``quantize_static``) and dynamic (``quantize_dynamic``) on the same inputs.

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
    calibration : array, optional
        Static calibration inputs (batch on axis 0); default 32 uniform [0, 1) samples — pass real
        data for meaningful static accuracy.
    method : {"minmax", "percentile", "entropy", "mse"}
    compare : bool
    inputs : array, optional
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
    feeds = list(inputs) if isinstance(inputs, (list, tuple)) else ([inputs] if inputs is not None else None)
    feeds = feeds or random_inputs(probe, batch)
    if calibration is None:
        calibration = random_inputs(probe, 32, seed=1)[0]
    reference = probe.run(feeds)[0]
    report = ProfileReport(model=str(path), model_bytes=path.stat().st_size, batch=int(feeds[0].shape[0]),
                           threads=threads)
    del probe
    for name in (MODES if compare else (mode,)):
        rss_start = _rss_mib()
        engine = Engine(path, mode=name, calibration=calibration if name == "static" else None, method=method,
                        threads=threads, progress=progress)
        outputs = engine.run(feeds)[0]
        result = time_runs(lambda e=engine: e.run(feeds), runs, warmup, progress, f"edgequant {name}")
        result["session_rss_mib"] = _rss_mib() - rss_start
        engine.profile_layers(True)
        for _ in range(max(1, min(runs, 10))):
            engine.run(feeds)
        layers = sorted(engine.layer_times(), key=lambda t: -t[2])
        result["layers"] = [{"name": n, "op": op, "ms": s * 1e3 / max(c, 1)} for n, op, s, c in layers]
        result.update(output_shift(reference, outputs))
        report.runs[f"edgequant {name}"] = result
        del engine
    if compare:
        input_name = report_input_name(path)
        ort_feeds = dict(zip([input_name], feeds[:1], strict=True))
        with tempfile.TemporaryDirectory() as folder:
            for name in MODES:
                session = _ort_session(str(path), name, calibration, input_name, threads, folder)
                outputs = session.run(None, ort_feeds)[0]
                result = time_runs(lambda s=session: s.run(None, ort_feeds), runs, warmup, progress,
                                   f"onnxruntime {name}")
                result.update(output_shift(reference, outputs))
                report.runs[f"onnxruntime {name}"] = result
    for result in report.runs.values():
        result["throughput_per_s"] = report.batch * 1e3 / result["mean_ms"]
    report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def report_input_name(path: pathlib.Path) -> str:
    """The model's first graph input that is not an initializer."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    return next(i.name for i in model.graph.input if i.name not in initializers)
