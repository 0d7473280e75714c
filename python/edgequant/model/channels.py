"""Which axis of a weight tensor indexes the output channels of the op that reads it.

Per-channel quantization gives each output channel its own scale. The axis depends on the op
and its attributes (ONNX operator definitions):

- ``Conv`` weight ``[M, C/group, kH, kW]``: axis 0.
- ``ConvTranspose`` weight ``[C, M/group, kH, kW]``: axis 1.
- ``Gemm`` input B: ``[K, N]`` (axis 1), or ``[N, K]`` when ``transB=1`` (axis 0).
- ``MatMul`` input B ``[..., K, N]``: the last axis.

Anything else (a weight read through Reshape/Transpose, as Gemm's A, by several ops that
disagree, or 0-D/1-D tensors) has no well-defined output axis: ``None``, i.e. per tensor.
"""

from __future__ import annotations

import onnx

from ..onnx.roles import GraphUses


def _attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(attribute.i)
    return default


def axis_for_use(node: onnx.NodeProto, index: int, ndim: int) -> int | None:
    """The output-channel axis of a weight that ``node`` reads as input ``index`` (None: none)."""
    if node.domain not in ("", "ai.onnx"):
        return None
    if node.op_type == "Conv" and index == 1:
        return 0
    if node.op_type == "ConvTranspose" and index == 1:
        return 1
    if node.op_type == "Gemm" and index == 1 and ndim == 2:
        return 0 if _attribute(node, "transB", 0) else 1
    if node.op_type == "MatMul" and index == 1 and ndim >= 2:
        return ndim - 1
    return None


def output_channel_axis(uses: GraphUses, name: str, ndim: int) -> int | None:
    """The output-channel axis of tensor ``name`` (see the module docstring), or None.

    Parameters
    ----------
    uses : edgequant.onnx.roles.GraphUses
        Producers and consumers of the graph holding the tensor.
    name : str
        The tensor (initializer or Constant output) name.
    ndim : int
        Its number of dimensions.

    Returns
    -------
    int or None
        The axis when every direct consumer agrees on one; None otherwise.
    """
    if ndim < 2:
        return None
    axes = {axis_for_use(node, index, ndim) for node, index in uses.consumers.get(name, ())}
    if len(axes) != 1:
        return None
    return axes.pop()
