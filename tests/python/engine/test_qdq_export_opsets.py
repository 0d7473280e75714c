"""save_quantized writes QDQ ONNX that ONNX Runtime loads and runs, whatever the source opset:
older models are converted node by node (onnx.version_converter), not only renumbered."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper
from ort_reference import qdq_session

from edgequant import Engine
from edgequant.datasets import model_data
from edgequant.model.qdq import QDQ_OPSET, converted_for_qdq
from edgequant.profiling.onnxruntime_peer import int8_kernels_saturate


def _old_model(opset: int, dtype=np.float32) -> bytes:
    """Conv -> BatchNormalization (spatial, opset < 9) -> Relu -> Flatten -> Unsqueeze (axes attribute)
    -> Gemm-friendly MatMul, as exporters of opset 7 / 9 / 11 wrote them."""
    rng = np.random.default_rng(0)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    inits = [numpy_helper.from_array(rng.normal(0, 0.5, (4, 2, 3, 3)).astype(dtype), "w"),
             *(numpy_helper.from_array(v.astype(dtype), n) for n, v in
               (("s", rng.uniform(0.5, 1.5, 4)), ("b", rng.normal(0, .1, 4)), ("m", rng.normal(0, .1, 4)),
                ("v", rng.uniform(0.5, 1.5, 4)))),
             numpy_helper.from_array(rng.normal(0, 0.3, (64, 5)).astype(dtype), "fc")]
    bn_attrs = {"spatial": 1} if opset < 9 else {}
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], **bn_attrs),
             helper.make_node("Relu", ["n"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("MatMul", ["f", "fc"], ["logits"]),
             helper.make_node("Unsqueeze", ["logits", "axes"], ["y"]) if opset >= 13 else
             helper.make_node("Unsqueeze", ["logits"], ["y"], axes=[1])]
    if opset >= 13:
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes"))
    inputs = [helper.make_tensor_value_info("x", elem, [1, 2, 4, 4])]
    if opset < 9:  # IR 3: initializers are graph inputs too
        inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in inits]
    graph = helper.make_graph(nodes, "old", inputs, [helper.make_tensor_value_info("y", elem, [1, 1, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 3 if opset < 9 else 4
    return model.SerializeToString()


def _run_ort(path, x):
    # ORT's INT8 kernels saturate on CPUs without VNNI (a build without oneDNN keeps 8-bit weights there):
    # then the file's ONNX semantics, float ops between its Quantize/DequantizeLinear pairs
    session = qdq_session(path) if int8_kernels_saturate() else ort.InferenceSession(
        str(path), providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    return session.run(None, {first.name: x.astype(np.float16 if "float16" in first.type else np.float32)})


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("opset", [7, 9, 11, 13])
@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_old_opsets_export_valid_qdq(tmp_path, opset, mode, dtype):
    x = np.random.default_rng(1).random((8, 2, 4, 4), dtype=np.float32)
    model = _old_model(opset, dtype)
    engine = Engine(model, mode=mode, calibration=x if mode == "static" else None)
    engine.save_quantized(tmp_path / "q.onnx")
    saved = onnx.load(tmp_path / "q.onnx")
    onnx.checker.check_model(saved, full_check=True)
    assert max(o.version for o in saved.opset_import if o.domain in ("", "ai.onnx")) == max(opset, QDQ_OPSET)
    ops = [n.op_type for n in saved.graph.node]
    assert ops.count("DequantizeLinear") >= 2 and (mode == "dynamic") == ("QuantizeLinear" not in ops)
    for sample in x[:2]:
        (ours,) = engine.run(sample[None])
        (theirs,) = _run_ort(tmp_path / "q.onnx", sample[None])
        np.testing.assert_allclose(theirs, ours, atol=0.05 * np.abs(ours).max() + (0.02 if dtype == np.float16 else 0))


def test_conversion_names_unnamed_nodes_as_the_engine_does():
    model = onnx.load_from_string(_old_model(9))
    converted = converted_for_qdq(model)
    assert {"Conv_0", "MatMul_4"} <= {n.name for n in converted.graph.node}
    assert converted.opset_import[0].version == QDQ_OPSET


@pytest.mark.parametrize("name", ["squeezenet1.0_fp16", "ultraface-rfb-320", "yolo-fastestv2", "mnist-8",
                                  "cnn_mnist_pytorch", "cifar10_tutorial_cnn"])
def test_shared_models_save_quantized_runs_in_onnxruntime(shared_data, tmp_path, name):
    """Opsets 7 to 11, fixed batch 1, float16 (SqueezeNet): ORT refused three of these files before."""
    x, _ = model_data(name, limit=4)
    x = x.astype(np.float32)
    engine = Engine(shared_data / "models" / f"{name}.onnx", mode="static", calibration=x)
    engine.save_quantized(tmp_path / "q.onnx")
    ours, theirs = engine.run(x[:1]), _run_ort(tmp_path / "q.onnx", x[:1])
    for a, b in zip(ours, theirs, strict=True):
        assert np.corrcoef(np.ravel(a), np.ravel(b).astype(np.float32))[0, 1] > 0.99
