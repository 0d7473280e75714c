"""Graph edits behind the QDQ writer (:mod:`edgequant.model.qdq`): the opset-13 conversion, fresh names,
activation Quantize/DequantizeLinear pairs, removing replaced constants, topological order.

Per-axis DequantizeLinear needs opset 13: a model written at an older opset is first converted
with ``onnx.version_converter`` (which rewrites every node whose form changed — Unsqueeze's
``axes``, BatchNormalization's ``spatial``, Softmax's 2-D coercion, Upsample, Clip's
attributes...). Raising the opset number alone leaves nodes ONNX Runtime refuses.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: Per-axis DequantizeLinear appeared in opset 13; ONNX Runtime wants IR version 7 with it.
QDQ_OPSET = 13
_QDQ_IR_VERSION = 7
#: int16 codes in DequantizeLinear appeared in opset 21.
QDQ_INT16_OPSET = 21


def default_opset(model: onnx.ModelProto, missing: int = 1) -> int:
    """The version of the default (``ai.onnx``) domain ``model`` imports; ``missing`` if none."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), missing)


def converted_for_qdq(model: onnx.ModelProto, opset: int = QDQ_OPSET) -> onnx.ModelProto:
    """``model`` at opset >= ``opset`` (13: per-axis DequantizeLinear; 21: int16 codes), every
    node in its form at that opset.

    Unnamed nodes get the engine's names (``{op_type}_{index}``) first, in place, so the layers
    the engine reports can still be found after the conversion added or replaced nodes. A model
    already at opset >= ``opset`` is returned itself.

    Raises
    ------
    ValueError
        If ``onnx.version_converter`` cannot convert the model (the message names the cause).
    """
    from onnx import version_converter

    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    current = default_opset(model)
    if current >= opset:
        return model
    why = "int16 DequantizeLinear" if opset >= QDQ_INT16_OPSET else "per-axis DequantizeLinear"
    try:
        converted = version_converter.convert_version(model, opset)
    except Exception as error:  # the converter raises RuntimeError / onnx's own errors alike
        raise ValueError(f"QDQ export: converting the model from opset {current} to {opset} ({why}) "
                         f"failed: {error}") from error
    converted.ir_version = max(converted.ir_version, _QDQ_IR_VERSION)
    onnx.checker.check_model(converted)
    return converted


def append_activation_qdq(graph: onnx.GraphProto, source: str, scale: float, zero_point: int, float_type: int,
                          taken: set[str], new_nodes: list) -> str:
    """Appends u8 Quantize/DequantizeLinear nodes on ``source`` to ``new_nodes`` (their scale and
    zero point to ``graph``); returns the dequantized value's name. Opset 13's Q/DQ take float32
    only: other float types are cast to float32 and back around them."""
    base = f"{source}_engine_q"
    names = {part: fresh_name(f"{base}_{part}", taken) for part in ("scale", "zero_point", "u8", "dq")}
    graph.initializer.extend([
        numpy_helper.from_array(np.asarray(scale, np.float32), names["scale"]),
        numpy_helper.from_array(np.asarray(zero_point, np.uint8), names["zero_point"]),
    ])
    quantized_input = source
    if float_type != TensorProto.FLOAT:
        quantized_input = fresh_name(f"{base}_float", taken)
        new_nodes.append(helper.make_node("Cast", [source], [quantized_input], to=TensorProto.FLOAT,
                                          name=fresh_name(f"{base}/to_float", taken)))
    new_nodes.append(helper.make_node("QuantizeLinear", [quantized_input, names["scale"], names["zero_point"]],
                                      [names["u8"]], name=fresh_name(f"{base}/q", taken)))
    new_nodes.append(helper.make_node("DequantizeLinear", [names["u8"], names["scale"], names["zero_point"]],
                                      [names["dq"]], name=fresh_name(f"{base}/dq", taken)))
    if float_type == TensorProto.FLOAT:
        return names["dq"]
    cast_back = fresh_name(f"{base}_dq_cast", taken)
    new_nodes.append(helper.make_node("Cast", [names["dq"]], [cast_back], to=float_type,
                                      name=fresh_name(f"{base}/from_float", taken)))
    return cast_back


def value_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every typed value (graph inputs, shape-inferred intermediates)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # inference is best effort: unknown types default to float32
        inferred = model
    values = list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output)
    return {v.name: v.type.tensor_type.elem_type for v in values if v.type.HasField("tensor_type")}


def storage_type(graph: onnx.GraphProto, name: str) -> int:
    """The element type of initializer or Constant ``name``."""
    for initializer in graph.initializer:
        if initializer.name == name:
            return initializer.data_type
    for node in graph.node:
        if node.op_type == "Constant" and node.output and node.output[0] == name:
            return next(a.t.data_type for a in node.attribute if a.name == "value")
    raise ValueError(f"tensor {name!r} is not an initializer or Constant")  # selection prevents this


def remove_constants(graph: onnx.GraphProto, names: set[str]) -> None:
    """Drop the float initializers / Constant nodes / graph inputs now produced by DQ nodes."""
    kept = [init for init in graph.initializer if init.name not in names]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = [n for n in graph.node if not (n.op_type == "Constant" and n.output and n.output[0] in names)]
    del graph.node[:]
    graph.node.extend(nodes)
    inputs = [i for i in graph.input if i.name not in names]  # IR < 4 lists initializers as inputs
    del graph.input[:]
    graph.input.extend(inputs)


def names_in_use(graph: onnx.GraphProto) -> set[str]:
    """Every value, initializer and node name of ``graph`` and its subgraphs (what a new name must
    avoid: ONNX forbids a subgraph name that shadows an enclosing one)."""
    names = {init.name for init in graph.initializer} | {i.name for i in graph.input}
    names |= {o.name for o in graph.output} | {n.name for n in graph.node if n.name}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                names |= names_in_use(attribute.g)
    return names


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_1``, ``base_2``... the first not in ``taken`` (which it joins)."""
    name, suffix = base, 1
    while name in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(name)
    return name


def values_read(node: onnx.NodeProto) -> set[str]:
    """The values ``node`` reads: its inputs, and those its subgraphs (an If's branches) read from
    enclosing graphs, outputs included (over-approximated by every value they read: ONNX forbids
    shadowing a name)."""
    names = set(node.input)
    for attribute in node.attribute:
        if attribute.type == onnx.AttributeProto.GRAPH:
            names.update(output.name for output in attribute.g.output)
            for inner in attribute.g.node:
                names |= values_read(inner)
    return names


def sort_topologically(graph: onnx.GraphProto) -> None:
    """Kahn's order over the nodes (first ready, first placed); a node with subgraphs waits for the
    values they capture.

    Raises
    ------
    ValueError
        If the graph has a cycle.
    """
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    producer = {out: index for index, node in enumerate(graph.node) for out in node.output}
    waiting_on = [0] * len(graph.node)
    consumers: dict[int, list[int]] = {}
    for index, node in enumerate(graph.node):
        for name in values_read(node) - available:
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
