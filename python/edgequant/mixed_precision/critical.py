"""Critical classes: the ones the FP32 model confuses most, or the ones a user names (SPEC §7.1).

Confusion between classes ``i`` and ``j`` is symmetric and normalised per class:
``rate[i, j] = C[i, j] / n_i`` (the share of class ``i`` predicted as ``j``) and
``confusion(i, j) = rate[i, j] + rate[j, i]``, so that a rare class confused half the time
outranks a frequent one confused a few times. The ``k`` most confused pairs are critical;
pairs sharing a class merge into a group.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CriticalClasses:
    """The critical classes, and how they were chosen. Iterating yields the class indices.

    Attributes
    ----------
    classes : tuple of int
        Every critical class, ascending: ``D_crit`` holds their samples.
    pairs : list of (int, int)
        The most confused pairs, most confused first (empty when named by the user).
    scores : list of float
        Each pair's symmetric per-class confusion ``rate[i, j] + rate[j, i]`` (in [0, 2]).
    groups : list of tuple of int
        Pairs sharing a class merged (one group when named by the user).
    names : tuple of str or None
        The critical classes' names when class names were given.
    """

    classes: tuple[int, ...]
    pairs: list[tuple[int, int]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    groups: list[tuple[int, ...]] = field(default_factory=list)
    names: tuple[str, ...] | None = None

    def __iter__(self):
        return iter(self.classes)

    def __len__(self):
        return len(self.classes)

    def describe(self) -> str:
        """One line: the classes (by name when known) and the pairs' confusion."""
        label = self.names if self.names is not None else self.classes
        text = ", ".join(str(c) for c in label)
        if self.pairs:
            text += " (pairs: " + "; ".join(f"{i}/{j}: {s:.3f}" for (i, j), s in zip(self.pairs, self.scores,
                                                                                    strict=True)) + ")"
        return text


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``i`` predicted as ``j`` (int64, n × n).

    Raises
    ------
    ValueError
        If the label arrays are not 1-D integer arrays of equal length, or hold a label outside
        ``[0, n_classes)``.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    truth, predicted = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if truth.shape != predicted.shape:
        raise ValueError(f"y_true has {truth.size} labels, y_pred {predicted.size}")
    for name, labels in (("y_true", truth), ("y_pred", predicted)):
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ValueError(f"{name} holds labels outside [0, {n_classes}): "
                             f"min {labels.min()}, max {labels.max()}")
    counts = np.bincount(truth * n_classes + predicted, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def _labels(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-D array of integer class labels, got dtype {array.dtype} "
                         f"and shape {array.shape}")
    return array.astype(np.int64)


def symmetric_confusion(confusion) -> np.ndarray:
    """``rate + rateᵀ`` with ``rate[i, j] = C[i, j] / n_i`` and a zero diagonal (float64)."""
    matrix = np.asarray(confusion)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise ValueError(f"confusion must be a square matrix of at least 2 classes, got shape {matrix.shape}")
    if matrix.dtype.kind not in "iuf" or not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise ValueError("confusion must hold finite, non-negative counts")
    matrix = matrix.astype(np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    rate = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    symmetric = rate + rate.T
    np.fill_diagonal(symmetric, 0.0)
    return symmetric


def critical_classes(confusion, k: int = 1, class_names: Sequence[str] | None = None) -> CriticalClasses:
    """The ``k`` most confused class pairs of a confusion matrix (see the module docstring).

    Ties are broken by the lower class indices, so the choice is deterministic.

    Parameters
    ----------
    confusion : array_like, n × n
        Counts, e.g. :func:`confusion_matrix` of the FP32 model on validation data.
    k : int, default 1
        Number of pairs, 1 to n·(n−1)/2.
    class_names : sequence of str, optional
        Names of the n classes, for :attr:`CriticalClasses.names`.

    Warns
    -----
    UserWarning
        When a chosen pair was never confused (a score of 0): the choice is then arbitrary.
    """
    symmetric = symmetric_confusion(confusion)
    n = symmetric.shape[0]
    names = _check_names(class_names, n)
    available = n * (n - 1) // 2
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= available:
        raise ValueError(f"k must be an integer in [1, {available}] for {n} classes, got {k!r}")
    upper_i, upper_j = np.triu_indices(n, 1)
    scores = symmetric[upper_i, upper_j]
    order = np.lexsort((upper_j, upper_i, -scores))[:k]  # by score descending, then indices
    pairs = [(int(upper_i[o]), int(upper_j[o])) for o in order]
    chosen = [float(scores[o]) for o in order]
    if chosen[-1] == 0.0:
        warnings.warn(f"only {sum(s > 0 for s in chosen)} of the {k} chosen pair(s) were ever confused: the "
                      "others are arbitrary (name the critical classes instead)", UserWarning, stacklevel=2)
    classes = tuple(sorted({c for pair in pairs for c in pair}))
    return CriticalClasses(classes=classes, pairs=pairs, scores=chosen, groups=_merge(pairs),
                           names=None if names is None else tuple(names[c] for c in classes))


def parse_critical(text: str, class_names: Sequence[str]) -> CriticalClasses:
    """Critical classes named by the user: ``"cat,dog"`` against the model's ``class_names``.

    Raises
    ------
    ValueError
        If a name is unknown (the message lists the valid ones) or fewer than one class is named.
    """
    if not isinstance(text, str):
        raise TypeError(f"critical classes must be a comma-separated string, got {type(text).__name__}")
    names = _check_names(class_names, len(class_names))
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    if not wanted:
        raise ValueError(f"no critical class named in {text!r}; valid names: {', '.join(names)}")
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise ValueError(f"unknown class name(s) {unknown}; valid names: {', '.join(names)}")
    classes = tuple(sorted({names.index(w) for w in wanted}))
    return CriticalClasses(classes=classes, groups=[classes], names=tuple(names[c] for c in classes))


def _check_names(class_names, n: int) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, str):
        raise TypeError("class_names must be a sequence of names, not one string")
    names = [str(name) for name in class_names]
    if len(names) != n:
        raise ValueError(f"class_names has {len(names)} names for {n} classes")
    if len(set(names)) != n:
        raise ValueError("class_names has repeated names")
    return names


def _merge(pairs: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Connected groups of classes linked by pairs, in order of their first pair."""
    groups: list[set[int]] = []
    for pair in pairs:
        touching = [g for g in groups if g & set(pair)]
        merged = set(pair).union(*touching)
        groups = [g for g in groups if not any(g is t for t in touching)]
        groups.append(merged)
    first: dict[int, int] = {}
    for index, pair in enumerate(pairs):
        for c in pair:
            first.setdefault(c, index)
    return [tuple(sorted(g)) for g in sorted(groups, key=lambda g: min(first[c] for c in g))]
