"""QDQ ONNX export of an engine's quantization: what ONNX Runtime needs to run the same INT8 model.

Weights of the quantizable layers become s8 initializers with a per-output-channel
DequantizeLinear (symmetric, zero point 0, scales by the same Affine quantizer the engine's
convention uses); with static ranges, each such layer's input goes through a u8
QuantizeLinear/DequantizeLinear pair with the calibrated scale and zero point.
"""

from __future__ import annotations

import numpy as np


def export_qdq(model_bytes: bytes, layers: list[str], activations: dict[str, tuple[float, int]], path) -> None:
    import onnx
    from onnx import helper, numpy_helper

    from ..quantizers.affine import Affine

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    nodes_by_name = {}
    for index, node in enumerate(graph.node):
        nodes_by_name[node.name or f"{node.op_type}_{index}"] = node
    new_nodes, done_activations = [], {}
    for name in layers:
        node = nodes_by_name.get(name)
        # Layers the engine renamed (folded BN weights) keep their original node name.
        if node is None or len(node.input) < 2 or node.input[1] not in initializers:
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float32)
        # channel axis: Conv [oc, ...] -> 0; Gemm B [k, n] (transB=0) / MatMul B [k, n] -> 1
        trans_b = any(a.name == "transB" and a.i for a in node.attribute)
        axis = 0 if node.op_type == "Conv" or (node.op_type == "Gemm" and trans_b) else 1
        quantizer = Affine(bits=8, symmetric=True, signed=True, axis=axis)
        codes = quantizer.encode(weight).astype(np.int8)
        q_name, s_name, z_name = (f"{node.input[1]}_quantized", f"{node.input[1]}_scale", f"{node.input[1]}_zero_point")
        graph.initializer.extend([
            numpy_helper.from_array(codes, q_name),
            numpy_helper.from_array(np.asarray(quantizer.scale, np.float32), s_name),
            numpy_helper.from_array(np.zeros(codes.shape[axis], np.int8), z_name),
        ])
        dq_weight = f"{node.input[1]}_dequantized_for_{name}"
        new_nodes.append(helper.make_node("DequantizeLinear", [q_name, s_name, z_name], [dq_weight],
                                          name=f"{name}/weight_dq", axis=axis))
        node.input[1] = dq_weight
        source = node.input[0]
        if source in activations:
            if source not in done_activations:
                scale, zero_point = activations[source]
                base = f"{source}_engine_q"
                graph.initializer.extend([
                    numpy_helper.from_array(np.asarray(scale, np.float32), f"{base}_scale"),
                    numpy_helper.from_array(np.asarray(zero_point, np.uint8), f"{base}_zero_point"),
                ])
                new_nodes.append(helper.make_node("QuantizeLinear", [source, f"{base}_scale", f"{base}_zero_point"],
                                                  [f"{base}_u8"], name=f"{base}/q"))
                new_nodes.append(helper.make_node("DequantizeLinear", [f"{base}_u8", f"{base}_scale",
                                                  f"{base}_zero_point"], [f"{base}_dq"], name=f"{base}/dq"))
                done_activations[source] = f"{base}_dq"
            node.input[0] = done_activations[source]
    # QDQ nodes go first: they read only graph inputs / initializers or values produced earlier,
    # so place them and re-sort topologically.
    all_nodes = new_nodes + list(graph.node)
    produced = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    ordered, pending = [], all_nodes
    while pending:
        rest = []
        for node in pending:
            if all(name in produced for name in node.input):
                ordered.append(node)
                produced.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise ValueError("QDQ export: the graph could not be ordered topologically")
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)
    if all(o.domain in ("", "ai.onnx") and o.version < 13 for o in model.opset_import):
        for o in model.opset_import:  # per-axis DequantizeLinear needs opset 13
            if o.domain in ("", "ai.onnx"):
                o.version = 13
    onnx.save(model, str(path))
