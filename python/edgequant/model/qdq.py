"""Write a QDQ ONNX model: integer weights plus DequantizeLinear, as ONNX Runtime expects."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .._validation import integer_in
from ..onnx.loader import ModelSource, load_model_and_files
from ..quantizers import Affine
from .selection import DEFAULT_ROLES, select_weights

#: Opset needed for DequantizeLinear: per tensor (10), per axis (13), int16 inputs (21).
_MIN_OPSET_PER_TENSOR = 10
_MIN_OPSET_PER_AXIS = 13
_MIN_OPSET_INT16 = 21


def to_qdq(
    model: ModelSource,
    bits: int = 8,
    per_channel: bool = True,
    symmetric: bool = True,
    roles: Iterable[str] = DEFAULT_ROLES,
    path: str | os.PathLike | None = None,
) -> onnx.ModelProto:
    """Store chosen weights as integers read through ``DequantizeLinear`` (a QDQ model).

    Each weight ``W`` becomes an int8 (``bits`` ≤ 8) or int16 initializer ``W_quantized`` with
    its scale and zero point, and a ``DequantizeLinear`` node (placed first in the graph) that
    outputs ``W`` again, so every consumer is unchanged. Codes, scales and zero points come from
    :class:`edgequant.quantizers.Affine` (signed codes), whose reconstruction
    ``float32(s)·(q − z)`` is exactly what ``DequantizeLinear`` computes. Per channel, the scale
    axis is the output-channel axis of each tensor (Conv ``[M, C/g, kH, kW]``: 0; Gemm ``[N, K]``
    with ``transB=1``: 0, ``[K, N]``: 1; MatMul ``[K, N]``: 1); tensors without one (biases,
    weights read through Reshape) get one scale. Weights stored in another float type (fp16,
    bf16, fp64) are dequantized to float32 and then ``Cast`` back to that type.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        The float model (not modified).
    bits : int, default 8
        2–16; codes are stored in int8 up to 8 bits, int16 above (needs opset 21).
    per_channel : bool, default True
    symmetric : bool, default True
        Symmetric (zero point 0) or asymmetric ranges.
    roles : iterable of str, default ``("conv_weight", "gemm_weight")``
        Roles of the tensors to store as integers.
    path : str or os.PathLike, optional
        Also write the model there.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ValueError
        If ``bits`` is out of range, the model's opset is too old for the requested
        DequantizeLinear (convert it with ``onnx.version_converter`` first), or it has nothing
        to quantize.
    """
    bits = integer_in(bits, 2, 16, "bits")
    loaded = load_model_and_files(model)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(loaded.model)
    selection = select_weights(rewritten, roles, False, loaded.description)
    _check_opset(rewritten, bits, per_channel, loaded.description)

    graph = rewritten.graph
    taken = _names_in_use(graph)
    new_nodes, new_initializers, replaced = [], [], set()
    code_dtype = np.int8 if bits <= 8 else np.int16
    for tensor in selection.tensors:
        axis = selection.axes[tensor.name] if per_channel else None
        affine = Affine(bits=bits, symmetric=symmetric, signed=True, axis=axis)
        codes = affine.encode(tensor.values).astype(code_dtype)
        shape = (-1,) if axis is not None else ()
        scale = np.asarray(affine.scale, dtype=np.float32).reshape(shape)
        zero_point = np.asarray(affine.zero_point, dtype=code_dtype).reshape(shape)
        names = {part: _fresh_name(f"{tensor.name}_{part}", taken) for part in ("quantized", "scale", "zero_point")}
        new_initializers += [
            numpy_helper.from_array(codes, names["quantized"]),
            numpy_helper.from_array(scale, names["scale"]),
            numpy_helper.from_array(zero_point, names["zero_point"]),
        ]
        storage = _storage_type(graph, tensor.name)
        dequantized = tensor.name if storage == TensorProto.FLOAT else _fresh_name(f"{tensor.name}_float", taken)
        attributes = {"axis": axis} if axis is not None else {}
        new_nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [names["quantized"], names["scale"], names["zero_point"]],
                [dequantized],
                name=_fresh_name(f"{tensor.name}_DequantizeLinear", taken),
                **attributes,
            )
        )
        if dequantized != tensor.name:
            new_nodes.append(
                helper.make_node(
                    "Cast",
                    [dequantized],
                    [tensor.name],
                    to=storage,
                    name=_fresh_name(f"{tensor.name}_Cast", taken),
                )
            )
        replaced.add(tensor.name)

    _remove_constants(graph, replaced)
    graph.initializer.extend(new_initializers)
    kept_nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes + kept_nodes)  # initializers exist from the start: DQ can go first
    if path is not None:
        Path(path).write_bytes(rewritten.SerializeToString())
    return rewritten


def _check_opset(model: onnx.ModelProto, bits: int, per_channel: bool, description: str) -> None:
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    needed, why = _MIN_OPSET_PER_TENSOR, "DequantizeLinear"
    if per_channel:
        needed, why = _MIN_OPSET_PER_AXIS, "per-channel DequantizeLinear (axis attribute)"
    if bits > 8:
        needed, why = max(needed, _MIN_OPSET_INT16), f"{bits}-bit (int16) DequantizeLinear"
    if opset < needed:
        raise ValueError(
            f"{description} uses opset {opset}, but {why} needs opset {needed}; convert it first "
            f"with onnx.version_converter.convert_version(model, {needed})"
        )


def _storage_type(graph: onnx.GraphProto, name: str) -> int:
    for initializer in graph.initializer:
        if initializer.name == name:
            return initializer.data_type
    for node in graph.node:
        if node.op_type == "Constant" and node.output and node.output[0] == name:
            return next(a.t.data_type for a in node.attribute if a.name == "value")
    raise ValueError(f"tensor {name!r} is not an initializer or Constant")  # selection prevents this


def _remove_constants(graph: onnx.GraphProto, names: set[str]) -> None:
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


def _names_in_use(graph: onnx.GraphProto) -> set[str]:
    names = {init.name for init in graph.initializer} | {i.name for i in graph.input}
    names |= {o.name for o in graph.output} | {n.name for n in graph.node if n.name}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
    return names


def _fresh_name(base: str, taken: set[str]) -> str:
    name, suffix = base, 1
    while name in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(name)
    return name
