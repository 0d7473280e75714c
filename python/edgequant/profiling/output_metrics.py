"""How far a run's outputs moved from the FP32 reference, with metrics that fit each output.

Every float output gets its maximum absolute error, that error relative to the reference's
largest magnitude, and the cosine similarity of the flattened tensors. A classifier's
``[N, classes]`` (or ``[N, classes, 1, 1]``) output also gets the agreement of the per-row argmax
and the shift of the top-class softmax confidence. A known detection head — ``scores [1, A, C]``
beside ``boxes [1, A, 4]`` in corner form (UltraFace and the SSD family) — gets the agreement of the detections after
thresholding and non-maximum suppression. An argmax over a flattened detector output would call
two almost equal outputs 0 % alike.
"""

from __future__ import annotations

import numpy as np

from ..metrics.detection import box_iou, nms

#: Detection agreement: score threshold, NMS IoU, and the IoU at which two boxes are one detection.
SCORE_THRESHOLD = 0.5
NMS_IOU = 0.3
MATCH_IOU = 0.5


def output_metrics(names: list[str], reference: list[np.ndarray], outputs: list[np.ndarray],
                   batch: int | None = None) -> dict:
    """Per-output metrics (``{"outputs": {name: {...}}}``) plus the worst of each over the outputs
    at the top level: ``max_abs_error``, ``max_relative_error``, ``cosine``, and where they apply
    ``top1_agreement``, ``confidence_shift`` (per row), ``confidence_shift_mean_abs`` and
    ``detection_agreement``. ``batch``: the inputs' batch size; a 2-D output is read as
    ``[N, classes]`` only when its first dimension is that (YOLO-FastestV2's ``[605, 95]`` is a
    grid of anchors, not a batch)."""
    per_output = {}
    for name, ref, out in zip(names, reference, outputs, strict=True):
        per_output[name] = _tensor_metrics(np.asarray(ref), np.asarray(out), batch)
    result: dict = {"outputs": per_output}
    values = list(per_output.values())
    for key, worst in (("max_abs_error", max), ("max_relative_error", max), ("cosine", min)):
        found = [m[key] for m in values if key in m]
        if found:
            result[key] = float(worst(found))
    classifier = next((m for m in values if "top1_agreement" in m), None)
    if classifier is not None:
        for key in ("top1_agreement", "confidence_shift", "confidence_shift_mean_abs"):
            result[key] = classifier[key]
    detection = detection_agreement(names, reference, outputs)
    if detection is not None:
        result["detection_agreement"] = detection
    return result


def _tensor_metrics(ref: np.ndarray, out: np.ndarray, batch: int | None) -> dict:
    if ref.shape != out.shape:
        return {"error": f"shape {out.shape} differs from the reference's {ref.shape}"}
    if ref.dtype.kind != "f" or ref.size == 0:
        return {"equal": bool(np.array_equal(ref, out))}
    ref64, out64 = ref.astype(np.float64).ravel(), out.astype(np.float64).ravel()
    difference = np.abs(out64 - ref64)
    magnitude = float(np.max(np.abs(ref64)))
    max_abs = float(np.max(difference))
    norms = float(np.linalg.norm(ref64) * np.linalg.norm(out64))
    metrics = {"max_abs_error": max_abs,
               "max_relative_error": max_abs / magnitude if magnitude > 0 else (0.0 if max_abs == 0 else np.inf),
               "cosine": float(ref64 @ out64 / norms) if norms > 0 else float(max_abs == 0)}
    if ref.ndim > 2 and all(d == 1 for d in ref.shape[2:]):  # [N, classes, 1, 1] (SqueezeNet)
        ref, out = ref.reshape(ref.shape[:2]), out.reshape(out.shape[:2])
    if ref.ndim == 2 and ref.shape[1] > 1 and batch in (None, ref.shape[0]):  # [N, classes]
        shift = _top_confidence(out) - _top_confidence(ref)
        metrics.update(top1_agreement=float(np.mean(ref.argmax(1) == out.argmax(1))),
                       confidence_shift=shift.tolist(), confidence_shift_mean_abs=float(np.abs(shift).mean()))
    return metrics


def _top_confidence(logits: np.ndarray) -> np.ndarray:
    """The softmax probability of each row's top class (rows that already are probabilities stay)."""
    z = logits.astype(np.float64)
    if np.all(z >= 0) and np.allclose(z.sum(axis=1), 1.0, atol=1e-3):
        return z.max(axis=1)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(axis=1, keepdims=True)).max(axis=1)


def detection_agreement(names, reference, outputs) -> float | None:
    """F1 of the detections after NMS (matched at IoU >= 0.5, same class) against FP32's, over
    the batch, for a ``scores`` / ``boxes`` head; None when the outputs are not such a head.
    1.0 when neither finds anything."""
    head = _scores_boxes_head(names, reference)
    if head is None:
        return None
    scores_at, boxes_at = head
    matched = found_ref = found_out = 0
    for image in range(reference[scores_at].shape[0]):
        ref_dets = _detections(reference[scores_at][image], reference[boxes_at][image])
        out_dets = _detections(outputs[scores_at][image], outputs[boxes_at][image])
        found_ref += len(ref_dets)
        found_out += len(out_dets)
        matched += _matches(ref_dets, out_dets)
    if found_ref + found_out == 0:
        return 1.0
    return 2.0 * matched / (found_ref + found_out)


def _scores_boxes_head(names, reference) -> tuple[int, int] | None:
    shapes = [np.shape(r) for r in reference]
    scores = [i for i, s in enumerate(shapes) if len(s) == 3 and s[2] >= 2 and "score" in names[i].lower()]
    boxes = [i for i, s in enumerate(shapes) if len(s) == 3 and s[2] == 4 and "box" in names[i].lower()]
    if len(scores) != 1 or len(boxes) != 1 or shapes[scores[0]][:2] != shapes[boxes[0]][:2]:
        return None
    return scores[0], boxes[0]


def _detections(scores: np.ndarray, boxes: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(class, box) per detection after per-class NMS; class 0 is the background. A box with a
    NaN or Inf coordinate is no detection (a broken quantized run must not stop the report)."""
    kept = []
    usable = np.isfinite(boxes).all(axis=1)
    for cls in range(1, scores.shape[1]):
        candidates = np.flatnonzero((scores[:, cls] > SCORE_THRESHOLD) & usable)
        for index in nms(boxes[candidates], scores[candidates, cls], NMS_IOU):
            kept.append((cls, boxes[candidates[index]]))
    return kept


def _matches(ref_dets, out_dets) -> int:
    """Greedy one-to-one matches of the same class at IoU >= MATCH_IOU."""
    used = set()
    count = 0
    for cls, box in ref_dets:
        candidates = [k for k, (c, _) in enumerate(out_dets) if c == cls and k not in used]
        if not candidates:
            continue
        ious = box_iou(box[None], np.array([out_dets[k][1] for k in candidates]))[0]
        best = int(np.argmax(ious))
        if ious[best] >= MATCH_IOU:
            used.add(candidates[best])
            count += 1
    return count
