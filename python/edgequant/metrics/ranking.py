"""Ranking metrics for one relevant item (the true class) per sample: MRR and NDCG."""

from __future__ import annotations

import numpy as np

from ._checks import class_indices, positive_int, same_length, score_matrix
from ._ranks import true_class_rank


def mean_reciprocal_rank(scores, labels) -> float:
    """Mean over samples of 1 / rank of the true class.

    The rank is 1-based; ties are broken by class index (lower index ranks first, as
    ``np.argmax`` does), the same rule as :func:`edgequant.metrics.top_k_accuracy`, so equal
    scores never favour the label.

    Parameters
    ----------
    scores : array_like, shape (n, classes)
        Higher means more likely. NaN is rejected.
    labels : array_like of int, shape (n,)
        True class indices in [0, classes).

    Returns
    -------
    float
        In [1 / classes, 1].

    Raises
    ------
    TypeError, ValueError
        As :func:`edgequant.metrics.top_k_accuracy`.
    """
    scores, labels = _checked(scores, labels)
    return float(np.mean(1.0 / true_class_rank(scores, labels)))


def ndcg(scores, labels, k: int | None = None) -> float:
    """Mean normalised discounted cumulative gain with a single relevant class per sample.

    With one relevant item the ideal DCG is 1, so per sample NDCG = 1 / log2(1 + rank), or 0
    when ``k`` is given and rank > k. Ranks follow the tie rule of
    :func:`mean_reciprocal_rank`. Without ties this equals scikit-learn's ``ndcg_score`` on
    one-hot relevances.

    Parameters
    ----------
    scores : array_like, shape (n, classes)
        Higher means more likely. NaN is rejected.
    labels : array_like of int, shape (n,)
        True class indices in [0, classes).
    k : int, optional
        Only the top ``k`` ranks earn gain; ``None`` means all.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    TypeError, ValueError
        As :func:`edgequant.metrics.top_k_accuracy`.
    """
    scores, labels = _checked(scores, labels)
    rank = true_class_rank(scores, labels)
    gain = 1.0 / np.log2(1.0 + rank)
    if k is not None:
        gain[rank > positive_int(k, "k")] = 0.0
    return float(np.mean(gain))


def _checked(scores, labels):
    scores = score_matrix(scores, "scores")
    labels = class_indices(labels, "labels", num_classes=scores.shape[1])
    same_length(scores, labels, "scores", "labels")
    return scores, labels
