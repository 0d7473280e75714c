"""Decoding the detectors' outputs: yolo-fastestv2 (shared model) on its demo images and on the COCO
images with labels (real AP50), YOLOv8's [N, 4 + classes, anchors] output, YOLO label files."""

import numpy as np
import onnxruntime as ort
import pytest

from edgequant.datasets import shared_data_dir
from edgequant.datasets.detector_images import load_detector_images
from edgequant.metrics.detection import mean_average_precision
from edgequant.zoo.detectors import decode_yolo_fastestv2, decode_yolov8, load_yolo_labels

DATA = shared_data_dir()
needs_data = pytest.mark.skipif(DATA is None, reason="shared data folder (EDGEQUANT_DATA) not found")
PERSON, BICYCLE, CAR = 0, 1, 2


@pytest.fixture(scope="module")
def fastest():
    return ort.InferenceSession(str(DATA / "models" / "yolo-fastestv2.onnx"), providers=["CPUExecutionProvider"])


@needs_data
def test_yolo_fastestv2_finds_the_demo_objects(fastest):
    x = load_detector_images(DATA / "models" / "yolofastestv2_imgs", "yolofastestv2")
    cars = decode_yolo_fastestv2(fastest.run(None, {"input.1": x[:1]})[0], score_threshold=0.3)  # 000004.jpg
    assert cars.classes.tolist() == [CAR] * 9
    assert (cars.boxes[:, 2:] > cars.boxes[:, :2]).all() and (cars.boxes >= -0.1).all() and (cars.boxes <= 1.1).all()
    rider = decode_yolo_fastestv2(fastest.run(None, {"input.1": x[1:2]})[0], score_threshold=0.3)  # 000139.jpg
    assert {PERSON, BICYCLE} <= set(rider.classes.tolist())


@needs_data
def test_yolo_fastestv2_person_ap50_on_coco_labels(fastest):
    folder = DATA / "coco128"
    files = sorted((folder / "images").glob("*.jpg"))
    x = load_detector_images(folder / "images", "yolofastestv2")
    truth = [load_yolo_labels(folder / "labels" / f"{f.stem}.txt") for f in files]
    found = [decode_yolo_fastestv2(fastest.run(None, {"input.1": x[k:k + 1]})[0], score_threshold=0.01)
             for k in range(len(x))]
    person, _ = mean_average_precision(found, truth, classes=[PERSON])
    assert 0.5 < person < 0.8  # measured 0.65 (38 people on 16 images)
    shifted = [type(d)(d.boxes + 0.3, d.scores, d.classes) for d in found]
    assert mean_average_precision(shifted, truth, classes=[PERSON])[0] < 0.1  # boxes matter


def test_decode_yolov8_boxes_and_scores():
    output = np.zeros((1, 4 + 3, 4), np.float32)
    output[0, :4, 0] = [32, 32, 16, 8]      # cx, cy, w, h in pixels
    output[0, 4 + 2, 0] = 0.9
    output[0, :4, 1] = [33, 32, 16, 8]      # overlapping, lower score, same class: suppressed
    output[0, 4 + 2, 1] = 0.8
    output[0, :4, 2] = [10, 10, 4, 4]
    output[0, 4 + 0, 2] = 0.1               # under the threshold
    (found,) = decode_yolov8(output, (64, 64), score_threshold=0.25)
    np.testing.assert_allclose(found.boxes, [[24 / 64, 28 / 64, 40 / 64, 36 / 64]])
    assert found.classes.tolist() == [2] and found.scores.tolist() == pytest.approx([0.9])
    with pytest.raises(ValueError, match="output"):
        decode_yolov8(np.zeros((1, 4, 5)))


def test_decode_yolo_fastestv2_checks_its_shape():
    with pytest.raises(ValueError, match="605"):
        decode_yolo_fastestv2(np.zeros((600, 95)))


def test_load_yolo_labels(tmp_path):
    (tmp_path / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n3 0.1 0.1 0.1 0.1\n")
    truth = load_yolo_labels(tmp_path / "a.txt")
    np.testing.assert_allclose(truth.boxes[0], [0.4, 0.3, 0.6, 0.7])
    assert truth.classes.tolist() == [0, 3]
    (tmp_path / "b.txt").write_text("0 0.5 0.5\n")
    with pytest.raises(ValueError, match="class cx cy w h"):
        load_yolo_labels(tmp_path / "b.txt")
