"""What a profile measured (:class:`ProfileReport`) and its text, JSON and CSV forms."""

from __future__ import annotations

import csv
import io
import pathlib
from dataclasses import dataclass, field

__all__ = ["CSV_COLUMNS", "TELEMETRY_COLUMNS", "ProfileReport", "failure"]

#: The columns of :meth:`ProfileReport.csv` (the per-output metrics and layer times stay in the JSON).
CSV_COLUMNS = (
    "run",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "throughput_per_s",
    "cpu_utilisation",
    "rss_growth_mib",
    "session_rss_mib",
    "max_abs_error",
    "cosine",
    "top1_agreement",
    "detection_agreement",
    "confidence_shift_mean_abs",
    "soc_temp_start_c",
    "soc_temp_c",
    "arm_clock_mhz",
    "arm_max_mhz",
    "throttled",
    "throttle_flags",
    "cooldown_wait_s",
    "error",
)

#: The columns of :data:`CSV_COLUMNS` that only a profile on a Raspberry Pi fills.
TELEMETRY_COLUMNS = frozenset(CSV_COLUMNS[CSV_COLUMNS.index("soc_temp_start_c") : CSV_COLUMNS.index("error")])


def failure(error: BaseException) -> dict:
    """The row of a run that failed: only its reason."""
    message = " ".join(str(error).split()) or type(error).__name__
    return {"error": f"{type(error).__name__}: {message[:300]}"}


def _cell(run: dict, key: str, width: int, spec: str, factor: float = 1.0) -> str:
    value = run.get(key)
    return f"{factor * value:{width}{spec}}" if isinstance(value, (int, float)) else " " * width


