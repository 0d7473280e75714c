"""One-call summary of a classifier's scores against labels."""

from __future__ import annotations

from ._checks import class_indices, same_length, score_matrix
from .accuracy import accuracy, top_k_accuracy
from .per_class import macro_accuracy, precision_recall_f1


def classification_report(scores, labels) -> dict:
    """The usual classification metrics in one dict.

    Parameters
    ----------
    scores : array_like, shape (n, classes)
        Logits or probabilities; predictions are ``argmax`` (ties: lowest class index).
    labels : array_like of int, shape (n,)
        True class indices in [0, classes).

    Returns
    -------
    dict
        ``top1``, ``top5`` (:func:`top_k_accuracy`; top5 is 1.0 with 5 classes or fewer),
        ``accuracy`` (of the argmax predictions; equals ``top1`` by the shared tie rule),
        ``macro_accuracy`` (mean per-class recall), ``precision``, ``recall``, ``f1`` (macro
        means, :func:`precision_recall_f1`), ``n_samples`` and ``num_classes``. Metrics are
        floats in [0, 1].

    Raises
    ------
    TypeError, ValueError
        As :func:`edgequant.metrics.top_k_accuracy`.
    """
    scores = score_matrix(scores, "scores")
    labels = class_indices(labels, "labels", num_classes=scores.shape[1])
    same_length(scores, labels, "scores", "labels")
    num_classes = scores.shape[1]
    pred = scores.argmax(axis=1)
    precision, recall, f1 = precision_recall_f1(pred, labels, "macro", num_classes)
    return {
        "top1": top_k_accuracy(scores, labels, 1),
        "top5": top_k_accuracy(scores, labels, 5),
        "accuracy": accuracy(pred, labels),
        "macro_accuracy": macro_accuracy(pred, labels),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "n_samples": len(labels),
        "num_classes": num_classes,
    }
