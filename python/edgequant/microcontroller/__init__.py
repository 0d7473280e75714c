"""Export quantized models as C99 for microcontrollers: integer-only kernels bit-exact with TensorFlow
Lite Micro (``runtime/c``), one static arena planned at export time, weights as const arrays in
flash (or rANS-coded with ``coded_weights=True``).

>>> from edgequant.microcontroller import export_c, HostModel
>>> report = export_c("pretrainedResnet_quant.tflite", "out/resnet8")
>>> model = HostModel.from_report(report)      # compiled for this machine, called via ctypes
>>> scores = model(report.graph.quantize_input(images[0]))
"""

from .budgets import BudgetExceededError
from .export import ExportReport, export_c, load_graph
from .graph import IntegerGraph, UnsupportedModelError
from .host import HostModel
from .onnx_frontend import CoarseSoftmaxWarning
from .planner import plan_arena

__all__ = ["BudgetExceededError", "CoarseSoftmaxWarning", "ExportReport", "HostModel", "IntegerGraph",
           "UnsupportedModelError", "export_c", "load_graph", "plan_arena"]