@dataclass
class ProfileReport:
    """What :func:`~edgequant.profiling.profile` measured; ``runs`` maps "edgequant fp32", "onnxruntime
    dynamic"... to a dict of ``mean_ms``, ``p50_ms``, ``p90_ms``, ``p99_ms``, ``throughput_per_s``,
    ``cpu_utilisation``, ``rss_growth_mib`` (during the timed runs), ``session_rss_mib`` (our
    sessions: RSS added by building and warming up the engine, never negative), ``layers`` (ours:
    per-node ms per run, slowest first) and, against FP32 on the same inputs, the metrics of
    :func:`edgequant.profiling.output_metrics.output_metrics` (worst output at the top level, every
    output under ``outputs``). A run that failed holds only ``error``, its reason.

    On a Raspberry Pi each timed run also holds its block's telemetry (see
    :func:`edgequant.profiling.blocks.block_record`): ``soc_temp_c``, ``arm_clock_mhz``,
    ``throttled`` and ``throttle_flags``; ``platform`` names the Pi."""

    model: str
    model_bytes: int
    batch: int
    threads: int | None
    runs: dict = field(default_factory=dict)
    peak_rss_mib: float = 0.0
    platform: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        result = {
            "model": self.model,
            "model_bytes": self.model_bytes,
            "batch": self.batch,
            "threads": self.threads,
            "peak_rss_mib": self.peak_rss_mib,
            "runs": self.runs,
        }
        if self.platform:
            result["platform"] = self.platform
        return result

    def has_telemetry(self) -> bool:
        """Whether the runs carry SoC readings (profiled on a Raspberry Pi)."""
        return any("throttled" in run for run in self.runs.values())

    def throttled_runs(self) -> list[str]:
        return [name for name, run in self.runs.items() if run.get("throttled")]

    def table(self) -> str:
        telemetry = self.has_telemetry()
        header = (
            f"{self.model}  ({self.model_bytes / 1e6:.2f} MB, batch {self.batch}, threads "
            f"{self.threads or 'all'}, peak RSS {self.peak_rss_mib:.0f} MiB)"
        )
        if self.platform:
            header += f"\n{self.platform.get('model')}" + (
                f", cooldown below {self.platform['cooldown_c']:g} °C"
                if self.platform.get("cooldown_c") is not None
                else ""
            )
        columns = (
            f"{'run':<22}{'mean ms':>9}{'p50':>9}{'p90':>9}{'p99':>9}{'per s':>10}{'CPU':>6}"
            f"{'session MiB':>12}{'max|Δ|':>10}{'cosine':>9}{'top1 %':>8}{'det %':>7}{'|Δconf|':>9}"
        )
        if telemetry:
            columns += f"{'°C':>6}{'MHz':>6}  throttled"
        lines = [header, columns]
        for name, r in self.runs.items():
            if "error" in r:
                lines.append(f"{name:<22}{'absent' if r.get('absent') else 'failed'}: {r['error']}")
                continue
            line = (
                f"{name:<22}{r['mean_ms']:9.3f}{r['p50_ms']:9.3f}{r['p90_ms']:9.3f}{r['p99_ms']:9.3f}"
                f"{r['throughput_per_s']:10.1f}{r['cpu_utilisation']:6.2f}"
                f"{_cell(r, 'session_rss_mib', 12, '.1f')}{_cell(r, 'max_abs_error', 10, '.2e')}"
                f"{_cell(r, 'cosine', 9, '.5f')}{_cell(r, 'top1_agreement', 8, '.2f', 100)}"
                f"{_cell(r, 'detection_agreement', 7, '.1f', 100)}"
                f"{_cell(r, 'confidence_shift_mean_abs', 9, '.2e')}"
            )
            if telemetry:
                line += f"{_cell(r, 'soc_temp_c', 6, '.1f')}{_cell(r, 'arm_clock_mhz', 6, '.0f')}"
                line += "  THROTTLED: " + ", ".join(r["throttle_flags"]) if r.get("throttled") else ""
            lines.append(line.rstrip())
        if int8_peer_rows := [n for n in self.runs if n.startswith("onnxruntime ") and n != "onnxruntime fp32"]:
            from .onnxruntime_peer import int8_kernels_saturate

            if int8_kernels_saturate():
                lines.append(
                    f"{' / '.join(int8_peer_rows)}: this CPU has no VNNI, and ONNX Runtime's INT8 kernels add "
                    "u8·s8 products in pairs in saturating 16 bits: its 8-bit weights lose accuracy here "
                    "(edgequant's engine quantizes weights on 7 bits on such CPUs: Engine.reduce_range)"
                )
        if self.throttled_runs():
            lines.append(
                f"THROTTLED rows ({len(self.throttled_runs())}) ran below the chip's full speed: their "
                "times are not comparable (cool the Pi, use --cooldown, check the power supply)"
            )
        return "\n".join(lines)

    def output_table(self) -> str:
        """Every output's metrics per run (the main table shows the worst output)."""
        lines = [f"{'run':<22}{'output':<24}{'max|Δ|':>10}{'max rel':>10}{'cosine':>10}{'top1 %':>8}"]
        for name, r in self.runs.items():
            for output, m in r.get("outputs", {}).items():
                lines.append(
                    f"{name:<22}{output[:23]:<24}{_cell(m, 'max_abs_error', 10, '.2e')}"
                    f"{_cell(m, 'max_relative_error', 10, '.2e')}{_cell(m, 'cosine', 10, '.6f')}"
                    f"{_cell(m, 'top1_agreement', 8, '.2f', 100)}"
                )
        return "\n".join(lines)

    def csv(self) -> str:
        """One row per run, the scalar columns of :data:`CSV_COLUMNS`; the SoC ones (:data:`TELEMETRY_COLUMNS`)
        only when the runs carry readings (on a Raspberry Pi)."""
        columns = [c for c in CSV_COLUMNS if self.has_telemetry() or c not in TELEMETRY_COLUMNS]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for name, run in self.runs.items():
            row = {**run, "run": name, "throttle_flags": "; ".join(run.get("throttle_flags", []))}
            writer.writerow(["" if row.get(column) is None else row.get(column) for column in columns])
        return buffer.getvalue()

    def plot(self, path) -> pathlib.Path:
        """Latency (p50 with p90 whiskers) per run and the confidence shifts against FP32 (PNG); on a
        Pi, throttled runs are hatched red and each bar carries its SoC temperature."""
        from .plots import plot_report

        return plot_report(self, path)
