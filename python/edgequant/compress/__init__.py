"""``.eqz``: a truly compressed model file (SPEC §2: "a format for distributing neural networks").

>>> from edgequant.compress import compress_model, decompress_model
>>> report = compress_model("model.onnx", Deadzone(levels=512, delta=0.7), "model.eqz")
>>> print(report)                       # file size vs ONNX; coded bits vs entropy (xz, zstd: when asked)
>>> onnx.save(decompress_model("model.eqz"), "restored.onnx")
>>> print(output_fidelity("model.onnx", decompress_model("model.eqz")))  # cosine, max error per output
"""

from .container import MAGIC, VERSION
from .fidelity import FidelityReport, OutputFidelity, output_fidelity
from .model_file import CompressionReport, compress_model, decompress_model

__all__ = ["MAGIC", "VERSION", "CompressionReport", "FidelityReport", "OutputFidelity", "compress_model",
           "decompress_model", "output_fidelity"]
