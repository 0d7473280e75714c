"""ONNX models through our engine's static INT8 calibration to C: the digits CNN and mnist-8, top-1
agreement with the engine's static mode and accuracy on their test sets."""

import numpy as np
import pytest

from edgequant import zoo
from edgequant.engine import Engine, engine_available
from edgequant.microcontroller import HostModel, UnsupportedModelError, export_c

pytest.importorskip("onnxruntime")
needs_engine = pytest.mark.skipif(not engine_available(), reason="built without the inference engine")


def export_and_compare(path, x, y, calibration, tmp_path, batch_size=None):
    report = export_c(path, tmp_path, calibration=calibration)
    host = HostModel.from_report(report)
    got = host(report.graph.quantize_input(x)).argmax(axis=1)
    engine = Engine(str(path), mode="static", calibration=calibration, calibration_batch_size=1)
    if batch_size:
        want = np.concatenate([engine.run(x[i:i + batch_size])[0] for i in range(0, len(x), batch_size)])
    else:
        want = engine.run(x)[0]
    return report, np.mean(got == want.argmax(axis=1)), np.mean(got == y)


@needs_engine
def test_digits_cnn(tmp_path):
    x, y = zoo.load_test_set()
    report, agreement, accuracy = export_and_compare(zoo.model_path(), x, y, x[:100], tmp_path)
    assert agreement >= 0.99 and accuracy >= 0.97, (agreement, accuracy)
    kinds = [layer.kind for layer in report.graph.layers]
    assert kinds == ["conv2d", "conv2d", "max_pool", "reshape", "fully_connected"]  # BN and ReLU fused


@needs_engine
@pytest.mark.slow
def test_mnist8(shared_data, tmp_path):
    from edgequant.datasets import load_mnist

    path = shared_data / "models" / "mnist-8.onnx"
    x, y = load_mnist(limit=1000)
    _, agreement, accuracy = export_and_compare(path, x, y, x[:100], tmp_path, batch_size=1)
    assert agreement >= 0.99 and accuracy >= 0.97, (agreement, accuracy)


def test_onnx_needs_calibration_and_lists_unsupported_nodes(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    with pytest.raises(ValueError, match="calibration"):
        export_c(zoo.model_path(), tmp_path / "a")
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 1, 3, 3], np.ones(18, np.float32))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Sigmoid", ["c"], ["s"]),
             helper.make_node("Tanh", ["s"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    with pytest.raises(UnsupportedModelError) as error:
        export_c(path, tmp_path / "b", calibration=np.random.default_rng(0).random((4, 1, 4, 4), np.float32))
    assert "Sigmoid" in str(error.value) and "Tanh" in str(error.value)


@needs_engine
def test_cli_exports_onnx_with_calibration_file(tmp_path, capsys):
    from edgequant.cli import main

    x, _ = zoo.load_test_set()
    np.save(tmp_path / "calibration.npy", x[:50])
    assert main(["export-c", str(zoo.model_path()), "-o", str(tmp_path / "out"), "--calibration",
                 str(tmp_path / "calibration.npy"), "--coded-weights"]) == 0
    # the digits CNN's float-trained weights use the whole int8 range: coding would not pay for the decoder
    assert "stored plainly" in capsys.readouterr().out and not (tmp_path / "out" / "eq_rans_decode.c").exists()
    assert main(["export-c", str(zoo.model_path()), "-o", str(tmp_path / "out2"), "--calibration",
                 str(tmp_path / "missing.npy")]) == 1
    assert "no calibration file" in capsys.readouterr().err
    # a later plain export into the same folder drops a decoder an earlier export left there
    (tmp_path / "out" / "eq_rans_decode.c").write_text("stale")
    assert main(["export-c", str(zoo.model_path()), "-o", str(tmp_path / "out"), "--calibration",
                 str(tmp_path / "calibration.npy")]) == 0
    assert not (tmp_path / "out" / "eq_rans_decode.c").exists()
