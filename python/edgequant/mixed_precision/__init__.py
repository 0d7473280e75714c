"""Semantic-significance mixed precision (SPEC §7, seed 003).

Give more bits to the components (weight tensors, or output channels) that separate the classes
a model confuses most, fewer elsewhere:

>>> from edgequant import zoo
>>> from edgequant.mixed_precision import (confusion_matrix, critical_classes, layer_costs,
...     list_components, allocate_bits, make_config, save_config)
>>> x, y = zoo.load_test_set()
>>> critical = critical_classes(confusion_matrix(y, predictions, 10), k=1)   # or parse_critical
>>> costs = layer_costs(zoo.model_path(), x, y, critical, choices=(2, 4, 8))
>>> sizes = {c.name: c.size for c in list_components(zoo.model_path())}
>>> bits = allocate_bits(costs, sizes, budget_bits_per_weight=4)
>>> save_config(make_config(bits), "bits.json")   # edgequant compress --bits-config bits.json

One file per idea: :mod:`.critical` (which classes), :mod:`.components` (what gets a width),
:mod:`.quantization` (the one weight quantizer), :mod:`.losses` (per-sample loss on each
backend), :mod:`.significance` (S_c and generic sensitivity), :mod:`.coded_size` (bytes per
choice), :mod:`.allocation` (the exact knapsack), :mod:`.config` (the JSON file),
:mod:`.qdq` (QDQ ONNX with sub-8-bit weights) and :mod:`.compress` (the ``.eqz`` hook).
"""

from .allocation import achieved_bits_per_weight, allocate_bits, total_cost
from .coded_size import coded_weight_bytes
from .components import Component, list_components
from .config import bits_by_tensor, load_config, make_config, save_config, validate_config
from .critical import CriticalClasses, confusion_matrix, critical_classes, parse_critical, symmetric_confusion
from .qdq import save_engine_qdq
from .quantization import quantize_weight, quantize_weight_codes, weight_quantizer
from .significance import generic_sensitivity, layer_costs, semantic_significance, significance_tables

__all__ = [
    "Component", "CriticalClasses", "achieved_bits_per_weight", "allocate_bits", "bits_by_tensor",
    "coded_weight_bytes", "confusion_matrix", "critical_classes", "generic_sensitivity", "layer_costs",
    "list_components", "load_config", "make_config", "parse_critical", "quantize_weight", "quantize_weight_codes",
    "save_config", "save_engine_qdq", "semantic_significance", "significance_tables", "symmetric_confusion",
    "total_cost", "validate_config", "weight_quantizer",
]
