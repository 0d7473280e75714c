"""Read TensorFlow Lite flatbuffers without TensorFlow: tensors (shapes, int8 quantization
parameters per tensor or per channel, constant data), operators and their options.

>>> from edgequant.tflite import read_tflite
>>> model = read_tflite("pretrainedResnet_quant.tflite")
>>> [op.kind for op in model.operators][:3]
['CONV_2D', 'CONV_2D', 'CONV_2D']

Uses PyPI's ``tflite`` package (the generated schema readers) on top of ``flatbuffers``
(``pip install edgequant[mcu]``).
"""

from .model import TFLiteModel, TFLiteOperator, TFLiteTensor
from .reader import read_tflite

__all__ = ["TFLiteModel", "TFLiteOperator", "TFLiteTensor", "read_tflite"]
