"""Quantized models: apply a quantizer to the weights of an ONNX model, or write a QDQ model.

>>> from edgequant.model import quantize_weights, to_qdq
>>> from edgequant.quantizers import Midtread
>>> qm = quantize_weights("model.onnx", Midtread(levels=256, xmax="max"))
>>> qm.entropy, qm.compression_ratio, qm.weight_sqnr_db
>>> qm.save("model_q.onnx")                  # float weights on the quantizer's levels
>>> to_qdq("model.onnx", bits=8, path="model_int8.onnx")   # int8 weights + DequantizeLinear

Needs the optional ``onnx`` dependency.
"""

from .channels import output_channel_axis
from .per_channel import PerChannelAffine
from .qdq import WeightFormat, layers_to_qdq, to_qdq
from .quantize import apply_quantizer, quantize_weights
from .quantized_model import QuantizedModel
from .selection import DEFAULT_ROLES, WeightSelection, select_weights

__all__ = [
    "DEFAULT_ROLES",
    "PerChannelAffine",
    "QuantizedModel",
    "WeightFormat",
    "WeightSelection",
    "apply_quantizer",
    "layers_to_qdq",
    "output_channel_axis",
    "quantize_weights",
    "select_weights",
    "to_qdq",
]
