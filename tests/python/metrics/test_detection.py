"""Detection metrics (box IoU, NMS, AP50) against plain-loop references written from the
definitions, hand-computed cases and edge cases (no detections, no ground truth, duplicates, ties,
degenerate boxes, bad input)."""

import numpy as np
import pytest

from edgequant.metrics.detection import Detections, average_precision, box_iou, mean_average_precision, nms


def iou_reference(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1]) + max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ap_reference(detections, truths, threshold=0.5):
    """Every detection of every image, highest score first, matched greedily; then the
    all-point-interpolated area, summed recall step by recall step."""
    records = []
    for image, found in enumerate(detections):
        for k in range(len(found)):
            records.append((-found.scores[k], image, k))
    records.sort(key=lambda r: r[0])  # stable: equal scores keep image / within-image order
    # within one image the matcher visits boxes by descending score, stable
    taken = [set() for _ in truths]
    hits = []
    for _, image, k in records:
        best, best_iou = -1, -1.0
        for g in range(len(truths[image])):
            if g in taken[image]:
                continue
            value = iou_reference(detections[image].boxes[k], truths[image].boxes[g])
            if value > best_iou:
                best, best_iou = g, value
        hit = best >= 0 and best_iou >= threshold
        if hit:
            taken[image].add(best)
        hits.append(hit)
    positives = sum(len(t) for t in truths)
    area, tp = 0.0, 0
    precisions, recalls = [], []
    for n, hit in enumerate(hits, 1):
        tp += hit
        precisions.append(tp / n)
        recalls.append(tp / positives)
    previous = 0.0
    for i in range(len(hits)):
        best_precision = max(precisions[i:])
        area += (recalls[i] - previous) * best_precision
        previous = recalls[i]
    return area


def random_boxes(rng, n):
    xy = rng.uniform(0, 1, (n, 2))
    wh = rng.uniform(0.05, 0.4, (n, 2))
    return np.concatenate([xy, xy + wh], 1)


def test_box_iou_matches_reference():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 7), random_boxes(rng, 5)
    b[0] = a[0]  # identical
    b[1] = [2, 2, 3, 3]  # disjoint
    a[1] = [0.5, 0.5, 0.5, 0.9]  # zero width
    want = np.array([[iou_reference(x, y) for y in b] for x in a])
    np.testing.assert_allclose(box_iou(a, b), want, rtol=1e-12)
    assert box_iou(a, b)[0, 0] == 1.0 and box_iou(a, b)[0, 1] == 0.0 and (box_iou(a, b)[1] == 0).all()
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 5)


def test_nms_keeps_the_best_and_drops_overlaps():
    boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 1.1], [2, 2, 3, 3], [0, 0, 1, 1]], float)
    scores = np.array([0.5, 0.9, 0.3, 0.9])  # 1 and 3 tie: 1 first (stable)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 1.0).tolist() == [1, 3, 0, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0)).tolist() == []
    with pytest.raises(ValueError, match="iou_threshold"):
        nms(boxes, scores, 1.5)


def one(boxes, scores=None, classes=None):
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    return Detections(boxes, scores, np.zeros(len(boxes), np.int64) if classes is None else classes)


def test_hand_computed_ap():
    truth = [one([[0, 0, 1, 1], [2, 2, 3, 3]])]
    assert average_precision([one([[0, 0, 1, 1], [2, 2, 3, 3]], [0.9, 0.8])], truth) == 1.0
    # a false positive ranked first: precision 0, 1/2, 2/3 at recalls 0, 1/2, 1 -> (1/2)(2/3) + (1/2)(2/3)
    found = one([[5, 5, 6, 6], [0, 0, 1, 1], [2, 2, 3, 3]], [0.95, 0.9, 0.8])
    assert average_precision([found], truth) == pytest.approx(2 / 3)
    # a duplicate of a matched box is a false positive; half the boxes found
    found = one([[0, 0, 1, 1], [0, 0, 1, 1]], [0.9, 0.8])
    assert average_precision([found], truth) == pytest.approx(0.5)
    # IoU exactly at the threshold counts
    assert average_precision([one([[0, 0, 1, 2]], [1.0])], [one([[0, 0, 1, 1]])]) == 1.0
    assert average_precision([one([[0, 0, 1, 2.01]], [1.0])], [one([[0, 0, 1, 1]])]) == 0.0


def test_empty_cases():
    truth = [one([[0, 0, 1, 1]]), one([])]
    assert average_precision([one([]), one([])], truth) == 0.0
    assert np.isnan(average_precision([one([[0, 0, 1, 1]], [1.0])], [one([])]))
    assert average_precision([one([]), one([[0, 0, 1, 1]], [0.9])], truth) == 0.0  # a box on an empty image


def test_ap_matches_reference_on_random_sets():
    rng = np.random.default_rng(1)
    for trial in range(20):
        truths, found = [], []
        for _ in range(rng.integers(1, 6)):
            gt = random_boxes(rng, rng.integers(0, 6))
            noisy = gt + rng.normal(0, 0.03, gt.shape)
            extra = random_boxes(rng, rng.integers(0, 4))
            boxes = np.concatenate([noisy, extra])[rng.permutation(len(noisy) + len(extra))]
            scores = rng.choice([0.2, 0.5, 0.7, 0.9], len(boxes)) if trial % 2 else rng.random(len(boxes))  # ties
            truths.append(one(gt))
            found.append(one(boxes, scores))
        if sum(len(t) for t in truths) == 0:
            continue
        want = ap_reference([f for f in found], truths)
        # the reference visits within-image boxes in input order among equal scores, as the stable sorts do
        assert average_precision(found, truths) == pytest.approx(want, abs=1e-12), trial


def test_mean_average_precision_over_classes():
    truth = [Detections(np.array([[0, 0, 1, 1], [2, 2, 3, 3.0]]), None, np.array([0, 1]))]
    found = [Detections(np.array([[0, 0, 1, 1], [2, 2, 3, 3.0]]), np.array([0.9, 0.8]), np.array([0, 2]))]
    mean, per_class = mean_average_precision(found, truth)
    assert per_class == {0: 1.0, 1: 0.0} and mean == 0.5
    assert mean_average_precision(found, truth, classes=[0]) == (1.0, {0: 1.0})


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="boxes"):
        Detections(np.zeros((2, 3)), None, np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="NaN"):
        Detections(np.array([[0, 0, np.nan, 1]]), None, np.zeros(1, np.int64))
    with pytest.raises(TypeError, match="classes"):
        Detections(np.zeros((1, 4)), None, np.zeros(1))
    with pytest.raises(ValueError, match="one entry per box"):
        Detections(np.zeros((2, 4)), np.ones(3), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="images"):
        average_precision([one([])], [])
