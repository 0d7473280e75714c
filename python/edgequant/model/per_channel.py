"""Affine quantization per output channel, with the axis chosen tensor by tensor."""

from __future__ import annotations

from ..quantizers import Affine


class PerChannelAffine:
    """Affine INT-N with one (scale, zero point) per output channel of every tensor.

    A plain ``Affine(axis=0)`` would be wrong for a Gemm weight stored ``[K, N]`` (axis 0 indexes
    input features there); this factory asks the graph which axis indexes the output channels
    (:func:`edgequant.model.channels.output_channel_axis`) and falls back to one scale per tensor
    when there is none (biases, weights read through Reshape...).

    Parameters
    ----------
    bits, symmetric, signed
        As :class:`edgequant.quantizers.Affine`.
    """

    name = "affine"

    def __init__(self, bits=8, symmetric=True, signed=True):
        prototype = Affine(bits=bits, symmetric=symmetric, signed=signed)  # validates
        self.bits, self.symmetric, self.signed = (
            prototype.bits,
            prototype.symmetric,
            prototype.signed,
        )

    def for_tensor(self, axis: int | None) -> Affine:
        """A fresh :class:`~edgequant.quantizers.Affine` along ``axis`` (None: per tensor)."""
        return Affine(bits=self.bits, symmetric=self.symmetric, signed=self.signed, axis=axis)

    def params(self) -> dict:
        """Constructor arguments: ``PerChannelAffine(**p.params())`` is an equal factory."""
        return {"bits": self.bits, "symmetric": self.symmetric, "signed": self.signed}

    def spec(self) -> dict:
        """The sweep point of this factory: ``{"method": "affine", "params": {..., "per_channel": true}}``."""
        return {"method": self.name, "params": {**self.params(), "per_channel": True}}

    def __repr__(self):
        return f"PerChannelAffine(bits={self.bits}, symmetric={self.symmetric}, signed={self.signed})"
