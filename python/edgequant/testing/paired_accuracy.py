"""Is a new model's accuracy worse than the reference's by more than a margin? A paired test.

Both models are scored on the same samples, so only the discordant samples carry information:
``b`` samples the reference gets right and the new model wrong, ``c`` the other way round. The
accuracy drop is ``δ = p₁₀ − p₀₁`` (fractions of such samples), estimated by ``(b − c)/n``.

The decision is Tango's score test for paired proportions (Tango 1998, *Statistics in
Medicine* 17:891), the standard non-inferiority test for matched pairs:

    Z(δ₀) = (b − c − n·δ₀) / sqrt(n·(2·q̃ + δ₀·(1 − δ₀)))

with ``q̃`` the maximum-likelihood ``p₀₁`` under ``δ = δ₀`` (the positive root of
``2n·q² + (−(b + c) + (2n − b + c)·δ₀)·q − c·δ₀·(1 − δ₀) = 0``). At ``δ₀ = 0`` it is McNemar's
statistic ``(b − c)/sqrt(b + c)``. ``|b − c − n·δ₀|`` is first shrunk by one sample (Edwards'
continuity correction, as in McNemar's corrected test), which keeps false alarms within
``1 − confidence`` when few samples are discordant. The check fails when ``Z(max_drop) > z_confidence``: the data
show, at that one-sided confidence, a drop larger than the margin. Inverting the test gives the
interval of drops the data do not reject, reported in the message. Unlike the Wald interval it
stays honest with few discordant samples (no zero-variance interval when ``b`` or ``c`` is 0).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ..metrics._checks import class_indices, score_matrix

#: Continuity correction in samples (Edwards', as in McNemar's corrected ``|b − c| − 1``): the plain
#: score test's false-alarm rate exceeds 1 − confidence with few discordant samples (8 % instead of
#: 5 % at n = 300 when the new model is never the better one) and half a sample still leaves
#: 5.2 %; with one sample no simulated setting exceeds it (benchmarks/bench_paired_accuracy.py).
CONTINUITY_CORRECTION = 1.0

#: Bisection steps when inverting the score test: the bound is found to 2^-60 of [-1, 1].
_BISECTION_STEPS = 60


@dataclass(frozen=True)
class AccuracyComparison:
    """The paired comparison of two models' predictions on the same labelled samples.

    Attributes
    ----------
    samples : int
        ``n``.
    accuracy_ref, accuracy_new : float
        Fractions in [0, 1].
    ref_only_correct, new_only_correct : int
        Discordant samples: right for the reference only (``b``), for the new model only (``c``).
    drop_pp : float
        Observed drop ``100·(b − c)/n`` in percentage points (negative: the new model is better).
    lower_pp, upper_pp : float
        Each a one-sided ``confidence`` bound on the true drop (score-test inversion), in pp.
    max_drop_pp : float
        The margin tested.
    confidence : float
    statistic : float
        Tango's ``Z`` at the margin.
    p_value : float
        One-sided: the probability of a ``Z`` at least this large if the true drop were exactly
        ``max_drop_pp``.
    worse : bool
        True when the data show a drop larger than ``max_drop_pp`` (``p_value < 1 − confidence``).
    """

    samples: int
    accuracy_ref: float
    accuracy_new: float
    ref_only_correct: int
    new_only_correct: int
    drop_pp: float
    lower_pp: float
    upper_pp: float
    max_drop_pp: float
    confidence: float
    statistic: float
    p_value: float
    worse: bool

    def describe(self) -> str:
        """One paragraph: the accuracies, the drop, its interval and the verdict."""
        verdict = (
            f"the data show a drop larger than max_drop_pp={self.max_drop_pp:g}"
            if self.worse
            else f"no evidence of a drop larger than max_drop_pp={self.max_drop_pp:g}"
        )
        return (
            f"accuracy {100 * self.accuracy_ref:.2f}% -> {100 * self.accuracy_new:.2f}% on {self.samples} samples: "
            f"drop {self.drop_pp:+.2f} pp, {100 * self.confidence:g}% bounds [{self.lower_pp:+.2f}, "
            f"{self.upper_pp:+.2f}] pp (Tango score interval; {self.ref_only_correct} samples right only "
            f"before, {self.new_only_correct} right only after); one-sided p = {self.p_value:.3g}: {verdict}"
        )


def compare_accuracy(y_true, pred_ref, pred_new, max_drop_pp: float = 1.0, confidence: float = 0.95):
    """Test whether ``pred_new`` is less accurate than ``pred_ref`` by more than ``max_drop_pp``.

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
        Class labels.
    pred_ref, pred_new : array_like, shape (n,) or (n, classes)
        Predictions of the reference and the new model on the same samples, in the same order:
        class indices, or scores/logits (their argmax is taken; ties go to the lowest class).
    max_drop_pp : float, default 1.0
        The accuracy drop, in percentage points, that is tolerated (0 <= max_drop_pp < 100).
    confidence : float, default 0.95
        One-sided confidence (0.5 < confidence < 1): the chance of a false alarm when the true
        drop is exactly ``max_drop_pp`` is about ``1 − confidence``, and smaller for a smaller drop.

    Returns
    -------
    AccuracyComparison

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed (naming it): lengths differ, empty, NaN scores, labels not
        integers, margin or confidence out of range.
    """
    margin = _checked_margin(max_drop_pp)
    confidence = _checked_confidence(confidence)
    labels = class_indices(y_true, "y_true")
    ref = _predicted_classes(pred_ref, "pred_ref")
    new = _predicted_classes(pred_new, "pred_new")
    for name, predictions in (("pred_ref", ref), ("pred_new", new)):
        if len(predictions) != len(labels):
            raise ValueError(f"{name} has {len(predictions)} samples but y_true has {len(labels)}")
    right_ref, right_new = ref == labels, new == labels
    n = len(labels)
    b = int(np.count_nonzero(right_ref & ~right_new))
    c = int(np.count_nonzero(~right_ref & right_new))
    z_critical = NormalDist().inv_cdf(confidence)
    statistic = float(tango_statistic(b, c, n, margin / 100.0))
    p_value = 1.0 - NormalDist().cdf(statistic)
    return AccuracyComparison(
        samples=n,
        accuracy_ref=float(np.mean(right_ref)),
        accuracy_new=float(np.mean(right_new)),
        ref_only_correct=b,
        new_only_correct=c,
        drop_pp=100.0 * (b - c) / n,
        lower_pp=100.0 * _score_bound(b, c, n, z_critical),
        upper_pp=100.0 * _score_bound(b, c, n, -z_critical),
        max_drop_pp=margin,
        confidence=confidence,
        statistic=statistic,
        p_value=p_value,
        worse=statistic > z_critical,
    )


def assert_accuracy_not_worse(y_true, pred_ref, pred_new, max_drop_pp: float = 1.0, confidence: float = 0.95):
    """Fail when the data show, at ``confidence``, an accuracy drop larger than ``max_drop_pp``.

    A paired test on the same samples (see :func:`compare_accuracy` and the module docstring):
    noise — a few samples flipping either way — passes, a real drop fails, and the message
    gives the accuracies, the observed drop and its confidence bounds.

    >>> assert_accuracy_not_worse(y, logits_fp32, logits_int8, max_drop_pp=1.0)

    Returns
    -------
    AccuracyComparison
        When the check passes (to log or record it).

    Raises
    ------
    AssertionError
        When the drop is shown to exceed ``max_drop_pp``.
    TypeError, ValueError
        On malformed arguments, as :func:`compare_accuracy`.
    """
    result = compare_accuracy(y_true, pred_ref, pred_new, max_drop_pp, confidence)
    if result.worse:
        raise AssertionError(result.describe())
    return result


def tango_statistic(b, c, n, delta, correction: float = CONTINUITY_CORRECTION):
    """Tango's score statistic ``Z(δ₀)`` for ``H₀: p₁₀ − p₀₁ = delta`` (vectorised over arrays).

    Parameters
    ----------
    b, c : int or array of int
        Discordant counts (right for the reference only; for the new model only).
    n : int or array of int
        Samples.
    delta : float or array
        The drop under the null hypothesis, as a fraction in (−1, 1).
    correction : float, default :data:`CONTINUITY_CORRECTION`
        Samples by which ``|b − c − n·δ₀|`` is shrunk towards 0 (0: the plain score test).

    Returns
    -------
    float or numpy.ndarray
        Large positive values mean the observed drop is larger than ``delta``. When the
        variance vanishes (``b = c = 0`` at ``delta = 0``) the statistic is 0: no evidence.
    """
    b, c, n, delta = (np.asarray(v, dtype=np.float64) for v in (b, c, n, delta))
    linear = -(b + c) + (2.0 * n - b + c) * delta
    constant = -c * delta * (1.0 - delta)
    discriminant = np.maximum(linear * linear - 8.0 * n * constant, 0.0)
    q = np.maximum((-linear + np.sqrt(discriminant)) / (4.0 * n), 0.0)
    variance = n * (2.0 * q + delta * (1.0 - delta))
    excess = b - c - n * delta
    excess = np.sign(excess) * np.maximum(np.abs(excess) - correction, 0.0)
    safe_variance = np.where(variance > 0, variance, 1.0)
    degenerate = np.where(excess > 0, np.inf, np.where(excess < 0, -np.inf, 0.0))
    z = np.where(variance > 0, excess / np.sqrt(safe_variance), degenerate)
    return z if z.ndim else float(z)


def _score_bound(b: int, c: int, n: int, z: float) -> float:
    """The ``δ₀`` in (−1, 1) where ``Z(δ₀) = z`` (``Z`` decreases in ``δ₀``), by bisection."""
    low, high = -1.0, 1.0
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        if tango_statistic(b, c, n, middle) > z:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def _predicted_classes(predictions, name: str) -> np.ndarray:
    array = np.asarray(predictions)
    if array.ndim == 2:
        return score_matrix(array, name).argmax(axis=1)
    if array.ndim == 1:
        return class_indices(array, name)
    raise ValueError(f"{name} must be class indices (n,) or scores (n, classes), got shape {array.shape}")


def _checked_margin(max_drop_pp) -> float:
    if isinstance(max_drop_pp, bool) or not isinstance(max_drop_pp, numbers.Real):
        raise TypeError(f"max_drop_pp must be a number of percentage points, got {type(max_drop_pp).__name__}")
    margin = float(max_drop_pp)
    if not (math.isfinite(margin) and 0.0 <= margin < 100.0):
        raise ValueError(f"max_drop_pp must be in [0, 100) percentage points, got {max_drop_pp!r}")
    return margin


def _checked_confidence(confidence) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise TypeError(f"confidence must be a number, got {type(confidence).__name__}")
    value = float(confidence)
    if not 0.5 < value < 1.0:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence!r}")
    return value
