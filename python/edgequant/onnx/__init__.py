"""Import ONNX models: load them safely, list their weights by role, describe their statistics.

>>> from edgequant.onnx import load_model, weights, layer_stats, composition
>>> tensors = weights("mnist-8.onnx")            # WeightTensor: name, role, values (float32)...
>>> layer_stats(tensors).to_pandas()             # per-tensor mean, std, kurtosis, sparsity...
>>> composition("mnist-8.onnx")["weight_and_bias_percent"]

Needs the optional ``onnx`` dependency (``pip install edgequant[onnx]``).
"""

from .composition import composition
from .external_data import ExternalDataNotFoundError
from .loader import load_model
from .roles import BATCHNORM, BIAS, CONV_WEIGHT, GEMM_WEIGHT, OTHER, ROLES
from .stats import STAT_COLUMNS, LayerStatsTable, layer_stats, tensor_stats
from .weights import WeightTensor, weights

__all__ = [
    "BATCHNORM",
    "BIAS",
    "CONV_WEIGHT",
    "GEMM_WEIGHT",
    "OTHER",
    "ROLES",
    "STAT_COLUMNS",
    "ExternalDataNotFoundError",
    "LayerStatsTable",
    "WeightTensor",
    "composition",
    "layer_stats",
    "load_model",
    "tensor_stats",
    "weights",
]
