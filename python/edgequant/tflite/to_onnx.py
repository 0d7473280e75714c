"""TFLite -> ONNX: a ``.tflite`` model (int8-quantized or float) as an ONNX model the engine runs with
the file's own integer parameters.

>>> from edgequant.engine import Engine
>>> from edgequant.tflite import tflite_to_onnx
>>> model = tflite_to_onnx("pretrainedResnet_quant.tflite")
>>> engine = Engine(model.SerializeToString())  # static INT8 with the file's scales and codes

Quantized tensors become ONNX QDQ: each int8 activation is QuantizeLinear -> DequantizeLinear with its
scale and zero point, weights are DequantizeLinear of the file's int8 codes (per channel along the
output channels), an int32 bias is DequantizeLinear with scale s_input·s_weight. The ONNX graph is
NCHW inside; its inputs and outputs keep the TFLite shapes (NHWC) and take and give float32 real
values, so the same arrays (dequantized) feed both models.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from ._onnx_graph import OnnxGraph, is_quantized
from ._onnx_ops import CONVERTERS
from .model import TFLiteModel
from .reader import read_tflite

__all__ = ["SUPPORTED_OPERATORS", "tflite_to_onnx"]

#: The TFLite builtin operators :func:`tflite_to_onnx` converts.
SUPPORTED_OPERATORS = tuple(CONVERTERS)

_LOWEST_OPSET = 13  # per-channel QuantizeLinear / DequantizeLinear (axis) and Softmax over one axis


def tflite_to_onnx(model, *, opset: int = 17):
    """Convert a TFLite model (int8-quantized or float) to ONNX.

    Parameters
    ----------
    model : str, os.PathLike, bytes or TFLiteModel
        A ``.tflite`` file, its bytes, or what :func:`~edgequant.tflite.read_tflite` returned.
    opset : int, default 17
        The ONNX opset of the default domain, 13 or newer.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model``. One float32 input and output per TFLite input and
        output, same names and shapes (NHWC); a quantized input takes real values and is rounded to
        its grid inside, a quantized output gives real values (its codes dequantized). Fused
        activations become Relu / Clip / Tanh before the output's QuantizeLinear.

    Raises
    ------
    ValueError
        The bytes are not a TFLite model, the model uses operators outside
        :data:`SUPPORTED_OPERATORS` (all of them named, with their counts), or an operator or tensor is
        malformed (named in the message).
    TypeError
        ``model`` or ``opset`` has the wrong type.
    FileNotFoundError
        ``model`` is a path that does not exist.
    """
    import onnx
    from onnx import helper

    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int, not {type(opset).__name__}")
    newest = onnx.defs.onnx_opset_version()
    if not _LOWEST_OPSET <= opset <= newest:
        raise ValueError(f"opset must be in [{_LOWEST_OPSET}, {newest}], got {opset}")
    tflite = model if isinstance(model, TFLiteModel) else read_tflite(model)
    _check_operators(tflite)
    tensors, folded = _fold_constant_weights(tflite)
    graph = OnnxGraph(tensors, int(opset))
    inputs = [graph.graph_input(index) for index in tflite.inputs]
    output_names = [graph.claim(tensors[index].name) for index in tflite.outputs]
    for op in tflite.operators:
        if op.index in folded:
            continue
        try:
            CONVERTERS[op.kind](graph, op)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError) as error:  # a malformed operator
            raise ValueError(f"operator {op.index} {op.kind}: {error}") from error
    outputs = [graph.graph_output(index, name) for index, name in zip(tflite.outputs, output_names, strict=True)]
    onnx_graph = helper.make_graph(graph.nodes, "tflite", inputs, outputs, graph.initializers)
    opsets = [helper.make_opsetid("", int(opset))]
    result = helper.make_model(onnx_graph, opset_imports=opsets, producer_name="edgequant.tflite",
                               doc_string=tflite.description)
    result.ir_version = helper.find_min_ir_version_for(opsets)
    try:
        onnx.checker.check_model(result, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        # tensor shapes the operators disagree on (a file whose shapes contradict each other)
        raise ValueError(f"the converted model fails ONNX's checker: {error}") from error
    return result


def _check_operators(tflite: TFLiteModel) -> None:
    """Every operator supported and every graph input / output a tensor: else one ValueError naming all
    the unsupported kinds with their counts."""
    unsupported = Counter(op.kind for op in tflite.operators if op.kind not in CONVERTERS)
    if unsupported:
        listed = ", ".join(f"{kind} ({count})" for kind, count in sorted(unsupported.items()))
        raise ValueError(f"the TFLite model uses operators the ONNX conversion does not support: {listed}; "
                         f"supported: {', '.join(SUPPORTED_OPERATORS)}")
    for where, indices in (("input", tflite.inputs), ("output", tflite.outputs)):
        if not indices:
            raise ValueError(f"the TFLite model has no graph {where}")
        for index in indices:
            if not 0 <= index < len(tflite.tensors):
                raise ValueError(f"graph {where} refers to tensor {index}, which does not exist")


def _fold_constant_weights(tflite: TFLiteModel) -> tuple[list, set]:
    """DEQUANTIZE of a constant (float16 or int8 weights stored compact) as the float32 constant it
    computes, and DENSIFY of a sparse constant (the reader has made its data dense) as that constant, so
    the layers reading them see constant weights. Returns the tensors (the caller's model untouched) and
    the indices of the folded operators."""
    tensors = list(tflite.tensors)
    folded = set()
    for op in tflite.operators:
        if op.kind not in ("DEQUANTIZE", "DENSIFY") or len(op.inputs) != 1 or len(op.outputs) != 1:
            continue
        source_index, output_index = op.inputs[0], op.outputs[0]
        if not (0 <= source_index < len(tensors) and 0 <= output_index < len(tensors)):
            continue  # left for the converter to report
        source = tensors[source_index]
        if source.data is None:
            continue
        if op.kind == "DENSIFY":
            if tuple(source.shape) != tuple(tensors[output_index].shape) or source.dtype != tensors[output_index].dtype:
                raise ValueError(f"operator {op.index} DENSIFY: tensor {source_index} {source.name!r} "
                                 f"{list(source.shape)} is not its output's shape and type")
            tensors[output_index] = dataclasses.replace(tensors[output_index], data=source.data)
            folded.add(op.index)
            continue
        data = source.data.astype(np.float32)
        if is_quantized(source):
            axis_shape = [1] * source.data.ndim
            if len(source.scale) > 1:
                if source.quantized_dimension >= source.data.ndim or \
                        source.data.shape[source.quantized_dimension] != len(source.scale):
                    raise ValueError(f"operator {op.index} DEQUANTIZE: tensor {source_index} {source.name!r} has "
                                     f"{len(source.scale)} scales for its shape {list(source.shape)}")
                axis_shape[source.quantized_dimension] = len(source.scale)
            scale = source.scale.astype(np.float32).reshape(axis_shape)
            zero_point = source.zero_point.astype(np.float32).reshape(axis_shape)
            data = (data - zero_point) * scale
        tensors[output_index] = dataclasses.replace(tensors[output_index], data=data, dtype=np.dtype(np.float32))
        folded.add(op.index)
    return tensors, folded
