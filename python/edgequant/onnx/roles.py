"""What a constant tensor is for, judged by the op that finally consumes it.

A tensor's role comes from the (op type, input index) it reaches, after following it through
ops that only re-express the same weight (dequantize, cast, transpose, reshape...). An ``Add``
of a constant onto a Conv/MatMul/Gemm output is a bias (CNTK and TF exporters write biases so).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import onnx

#: Role of a Conv / ConvTranspose weight (input 1).
CONV_WEIGHT = "conv_weight"
#: Role of a Gemm / MatMul weight.
GEMM_WEIGHT = "gemm_weight"
#: Role of a Conv / Gemm bias.
BIAS = "bias"
#: Role of a BatchNormalization parameter (scale, bias, mean, variance).
BATCHNORM = "batchnorm"
#: Role of any other initializer.
OTHER = "other"

#: Every role, most specific first: when a tensor feeds several ops, the first one found here wins.
ROLES = (CONV_WEIGHT, GEMM_WEIGHT, BATCHNORM, BIAS, OTHER)

_ROLE_BY_INPUT = {
    ("Conv", 1): CONV_WEIGHT,
    ("ConvTranspose", 1): CONV_WEIGHT,
    ("Conv", 2): BIAS,
    ("ConvTranspose", 2): BIAS,
    ("Gemm", 0): GEMM_WEIGHT,
    ("Gemm", 1): GEMM_WEIGHT,
    ("Gemm", 2): BIAS,
    ("MatMul", 0): GEMM_WEIGHT,
    ("MatMul", 1): GEMM_WEIGHT,
    **{("BatchNormalization", index): BATCHNORM for index in (1, 2, 3, 4)},  # scale, B, mean, var
}

#: Ops through which a weight keeps its meaning, with the input index that carries it.
PASS_THROUGH_INPUT = {
    "DequantizeLinear": 0,
    "QuantizeLinear": 0,
    "Cast": 0,
    "Identity": 0,
    "Transpose": 0,
    "Reshape": 0,
    "Flatten": 0,
    "Squeeze": 0,
    "Unsqueeze": 0,
}

#: (op, input index) pairs that hold quantization parameters (scale, zero point), not weights.
QUANTIZATION_PARAMETER_INPUTS = frozenset(
    (op, index) for op in ("DequantizeLinear", "QuantizeLinear") for index in (1, 2)
)

_LINEAR_OPS = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})


@dataclass(frozen=True)
class Role:
    """The role of a tensor and the node that decided it.

    Attributes
    ----------
    role : str
        One of :data:`ROLES`.
    op_type : str
        Op type of the deciding node; for ``other``, the first direct consumer ("" if none).
    node_name : str
        Name of that node (often "" in exported models).
    """

    role: str
    op_type: str
    node_name: str


def _is_standard(node: onnx.NodeProto) -> bool:
    return node.domain in ("", "ai.onnx")


class GraphUses:
    """Who produces and who consumes each tensor name of one graph (top level)."""

    def __init__(self, graph: onnx.GraphProto):
        self.consumers: dict[str, list[tuple[onnx.NodeProto, int]]] = defaultdict(list)
        self.producers: dict[str, onnx.NodeProto] = {}
        for node in graph.node:
            for index, name in enumerate(node.input):
                if name:
                    self.consumers[name].append((node, index))
            for name in node.output:
                self.producers.setdefault(name, node)

    def direct_uses(self, name: str) -> list[tuple[str, int]]:
        """(op type, input index) of every standard-domain node reading ``name`` directly."""
        return [
            (node.op_type, index)
            for node, index in self.consumers.get(name, ())
            if _is_standard(node)
        ]

    def is_only_quantization_parameter(self, name: str) -> bool:
        """Whether ``name`` is read, and read only, as a Q/DQ scale or zero point."""
        uses = self.consumers.get(name, ())
        return bool(uses) and all(
            _is_standard(node) and (node.op_type, index) in QUANTIZATION_PARAMETER_INPUTS
            for node, index in uses
        )

    def _comes_from_linear_op(self, name: str) -> bool:
        """Whether ``name`` is the output of Conv/MatMul/Gemm, possibly reshaped on the way."""
        seen = set()
        while name and name not in seen:
            seen.add(name)
            node = self.producers.get(name)
            if node is None or not _is_standard(node):
                return False
            if node.op_type in _LINEAR_OPS:
                return True
            carried = PASS_THROUGH_INPUT.get(node.op_type)
            if carried is None or carried >= len(node.input):
                return False
            name = node.input[carried]
        return False

    def _role_at(self, node: onnx.NodeProto, index: int) -> str | None:
        role = _ROLE_BY_INPUT.get((node.op_type, index))
        if role is None and node.op_type == "Add" and len(node.input) == 2:
            other_operand = node.input[1 - index]
            if self._comes_from_linear_op(other_operand):
                role = BIAS
        return role

    def role_of(self, name: str) -> Role:
        """Follow ``name`` through pass-through ops and return its :class:`Role`."""
        found: list[Role] = []
        first_consumer: tuple[str, str] | None = None
        frontier, seen = [name], {name}
        while frontier:
            tensor = frontier.pop(0)
            for node, index in self.consumers.get(tensor, ()):
                if not _is_standard(node):
                    continue
                if first_consumer is None:
                    first_consumer = (node.op_type, node.name)
                role = self._role_at(node, index)
                if role is not None:
                    found.append(Role(role, node.op_type, node.name))
                elif PASS_THROUGH_INPUT.get(node.op_type) == index:
                    for output in node.output[:1]:
                        if output and output not in seen:
                            seen.add(output)
                            frontier.append(output)
        if found:
            return min(found, key=lambda r: ROLES.index(r.role))
        op_type, node_name = first_consumer or ("", "")
        return Role(OTHER, op_type, node_name)
