"""Critical classes from a confusion matrix (symmetric, per-class normalised) or named by the user."""

import numpy as np
import pytest

from edgequant.mixed_precision import confusion_matrix, critical_classes, parse_critical, symmetric_confusion


def test_confusion_matrix_counts_every_pair():
    rng = np.random.default_rng(0)
    truth, predicted = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    expected = np.zeros((4, 4), np.int64)
    for t, p in zip(truth, predicted, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(truth, predicted, 4), expected)
    assert confusion_matrix([], [], 3).sum() == 0


def test_symmetric_confusion_is_normalised_per_class():
    # class 0: 100 samples, 10 predicted as 1; class 1: 10 samples, 5 predicted as 0; class 2 never confused
    counts = np.array([[90, 10, 0], [5, 5, 0], [0, 0, 7]])
    symmetric = symmetric_confusion(counts)
    assert symmetric[0, 1] == symmetric[1, 0] == pytest.approx(10 / 100 + 5 / 10)
    assert np.all(np.diag(symmetric) == 0) and symmetric[0, 2] == 0


def test_rare_class_confused_half_the_time_outranks_a_frequent_one_confused_a_few_times():
    counts = np.array([[980, 20, 0, 0],   # 2 % of class 0 -> 1
                       [30, 970, 0, 0],   # 3 % of class 1 -> 0
                       [0, 0, 5, 5],      # half of class 2 -> 3
                       [0, 0, 0, 10]])
    chosen = critical_classes(counts, k=1, class_names=["car", "truck", "cat", "dog"])
    assert chosen.pairs == [(2, 3)] and chosen.classes == (2, 3) and chosen.names == ("cat", "dog")
    assert chosen.scores == [pytest.approx(0.5)]
    two = critical_classes(counts, k=2)
    assert two.pairs == [(2, 3), (0, 1)] and two.classes == (0, 1, 2, 3) and two.groups == [(2, 3), (0, 1)]
    assert list(two) == [0, 1, 2, 3] and len(two) == 4


def test_overlapping_pairs_merge_into_a_group_and_ties_break_by_index():
    counts = np.array([[8, 1, 1, 0], [1, 8, 0, 1], [1, 0, 9, 0], [0, 0, 0, 10]])
    chosen = critical_classes(counts, k=3)
    assert chosen.pairs == [(0, 1), (0, 2), (1, 3)]  # 0/1 and 0/2 tie: the lower indices first
    assert chosen.groups == [(0, 1, 2, 3)]


def test_a_perfect_model_warns_that_the_choice_is_arbitrary():
    with pytest.warns(UserWarning, match="arbitrary"):
        chosen = critical_classes(np.eye(3, dtype=int) * 5, k=1)
    assert chosen.pairs == [(0, 1)]


def test_parse_critical_names_and_errors():
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog"]
    chosen = parse_critical(" dog, cat ", names)
    assert chosen.classes == (3, 5) and chosen.names == ("cat", "dog") and chosen.groups == [(3, 5)]
    with pytest.raises(ValueError, match=r"unknown class name\(s\) \['cow'\]; valid names: airplane, automobile"):
        parse_critical("cat,cow", names)
    with pytest.raises(ValueError, match="no critical class named"):
        parse_critical(" , ", names)
    with pytest.raises(ValueError, match="repeated names"):
        parse_critical("cat", ["cat", "cat"])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: confusion_matrix([0, 1], [0], 2), "y_true has 2 labels, y_pred 1"),
    (lambda: confusion_matrix([0, 5], [0, 1], 3), r"y_true holds labels outside \[0, 3\)"),
    (lambda: confusion_matrix([0.5], [0], 2), "integer class labels"),
    (lambda: confusion_matrix([0], [0], 1), "n_classes must be an integer >= 2"),
    (lambda: critical_classes(np.ones((3, 3)), k=4), r"k must be an integer in \[1, 3\]"),
    (lambda: critical_classes(np.ones((2, 3))), "square matrix"),
    (lambda: critical_classes(-np.ones((2, 2))), "non-negative"),
    (lambda: critical_classes(np.ones((2, 2)), class_names=["a"]), "1 names for 2 classes"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
