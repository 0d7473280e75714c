"""Accuracy of predicted labels and top-k accuracy of scores."""

from __future__ import annotations

import numpy as np

from ._checks import class_indices, positive_int, same_length, score_matrix
from ._ranks import true_class_rank


def accuracy(pred, labels) -> float:
    """Fraction of samples whose predicted class equals the label.

    Parameters
    ----------
    pred : array_like of int, shape (n,)
        Predicted class indices, e.g. ``scores.argmax(axis=1)``.
    labels : array_like of int, shape (n,)
        True class indices.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    TypeError
        If either is not an integer array.
    ValueError
        If either is empty, not 1-D, has negative entries, or the lengths differ.
    """
    pred = class_indices(pred, "pred")
    labels = class_indices(labels, "labels")
    same_length(pred, labels, "pred", "labels")
    return float(np.mean(pred == labels))


def top_k_accuracy(scores, labels, k: int = 1) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    Ties are broken by class index (lower index ranks first, as ``np.argmax`` does), so
    ``top_k_accuracy(scores, labels, 1) == accuracy(scores.argmax(1), labels)`` always; see
    :func:`edgequant.metrics.mean_reciprocal_rank` for the same rule.

    Parameters
    ----------
    scores : array_like, shape (n, classes)
        Logits, probabilities or any scores where higher means more likely; integer scores
        are accepted. NaN is rejected; ±Inf is ranked as usual.
    labels : array_like of int, shape (n,)
        True class indices in [0, classes).
    k : int, default 1
        How many top-ranked classes count as a hit; k >= classes gives 1.0.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    TypeError
        If ``scores`` is not real, ``labels`` not integer or ``k`` not an integer.
    ValueError
        If shapes disagree, an input is empty, ``scores`` has NaN, a label is out of range,
        or ``k < 1``.
    """
    scores = score_matrix(scores, "scores")
    labels = class_indices(labels, "labels", num_classes=scores.shape[1])
    same_length(scores, labels, "scores", "labels")
    k = positive_int(k, "k")
    return float(np.mean(true_class_rank(scores, labels) <= k))
