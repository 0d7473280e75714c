"""The edgequant inference engine: ONNX models in float32 or INT8 on a C++ core (oneDNN on x86-64).

>>> from edgequant import Engine, zoo
>>> x, y = zoo.load_test_set()
>>> engine = Engine(zoo.model_path(), mode="static", calibration=x[:100], method="mse")
>>> logits, = engine.run(x)
>>> engine.save_quantized("digits_int8_qdq.onnx")   # QDQ ONNX that ONNX Runtime runs

The engine is its own extension module (``edgequant._engine``), built when oneDNN and protobuf are
found at build time (see CONTRIBUTING.md); without it, constructing an Engine raises ImportError.
The session itself lives in :mod:`edgequant.engine.session`.
"""

from .calibration import METHODS
from .session import MODES, Engine, engine_available, int8_weight_bits, supported_backends

__all__ = ["MODES", "METHODS", "Engine", "engine_available", "int8_weight_bits", "supported_backends"]
