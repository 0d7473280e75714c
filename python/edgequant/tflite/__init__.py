"""Read TensorFlow Lite flatbuffers without TensorFlow: tensors (shapes, int8 quantization
parameters per tensor or per channel, constant data), operators and their options.

>>> from edgequant.tflite import read_tflite
>>> model = read_tflite("pretrainedResnet_quant.tflite")
>>> [op.kind for op in model.operators][:3]
['CONV_2D', 'CONV_2D', 'CONV_2D']

:func:`tflite_to_onnx` converts such a model (int8-quantized or float) to ONNX for the engine: QDQ
with the file's own scales, zero points and weight codes.

Uses PyPI's ``tflite`` package (the generated schema readers) on top of ``flatbuffers``
(``pip install edgequant[mcu]``).
"""

from .model import TFLiteModel, TFLiteOperator, TFLiteTensor
from .reader import read_tflite
from .to_onnx import SUPPORTED_OPERATORS, tflite_to_onnx

__all__ = ["SUPPORTED_OPERATORS", "TFLiteModel", "TFLiteOperator", "TFLiteTensor", "read_tflite", "tflite_to_onnx"]
