"""Rank of the true class among the scores: the single tie rule every ranking metric uses."""

from __future__ import annotations

import numpy as np


def true_class_rank(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1-based rank of ``labels[i]`` in ``scores[i]``, ties broken by class index.

    rank = 1 + (classes scoring strictly higher) + (classes scoring equally with a lower index).

    This is the order of a stable descending sort, and rank 1 is exactly ``np.argmax``, so
    top-1 accuracy always equals the accuracy of argmax predictions. We do not count ties in
    the label's favour: a collapsed (e.g. over-quantized) model that outputs equal scores for
    every class would otherwise score 100 % top-1 accuracy.

    Parameters
    ----------
    scores : numpy.ndarray
        Checked [samples, classes] scores.
    labels : numpy.ndarray
        Checked int64 [samples] class indices, all < classes.

    Returns
    -------
    numpy.ndarray
        int64 [samples], values in [1, classes].
    """
    true_score = np.take_along_axis(scores, labels[:, None], axis=1)
    higher = (scores > true_score).sum(axis=1)
    lower_index = np.arange(scores.shape[1]) < labels[:, None]
    tied_before = ((scores == true_score) & lower_index).sum(axis=1)
    return 1 + higher + tied_before
