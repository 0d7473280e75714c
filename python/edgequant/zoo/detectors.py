"""Decoding the outputs of the detectors the project runs into per-image detections.

- :func:`decode_yolov8`: YOLOv8 as ultralytics exports it (``architectures.build("yolov8n")``),
  output [N, 4 + classes, anchors], boxes (cx, cy, w, h) in input pixels, class scores after the
  sigmoid; a detection's score is its best class score.
- :func:`decode_yolo_fastestv2`: ``yolo-fastestv2.onnx`` (shared models), output [605, 95] for
  one 352x352 image, decoded as hpc203/yolo-fastestv2-opencv's ``main.py`` does: rows are the
  cells of the 22x22 (stride 16) then the 11x11 (stride 32) grid, columns 4 box values for each of
  3 anchors, 3 objectness values, 80 class scores shared by the anchors (all already sigmoids);
  centre = (2·t − 0.5 + cell) · stride, size = (2·t)² · anchor; score = objectness × class score.
- :func:`load_yolo_labels`: YOLO-format label files (class cx cy w h, normalised).

Boxes come out as corners (x1, y1, x2, y2) normalised by the input size (0..1), the unit of YOLO
labels, after per-class greedy NMS (:func:`edgequant.metrics.detection.nms`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..metrics.detection import Detections, nms

__all__ = ["YOLO_FASTESTV2_ANCHORS", "decode_yolo_fastestv2", "decode_yolov8", "load_yolo_labels"]

#: (stride, [(w, h) per anchor]) of yolo-fastestv2, in input pixels (352x352).
YOLO_FASTESTV2_ANCHORS = ((16, ((12.64, 19.39), (37.88, 51.48), (55.71, 138.31))),
                          (32, ((126.91, 78.23), (131.57, 214.55), (279.92, 258.87))))
YOLO_FASTESTV2_SIZE = 352


def _corners(centre_size: np.ndarray) -> np.ndarray:
    cx, cy, w, h = centre_size.T
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def _select(boxes, scores, classes, score_threshold, iou_threshold, max_detections) -> Detections:
    keep = scores > score_threshold
    boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    kept = []
    for cls in np.unique(classes):
        index = np.flatnonzero(classes == cls)
        kept.extend(index[nms(boxes[index], scores[index], iou_threshold)])
    kept = np.array(sorted(kept, key=lambda k: -scores[k]), dtype=np.int64)[:max_detections]
    return Detections(boxes[kept], scores[kept], classes[kept].astype(np.int64))


def decode_yolov8(output, input_size=(640, 640), score_threshold: float = 0.25, iou_threshold: float = 0.45,
                  max_detections: int = 300) -> list[Detections]:
    """Detections of each image of a YOLOv8 output [N, 4 + classes, anchors] (see the module doc).

    ``input_size``: (H, W) of the network input, to normalise the boxes.
    """
    output = np.asarray(output, dtype=np.float64)
    if output.ndim != 3 or output.shape[1] < 5:
        raise ValueError(f"output must be [N, 4 + classes, anchors], got shape {output.shape}")
    height, width = input_size
    results = []
    for image in output:
        boxes = _corners(image[:4].T) / np.array([width, height, width, height])
        classes = image[4:].argmax(0)
        scores = image[4:].max(0)
        results.append(_select(boxes, scores, classes, score_threshold, iou_threshold, max_detections))
    return results


def decode_yolo_fastestv2(output, score_threshold: float = 0.25, iou_threshold: float = 0.4,
                          max_detections: int = 300) -> Detections:
    """Detections of one yolo-fastestv2 output [605, 95] (see the module doc)."""
    output = np.asarray(output, dtype=np.float64)
    anchors = len(YOLO_FASTESTV2_ANCHORS[0][1])
    cells = sum((YOLO_FASTESTV2_SIZE // stride) ** 2 for stride, _ in YOLO_FASTESTV2_ANCHORS)
    if output.shape != (cells, 5 * anchors + 80):
        raise ValueError(f"output must be [{cells}, {5 * anchors + 80}] (one image), got shape {output.shape}")
    centre_size, scores, classes = [], [], []
    row = 0
    for stride, sizes in YOLO_FASTESTV2_ANCHORS:
        side = YOLO_FASTESTV2_SIZE // stride
        level = output[row:row + side * side]
        y, x = np.divmod(np.arange(side * side), side)
        grid = np.stack([x, y], axis=1)
        class_scores = level[:, 5 * anchors:]
        for a, size in enumerate(sizes):
            t = level[:, 4 * a:4 * a + 4]
            centre = (t[:, :2] * 2 - 0.5 + grid) * stride
            wh = (t[:, 2:] * 2) ** 2 * np.array(size)
            centre_size.append(np.concatenate([centre, wh], axis=1))
            scores.append(level[:, 4 * anchors + a] * class_scores.max(1))
            classes.append(class_scores.argmax(1))
        row += side * side
    boxes = _corners(np.concatenate(centre_size)) / YOLO_FASTESTV2_SIZE
    return _select(boxes, np.concatenate(scores), np.concatenate(classes), score_threshold, iou_threshold,
                   max_detections)


def load_yolo_labels(path) -> Detections:
    """Ground truth of one image from a YOLO label file (``class cx cy w h`` per line, 0..1)."""
    rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    if any(len(r) != 5 for r in rows):
        raise ValueError(f"{path}: every line must be 'class cx cy w h'")
    values = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return Detections(_corners(values[:, 1:]), np.ones(len(values)), values[:, 0].astype(np.int64))
