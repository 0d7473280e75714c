"""YOLOv8n with its head as ultralytics' exporter writes it (zoo.architectures, head="exported"):
the op chain, the decode against a NumPy DFL / dist2bbox of the raw head, FP32 against ONNX Runtime
and the reference backend, and INT8 detections against FP32 detections (AP50)."""

import numpy as np
import pytest
from ort_reference import max_relative_error, run_ort

from edgequant import Engine
from edgequant.engine import supported_backends
from edgequant.metrics.detection import mean_average_precision
from edgequant.zoo import architectures
from edgequant.zoo.architectures.yolo import anchor_points
from edgequant.zoo.detectors import decode_yolov8

SIZE, WIDTH, CLASSES = 64, 0.25, 80
ANCHORS = (SIZE // 8) ** 2 + (SIZE // 16) ** 2 + (SIZE // 32) ** 2


@pytest.fixture(scope="module")
def exported():
    return architectures.build("yolov8n", input_size=SIZE, width=WIDTH, seed=4).SerializeToString()


def images(count, seed):
    rng = np.random.default_rng(seed)
    coarse = rng.normal(size=(count, 3, SIZE // 8, SIZE // 8)).repeat(8, 2).repeat(8, 3)
    return (coarse + rng.normal(0, 0.3, (count, 3, SIZE, SIZE))).astype(np.float32)


def test_the_head_is_the_exporters_op_chain():
    model = architectures.build("yolov8n", input_size=SIZE, width=WIDTH)
    ops = [node.op_type for node in model.graph.node]
    tail = ops[ops.index("Split", len(ops) - 20):]
    assert tail == ["Split", "Reshape", "Transpose", "Softmax", "Conv", "Reshape", "Slice", "Slice", "Sub", "Add",
                    "Add", "Div", "Sub", "Concat", "Mul", "Sigmoid", "Concat"]
    softmax = next(n for n in model.graph.node if n.op_type == "Softmax")
    assert softmax.attribute[0].name == "axis" and softmax.attribute[0].i == 1
    assert model.graph.output[0].type.tensor_type.shape.dim[1].dim_value == 4 + CLASSES
    assert architectures.build("yolov8n", input_size=SIZE, width=WIDTH, head="raw").graph.node[-1].op_type == "Concat"


def test_build_checks_the_head_argument():
    with pytest.raises(ValueError, match="head"):
        architectures.build("yolov8n", input_size=SIZE, head="decoded")
    with pytest.raises(ValueError, match="head"):
        architectures.build("resnet18", head="raw")


def numpy_decode(raw):
    """ultralytics' DFL + dist2bbox + sigmoid written from their definitions, in float64."""
    raw = raw.astype(np.float64)
    n, _, a = raw.shape
    bins = raw[:, :64].reshape(n, 4, 16, a)
    p = np.exp(bins - bins.max(2, keepdims=True))
    distance = (p / p.sum(2, keepdims=True) * np.arange(16)[None, None, :, None]).sum(2)
    points, strides = anchor_points((SIZE, SIZE))
    x1y1, x2y2 = points - distance[:, :2], points + distance[:, 2:]
    boxes = np.concatenate([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * strides
    return np.concatenate([boxes, 1 / (1 + np.exp(-raw[:, 64:]))], 1)


def test_exported_head_decodes_the_raw_head(exported):
    raw = architectures.build("yolov8n", input_size=SIZE, width=WIDTH, seed=4, head="raw").SerializeToString()
    x = images(2, 0)
    (raw_out,) = Engine(raw, threads=1).run(x)
    (out,) = Engine(exported, threads=1).run(x)
    assert out.shape == (2, 4 + CLASSES, ANCHORS)
    np.testing.assert_allclose(out, numpy_decode(raw_out), rtol=1e-5, atol=1e-4)
    cx, cy, w, h = out[:, :4].transpose(1, 0, 2)
    assert (w > 0).all() and (h > 0).all() and (cx > 0).all() and (cx < SIZE).all()  # anchors and strides right


@pytest.mark.parametrize("backend", supported_backends())
def test_fp32_matches_onnxruntime(exported, backend):
    x = images(2, 1)
    (ref,) = run_ort(exported, {"input": x})
    (out,) = Engine(exported, backend=backend, threads=1).run(x)
    assert max_relative_error(out, ref) < 1e-5
    np.testing.assert_allclose(out[:, 4:], ref[:, 4:], atol=1e-5)  # the class scores, in [0, 1]


def test_int8_detections_agree_with_fp32(exported):
    """AP50 of INT8 boxes against FP32 boxes; the DFL's channel sum stays float in static mode, and
    the output is not FP32's (INT8 ran)."""
    x = images(8, 2)
    (fp32,) = Engine(exported, threads=1).run(x)
    reference = decode_yolov8(fp32, (SIZE, SIZE), score_threshold=0.5)
    assert sum(len(d) for d in reference) >= 8  # enough boxes to score
    calibration = images(16, 3)
    static_engine = Engine(exported, mode="static", calibration=calibration, method="minmax", threads=1)
    assert len(static_engine._native.quantizable_layers()) == len(Engine(exported)._native.quantizable_layers())
    for engine in (Engine(exported, mode="dynamic", threads=1), static_engine):
        (int8,) = engine.run(x)
        assert not np.array_equal(int8, fp32)
        ap, _ = mean_average_precision(decode_yolov8(int8, (SIZE, SIZE), score_threshold=0.5), reference)
        assert ap >= 0.5, engine
