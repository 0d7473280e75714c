"""assert_accuracy_not_worse / compare_accuracy: the paired score test, against the formula and
by simulation (false alarms under the null, power under a real drop)."""

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy import optimize

from edgequant.testing import assert_accuracy_not_worse, compare_accuracy
from edgequant.testing.paired_accuracy import CONTINUITY_CORRECTION, tango_statistic

CLASSES = 10


def paired_predictions(n, ref_only, new_only, both_wrong=0, seed=0):
    """Labels and two prediction vectors with exactly the given discordant counts (shuffled)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n)
    ref, new = y.copy(), y.copy()
    order = rng.permutation(n)
    ref_wrong = order[:new_only]
    new_wrong = order[new_only : new_only + ref_only]
    both = order[new_only + ref_only : new_only + ref_only + both_wrong]
    ref[np.concatenate([ref_wrong, both])] = (y[np.concatenate([ref_wrong, both])] + 1) % CLASSES
    new[np.concatenate([new_wrong, both])] = (y[np.concatenate([new_wrong, both])] + 2) % CLASSES
    return y, ref, new


# -- the three cases the feature promises --------------------------------------------------------
def test_a_five_point_drop_on_ten_thousand_samples_fails_with_the_interval():
    y, ref, new = paired_predictions(10_000, ref_only=600, new_only=100, both_wrong=300)
    with pytest.raises(AssertionError) as failure:
        assert_accuracy_not_worse(y, ref, new, max_drop_pp=1.0)
    message = str(failure.value)
    assert "drop +5.00 pp" in message and "95% bounds [+4." in message
    assert "600 samples right only before, 100 right only after" in message


def test_identical_predictions_pass_at_any_margin():
    y, ref, _ = paired_predictions(1000, 0, 0, both_wrong=80)
    for margin in (0.0, 1.0):
        result = assert_accuracy_not_worse(y, ref, ref.copy(), max_drop_pp=margin)
        assert result.drop_pp == 0 and not result.worse
        assert result.lower_pp < 0 < result.upper_pp


def test_a_small_difference_on_a_thousand_samples_passes_a_one_point_margin():
    y, ref, new = paired_predictions(1000, ref_only=3, new_only=0, both_wrong=100)
    result = assert_accuracy_not_worse(y, ref, new, max_drop_pp=1)
    assert math.isclose(result.drop_pp, 0.3)
    assert result.p_value > 0.5
    # ... while a zero margin on the same data is a judgement call the test leaves to the data:
    assert not compare_accuracy(y, ref, new, max_drop_pp=0).worse  # 3 flips are no evidence at 95 %


def test_a_better_model_passes_and_scores_are_argmaxed():
    y, ref, new = paired_predictions(500, ref_only=2, new_only=20)
    scores = np.eye(CLASSES, dtype=np.float32)[new]
    result = assert_accuracy_not_worse(y, ref, scores, max_drop_pp=0.0)
    assert result.drop_pp == pytest.approx(-3.6) and result.new_only_correct == 20


def test_ties_in_scores_go_to_the_lowest_class():
    y = np.array([0, 1])
    tied = np.zeros((2, 3), dtype=np.float32)  # argmax -> class 0 for both samples
    result = compare_accuracy(y, y, tied)
    assert result.accuracy_new == 0.5 and result.ref_only_correct == 1


# -- the statistic against its formula ------------------------------------------------------------
@pytest.mark.parametrize("b, c, n, delta", [(30, 10, 1000, 0.01), (5, 0, 540, 0.01), (0, 7, 100, 0.02),
                                            (60, 40, 10_000, 0.0), (3, 3, 50, -0.05), (0, 0, 1000, 0.01)])  # fmt: skip
def test_restricted_likelihood_maximum_matches_numerical_optimisation(b, c, n, delta):
    # q = P(new right, ref wrong) maximising the multinomial likelihood when p10 - p01 = delta
    def negative_log_likelihood(q):
        p10, p01 = q + delta, q
        return -(b * np.log(p10) + c * np.log(p01) + (n - b - c) * np.log(1 - p10 - p01))

    low = max(0.0, -delta) + 1e-12
    found = optimize.minimize_scalar(negative_log_likelihood, bounds=(low, (1 - delta) / 2 - 1e-12),
                                     method="bounded", options={"xatol": 1e-13}).x  # fmt: skip
    variance = n * (2 * found + delta * (1 - delta))
    excess = b - c - n * delta
    expected = math.copysign(max(abs(excess) - CONTINUITY_CORRECTION, 0.0), excess) / math.sqrt(variance)
    assert CONTINUITY_CORRECTION == 1.0  # Edwards' correction
    assert tango_statistic(b, c, n, delta) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_at_zero_margin_without_correction_it_is_mcnemars_statistic():
    for b, c in [(30, 10), (1, 0), (0, 4), (250, 260)]:
        assert tango_statistic(b, c, 1000, 0.0, correction=0.0) == pytest.approx((b - c) / math.sqrt(b + c))
    assert tango_statistic(0, 0, 1000, 0.0) == 0.0  # no discordant pair: no evidence, not NaN


def test_bounds_invert_the_test():
    y, ref, new = paired_predictions(2000, ref_only=50, new_only=20, both_wrong=100)
    result = compare_accuracy(y, ref, new, confidence=0.9)
    z = NormalDist().inv_cdf(0.9)
    lower = optimize.brentq(lambda d: tango_statistic(50, 20, 2000, d) - z, -0.5, 0.5, xtol=1e-14)
    upper = optimize.brentq(lambda d: tango_statistic(50, 20, 2000, d) + z, -0.5, 0.5, xtol=1e-14)
    assert result.lower_pp == pytest.approx(100 * lower, abs=1e-9)
    assert result.upper_pp == pytest.approx(100 * upper, abs=1e-9)
    assert result.lower_pp < result.drop_pp < result.upper_pp
    # The decision is the bound against the margin.
    assert compare_accuracy(y, ref, new, max_drop_pp=result.lower_pp - 1e-6, confidence=0.9).worse
    assert not compare_accuracy(y, ref, new, max_drop_pp=result.lower_pp + 1e-6, confidence=0.9).worse


# -- simulation -----------------------------------------------------------------------------------
NULL_SETTINGS = [  # samples, P(new right & ref wrong), margin in pp: the true drop is exactly the margin
    (1000, 0.02, 1.0), (10_000, 0.02, 1.0), (540, 0.005, 1.0), (300, 0.0, 1.0), (200, 0.05, 2.0), (1000, 0.02, 0.0),
]  # fmt: skip


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("n, p01, margin", NULL_SETTINGS)
def test_false_alarm_rate_under_the_null_is_within_the_confidence(n, p01, margin, confidence):
    trials = 2000
    p10 = p01 + margin / 100
    rng = np.random.default_rng([n, int(1e4 * p01), int(10 * margin), int(100 * confidence)])
    counts = rng.multinomial(n, [p10, p01, 1 - p10 - p01], size=trials)
    statistic = tango_statistic(counts[:, 0], counts[:, 1], n, margin / 100)
    false_alarms = np.mean(statistic > NormalDist().inv_cdf(confidence))
    # Within the confidence up to the simulation's own error (2 standard errors of 2,000 trials):
    # where the test is exact in the limit (many samples) the true rate is 1 - confidence itself.
    # benchmarks/bench_paired_accuracy.py measures the rates over 100 settings with 50,000 trials.
    alpha = 1 - confidence
    assert false_alarms <= alpha + 2 * math.sqrt(alpha * (1 - alpha) / trials), f"{false_alarms:.4f} in {trials}"


def test_false_alarms_through_the_public_function():
    # The same property end to end (labels and predictions), fewer trials: it is slower.
    rng = np.random.default_rng(7)
    alarms = 0
    for trial in range(300):
        counts = rng.multinomial(1000, [0.03, 0.02, 0.95])
        y, ref, new = paired_predictions(1000, int(counts[0]), int(counts[1]), seed=trial)
        alarms += compare_accuracy(y, ref, new, max_drop_pp=1.0).worse
    assert alarms / 300 <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 300)


def test_a_real_drop_is_caught():
    rng = np.random.default_rng(3)
    n, p01, drop = 2000, 0.02, 0.03  # a 3 pp drop, 1 pp allowed
    counts = rng.multinomial(n, [p01 + drop, p01, 1 - 2 * p01 - drop], size=2000)
    power = np.mean(tango_statistic(counts[:, 0], counts[:, 1], n, 0.01) > NormalDist().inv_cdf(0.95))
    assert power > 0.95


def test_not_needlessly_conservative_with_many_samples():
    rng = np.random.default_rng(5)
    counts = rng.multinomial(10_000, [0.03, 0.02, 0.95], size=4000)
    rate = np.mean(tango_statistic(counts[:, 0], counts[:, 1], 10_000, 0.01) > NormalDist().inv_cdf(0.95))
    assert 0.035 < rate <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 4000)


# -- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"pred_new": np.zeros(9, dtype=int)}, ValueError, "pred_new has 9 samples but y_true has 10"),
        ({"y_true": np.zeros(10)}, TypeError, "y_true must be an integer array"),
        ({"y_true": np.zeros(0, dtype=int), "pred_ref": [], "pred_new": []}, (TypeError, ValueError), "empty|integer"),
        ({"pred_ref": np.full((10, 3), np.nan)}, ValueError, "NaN"),
        ({"pred_ref": np.zeros((10, 3, 1))}, ValueError, "pred_ref must be class indices"),
        ({"max_drop_pp": -1}, ValueError, "max_drop_pp must be in"),
        ({"max_drop_pp": float("nan")}, ValueError, "max_drop_pp must be in"),
        ({"max_drop_pp": True}, TypeError, "max_drop_pp must be a number"),
        ({"max_drop_pp": "1"}, TypeError, "max_drop_pp must be a number"),
        ({"confidence": 1.0}, ValueError, "confidence must be in"),
        ({"confidence": 0.5}, ValueError, "confidence must be in"),
        ({"pred_ref": -np.ones(10, dtype=int)}, ValueError, ">= 0"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    arguments = {"y_true": np.zeros(10, dtype=int), "pred_ref": np.zeros(10, dtype=int),
                 "pred_new": np.zeros(10, dtype=int), **kwargs}  # fmt: skip
    with pytest.raises(error, match=match):
        assert_accuracy_not_worse(**arguments)


def test_single_sample_and_all_wrong():
    assert not compare_accuracy([1], [1], [1]).worse
    everything_wrong = compare_accuracy([0, 0, 0], [1, 1, 1], [2, 2, 2])
    assert everything_wrong.accuracy_ref == everything_wrong.accuracy_new == 0 and not everything_wrong.worse
