"""QuantizeLinear -> DequantizeLinear pairs, the building block of the quantized (QDQ) test models."""

import numpy as np
import onnx
from onnx import helper, numpy_helper


def saved_model(graph, path, opset=13):
    """``graph`` as a model of ``opset`` (IR 8, what ONNX Runtime and its quantizer read) at ``path``."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def qdq_pair(name, source, scale, zero, dtype):
    """The pair that rounds ``source`` to the grid (scale, zero) of ``dtype`` and writes ``name``: its two
    nodes and its parameter initializers (``{name}_s``, ``{name}_z``)."""
    zero = np.array(zero, dtype=dtype)
    inits = [numpy_helper.from_array(np.array(scale, np.float32), f"{name}_s"),
             numpy_helper.from_array(zero, f"{name}_z")]
    nodes = [helper.make_node("QuantizeLinear", [source, f"{name}_s", f"{name}_z"], [f"{name}_q"]),
             helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_s", f"{name}_z"], [name])]
    return nodes, inits
