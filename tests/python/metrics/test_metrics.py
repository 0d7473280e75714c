"""edgequant.metrics against scikit-learn and scipy, hand-computed cases, ties and bad input."""

import warnings

import numpy as np
import pytest
import scipy.special
import scipy.stats
import sklearn.metrics as sklearn_metrics  # noqa: E402
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgequant import metrics  # noqa: E402

settings.register_profile("edgequant-metrics", max_examples=60, deadline=None)
settings.load_profile("edgequant-metrics")


@st.composite
def scored_samples(draw, distinct=True, min_classes=3):
    """(scores [n, c], labels [n]); distinct=False draws small integers so ties abound."""
    n = draw(st.integers(1, 30))
    c = draw(st.integers(min_classes, 10))
    if distinct:
        scores = draw(arrays(np.float64, (n, c), unique=True,
                             elements=st.floats(-50, 50, allow_nan=False, width=64)))
    else:
        scores = draw(arrays(np.int64, (n, c), elements=st.integers(0, 2)))
    labels = draw(arrays(np.int64, n, elements=st.integers(0, c - 1)))
    return scores, labels


@st.composite
def predictions(draw):
    """(pred, labels, num_classes) with classes possibly missing from either."""
    n = draw(st.integers(1, 40))
    c = draw(st.integers(2, 8))
    pred = draw(arrays(np.int64, n, elements=st.integers(0, c - 1)))
    labels = draw(arrays(np.int64, n, elements=st.integers(0, c - 1)))
    return pred, labels, c


