"""Choose the weight tensors of a model that a quantizer is applied to."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
import onnx

from ..onnx.constants import FLOAT_TYPES
from ..onnx.roles import BIAS, ROLES, GraphUses
from ..onnx.weights import WeightTensor, weights_of_loaded
from .channels import output_channel_axis
from .tensor_slots import TensorSlots

#: The roles quantized by default: the paper quantizes conv and fully connected weights.
DEFAULT_ROLES = ("conv_weight", "gemm_weight")


@dataclass
class WeightSelection:
    """The tensors to quantize, those left alone (with why), and their output-channel axes.

    Attributes
    ----------
    tensors : list of WeightTensor
        Float tensors with a selected role that can be rewritten, in file order.
    skipped : dict of str to str
        Tensor name -> reason, for tensors with a selected role that are not rewritten: already
        quantized (stored as integers and read by DequantizeLinear), sparse, or literal Constants.
    axes : dict of str to int or None
        Output-channel axis of each selected tensor (:func:`~.channels.output_channel_axis`).
    """

    tensors: list[WeightTensor]
    skipped: dict[str, str] = field(default_factory=dict)
    axes: dict[str, int | None] = field(default_factory=dict)
    _energies: dict[str, float] = field(default_factory=dict, repr=False)

    def energy(self, tensor: WeightTensor) -> float:
        """``Σ w²`` of a selected tensor in float64 (computed once: the SQNR's numerator)."""
        if tensor.name not in self._energies:
            values = tensor.values.astype(np.float64)
            self._energies[tensor.name] = float(np.sum(values * values))
        return self._energies[tensor.name]


def check_roles(roles: Iterable[str], include_biases: bool) -> tuple[str, ...]:
    """The role tuple to select, validated; ``include_biases`` adds ``bias``."""
    if isinstance(roles, str):
        roles = (roles,)
    roles = tuple(roles)
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValueError(f"roles has unknown role(s) {unknown}; known roles: {', '.join(ROLES)}")
    if include_biases and BIAS not in roles:
        roles += (BIAS,)
    if not roles:
        raise ValueError("roles is empty: name at least one role to quantize")
    return roles


def select_weights(
    model: onnx.ModelProto,
    roles: Iterable[str] = DEFAULT_ROLES,
    include_biases: bool = False,
    description: str = "the model",
    names: Collection[str] | None = None,
) -> WeightSelection:
    """The weights of ``model`` with one of ``roles`` that can be quantized.

    ``names``, when given, further restricts the selection to these tensors (the weights of an
    engine's INT8 layers, say).

    Raises
    ------
    ValueError
        If a role is unknown, or no tensor of the model can be quantized (the message lists the
        roles found and the skipped tensors).
    """
    roles = check_roles(roles, include_biases)
    all_weights = weights_of_loaded(model, description)
    slots = TensorSlots(model)
    uses = GraphUses(model.graph)
    selection = WeightSelection(tensors=[])
    for tensor in all_weights:
        if tensor.role not in roles or (names is not None and tensor.name not in names):
            continue
        reason = slots.why_not_rewritable(tensor.name)
        if reason is None and not _stored_as_float(slots.proto(tensor.name)):
            reason = f"already quantized: stored as {tensor.dtype} and read through DequantizeLinear"
        if reason is not None:
            selection.skipped[tensor.name] = reason
            continue
        selection.tensors.append(tensor)
        selection.axes[tensor.name] = output_channel_axis(uses, tensor.name, len(tensor.shape))
    if not selection.tensors:
        found = sorted({tensor.role for tensor in all_weights})
        detail = f"; skipped: {selection.skipped}" if selection.skipped else ""
        raise ValueError(
            f"{description} has no tensor to quantize with roles {list(roles)} (its weights have roles {found}){detail}"
        )
    return selection


def _stored_as_float(proto: onnx.TensorProto) -> bool:
    return proto.data_type in FLOAT_TYPES
