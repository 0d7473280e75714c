"""Metrics for classifiers and for the fidelity of compressed models, in vectorised NumPy.

Classification against labels: :func:`accuracy`, :func:`top_k_accuracy`,
:func:`macro_accuracy` (balanced accuracy, the mean per-class recall),
:func:`precision_recall_f1`, :func:`confusion_matrix`, :func:`classification_report`.
Ranking of the true class: :func:`mean_reciprocal_rank`, :func:`ndcg`.
Label-free fidelity to reference (FP32) outputs: :func:`top1_agreement`,
:func:`mean_softmax_kl`, :func:`output_sqnr_db`.

Tie rule, shared by every metric that ranks scores: equal scores are ordered by class index,
lowest first, exactly as ``np.argmax`` and a stable descending sort do. Hence top-1 accuracy
equals the accuracy of argmax predictions, and a model whose outputs collapse to equal scores
is not rewarded for it.

Argument order is ``(pred or scores, labels)``; bad input raises ``TypeError`` or
``ValueError`` naming the parameter (mismatched shapes, labels out of range, NaN, empty).
"""

from .accuracy import accuracy, top_k_accuracy
from .fidelity import mean_softmax_kl, output_sqnr_db, top1_agreement
from .per_class import confusion_matrix, macro_accuracy, precision_recall_f1
from .ranking import mean_reciprocal_rank, ndcg
from .report import classification_report

__all__ = [
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "macro_accuracy",
    "mean_reciprocal_rank",
    "mean_softmax_kl",
    "ndcg",
    "output_sqnr_db",
    "precision_recall_f1",
    "top1_agreement",
    "top_k_accuracy",
]
