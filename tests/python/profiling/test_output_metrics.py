"""output_metrics' detection agreement: NMS and IoU come from edgequant.metrics.detection."""

import numpy as np

from edgequant.profiling.output_metrics import detection_agreement

NAMES = ["scores", "boxes"]


def _head(boxes, scores):
    """A one-image SSD-style head: scores [1, A, 2] (background, object), boxes [1, A, 4]."""
    scores = np.asarray(scores, np.float32)
    return [np.stack([1 - scores, scores], axis=1)[None], np.asarray(boxes, np.float32)[None]]


def test_overlapping_boxes_are_suppressed_before_matching():
    boxes = [[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]]
    reference = _head(boxes, [0.9, 0.8, 0.7])
    # NMS keeps boxes 0 and 2 in both; the second run's box 0 moved a little (IoU 0.9 ≥ 0.5)
    moved = _head([[0, 0, 10, 9], [1, 1, 10, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.7])
    assert detection_agreement(NAMES, reference, moved) == 1.0
    # box 2 lost (score under the threshold): 2 found vs 1 found, 1 matched
    lost = _head(boxes, [0.9, 0.8, 0.1])
    assert detection_agreement(NAMES, reference, lost) == 2 * 1 / 3


def test_a_non_finite_box_is_no_detection_and_no_error():
    reference = _head([[0, 0, 10, 10]], [0.9])
    broken = _head([[np.nan, 0, 10, 10]], [0.9])
    assert detection_agreement(NAMES, reference, broken) == 0.0


def test_not_a_detection_head():
    assert detection_agreement(["logits"], [np.zeros((1, 10), np.float32)], [np.zeros((1, 10), np.float32)]) is None
