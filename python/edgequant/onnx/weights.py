"""The weights of an ONNX model: every float constant, with its real values and its role.

What counts as a weight:

- every float initializer (fp32, fp64, fp16, bf16, fp8...), role ``other`` included;
- a float Constant node's tensor when it has a role other than ``other`` (a Constant feeding a
  Conv is a weight; one holding anchor boxes or a scalar divisor is not);
- a constant (any storage type: int8, uint8, int32, int4, fp8...) read by DequantizeLinear,
  dequantized to its real values;
- not: integer tensors read otherwise (shapes, indices, axes), nor float tensors read only as
  a Q/DQ scale or zero point (they describe a weight, they are not one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from .constants import ConstantTensor, graph_constants, storage_dtype_name
from .dequantize import dequantize_constant
from .loader import ModelSource, load_model_and_files
from .roles import OTHER, GraphUses


@dataclass(frozen=True, eq=False)
class WeightTensor:
    """One weight tensor of a model.

    Attributes
    ----------
    name : str
        Initializer name (or the Constant node's output name).
    role : str
        ``conv_weight``, ``gemm_weight``, ``bias``, ``batchnorm`` or ``other``
        (see :mod:`edgequant.onnx.roles`).
    op_type : str
        Op type of the node that gives the role (first consumer for ``other``; "" if unused).
    node_name : str
        Name of that node ("" when the exporter left nodes unnamed).
    shape : tuple of int
    dtype : str
        Storage element type in the file: ``float32``, ``float16``, ``bfloat16``, ``int8``...
    values : numpy.ndarray
        float32 real values: fp16/bf16 widened exactly, quantized tensors dequantized.
    storage_bytes : int
        Bytes the tensor's data takes in the file.
    origin : str
        ``initializer``, ``sparse_initializer`` or ``Constant``.
    """

    name: str
    role: str
    op_type: str
    node_name: str
    shape: tuple[int, ...]
    dtype: str
    values: np.ndarray
    storage_bytes: int
    origin: str

    @property
    def size(self) -> int:
        """Number of elements (parameters)."""
        return int(self.values.size)


def _dequantizing_node(name: str, uses: GraphUses) -> onnx.NodeProto | None:
    """The DequantizeLinear node reading ``name`` as its quantized input, if any."""
    for node, index in uses.consumers.get(name, ()):
        if node.op_type == "DequantizeLinear" and index == 0 and node.domain in ("", "ai.onnx"):
            return node
    return None


def _real_values(
    constant: ConstantTensor, uses: GraphUses, constants: dict[str, ConstantTensor]
) -> np.ndarray | None:
    """float32 real values of ``constant`` if it is a weight (see module docstring), else None."""
    node = _dequantizing_node(constant.name, uses)
    if node is not None:
        return dequantize_constant(constant, node, constants)
    if not constant.is_float or uses.is_only_quantization_parameter(constant.name):
        return None
    # float64 beyond float32's range becomes ±inf, signalling NaNs stay NaN: stats count both.
    with np.errstate(over="ignore", invalid="ignore"):
        return constant.read().astype(np.float32)


def weights_of_loaded(model: onnx.ModelProto, description: str) -> list[WeightTensor]:
    """:func:`weights` for a model already loaded with :func:`~edgequant.onnx.load_model`."""
    graph = model.graph
    constants = graph_constants(graph)
    uses = GraphUses(graph)
    found = []
    for constant in constants.values():
        values = _real_values(constant, uses, constants)
        if values is None:
            continue
        role = uses.role_of(constant.name)
        if constant.origin == "Constant" and role.role == OTHER:
            continue
        found.append(
            WeightTensor(
                name=constant.name,
                role=role.role,
                op_type=role.op_type,
                node_name=role.node_name,
                shape=constant.shape,
                dtype=storage_dtype_name(constant.data_type),
                values=values,
                storage_bytes=constant.storage_bytes,
                origin=constant.origin,
            )
        )
    if not found:
        raise ValueError(
            f"{description} has no float weights: its {len(constants)} constant tensor(s) are "
            "integer shapes/indices or quantization parameters only"
        )
    return found


def weights(model: ModelSource) -> list[WeightTensor]:
    """List the weights of an ONNX model with their roles and real values.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        Anything :func:`~edgequant.onnx.load_model` accepts.

    Returns
    -------
    list of WeightTensor
        Initializers first (file order), then sparse initializers, then Constant nodes.

    Raises
    ------
    ValueError
        If the model is invalid (see :func:`~edgequant.onnx.load_model`), a tensor cannot be
        decoded, or the model has no float weights.
    """
    loaded = load_model_and_files(model)
    return weights_of_loaded(loaded.model, loaded.description)
