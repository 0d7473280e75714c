"""Activation ranges for static INT8, observed by the engine itself on calibration data.

Each FP32 calibration run feeds every calibration tensor (the input of an INT8 layer) into a
streaming range observer in C++ (``runtime/calibration.h``) as soon as it is computed; no
activation is kept, so calibration needs about the memory of one FP32 run whatever the number of
samples. The ranges come from the observers by one of :data:`METHODS` — the range strategies of
:mod:`edgequant.ranges` (``minmax``, ``percentile``, ``entropy`` bounded by
:data:`ENTROPY_MAX_CLIPPED`, ``mse``), the same the weight quantizers use — and the engine turns
each range into a u8 scale and zero point with ``affine_params_from_range``.
"""

from __future__ import annotations

from ..ranges import ENTROPY_MAX_CLIPPED, METHODS

__all__ = ["ENTROPY_MAX_CLIPPED", "METHODS", "observe_batches"]


def observe_batches(native_module, engine, arrays, method: str, batch_size: int, fixed_batch: bool,
                    bar) -> dict[str, tuple[float, float]]:
    """Runs ``engine`` (FP32 mode) over ``arrays`` ``batch_size`` samples at a time (a fixed batch
    completed with the first samples again) and returns the ranges by ``method``."""
    import numpy as np

    calibrator = native_module.Calibrator(engine, method)
    count = arrays[0].shape[0]
    for start in range(0, count, batch_size):
        rows = np.arange(start, start + batch_size) % count if fixed_batch else slice(start, start + batch_size)
        calibrator.observe([a[rows] for a in arrays])
        bar.update(min(batch_size, count - start))
    return {name: (float(lo), float(hi)) for name, (lo, hi) in calibrator.ranges().items()}


def observe_feeds(native_module, engine, feeds, method: str, bar) -> dict[str, tuple[float, float]]:
    """Runs ``engine`` (FP32 mode) once per feed of ``feeds`` (each a full list of inputs) and
    returns the ranges by ``method``."""
    calibrator = native_module.Calibrator(engine, method)
    for feed in feeds:
        calibrator.observe(feed)
        bar.update(1)
    return {name: (float(lo), float(hi)) for name, (lo, hi) in calibrator.ranges().items()}
