"""The ``.eqz`` hook: a quantizer factory that gives each weight tensor its configured bit width.

:func:`edgequant.compress.compress_model` (and :func:`edgequant.model.quantize_weights`) accept
a factory with ``for_named_tensor(name, axis)``; :class:`MixedPrecisionAffine` answers with the
tensor's :func:`~.quantization.weight_quantizer`, or — for a list of widths per output channel —
a :class:`ChannelBitsAffine` whose codes follow each channel's width while its spec is a plain
per-channel Affine at the widest width, so the ``.eqz`` reader decodes it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..quantizers import Affine
from .config import bits_by_tensor, config_symmetric
from .quantization import quantize_weight_codes, weight_quantizer


class ChannelBitsAffine(Affine):
    """Per-channel affine whose channels have their own bit widths (encode side of the ``.eqz``).

    ``decode`` is Affine's (``s·(q − z)`` per channel), so the spec and decode state written for
    it — an Affine at the widest width — restore the same weights.
    """

    def __init__(self, channel_bits, axis: int, symmetric: bool = True):
        self.channel_bits = [int(b) for b in channel_bits]
        super().__init__(bits=max(self.channel_bits), symmetric=symmetric, signed=True, axis=axis)

    def encode(self, x) -> np.ndarray:
        codes, scales, zero_points = quantize_weight_codes(x, self.channel_bits, self.axis, self.symmetric)
        self._scales, self._zero_points = scales, zero_points
        return codes

    def __call__(self, x, out=None) -> np.ndarray:
        result = self.decode(self.encode(x))
        if out is None:
            return result
        out[...] = result
        return out


class MixedPrecisionAffine:
    """The quantizer factory of a bit config for one model.

    Parameters
    ----------
    config : mapping
        A bit config (:func:`~.config.load_config`).
    model : str, os.PathLike, bytes or onnx.ModelProto
        The model it is applied to: the config is checked against it here (every conv / fully
        connected weight must have a width; no unknown tensor; channel lists of the right length).
    """

    name = "affine"

    def __init__(self, config: Mapping, model):
        self.widths = bits_by_tensor(config, model)
        self.symmetric = config_symmetric(config)

    def for_named_tensor(self, name: str, axis: int | None):
        if name not in self.widths:
            raise ValueError(f"the bit config gives no bit width for weight {name!r}")
        bits, config_axis = self.widths[name]
        if isinstance(bits, list):
            return ChannelBitsAffine(bits, config_axis, self.symmetric)
        return weight_quantizer(bits, axis, self.symmetric)

    def for_tensor(self, axis):  # the factories' protocol without names: not enough here
        raise TypeError("MixedPrecisionAffine needs each tensor's name (for_named_tensor)")

    def params(self) -> dict:
        return {"weights": {name: bits for name, (bits, _) in self.widths.items()}, "symmetric": self.symmetric}

    def __repr__(self):
        widths = sorted({b for bits, _ in self.widths.values() for b in np.atleast_1d(bits).tolist()})
        return f"MixedPrecisionAffine({len(self.widths)} tensors, bit widths {widths}, symmetric={self.symmetric})"


def compress_mixed_precision(model, config: Mapping, output, include_biases: bool = False,
                             compare_general_purpose: bool = False):
    """``.eqz`` of ``model`` with the bit widths of ``config`` (see :func:`edgequant.compress.compress_model`, which
    also documents ``compare_general_purpose``)."""
    from ..compress import compress_model

    if include_biases:
        raise ValueError("a bit config covers conv / fully connected weights only; biases cannot be included")
    return compress_model(model, MixedPrecisionAffine(config, model), output,
                          compare_general_purpose=compare_general_purpose)
