"""assert_fidelity: every criterion against its formula, multi-output detectors, messages, bad input."""

import math

import numpy as np
import pytest

from edgequant.testing import assert_fidelity


@pytest.fixture
def logits():
    return np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)


def test_identical_outputs_pass_every_criterion(logits):
    measured = assert_fidelity(logits, logits.copy(), min_sqnr_db=60, min_top1_agreement=1.0, max_softmax_kl=0.0,
                               atol=0.0)  # fmt: skip
    assert measured["output"]["sqnr_db"] == math.inf
    assert measured["output"]["top1_agreement"] == 1.0 and measured["output"]["max_abs_error"] == 0.0


def test_sqnr_is_the_pooled_ratio_and_fails_below_the_minimum(logits):
    noise = np.full_like(logits, 0.1)
    expected = 10 * math.log10(np.sum(logits.astype(np.float64) ** 2) / np.sum(0.1**2 * np.ones(logits.size)))
    measured = assert_fidelity(logits, logits + noise, min_sqnr_db=expected - 0.01)
    assert measured["output"]["sqnr_db"] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(AssertionError, match=rf"output: SQNR {expected:.2f} dB < min_sqnr_db=40"):
        assert_fidelity(logits, logits + noise, min_sqnr_db=40)


def test_top1_agreement_counts_changed_argmax(logits):
    changed = logits.copy()
    flipped = np.arange(8)
    changed[flipped, logits[flipped].argmax(axis=1)] = -100  # 8 of 64 samples change their top class
    measured = assert_fidelity(logits, changed, min_sqnr_db=None, min_top1_agreement=56 / 64)
    assert measured["output"]["top1_agreement"] == 56 / 64
    with pytest.raises(AssertionError, match=r"top-1 agreement 0.8750 \(64 rows\) < min_top1_agreement=0.9"):
        assert_fidelity(logits, changed, min_sqnr_db=None, min_top1_agreement=0.9)


def test_per_anchor_rows_for_a_detector():
    scores = np.zeros((2, 100, 2), dtype=np.float32)
    scores[..., 1] = 1.0  # every anchor: background < face
    changed = scores.copy()
    changed[0, :5, 0] = 2.0  # 5 of 200 anchors flip
    measured = assert_fidelity(scores, changed, min_sqnr_db=None, min_top1_agreement=0.97, per_anchor=True)
    assert measured["output"]["top1_agreement"] == pytest.approx(195 / 200)
    # Per image (one argmax over the flattened output) the first image counts as wholly changed.
    per_image = assert_fidelity(scores, changed, min_sqnr_db=None, min_top1_agreement=0.5)
    assert per_image["output"]["top1_agreement"] == 0.5


def test_softmax_kl_bound(logits):
    shifted = logits + np.linspace(0, 1, 10, dtype=np.float32)
    kl = assert_fidelity(logits, shifted, min_sqnr_db=None, max_softmax_kl=1.0)["output"]["softmax_kl"]
    assert 0 < kl < 1
    with pytest.raises(AssertionError, match="softmax KL"):
        assert_fidelity(logits, shifted, min_sqnr_db=None, max_softmax_kl=kl / 2)


def test_elementwise_tolerance_names_the_worst_element():
    ref = np.zeros((3, 4))
    new = ref.copy()
    new[2, 1] = 0.5
    new[0, 0] = 0.05
    expected = r"2 of 12 elements outside atol=0.01.*worst at index \(2, 1\): ref 0, new 0.5"
    with pytest.raises(AssertionError, match=expected):
        assert_fidelity(ref, new, min_sqnr_db=None, atol=0.01)
    assert_fidelity(ref + 1, new + 1, min_sqnr_db=None, atol=0.0, rtol=0.5)  # |new - ref| <= 0.5·|ref|


def test_several_outputs_as_a_list_or_a_dict(logits):
    boxes = np.random.default_rng(1).random((64, 4))
    measured = assert_fidelity({"scores": logits, "boxes": boxes}, {"scores": logits, "boxes": boxes * 1.001})
    assert set(measured) == {"scores", "boxes"} and measured["boxes"]["sqnr_db"] == pytest.approx(60, abs=0.01)
    with pytest.raises(AssertionError, match="output 1: SQNR"):
        assert_fidelity([logits, boxes], [logits, boxes * 1.5])


@pytest.mark.parametrize(
    "ref, new, kwargs, error, match",
    [
        (np.ones(3), np.ones(4), {}, ValueError, "shape"),
        (np.ones(3), np.array([1.0, np.nan, 1.0]), {}, ValueError, "NaN"),
        (np.ones(3), np.ones(3), {"min_sqnr_db": None}, ValueError, "at least one criterion"),
        (np.ones(3), np.ones(3), {"min_top1_agreement": 1.5}, ValueError, "min_top1_agreement must be in"),
        (np.ones(3), np.ones(3), {"atol": -1}, ValueError, "atol must be in"),
        (np.ones(3), np.ones(3), {"min_sqnr_db": "20"}, TypeError, "min_sqnr_db must be a number"),
        (np.ones(3), np.ones(3), {"per_anchor": 1}, TypeError, "per_anchor must be a bool"),
        ([np.ones(3)], [np.ones(3), np.ones(3)], {}, ValueError, "1 outputs but outputs_new 2"),
        ({"a": np.ones(3)}, {"b": np.ones(3)}, {}, ValueError, "output names differ"),
        ({"a": np.ones(3)}, np.ones(3), {}, TypeError, "both be dicts"),
        (np.array(["a"]), np.array(["a"]), {}, TypeError, "real"),
        (np.ones(0), np.ones(0), {}, ValueError, "empty"),
    ],
)
def test_bad_input_names_the_cause(ref, new, kwargs, error, match):
    with pytest.raises(error, match=match):
        assert_fidelity(ref, new, **kwargs)
