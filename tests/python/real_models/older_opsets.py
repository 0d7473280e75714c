"""Writes an opset-17 graph of ``zoo.architectures`` at an older opset (7 / 9 / 11 / 13), node by
node in the form that opset defines, as older exporters wrote them.

``onnx.version_converter`` has almost no down-conversion adapters (none for Relu below 14,
BatchNormalization below 15, Clip or Sigmoid below 13), hence this rewrite. It covers the ops the
architectures use and refuses any other form it does not know, so a new op in a builder shows up
here instead of producing a silently invalid model.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

_EMPTY_ROI = "older_opsets_empty_roi"

#: Ops whose form is the same from opset 7 to 17 for what the architectures use (float32 only).
_UNCHANGED = {"Add", "Sub", "Mul", "Div", "BatchNormalization", "Concat", "Conv", "Flatten", "Gemm",
              "GlobalAveragePool", "MaxPool", "Relu", "Reshape", "Sigmoid", "Transpose", "AveragePool"}


def at_opset(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """A copy of ``model`` (opset >= 13) written at ``opset`` (7 <= opset <= its own)."""
    source = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if not 7 <= opset <= source or source < 13:
        raise ValueError(f"can write an opset >= 13 model at opsets 7..{source}, not {opset}")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    if opset == source:
        return out
    graph = out.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.value_info) + list(inferred.input)}
    nodes = []
    for node in graph.node:
        nodes.extend(_rewritten(node, opset, constants, shapes))
    if any(n.op_type == "Resize" and n.input[1] == _EMPTY_ROI for n in nodes):
        graph.initializer.append(numpy_helper.from_array(np.zeros(0, np.float32), _EMPTY_ROI))
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for o in out.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = opset
    out.ir_version = {7: 3, 9: 4, 11: 6, 13: 7}.get(opset, out.ir_version)
    if out.ir_version < 4:  # IR 3: every initializer is also a graph input
        graph.input.extend(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims))
                           for init in graph.initializer)
    onnx.checker.check_model(out)
    return out


def _drop_ceil_mode(attributes: dict, shape: list[int]) -> None:
    """MaxPool's ``ceil_mode`` (opset 10) as extra end padding: padded cells never win a max."""
    if not attributes.pop("ceil_mode", 0):
        return
    kernel, strides = attributes["kernel_shape"], attributes.get("strides", [1] * len(attributes["kernel_shape"]))
    pads = list(attributes.get("pads", [0] * 2 * len(kernel)))
    for axis, (size, k, s) in enumerate(zip(shape[2:], kernel, strides, strict=True)):
        span = size + pads[axis] + pads[axis + len(kernel)] - k
        pads[axis + len(kernel)] += -span % s  # reach the ceil'd output count
    attributes["pads"] = pads


def _attributes(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _rewritten(node, opset: int, constants: dict, shapes: dict) -> list:
    attributes = _attributes(node)
    op = node.op_type
    if op in _UNCHANGED:
        if op == "BatchNormalization" and opset < 9:
            attributes["spatial"] = 1  # the opset-7 form (per-channel statistics)
        if op == "MaxPool" and opset < 10:
            _drop_ceil_mode(attributes, shapes[node.input[0]])
        if op == "Reshape" and attributes.get("allowzero"):
            raise ValueError("Reshape allowzero=1 has no form below opset 14")
        return [helper.make_node(op, list(node.input), list(node.output), name=node.name, **attributes)]
    if op == "Clip" and opset < 11:
        low, high = (float(constants[name]) for name in node.input[1:3])
        return [helper.make_node("Clip", [node.input[0]], list(node.output), name=node.name, min=low, max=high)]
    if op == "Split" and opset < 13:
        sizes = [int(v) for v in constants[node.input[1]]]
        return [helper.make_node("Split", [node.input[0]], list(node.output), name=node.name, split=sizes,
                                 **attributes)]
    if op in ("Clip", "Split"):
        return [helper.make_node(op, list(node.input), list(node.output), name=node.name, **attributes)]
    if op == "Resize":
        return _resize(node, opset, constants, attributes)
    if op == "Softmax":
        return _softmax(node, attributes, len(shapes[node.input[0]]))
    if op == "Slice" and opset < 10:
        starts, ends, axes = ([int(v) for v in constants[name]] for name in node.input[1:4])
        if len(node.input) > 4 and any(int(v) != 1 for v in constants[node.input[4]]):
            raise ValueError("at_opset: Slice with steps has no form below opset 10")
        return [helper.make_node("Slice", [node.input[0]], list(node.output), name=node.name, starts=starts,
                                 ends=ends, axes=axes)]
    if op == "Slice":
        return [helper.make_node(op, list(node.input), list(node.output), name=node.name, **attributes)]
    raise ValueError(f"at_opset: no rule for {op} below opset 13")


def _softmax(node, attributes: dict, rank: int) -> list:
    """Softmax over one axis: before opset 13 it normalises over all axes from ``axis`` on, so a
    non-last axis is moved last around it (as exporters of that time wrote it)."""
    axis = attributes.get("axis", -1) % rank
    if axis == rank - 1:
        return [helper.make_node("Softmax", list(node.input), list(node.output), name=node.name, axis=axis)]
    perm = [a for a in range(rank) if a != axis] + [axis]
    inverse = [perm.index(a) for a in range(rank)]
    moved, normalised = f"{node.name}_axis_last", f"{node.name}_normalised"
    return [helper.make_node("Transpose", list(node.input), [moved], name=f"{node.name}_to_last", perm=perm),
            helper.make_node("Softmax", [moved], [normalised], name=node.name, axis=rank - 1),
            helper.make_node("Transpose", [normalised], list(node.output), name=f"{node.name}_back", perm=inverse)]


def _resize(node, opset: int, constants: dict, attributes: dict) -> list:
    """Nearest ×k upsampling (``asymmetric`` / ``floor``, the architectures' only Resize)."""
    if attributes.get("mode", b"nearest") not in (b"nearest", "nearest"):
        raise ValueError("at_opset: only nearest Resize is rewritten")
    scales_name = node.input[2]
    scales = constants[scales_name].astype(np.float32)
    if opset >= 11:
        inputs = list(node.input)
        if opset < 13 and not inputs[1]:  # roi may be left out from opset 13 only
            inputs[1] = _EMPTY_ROI
        return [helper.make_node("Resize", inputs, list(node.output), name=node.name, **attributes)]
    if opset == 10:
        return [helper.make_node("Resize", [node.input[0], scales_name], list(node.output), name=node.name,
                                 mode="nearest")]
    if opset == 9:
        return [helper.make_node("Upsample", [node.input[0], scales_name], list(node.output), name=node.name,
                                 mode="nearest")]
    return [helper.make_node("Upsample", [node.input[0]], list(node.output), name=node.name, mode="nearest",
                             scales=[float(s) for s in scales])]
