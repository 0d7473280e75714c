"""The result of quantizing a model's weights: the model, its symbols and their rate."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from ..entropy import compression_ratio, space_saving
from ..quantizers import Quantizer


@dataclass(eq=False)
class QuantizedModel:
    """A quantize-dequantized ONNX model and what it cost in bits.

    Attributes
    ----------
    model : onnx.ModelProto
        The input model with each quantized tensor replaced by its reconstruction, stored in the
        tensor's original dtype (an fp16 model stays fp16: the float32 reconstruction is rounded
        to fp16, which can move a level by at most half an fp16 ulp). Runs on any ONNX runtime.
    symbols : dict of str to numpy.ndarray
        Tensor name -> int32 symbols (tensor shape).
    quantizers : dict of str to Quantizer
        Tensor name -> the fitted quantizer (its ``xmax_``, ``scale``... describe that tensor).
    tensor_entropy : dict of str to float
        Tensor name -> empirical entropy of its symbols, bits per weight.
    entropy : float
        The rate of the model in bits per weight: ``Σ n_t·H_t / Σ n_t`` over the quantized
        tensors, each tensor entropy-coded with its own code book (symbols of different tensors
        mean different values when every tensor has its own range, so they are not pooled).
    weight_count : int
        Number of quantized weights ``Σ n_t``.
    weight_sqnr_db : float
        ``10·log10(Σ w² / Σ (w − ŵ)²)`` over all quantized weights, ŵ as stored in ``model``.
    skipped : dict of str to str
        Tensors with a selected role that were left unchanged, with the reason.
    timings : dict of str to float
        Seconds spent: ``quantize_s`` (encode, decode, write back) and ``entropy_s``.
    """

    model: onnx.ModelProto
    symbols: dict[str, np.ndarray]
    quantizers: dict[str, Quantizer]
    tensor_entropy: dict[str, float]
    entropy: float
    weight_count: int
    weight_sqnr_db: float
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def pooled_entropy(self) -> float:
        """Entropy of all symbols pooled into one stream (one shared code book), for comparison
        with :attr:`entropy`; computed on demand."""
        from ..entropy import entropy

        return entropy(np.concatenate([codes.ravel() for codes in self.symbols.values()]))

    @property
    def compression_ratio(self) -> float:
        """``32 / entropy`` (paper eq. 3.1); ``inf`` for a zero rate."""
        return compression_ratio(self.entropy)

    @property
    def space_saving(self) -> float:
        """``(32 − entropy) / 32`` (paper eq. 3.2), a fraction."""
        return space_saving(self.entropy)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the quantize-dequantized model to ``path`` (one self-contained .onnx file).

        Raises
        ------
        FileNotFoundError
            If the folder of ``path`` does not exist.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"cannot save the model to {str(path)!r}: no folder {str(path.parent)!r}")
        path.write_bytes(self.model.SerializeToString())
        return path

    def __repr__(self):
        return (
            f"QuantizedModel({len(self.symbols)} tensors, {self.weight_count} weights, "
            f"entropy={self.entropy:.4g} bits/weight, weight_sqnr_db={self.weight_sqnr_db:.4g})"
        )
