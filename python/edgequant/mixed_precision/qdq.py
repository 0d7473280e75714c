"""QDQ ONNX with each weight at its own bit width: what ONNX Runtime and edgequant's engine run.

A thin reader of the bit config over the one QDQ writer, :func:`edgequant.model.to_qdq`: each
configured weight gets a :class:`~edgequant.model.WeightFormat` with its width (or one width per
output channel), signed, per output channel, symmetric as the config says. Its codes lie on the
``b``-bit grid and are stored as int8 (``b`` ≤ 8; int16 above, opset 21), read through a
``DequantizeLinear`` that outputs the weight's original name, so every consumer is unchanged. A
4-bit weight is therefore an int8 tensor whose values lie in [-8, 7]: neither runtime has 4-bit
convolutions, and the file keeps the exact grid (the entropy-coded ``.eqz`` is where the size
shrinks). The codes equal :func:`~.quantization.quantize_weight_codes`' and ``DequantizeLinear``
computes ``float32(s)·(q − z)``, the reconstruction Affine decodes to, so the QDQ model's weights
equal the quantize-dequantized weights bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .config import bits_by_tensor, config_symmetric


def save_mixed_precision_qdq(model, config: Mapping, path: str | os.PathLike | None = None,
                             require_all: bool = True):
    """Write ``model`` (ONNX) as QDQ ONNX with the bit widths of ``config``; returns the ModelProto.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        The float model (not modified); a model below opset 13 (21 when a width exceeds 8 bits)
        is converted first (:func:`edgequant.model.qdq_graph.converted_for_qdq`).
    config : mapping
        A bit config (:func:`~.config.load_config` / :func:`~.config.make_config`).
    path : str or os.PathLike, optional
        Also write the model there.
    require_all : bool, default True
        Every conv / fully connected weight must have a width; otherwise the others stay float.

    Raises
    ------
    ValueError
        The config does not match the model (:func:`~.config.bits_by_tensor`), or the converter
        cannot take the model to the opset its widths need.
    """
    import onnx

    from ..model.qdq import to_qdq
    from ..model.qdq_graph import QDQ_INT16_OPSET, QDQ_OPSET, converted_for_qdq, default_opset
    from ..model.selection import DEFAULT_ROLES
    from ..onnx.loader import load_model_and_files

    loaded = load_model_and_files(model)
    formats = weight_formats(config, loaded.model, require_all=require_all)
    needed = QDQ_INT16_OPSET if any(fmt.max_bits > 8 for fmt in formats.values()) else QDQ_OPSET
    source = loaded.model
    if default_opset(source) < needed:
        source = onnx.ModelProto()
        source.CopyFrom(loaded.model)  # the conversion names unnamed nodes in place
        source = converted_for_qdq(source, needed)
    return to_qdq(source, roles=DEFAULT_ROLES, path=path, overrides=formats, tensors=formats)


def weight_formats(config: Mapping, model, require_all: bool = True) -> dict:
    """``{weight tensor: WeightFormat}`` of a bit config checked against ``model`` (ONNX): the
    per-tensor formats the QDQ writers (:func:`edgequant.model.to_qdq`, ``layers_to_qdq``) take
    as ``overrides``. Raises ValueError as :func:`~.config.bits_by_tensor` does."""
    from ..model.qdq import WeightFormat

    widths = bits_by_tensor(config, model, require_all=require_all)
    symmetric = config_symmetric(config)
    return {name: WeightFormat(bits, per_channel=True, symmetric=symmetric) for name, (bits, _) in widths.items()}


def save_engine_qdq(engine, path: str | os.PathLike, bits) -> None:
    """The engine's INT8 QDQ export (:meth:`edgequant.engine.Engine.save_quantized`) with the
    weights a bit config names on their own ``b``-bit grids (int8 codes, per output channel); the
    engine's other INT8 layers keep 8 bits. ``bits``: the config's path (``edgequant mpq --out``)
    or the mapping :func:`~.config.load_config` returns. A config naming a weight the engine does
    not quantize is a ValueError."""
    from ..onnx.loader import load_model_and_files
    from .config import load_config

    config = bits if isinstance(bits, Mapping) else load_config(bits)
    formats = weight_formats(config, load_model_and_files(engine.source).model, require_all=False)
    engine.save_quantized(path, weight_formats=formats)
