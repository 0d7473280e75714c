"""Per-class metrics built on the confusion matrix: balanced accuracy, precision, recall, F1."""

from __future__ import annotations

import numpy as np

from ._checks import class_indices, positive_int, same_length


def confusion_matrix(pred, labels, num_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    pred : array_like of int, shape (n,)
        Predicted class indices.
    labels : array_like of int, shape (n,)
        True class indices.
    num_classes : int, optional
        Size of the matrix; by default ``1 + max(pred.max(), labels.max())``.

    Returns
    -------
    numpy.ndarray
        int64 [num_classes, num_classes]; row = true class, column = predicted class
        (scikit-learn's layout; note that our argument order is ``pred, labels``).

    Raises
    ------
    TypeError, ValueError
        As :func:`edgequant.metrics.accuracy`, and if an index is >= ``num_classes``.
    """
    pred, labels, num_classes = _checked(pred, labels, num_classes)
    counts = np.bincount(labels * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def macro_accuracy(pred, labels) -> float:
    """Balanced accuracy: the mean over classes of the per-class recall.

    Each class present in ``labels`` weighs the same, whatever its number of samples; classes
    that never occur in ``labels`` are left out (their recall is undefined). Equals
    scikit-learn's ``balanced_accuracy_score``.

    Parameters
    ----------
    pred, labels : array_like of int, shape (n,)
        Predicted and true class indices.

    Returns
    -------
    float
        In [0, 1].
    """
    matrix = confusion_matrix(pred, labels)
    support = matrix.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(matrix)[present] / support[present]))


def precision_recall_f1(pred, labels, average: str | None = "macro",
                        num_classes: int | None = None):
    """Precision, recall and F1 per class, or their unweighted (macro) means.

    Conventions for the undefined cases (scikit-learn's ``zero_division=0``): a class never
    predicted has precision 0; a class absent from ``labels`` has recall 0; F1 is 0 when
    precision + recall is 0. The macro mean runs over the classes that occur in ``labels`` or
    in ``pred`` (as scikit-learn's default does); classes in neither carry no information.

    Parameters
    ----------
    pred, labels : array_like of int, shape (n,)
        Predicted and true class indices.
    average : {"macro", None}, default "macro"
        ``None`` returns one value per class.
    num_classes : int, optional
        Length of the per-class arrays; by default ``1 + max(pred.max(), labels.max())``.

    Returns
    -------
    precision, recall, f1 : float or numpy.ndarray
        Floats for ``"macro"``; float64 arrays [num_classes] for ``None``.

    Raises
    ------
    ValueError
        If ``average`` is neither ``"macro"`` nor ``None``, and as :func:`confusion_matrix`.
    """
    if average not in ("macro", None):
        raise ValueError(f"average must be 'macro' or None, got {average!r}")
    matrix = confusion_matrix(pred, labels, num_classes)
    hits = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(hits),
                   where=denominator > 0)
    if average is None:
        return precision, recall, f1
    seen = (predicted > 0) | (support > 0)
    return float(precision[seen].mean()), float(recall[seen].mean()), float(f1[seen].mean())


def _checked(pred, labels, num_classes):
    """Checked int64 ``pred`` and ``labels`` and the number of classes."""
    if num_classes is not None:
        num_classes = positive_int(num_classes, "num_classes")
    pred = class_indices(pred, "pred", num_classes)
    labels = class_indices(labels, "labels", num_classes)
    same_length(pred, labels, "pred", "labels")
    if num_classes is None:
        num_classes = 1 + int(max(pred.max(), labels.max()))
    return pred, labels, num_classes
