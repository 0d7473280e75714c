"""QDQ ONNX export of an engine's quantization: what ONNX Runtime needs to run the same INT8 model.

Weights of the quantizable layers become s8 initializers with a per-output-channel
DequantizeLinear (symmetric, zero point 0, scales by the same Affine quantizer the engine's
convention uses); with static ranges, each such layer's input goes through a u8
QuantizeLinear/DequantizeLinear pair with the calibrated scale and zero point.

Per-axis DequantizeLinear needs opset 13: a model written at an older opset is first converted
with ``onnx.version_converter`` (which rewrites every node whose form changed — Unsqueeze's
``axes``, BatchNormalization's ``spatial``, Softmax's 2-D coercion, Upsample, Clip's
attributes...). Raising the opset number alone leaves nodes ONNX Runtime refuses. Float16 models
keep float16 tensors: the quantization runs in float32 between Casts, as opset 13's
Quantize/DequantizeLinear only take float32.
"""

from __future__ import annotations

import numpy as np

#: Per-axis DequantizeLinear appeared in opset 13; ONNX Runtime wants IR version 7 with it.
QDQ_OPSET = 13
_QDQ_IR_VERSION = 7


def converted_for_qdq(model):
    """``model`` (an onnx.ModelProto) at opset >= 13, every node in its form at that opset.

    Unnamed nodes get the engine's names (``{op_type}_{index}``) first, so the layers the engine
    reports can still be found after the conversion added or replaced nodes.

    Raises
    ------
    ValueError
        If ``onnx.version_converter`` cannot convert the model (the message names the cause).
    """
    import onnx
    from onnx import version_converter

    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    opset = _default_opset(model)
    if opset >= QDQ_OPSET:
        return model
    try:
        converted = version_converter.convert_version(model, QDQ_OPSET)
    except Exception as error:  # the converter raises RuntimeError / onnx's own errors alike
        raise ValueError(f"QDQ export: converting the model from opset {opset} to {QDQ_OPSET} "
                         f"(per-axis DequantizeLinear) failed: {error}") from error
    converted.ir_version = max(converted.ir_version, _QDQ_IR_VERSION)
    onnx.checker.check_model(converted)
    return converted


