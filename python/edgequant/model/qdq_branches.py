"""QDQ inside ``If`` branches: what :meth:`edgequant.Engine.save_quantized` writes for the branches the
engine ran in static INT8.

The engine names a branch's calibrated tensors ``"<If node>::then_branch::<tensor>"`` (``else_branch``
likewise; a nested ``If`` adds its own ``"<node>::<branch>::"``). In each such branch, every Conv / Gemm /
MatMul whose input 0 has a grid gets a u8 Quantize/DequantizeLinear pair on that input and its float
constant weight (the branch's own, or one it captures from an enclosing graph) as s8 codes on the engine's
grid, per output channel, read through a DequantizeLinear inside the branch — the form ONNX Runtime runs.
ONNX Runtime's ``quantize_static`` leaves branches float.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .channels import axis_for_use
from .qdq_graph import append_activation_qdq, fresh_name, names_in_use, remove_constants, values_read

__all__ = ["quantize_branches"]

_LAYERS = ("Conv", "Gemm", "MatMul")
_BRANCHES = ("then_branch", "else_branch")


def quantize_branches(model: onnx.ModelProto, grids: Mapping[str, tuple[float, int]], weight_bits: int) -> int:
    """Rewrites ``model`` in place (see the module docstring); returns the number of layers quantized.

    ``grids``: ``"<If>::<branch>::…::<tensor>"`` -> (scale, u8 zero point); names that reach no branch of
    ``model`` are ignored. ``weight_bits``: 8 or 7, the engine's weight grid."""
    return _rewrite(model.graph, dict(grids), [], names_in_use(model.graph), weight_bits)


def _rewrite(graph: onnx.GraphProto, grids: dict, enclosing: list, taken: set[str], bits: int) -> int:
    """Quantizes the layers of ``graph`` that ``grids`` (names relative to it) reaches, then recurses into
    its If branches; ``enclosing``: the graphs around it, innermost last (captured weights)."""
    count = 0
    for index, node in enumerate(graph.node):
        if node.op_type != "If" or node.domain not in ("", "ai.onnx"):
            continue
        name = node.name or f"{node.op_type}_{index}"  # the engine's name for an unnamed node
        for attribute in node.attribute:
            if attribute.name not in _BRANCHES or attribute.type != onnx.AttributeProto.GRAPH:
                continue
            prefix = f"{name}::{attribute.name}::"
            inner = {key[len(prefix):]: grid for key, grid in grids.items() if key.startswith(prefix)}
            if inner:
                count += _quantize_layers(attribute.g, inner, [*enclosing, graph], taken, bits)
                count += _rewrite(attribute.g, inner, [*enclosing, graph], taken, bits)
    return count


def _quantize_layers(graph: onnx.GraphProto, grids: dict, enclosing: list, taken: set[str], bits: int) -> int:
    from .qdq import _engine_weights

    weight_nodes, rewired = [], {}
    pairs_before: dict[int, list] = {}  # node index -> the Q/DQ pair its rewired input reads
    count = 0
    for index, node in enumerate(graph.node):
        if node.op_type not in _LAYERS or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
            continue
        if node.input[0] not in grids:
            continue
        weight = _constant(node.input[1], [*enclosing, graph])
        if weight is None or weight.dtype != np.float32:
            continue
        axis = axis_for_use(node, 1, weight.ndim)
        codes, scales = _engine_weights(weight, bits, axis)
        base = node.input[1]
        names = {part: fresh_name(f"{base}_branch_{part}", taken)
                 for part in ("quantized", "scale", "zero_point", "dq")}
        shape = (-1,) if axis is not None else ()
        graph.initializer.extend([
            numpy_helper.from_array(codes.astype(np.int8), names["quantized"]),
            numpy_helper.from_array(np.asarray(scales, np.float32).reshape(shape), names["scale"]),
            numpy_helper.from_array(np.zeros(np.shape(scales), np.int8).reshape(shape), names["zero_point"]),
        ])
        weight_nodes.append(helper.make_node(
            "DequantizeLinear", [names["quantized"], names["scale"], names["zero_point"]], [names["dq"]],
            name=fresh_name(f"{base}_branch_DequantizeLinear", taken), **({"axis": axis} if axis is not None else {})))
        node.input[1] = names["dq"]
        source = node.input[0]
        if source not in rewired:
            scale, zero_point = grids[source]
            rewired[source] = append_activation_qdq(graph, source, scale, zero_point, TensorProto.FLOAT, taken,
                                                    pairs_before.setdefault(index, []))
        node.input[0] = rewired[source]
        count += 1
    if not count:
        return 0
    # Each pair right before its first reader (after whatever computes its input), not by a topological
    # sort: that would not see the values nested branches capture from this graph.
    ordered = list(weight_nodes)
    for index, node in enumerate(graph.node):
        ordered += pairs_before.get(index, [])
        ordered.append(node)
    del graph.node[:]
    graph.node.extend(ordered)
    _drop_unread_constants(graph)
    return count


def _constant(name: str, scopes: list) -> np.ndarray | None:
    """The value of initializer or Constant ``name``, looked up from the innermost graph out."""
    for graph in reversed(scopes):
        for init in graph.initializer:
            if init.name == name:
                return numpy_helper.to_array(init)
        for node in graph.node:
            if node.op_type == "Constant" and list(node.output) == [name]:
                value = next((a for a in node.attribute if a.name == "value"), None)
                return numpy_helper.to_array(value.t) if value is not None else None
        if any(value.name == name for value in graph.input) or any(name in node.output for node in graph.node):
            return None  # computed here, or an input: not a constant
    return None


def _drop_unread_constants(graph: onnx.GraphProto) -> None:
    """The branch's own float weights that only the rewired layers read (now read through DQ)."""
    read = {output.name for output in graph.output}.union(*(values_read(node) for node in graph.node))
    constants = {init.name for init in graph.initializer}
    constants |= {node.output[0] for node in graph.node if node.op_type == "Constant" and len(node.output) == 1}
    remove_constants(graph, constants - read)
