"""QDQ ONNX with each weight at its own bit width: what ONNX Runtime and edgequant's engine run.

Each configured weight becomes integer codes on its ``b``-bit grid (signed, per output channel,
:func:`~.quantization.quantize_weight_codes`) stored as int8 (``b`` ≤ 8; int16 above, opset 21),
with its scales and zero points, read through a ``DequantizeLinear`` that outputs the weight's
original name, so every consumer is unchanged. A 4-bit weight is therefore an int8 tensor whose
values lie in [-8, 7]: neither runtime has 4-bit convolutions, and the file keeps the exact grid
(the entropy-coded ``.eqz`` is where the size shrinks). ``DequantizeLinear`` computes
``float32(s)·(q − z)``, the reconstruction Affine decodes to, so the QDQ model's weights equal
the quantize-dequantized weights bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .config import bits_by_tensor, config_symmetric
from .quantization import quantize_weight_codes

#: Per-axis DequantizeLinear: opset 13; int16 codes: opset 21.
_PER_AXIS_OPSET, _INT16_OPSET = 13, 21


def save_mixed_precision_qdq(model, config: Mapping, path: str | os.PathLike | None = None,
                             require_all: bool = True):
    """Write ``model`` (ONNX) as QDQ ONNX with the bit widths of ``config``; returns the ModelProto.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        The float model (not modified); a model below opset 13 is converted first
        (:func:`edgequant.engine.qdq_export.converted_for_qdq`).
    config : mapping
        A bit config (:func:`~.config.load_config` / :func:`~.config.make_config`).
    path : str or os.PathLike, optional
        Also write the model there.
    require_all : bool, default True
        Every conv / fully connected weight must have a width; otherwise the others stay float.

    Raises
    ------
    ValueError
        The config does not match the model (:func:`~.config.bits_by_tensor`), or a width above
        8 bits in a model the converter cannot take to opset 21.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from ..engine.qdq_export import converted_for_qdq
    from ..onnx.loader import load_model_and_files
    from ..onnx.weights import weights_of_loaded

    loaded = load_model_and_files(model)
    widths = bits_by_tensor(config, loaded.model, require_all=require_all)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(loaded.model)
    wide = any(max(np.atleast_1d(bits)) > 8 for bits, _ in widths.values())
    rewritten = _at_opset(rewritten, _INT16_OPSET if wide else _PER_AXIS_OPSET, converted_for_qdq)
    symmetric = config_symmetric(config)
    values = {t.name: t.values for t in weights_of_loaded(rewritten, loaded.description)}
    graph = rewritten.graph
    initializers = {init.name: init for init in graph.initializer}
    taken = {init.name for init in graph.initializer} | {n.name for n in graph.node} | {
        name for node in graph.node for name in (*node.input, *node.output)}
    new_nodes, new_initializers = [], []
    for name, (bits, axis) in widths.items():
        if name not in initializers:
            raise ValueError(f"weight {name!r} is not an initializer (a Constant node?): QDQ export needs initializers")
        codes, scales, zero_points = quantize_weight_codes(values[name], bits, axis, symmetric)
        code_type = np.int8 if max(np.atleast_1d(bits)) <= 8 else np.int16
        shape = (-1,) if axis is not None else ()
        parts = {part: _fresh(f"{name}_{part}", taken) for part in ("quantized", "scale", "zero_point")}
        new_initializers += [numpy_helper.from_array(codes.astype(code_type), parts["quantized"]),
                             numpy_helper.from_array(scales.astype(np.float32).reshape(shape), parts["scale"]),
                             numpy_helper.from_array(zero_points.astype(code_type).reshape(shape),
                                                     parts["zero_point"])]
        storage = initializers[name].data_type
        output = name if storage == TensorProto.FLOAT else _fresh(f"{name}_float", taken)
        attributes = {"axis": axis} if axis is not None else {}
        new_nodes.append(helper.make_node("DequantizeLinear", list(parts.values()), [output],
                                          name=_fresh(f"{name}_DequantizeLinear", taken), **attributes))
        if output != name:
            new_nodes.append(helper.make_node("Cast", [output], [name], to=storage, name=_fresh(f"{name}_Cast", taken)))
    kept = [init for init in graph.initializer if init.name not in widths]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_initializers)
    inputs = [value for value in graph.input if value.name not in widths]  # IR < 4 lists initializers
    del graph.input[:]
    graph.input.extend(inputs)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes + nodes)  # the codes are initializers: the DQ nodes can run first
    if path is not None:
        Path(path).write_bytes(rewritten.SerializeToString())
    return rewritten


def _at_opset(model, needed: int, converter):
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    if opset >= needed:
        return model
    if needed == _PER_AXIS_OPSET:
        return converter(model)
    from onnx import version_converter

    try:
        return version_converter.convert_version(model, needed)
    except Exception as error:  # the converter raises several kinds
        raise ValueError(f"weights above 8 bits need int16 DequantizeLinear (opset {needed}); converting the model "
                         f"from opset {opset} failed: {error}") from error


def _fresh(base: str, taken: set[str]) -> str:
    name, suffix = base, 1
    while name in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(name)
    return name
