"""Real values of a constant quantized weight read by a DequantizeLinear node.

ONNX's convention (the same as edgequant's affine quantizer): ``x = (q − zero_point) · scale``,
per tensor (scale has one element), per axis (1-D scale along ``axis``) or per block
(``block_size`` > 0, opset 21). Arithmetic follows onnxruntime: the integer difference is
exact, then converted to float32 and multiplied by the float32 scale.
"""

from __future__ import annotations

import numpy as np
import onnx

from .constants import ConstantTensor


def _int_attribute(node: onnx.NodeProto, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            if attribute.type != onnx.AttributeProto.INT:
                raise ValueError(
                    f"DequantizeLinear {node.name!r}: attribute {name!r} is not an int"
                )
            return int(attribute.i)
    return default


def _broadcastable(parameter: np.ndarray, quantized_shape, axis: int, block_size: int, what: str):
    """Reshape or repeat a per-axis / per-block parameter so it broadcasts against ``q``."""
    if parameter.size == 1:
        return parameter.reshape(())
    rank = len(quantized_shape)
    if not -rank <= axis < rank:
        raise ValueError(f"{what}: axis {axis} is out of range for rank {rank}")
    axis %= rank
    if block_size > 0:
        if parameter.ndim != rank:
            raise ValueError(f"{what}: blocked scale must have rank {rank}")
        expanded = np.repeat(parameter, block_size, axis=axis)
        expanded = np.take(expanded, np.arange(quantized_shape[axis]), axis=axis)
        if expanded.shape != tuple(quantized_shape):
            raise ValueError(
                f"{what}: blocked scale shape {parameter.shape} does not fit {quantized_shape}"
            )
        return expanded
    if parameter.ndim != 1 or parameter.shape[0] != quantized_shape[axis]:
        raise ValueError(
            f"{what}: per-axis parameter of shape {parameter.shape} does not match axis {axis} "
            f"of shape {tuple(quantized_shape)}"
        )
    shape = [1] * rank
    shape[axis] = -1
    return parameter.reshape(shape)


def dequantize_constant(
    quantized: ConstantTensor,
    node: onnx.NodeProto,
    constants: dict[str, ConstantTensor],
) -> np.ndarray:
    """Return the float32 real values of ``quantized`` as ``node`` (a DequantizeLinear) sees them.

    Raises
    ------
    ValueError
        If the scale or zero point is not a constant, or their shapes do not fit.
    """
    what = f"quantized weight {quantized.name!r} (DequantizeLinear {node.name!r})"
    inputs = list(node.input) + ["", ""]
    scale_name, zero_point_name = inputs[1], inputs[2]
    if scale_name not in constants:
        raise ValueError(f"{what}: its scale {scale_name!r} is not a constant tensor")
    if zero_point_name and zero_point_name not in constants:
        raise ValueError(f"{what}: its zero point {zero_point_name!r} is not a constant tensor")
    q = quantized.read()
    axis = _int_attribute(node, "axis", 1)
    block_size = _int_attribute(node, "block_size", 0)
    if not constants[scale_name].is_float:
        raise ValueError(f"{what}: its scale {scale_name!r} is not a float tensor")
    scale = constants[scale_name].read()
    with np.errstate(over="ignore", invalid="ignore"):
        scale = scale.astype(np.float32)
    scale = _broadcastable(scale, q.shape, axis, block_size, what)
    # Packed int4/uint4 arrays (ml_dtypes) are not numpy integers; they take the float path,
    # which is exact for them.
    integer = q.dtype.kind in "iu"
    if zero_point_name:
        zero_point = constants[zero_point_name].read()
        if zero_point.dtype != q.dtype:
            raise ValueError(f"{what}: zero point type {zero_point.dtype} differs from {q.dtype}")
        zero_point = zero_point.astype(np.int64 if integer else np.float32)
        zero_point = _broadcastable(zero_point, q.shape, axis, block_size, what)
    else:
        zero_point = 0
    # Overflow to ±inf is the value onnxruntime would compute too; stats count it as non-finite.
    with np.errstate(over="ignore", invalid="ignore"):
        if integer:
            centered = (q.astype(np.int64) - zero_point).astype(np.float32)
        else:  # float8 / float4 storage: the zero point is zero by definition
            centered = q.astype(np.float32) - zero_point
        return (centered * scale).astype(np.float32)