def _default_opset(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def export_qdq(model_bytes: bytes, layers: list[str], activations: dict[str, tuple[float, int]], path) -> None:
    import onnx

    model = converted_for_qdq(onnx.load_from_string(model_bytes))
    _insert_qdq(model, layers, activations)
    _drop_unused_initializers(model.graph)
    _sort_topologically(model.graph)
    onnx.save(model, str(path))


def _insert_qdq(model, layers: list[str], activations: dict[str, tuple[float, int]]) -> None:
    from onnx import TensorProto, helper, numpy_helper

    from ..quantizers.affine import Affine

    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    nodes_by_name = {node.name: node for node in graph.node}
    float_types = _float_type_of_values(model)
    new_nodes, done_weights, done_activations = [], {}, {}
    for name in layers:
        node = nodes_by_name.get(name)
        # Layers the engine renamed (folded BN weights) keep their original node name.
        if node is None or len(node.input) < 2 or node.input[1] not in initializers:
            continue
        weight_name = node.input[1]
        # channel axis: Conv [oc, ...] -> 0; Gemm B [k, n] (transB=0) / MatMul B [k, n] -> 1
        trans_b = any(a.name == "transB" and a.i for a in node.attribute)
        axis = 0 if node.op_type == "Conv" or (node.op_type == "Gemm" and trans_b) else 1
        key = (weight_name, axis)
        if key not in done_weights:
            stored = initializers[weight_name]
            quantizer = Affine(bits=8, symmetric=True, signed=True, axis=axis)
            codes = quantizer.encode(numpy_helper.to_array(stored).astype(np.float32)).astype(np.int8)
            base = f"{weight_name}_axis{axis}"
            graph.initializer.extend([
                numpy_helper.from_array(codes, f"{base}_quantized"),
                numpy_helper.from_array(np.asarray(quantizer.scale, np.float32).reshape(-1), f"{base}_scale"),
                numpy_helper.from_array(np.zeros(codes.shape[axis], np.int8), f"{base}_zero_point"),
            ])
            dequantized = f"{base}_dequantized"
            new_nodes.append(helper.make_node("DequantizeLinear", [f"{base}_quantized", f"{base}_scale",
                                              f"{base}_zero_point"], [dequantized], name=f"{base}/dq", axis=axis))
            if stored.data_type != TensorProto.FLOAT:  # float16 / float64 weights: back to their type
                new_nodes.append(helper.make_node("Cast", [dequantized], [f"{dequantized}_cast"],
                                                  name=f"{base}/cast", to=stored.data_type))
                dequantized = f"{dequantized}_cast"
            done_weights[key] = dequantized
        node.input[1] = done_weights[key]
        source = node.input[0]
        if source in activations:
            if source not in done_activations:
                done_activations[source] = _activation_qdq(source, *activations[source],
                                                           float_types.get(source, TensorProto.FLOAT), graph, new_nodes)
            node.input[0] = done_activations[source]
    graph.node.extend(new_nodes)


def _activation_qdq(source: str, scale: float, zero_point: int, float_type: int, graph, new_nodes) -> str:
    """Appends u8 Quantize/DequantizeLinear nodes on ``source``; returns the dequantized name."""
    from onnx import TensorProto, helper, numpy_helper

    base = f"{source}_engine_q"
    graph.initializer.extend([
        numpy_helper.from_array(np.asarray(scale, np.float32), f"{base}_scale"),
        numpy_helper.from_array(np.asarray(zero_point, np.uint8), f"{base}_zero_point"),
    ])
    quantized_input = source
    if float_type != TensorProto.FLOAT:
        new_nodes.append(helper.make_node("Cast", [source], [f"{base}_float"], name=f"{base}/to_float",
                                          to=TensorProto.FLOAT))
        quantized_input = f"{base}_float"
    new_nodes.append(helper.make_node("QuantizeLinear", [quantized_input, f"{base}_scale", f"{base}_zero_point"],
                                      [f"{base}_u8"], name=f"{base}/q"))
    new_nodes.append(helper.make_node("DequantizeLinear", [f"{base}_u8", f"{base}_scale", f"{base}_zero_point"],
                                      [f"{base}_dq"], name=f"{base}/dq"))
    if float_type == TensorProto.FLOAT:
        return f"{base}_dq"
    new_nodes.append(helper.make_node("Cast", [f"{base}_dq"], [f"{base}_dq_cast"], name=f"{base}/from_float",
                                      to=float_type))
    return f"{base}_dq_cast"


def _float_type_of_values(model) -> dict[str, int]:
    """Element type of every typed value (graph inputs, shape-inferred intermediates)."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # inference is best effort: unknown types default to float32
        inferred = model
    values = list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output)
    return {v.name: v.type.tensor_type.elem_type for v in values if v.type.HasField("tensor_type")}


def _drop_unused_initializers(graph) -> None:
    """The float weights now read through DequantizeLinear (and their graph inputs, IR < 4)."""
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    kept = [init for init in graph.initializer if init.name in used]
    dropped = {init.name for init in graph.initializer} - {init.name for init in kept}
    del graph.initializer[:]
    graph.initializer.extend(kept)
    inputs = [i for i in graph.input if i.name not in dropped]
    del graph.input[:]
    graph.input.extend(inputs)


def _sort_topologically(graph) -> None:
    """Kahn's order over the nodes (the QDQ nodes were appended after their consumers)."""
    from collections import deque

    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    producer = {out: index for index, node in enumerate(graph.node) for out in node.output}
    waiting_on = [0] * len(graph.node)
    consumers: dict[int, list[int]] = {}
    for index, node in enumerate(graph.node):
        for name in set(node.input) - available:
            if name in producer:
                waiting_on[index] += 1
                consumers.setdefault(producer[name], []).append(index)
    ready = deque(i for i, count in enumerate(waiting_on) if count == 0)
    order = []
    while ready:
        index = ready.popleft()
        order.append(index)
        for consumer in consumers.get(index, ()):
            waiting_on[consumer] -= 1
            if waiting_on[consumer] == 0:
                ready.append(consumer)
    if len(order) != len(graph.node):
        raise ValueError("QDQ export: the graph could not be ordered topologically")
    nodes = [graph.node[i] for i in order]
    del graph.node[:]
    graph.node.extend(nodes)
