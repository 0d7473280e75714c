"""Profiling models on the engine beside its peers (ONNX Runtime, OpenVINO): latency, throughput,
CPU, memory and output agreement per mode — and, on a Raspberry Pi, the SoC's temperature, clock
and throttling beside every timing block.

>>> from edgequant import profiling, zoo
>>> report = profiling.profile(zoo.model_path(), compare=True, runs=20)
>>> print(report.table())

One idea per module: :mod:`.harness` (what is run and compared), :mod:`.timing` (latency and
memory of one block), :mod:`.blocks` (cooldown and telemetry around a block), :mod:`.telemetry`
(the Pi's sensors), :mod:`.report` (table, JSON, CSV), :mod:`.plots`, and the peers
:mod:`.onnxruntime_peer` and :mod:`.openvino_peer`. The engine does not import this package.
"""

from .blocks import CooldownTimeout, TimingBlocks, wait_for_cooldown
from .harness import DEFAULT_CALIBRATION_SAMPLES, profile
from .report import ProfileReport
from .telemetry import PlatformTelemetry, TelemetryError

__all__ = [
    "DEFAULT_CALIBRATION_SAMPLES",
    "CooldownTimeout",
    "PlatformTelemetry",
    "ProfileReport",
    "TelemetryError",
    "TimingBlocks",
    "profile",
    "wait_for_cooldown",
]