def quiet(function, *args, **kwargs):
    """Call scikit-learn without its warnings (the test suite turns warnings into errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def stable_descending_rank(scores, labels):
    """Reference for the tie rule: position in a stable sort by decreasing score, 1-based."""
    order = np.argsort(-scores, axis=1, kind="stable")
    return 1 + np.argmax(order == labels[:, None], axis=1)


# --- classification against scikit-learn ----------------------------------------------------

@given(predictions())
def test_accuracy_matches_sklearn(case):
    pred, labels, _ = case
    assert metrics.accuracy(pred, labels) == pytest.approx(
        sklearn_metrics.accuracy_score(labels, pred))


@given(scored_samples(), st.integers(1, 12))
def test_top_k_accuracy_matches_sklearn_without_ties(case, k):
    scores, labels = case
    c = scores.shape[1]
    expected = quiet(sklearn_metrics.top_k_accuracy_score, labels, scores, k=k, labels=np.arange(c))
    assert metrics.top_k_accuracy(scores, labels, k) == pytest.approx(expected)


@given(predictions())
def test_macro_accuracy_matches_balanced_accuracy(case):
    pred, labels, _ = case
    expected = quiet(sklearn_metrics.balanced_accuracy_score, labels, pred)
    assert metrics.macro_accuracy(pred, labels) == pytest.approx(expected)


@given(predictions())
def test_precision_recall_f1_per_class_matches_sklearn(case):
    pred, labels, c = case
    expected = sklearn_metrics.precision_recall_fscore_support(
        labels, pred, labels=np.arange(c), average=None, zero_division=0)[:3]
    got = metrics.precision_recall_f1(pred, labels, average=None, num_classes=c)
    for ours, theirs in zip(got, expected, strict=True):
        assert ours.shape == (c,)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@given(predictions())
def test_precision_recall_f1_macro_matches_sklearn(case):
    pred, labels, _ = case
    expected = sklearn_metrics.precision_recall_fscore_support(
        labels, pred, average="macro", zero_division=0)[:3]
    got = metrics.precision_recall_f1(pred, labels)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(predictions())
def test_confusion_matrix_matches_sklearn(case):
    pred, labels, c = case
    expected = sklearn_metrics.confusion_matrix(labels, pred, labels=np.arange(c))
    got = metrics.confusion_matrix(pred, labels, num_classes=c)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_confusion_matrix_default_size_and_layout():
    got = metrics.confusion_matrix(np.array([0, 2, 2]), np.array([0, 1, 2]))
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 0, 1], [0, 0, 1]])  # row = true


def test_never_predicted_class_has_precision_zero():
    # class 1 is in the labels but never predicted: precision 0 (convention), recall 0
    precision, recall, f1 = metrics.precision_recall_f1(np.array([0, 0, 2]), np.array([0, 1, 2]),
                                                        average=None)
    np.testing.assert_allclose(precision, [0.5, 0.0, 1.0])
    np.testing.assert_allclose(recall, [1.0, 0.0, 1.0])
    np.testing.assert_allclose(f1, [2 / 3, 0.0, 1.0])


def test_classes_in_neither_array_do_not_dilute_the_macro_mean():
    pred = labels = np.array([0, 3])
    assert metrics.precision_recall_f1(pred, labels, num_classes=6) == (1.0, 1.0, 1.0)
    assert metrics.macro_accuracy(pred, labels) == 1.0


# --- ranking ---------------------------------------------------------------------------------

def test_mean_reciprocal_rank_by_hand():
    scores = np.array([[0.1, 0.5, 0.4],    # label 2 is second -> 1/2
                       [0.9, 0.05, 0.05],  # label 0 first -> 1
                       [0.2, 0.3, 0.5]])   # label 0 third -> 1/3
    labels = np.array([2, 0, 0])
    assert metrics.mean_reciprocal_rank(scores, labels) == pytest.approx((1 / 2 + 1 + 1 / 3) / 3)


def test_ties_are_broken_by_class_index():
    scores = np.array([[1.0, 1.0, 1.0]] * 3)
    labels = np.array([0, 1, 2])  # ranks 1, 2, 3
    assert metrics.mean_reciprocal_rank(scores, labels) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert metrics.top_k_accuracy(scores, labels, 1) == pytest.approx(1 / 3)
    assert metrics.top_k_accuracy(scores, labels, 2) == pytest.approx(2 / 3)
    assert metrics.ndcg(scores, labels) == pytest.approx((1 + 1 / np.log2(3) + 1 / 2) / 3)
    # a tie with a strictly higher score in front: [2, 1, 1], label 2 -> rank 3
    mrr = metrics.mean_reciprocal_rank(np.array([[2, 1, 1]]), np.array([2]))
    assert mrr == pytest.approx(1 / 3)
    # a collapsed model is not rewarded: constant logits give chance-level top-1
    constant = np.zeros((10, 10), np.float32)
    assert metrics.top_k_accuracy(constant, np.arange(10)) == pytest.approx(0.1)


@given(scored_samples(distinct=False, min_classes=2), st.integers(1, 10))
def test_tie_rule_is_a_stable_descending_sort_and_consistent_with_argmax(case, k):
    scores, labels = case
    rank = stable_descending_rank(scores, labels)
    assert metrics.top_k_accuracy(scores, labels, k) == pytest.approx(np.mean(rank <= k))
    assert metrics.mean_reciprocal_rank(scores, labels) == pytest.approx(np.mean(1 / rank))
    assert metrics.ndcg(scores, labels) == pytest.approx(np.mean(1 / np.log2(1 + rank)))
    assert metrics.top_k_accuracy(scores, labels, 1) == metrics.accuracy(scores.argmax(1), labels)


@given(scored_samples(), st.one_of(st.none(), st.integers(1, 12)))
def test_ndcg_matches_sklearn_without_ties(case, k):
    scores, labels = case
    one_hot = np.eye(scores.shape[1])[labels]
    expected = sklearn_metrics.ndcg_score(one_hot, scores, k=k)
    assert metrics.ndcg(scores, labels, k=k) == pytest.approx(expected)


@given(scored_samples())
def test_mrr_and_ndcg_bounds(case):
    scores, labels = case
    c = scores.shape[1]
    assert 1 / c - 1e-12 <= metrics.mean_reciprocal_rank(scores, labels) <= 1
    top1 = metrics.top_k_accuracy(scores, labels)
    assert metrics.ndcg(scores, labels, k=1) == pytest.approx(top1)


# --- label-free fidelity ---------------------------------------------------------------------

logit_pairs = st.integers(1, 20).flatmap(lambda n: st.integers(2, 10).flatmap(
    lambda c: st.tuples(*[arrays(np.float64, (n, c), elements=st.floats(-30, 30))] * 2)))


@given(logit_pairs)
def test_mean_softmax_kl_matches_scipy(pair):
    ref, test = pair
    p = scipy.special.softmax(ref, axis=1)
    q = scipy.special.softmax(test, axis=1)
    expected = np.mean(scipy.stats.entropy(p, q, axis=1))
    assert metrics.mean_softmax_kl(ref, test) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_mean_softmax_kl_is_stable_and_shift_invariant():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(8, 10))
    test = ref + rng.normal(scale=0.3, size=ref.shape)
    expected = metrics.mean_softmax_kl(ref, test)
    huge = metrics.mean_softmax_kl(ref + 1e4, test - 1e4)  # naive softmax would overflow
    assert np.isfinite(huge) and huge == pytest.approx(expected, rel=1e-6)
    assert metrics.mean_softmax_kl(ref, ref + 3.0) == pytest.approx(0.0, abs=1e-12)
    assert metrics.mean_softmax_kl(ref.astype(np.float32), test.astype(np.float32)) >= 0


@given(logit_pairs)
def test_top1_agreement_matches_argmax(pair):
    a, b = pair
    assert metrics.top1_agreement(a, b) == pytest.approx(np.mean(a.argmax(1) == b.argmax(1)))
    assert metrics.top1_agreement(a, a) == 1.0


def test_output_sqnr_db_by_hand():
    ref = np.array([[3.0, 4.0]])          # energy 25
    test = np.array([[3.0, 4.5]])         # noise 0.25 -> ratio 100 -> 20 dB
    assert metrics.output_sqnr_db(ref, test) == pytest.approx(20.0)
    assert metrics.output_sqnr_db(ref, ref) == float("inf")
    assert metrics.output_sqnr_db(np.zeros(3), np.ones(3)) == float("-inf")
    sqnr = metrics.output_sqnr_db(np.ones((2, 3, 4)), np.full((2, 3, 4), 1.1))
    assert sqnr == pytest.approx(20.0)


# --- report ----------------------------------------------------------------------------------

@given(scored_samples(distinct=False, min_classes=2))
def test_classification_report_bundles_the_metrics(case):
    scores, labels = case
    report = metrics.classification_report(scores, labels)
    pred = scores.argmax(1)
    assert report["top1"] == report["accuracy"] == metrics.accuracy(pred, labels)
    assert report["top5"] == metrics.top_k_accuracy(scores, labels, 5)
    assert report["macro_accuracy"] == metrics.macro_accuracy(pred, labels)
    precision, recall, f1 = metrics.precision_recall_f1(pred, labels, num_classes=scores.shape[1])
    assert (report["precision"], report["recall"], report["f1"]) == (precision, recall, f1)
    assert report["n_samples"] == len(labels) and report["num_classes"] == scores.shape[1]


# --- bad input -------------------------------------------------------------------------------

SCORES = np.array([[0.1, 0.9], [0.8, 0.2]])
LABELS = np.array([1, 0])


@pytest.mark.parametrize("call, error, parameter", [
    (lambda: metrics.top_k_accuracy(SCORES, np.array([1, 0, 1])), ValueError, "scores and labels"),
    (lambda: metrics.top_k_accuracy(SCORES, np.array([1, 2])), ValueError, "labels"),
    (lambda: metrics.top_k_accuracy(SCORES, np.array([1, -1])), ValueError, "labels"),
    (lambda: metrics.top_k_accuracy(SCORES, np.array([1.0, 0.0])), TypeError, "labels"),
    (lambda: metrics.top_k_accuracy(np.array([[np.nan, 1.0], [0, 1]]), LABELS), ValueError,
     "scores"),
    (lambda: metrics.top_k_accuracy(np.zeros((0, 2)), np.zeros(0, int)), ValueError, "scores"),
    (lambda: metrics.top_k_accuracy(SCORES[0], LABELS[:1]), ValueError, "scores"),
    (lambda: metrics.top_k_accuracy(SCORES.astype(bool), LABELS), TypeError, "scores"),
    (lambda: metrics.top_k_accuracy(SCORES, LABELS, k=0), ValueError, "k"),
    (lambda: metrics.top_k_accuracy(SCORES, LABELS, k=1.5), TypeError, "k"),
    (lambda: metrics.accuracy(np.array([0, 1]), np.array([0])), ValueError, "pred and labels"),
    (lambda: metrics.accuracy(np.array([], int), np.array([], int)), ValueError, "pred"),
    (lambda: metrics.accuracy(np.array([[0, 1]]), np.array([[0, 1]])), ValueError, "pred"),
    (lambda: metrics.confusion_matrix(np.array([0, 3]), LABELS, num_classes=3), ValueError, "pred"),
    (lambda: metrics.confusion_matrix(LABELS, LABELS, num_classes=0), ValueError, "num_classes"),
    (lambda: metrics.precision_recall_f1(LABELS, LABELS, average="micro"), ValueError, "average"),
    (lambda: metrics.macro_accuracy(LABELS, np.array([0, -2])), ValueError, "labels"),
    (lambda: metrics.mean_reciprocal_rank(SCORES, np.array([5, 0])), ValueError, "labels"),
    (lambda: metrics.ndcg(SCORES, LABELS, k=0), ValueError, "k"),
    (lambda: metrics.top1_agreement(SCORES, SCORES[:1]), ValueError, "scores_a and scores_b"),
    (lambda: metrics.mean_softmax_kl(SCORES, np.array([[np.inf, 0], [0, 0]])), ValueError,
     "logits_test"),
    (lambda: metrics.mean_softmax_kl(SCORES, SCORES.T[:, :1]), ValueError, "logits_ref and"),
    (lambda: metrics.output_sqnr_db(np.ones(3), np.ones(4)), ValueError, "ref and test"),
    (lambda: metrics.output_sqnr_db(np.array([]), np.array([])), ValueError, "ref"),
    (lambda: metrics.output_sqnr_db(np.ones(2), np.array(["a", "b"])), TypeError, "test"),
    (lambda: metrics.classification_report(SCORES, np.array([0, 2])), ValueError, "labels"),
])
def test_bad_input_raises_naming_the_parameter(call, error, parameter):
    with pytest.raises(error, match=parameter):
        call()


def test_integer_scores_are_accepted():
    scores = np.array([[0, 5, 3], [7, 1, 1]], dtype=np.int8)
    assert metrics.top_k_accuracy(scores, np.array([1, 0])) == 1.0
    assert metrics.output_sqnr_db(scores, scores) == float("inf")
