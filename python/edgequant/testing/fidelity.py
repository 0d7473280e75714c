"""Are a compressed model's outputs close enough to the reference's? For detectors and regressions.

Without labels a compressed model is judged by how faithfully it reproduces the reference
(FP32) outputs: the signal-to-noise ratio of every output, the fraction of samples (or detector
anchors) whose top class is unchanged, the softmax KL divergence, or elementwise tolerances.
Every criterion given must hold for every output; the message lists each measurement and, for
the elementwise tolerance, the worst element with both values.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from ..metrics import mean_softmax_kl, output_sqnr_db, top1_agreement
from ..metrics._checks import real_array, same_shape


def assert_fidelity(
    outputs_ref,
    outputs_new,
    *,
    min_sqnr_db: float | None = 20.0,
    min_top1_agreement: float | None = None,
    max_softmax_kl: float | None = None,
    atol: float | None = None,
    rtol: float = 0.0,
    per_anchor: bool = False,
) -> dict:
    """Fail unless ``outputs_new`` reproduces ``outputs_ref`` within every criterion given.

    Parameters
    ----------
    outputs_ref, outputs_new : array_like, sequence of array_like or dict of array_like
        The outputs of the reference and the new model on the same inputs: one array, or one
        per model output (a list in the same order, or a dict with the same names).
    min_sqnr_db : float or None, default 20.0
        Least output SQNR, ``10·log10(Σref² / Σ(ref − new)²)``, per output (None: not checked).
    min_top1_agreement : float or None
        Least fraction in [0, 1] of rows whose argmax is unchanged. Rows are samples of a
        ``[N, classes]`` output (higher ranks are flattened to ``[N, -1]``), or, with
        ``per_anchor``, the last axis's vectors (e.g. UltraFace's ``scores`` ``[N, anchors, 2]``).
    max_softmax_kl : float or None
        Largest mean ``KL(softmax(ref) ‖ softmax(new))`` in nats over the same rows.
    atol : float or None
        Elementwise ``|new − ref| <= atol + rtol·|ref|`` (None: not checked).
    rtol : float, default 0.0
        Relative part of the elementwise tolerance (used with ``atol``).
    per_anchor : bool, default False
        Rows for agreement and KL are the last axis's vectors instead of samples.

    Returns
    -------
    dict
        ``{output name: {criterion: measured value}}`` when every criterion holds.

    Raises
    ------
    AssertionError
        When a criterion fails; the message lists every output's measurements.
    TypeError, ValueError
        If the outputs do not match (count, names, shapes), hold NaN/Inf, or a criterion is out
        of range, or no criterion is given.
    """
    criteria = _checked_criteria(min_sqnr_db, min_top1_agreement, max_softmax_kl, atol, rtol)
    if not isinstance(per_anchor, bool):
        raise TypeError(f"per_anchor must be a bool, got {type(per_anchor).__name__}")
    pairs = _paired_outputs(outputs_ref, outputs_new)
    measured, failures = {}, []
    for name, (ref, new) in pairs.items():
        values, failed = _measure(name, ref, new, criteria, per_anchor)
        measured[name] = values
        failures += failed
    if failures:
        lines = [f"outputs differ from the reference beyond {len(failures)} criterion(s):"] + failures
        lines += [f"  {name}: " + ", ".join(f"{k} = {v:.6g}" for k, v in values.items())
                  for name, values in measured.items()]  # fmt: skip
        raise AssertionError("\n".join(lines))
    return measured


def _measure(name: str, ref: np.ndarray, new: np.ndarray, criteria: dict, per_anchor: bool):
    values, failed = {}, []
    if criteria["min_sqnr_db"] is not None:
        sqnr = output_sqnr_db(ref, new)
        values["sqnr_db"] = sqnr
        if not sqnr >= criteria["min_sqnr_db"]:
            failed.append(f"  {name}: SQNR {sqnr:.2f} dB < min_sqnr_db={criteria['min_sqnr_db']:g}")
    if criteria["min_top1_agreement"] is not None or criteria["max_softmax_kl"] is not None:
        rows_ref, rows_new = _score_rows(ref, per_anchor), _score_rows(new, per_anchor)
        if criteria["min_top1_agreement"] is not None:
            agreement = top1_agreement(rows_ref, rows_new)
            values["top1_agreement"] = agreement
            if agreement < criteria["min_top1_agreement"]:
                failed.append(
                    f"  {name}: top-1 agreement {agreement:.4f} ({len(rows_ref)} rows) "
                    f"< min_top1_agreement={criteria['min_top1_agreement']:g}"
                )
        if criteria["max_softmax_kl"] is not None:
            kl = mean_softmax_kl(rows_ref, rows_new)
            values["softmax_kl"] = kl
            if kl > criteria["max_softmax_kl"]:
                failed.append(f"  {name}: softmax KL {kl:.4g} nats > max_softmax_kl={criteria['max_softmax_kl']:g}")
    if criteria["atol"] is not None:
        excess = np.abs(new.astype(np.float64) - ref) - (criteria["atol"] + criteria["rtol"] * np.abs(ref))
        worst = np.unravel_index(int(np.argmax(excess)), ref.shape)
        values["max_abs_error"] = float(np.max(np.abs(new.astype(np.float64) - ref)))
        outside = int(np.count_nonzero(excess > 0))
        if outside:
            failed.append(
                f"  {name}: {outside} of {ref.size} elements outside atol={criteria['atol']:g} + "
                f"rtol={criteria['rtol']:g}·|ref|; worst at index {tuple(int(i) for i in worst)}: "
                f"ref {ref[worst]:.6g}, new {new[worst]:.6g}"
            )
    return values, failed


def _score_rows(array: np.ndarray, per_anchor: bool) -> np.ndarray:
    if per_anchor:
        return array.reshape(-1, array.shape[-1]) if array.ndim >= 2 else array.reshape(-1, 1)
    return array.reshape(len(array), -1) if array.ndim >= 1 else array.reshape(1, 1)


def _paired_outputs(outputs_ref, outputs_new) -> dict:
    if isinstance(outputs_ref, Mapping) or isinstance(outputs_new, Mapping):
        if not (isinstance(outputs_ref, Mapping) and isinstance(outputs_new, Mapping)):
            raise TypeError("outputs_ref and outputs_new must both be dicts, or both arrays/sequences")
        if list(outputs_ref) != list(outputs_new):
            raise ValueError(f"output names differ: {list(outputs_ref)} vs {list(outputs_new)}")
        items = [(str(name), outputs_ref[name], outputs_new[name]) for name in outputs_ref]
    elif isinstance(outputs_ref, list | tuple) or isinstance(outputs_new, list | tuple):
        if not (isinstance(outputs_ref, list | tuple) and isinstance(outputs_new, list | tuple)):
            raise TypeError("outputs_ref and outputs_new must both be sequences of outputs, or both arrays")
        if len(outputs_ref) != len(outputs_new):
            raise ValueError(f"outputs_ref has {len(outputs_ref)} outputs but outputs_new {len(outputs_new)}")
        items = [(f"output {i}", ref, new) for i, (ref, new) in enumerate(zip(outputs_ref, outputs_new, strict=True))]
    else:
        items = [("output", outputs_ref, outputs_new)]
    if not items:
        raise ValueError("no outputs to compare")
    pairs = {}
    for name, ref, new in items:
        ref = real_array(ref, f"outputs_ref[{name}]").astype(np.float64)
        new = real_array(new, f"outputs_new[{name}]").astype(np.float64)
        same_shape(ref, new, f"outputs_ref[{name}]", f"outputs_new[{name}]")
        pairs[name] = (ref, new)
    return pairs


def _checked_criteria(min_sqnr_db, min_top1_agreement, max_softmax_kl, atol, rtol) -> dict:
    criteria = {
        "min_sqnr_db": _optional_number(min_sqnr_db, "min_sqnr_db"),
        "min_top1_agreement": _optional_number(min_top1_agreement, "min_top1_agreement", 0.0, 1.0),
        "max_softmax_kl": _optional_number(max_softmax_kl, "max_softmax_kl", 0.0),
        "atol": _optional_number(atol, "atol", 0.0),
        "rtol": _optional_number(rtol, "rtol", 0.0),
    }
    if all(criteria[name] is None for name in ("min_sqnr_db", "min_top1_agreement", "max_softmax_kl", "atol")):
        raise ValueError("give at least one criterion: min_sqnr_db, min_top1_agreement, max_softmax_kl or atol")
    if criteria["rtol"] is None:
        raise ValueError("rtol must be a number >= 0, got None")
    return criteria


def _optional_number(value, name: str, low: float | None = None, high: float | None = None):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number or None, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value) or (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{name} must be in {bounds}, got {value}")
    return value
