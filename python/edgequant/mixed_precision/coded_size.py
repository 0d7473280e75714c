"""Entropy-coded size of each component at each bit width: the weights of a bytes budget.

Each component is quantized alone at ``b`` bits (:func:`~.quantization.quantize_weight_codes`,
the codes the ``.eqz`` writer stores) and its codes are coded with :func:`edgequant.coding.encode`.
A tensor component counts its whole stream, header and frequency table included, as the ``.eqz``
writer codes one stream per tensor. A channel component counts only its coded payload (rANS and
escape bytes, by its own statistics): in the file its channel shares the tensor's stream, and
charging each channel a header and table (~100 bytes) would overstate small channels many times.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import coding
from .components import Component
from .losses import float_weights
from .quantization import check_choices, quantize_weight_codes


def coded_weight_bytes(model, components: Sequence[Component], choices: Sequence[int] = (2, 4, 8),
                       symmetric: bool = True) -> dict[str, dict[int, int]]:
    """``{component: {bits: coded bytes}}`` for an ONNX model or torch module.

    Parameters
    ----------
    model : str, os.PathLike, bytes, onnx.ModelProto or torch.nn.Module
    components : sequence of Component
        From :func:`~.components.list_components` of this model.
    choices : sequence of int, default (2, 4, 8)
    symmetric : bool, default True
        As :func:`~.quantization.weight_quantizer`.
    """
    choices = check_choices(choices)
    if not components:
        raise ValueError("components is empty")
    weights = float_weights(model, sorted({c.tensor for c in components}))
    sizes = {}
    for component in components:
        values = weights[component.tensor]
        if component.channel is not None:
            values = values.take([component.channel], axis=component.axis)
        sizes[component.name] = {bits: _coded_size(quantize_weight_codes(values, bits, component.axis, symmetric)[0],
                                                   whole_stream=component.channel is None) for bits in choices}
    return sizes


def _coded_size(codes, whole_stream: bool) -> int:
    stream = coding.encode(codes)
    if whole_stream:
        return len(stream)
    info = coding.stream_info(stream)
    return info.rans_bytes + info.escape_bytes
