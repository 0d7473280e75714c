"""Detection metrics: box IoU, greedy non-maximum suppression and average precision (AP50).

Boxes are ``[x1, y1, x2, y2]`` (corners, any consistent unit). A detection set of one image is a
:class:`Detections` (boxes, scores, classes); ground truth is the same without scores (or another
model's detections: AP of INT8 boxes against FP32 boxes).

Average precision follows PASCAL VOC 2010+ / COCO's matching rule: per class, detections of all
images sorted by score (highest first; equal scores keep their input order, image by image), each
matched to the unmatched ground-truth box of its image with the highest IoU if that IoU is
``>= iou_threshold``, else a false positive (a second detection of a matched box is a false
positive). AP is the area under the precision-recall curve with precision made monotone
(all-point interpolation). A class with ground truth but no detections scores 0; classes without
ground truth are left out of the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Detections", "average_precision", "box_iou", "mean_average_precision", "nms"]


@dataclass
class Detections:
    """Boxes [n, 4] (x1, y1, x2, y2), scores [n] and integer classes [n] of one image."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    def __post_init__(self):
        self.boxes = _boxes(self.boxes, "boxes")
        n = len(self.boxes)
        self.scores = np.ones(n) if self.scores is None else np.asarray(self.scores, np.float64).reshape(-1)
        self.classes = np.asarray(self.classes).reshape(-1)
        if self.classes.dtype.kind not in "iu":
            raise TypeError(f"classes must be integers, got dtype {self.classes.dtype}")
        if len(self.scores) != n or len(self.classes) != n:
            raise ValueError(f"boxes, scores and classes must have one entry per box: {n}, {len(self.scores)}, "
                             f"{len(self.classes)}")
        if np.isnan(self.scores).any():
            raise ValueError("scores holds NaN")

    def __len__(self):
        return len(self.boxes)

    def of_class(self, cls: int) -> Detections:
        keep = self.classes == cls
        return Detections(self.boxes[keep], self.scores[keep], self.classes[keep])


def _boxes(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4))
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{name} must be [n, 4] (x1, y1, x2, y2), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or Inf")
    return array


def box_iou(a, b) -> np.ndarray:
    """Pairwise intersection over union of boxes ``a`` [n, 4] and ``b`` [m, 4]: [n, m].

    Degenerate boxes (zero or negative width or height) have area 0 and IoU 0 with everything.
    """
    a, b = _boxes(a, "a"), _boxes(b, "b")
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(hi - lo, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes, scores, iou_threshold: float = 0.45) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the kept boxes, highest score first.

    A box is dropped when its IoU with a kept, higher-scored box exceeds ``iou_threshold``.
    Equal scores keep their input order (stable sort).
    """
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold!r}")
    boxes = _boxes(boxes, "boxes")
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"scores has {len(scores)} entries for {len(boxes)} boxes")
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, order = order[0], order[1:]
        keep.append(best)
        if order.size:
            order = order[box_iou(boxes[best:best + 1], boxes[order])[0] <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def average_precision(detections, ground_truth, iou_threshold: float = 0.5) -> float:
    """AP of one class over a list of images (see the module doc for the matching rule).

    Parameters
    ----------
    detections, ground_truth : list of Detections
        One entry per image, in the same order; only boxes and scores are read (filter the class
        first, e.g. with :meth:`Detections.of_class`).
    iou_threshold : float
        0.5 for AP50.

    Returns
    -------
    float
        In [0, 1]; NaN when there is no ground truth box at all.
    """
    if len(detections) != len(ground_truth):
        raise ValueError(f"detections has {len(detections)} images, ground_truth {len(ground_truth)}")
    if not 0 < iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold!r}")
    positives = sum(len(g) for g in ground_truth)
    if positives == 0:
        return float("nan")
    scores, hits = [], []
    for found, truth in zip(detections, ground_truth, strict=True):
        if len(found) == 0:
            continue
        order = np.argsort(-found.scores, kind="stable")
        iou = box_iou(found.boxes[order], truth.boxes)
        taken = np.zeros(len(truth), bool)
        for row in range(len(order)):
            candidates = np.where(taken, -1.0, iou[row]) if len(truth) else np.zeros(0)
            best = int(np.argmax(candidates)) if len(truth) else -1
            hit = best >= 0 and candidates[best] >= iou_threshold
            if hit:
                taken[best] = True
            hits.append(hit)
        scores.append(found.scores[order])
    if not hits:
        return 0.0
    order = np.argsort(-np.concatenate(scores), kind="stable")
    hits = np.asarray(hits)[order]
    true_positives = np.cumsum(hits)
    recall = true_positives / positives
    precision = true_positives / np.arange(1, len(hits) + 1)
    # all-point interpolation: precision made non-increasing, summed over the recall steps
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float((steps * precision).sum())


def mean_average_precision(detections, ground_truth, iou_threshold: float = 0.5, classes=None):
    """Mean of :func:`average_precision` over the classes that have ground truth.

    ``classes``: only these class indices (e.g. ``[0]`` for COCO's person). Returns ``(mean,
    {class: AP})``; the mean is NaN when no class has ground truth.
    """
    present = sorted({int(c) for g in ground_truth for c in g.classes})
    if classes is not None:
        present = [c for c in present if c in {int(k) for k in classes}]
    per_class = {c: average_precision([d.of_class(c) for d in detections], [g.of_class(c) for g in ground_truth],
                                      iou_threshold) for c in present}
    mean = float(np.mean(list(per_class.values()))) if per_class else float("nan")
    return mean, per_class
