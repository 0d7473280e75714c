"""Write a QDQ ONNX model: integer weights plus DequantizeLinear, as ONNX Runtime expects.

One writer serves two callers: :func:`to_qdq` (weights chosen by role) and
:func:`layers_to_qdq` (the weights and inputs of named layers: what
:meth:`edgequant.Engine.save_quantized` writes for its INT8 layers). Every weight's format
(bits, per channel, symmetric) can be set per tensor through ``overrides``, down to one bit
width per output channel (what mixed precision's
:func:`~edgequant.mixed_precision.qdq.save_mixed_precision_qdq` writes through it).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .._validation import integer_in
from ..onnx.loader import ModelSource, load_model_and_files
from ..onnx.roles import ROLES
from ..quantizers import Affine
from .qdq_branches import quantize_branches
from .qdq_graph import (
    QDQ_INT16_OPSET,
    QDQ_OPSET,
    append_activation_qdq,
    converted_for_qdq,
    default_opset,
    fresh_name,
    names_in_use,
    remove_constants,
    sort_topologically,
    storage_type,
    value_types,
)
from .selection import DEFAULT_ROLES, WeightSelection, select_weights

__all__ = ["QDQ_INT16_OPSET", "QDQ_OPSET", "WeightFormat", "converted_for_qdq", "layers_to_qdq", "to_qdq"]

#: Opset needed for DequantizeLinear: per tensor (10), per axis (13), int16 inputs (21).
_MIN_OPSET_PER_TENSOR = 10
_MIN_OPSET_PER_AXIS = 13


@dataclass(frozen=True)
class WeightFormat:
    """How one weight tensor is stored: ``bits``-bit signed codes, one scale per output channel
    (``per_channel``) or per tensor, zero point 0 (``symmetric``) or fitted.

    ``bits`` is one width for the whole tensor, or a tuple with one width per output channel
    (needs ``per_channel``; a list is kept as a tuple). Each channel is then quantized by
    :class:`~edgequant.quantizers.Affine` at its own width, which equals the per-channel Affine's
    codes on that channel because the per-channel fit never looks across channels.

    ``grid``: ``"affine"`` fits :class:`~edgequant.quantizers.Affine` (symmetric: s = 2·max|w| /
    (2^bits − 1)); ``"engine"`` writes the INT8 weights :class:`edgequant.Engine` runs (8 or 7
    bits, symmetric, s = max|w| / 127 with codes in [−127, 127] at 8 bits, as TFLite and ONNX
    Runtime quantize weights), what :meth:`~edgequant.Engine.save_quantized` stores.

    Raises
    ------
    ValueError
        If a width is not an integer in 2–16 (int8 codes up to 8 bits, int16 above), the tuple
        is empty, per-channel widths are asked for without ``per_channel``, ``grid`` is unknown,
        or the engine's grid is asked for other than 7 or 8 symmetric bits.
    """

    bits: int | tuple[int, ...] = 8
    per_channel: bool = True
    symmetric: bool = True
    grid: str = "affine"

    def __post_init__(self):
        if self.grid not in ("affine", "engine"):
            raise ValueError(f"grid: 'affine' or 'engine', got {self.grid!r}")
        if self.grid == "engine" and (self.bits not in (7, 8) or not self.symmetric):
            raise ValueError(f"grid='engine' is the engine's symmetric 7- or 8-bit weights, got bits={self.bits!r}, "
                             f"symmetric={self.symmetric}")
        if isinstance(self.bits, Iterable) and not isinstance(self.bits, str):
            widths = tuple(integer_in(width, 2, 16, "bits") for width in self.bits)
            if not widths:
                raise ValueError("bits: give one width, or a non-empty sequence of them (one per output channel)")
            if not self.per_channel:
                raise ValueError("bits: one width per output channel needs per_channel=True")
            object.__setattr__(self, "bits", widths)  # frozen: a list becomes a hashable tuple
        else:
            object.__setattr__(self, "bits", integer_in(self.bits, 2, 16, "bits"))

    @property
    def max_bits(self) -> int:
        """The widest code: int8 storage up to 8 bits, int16 above."""
        return max(self.bits) if isinstance(self.bits, tuple) else self.bits


def to_qdq(
    model: ModelSource,
    bits: int = 8,
    per_channel: bool = True,
    symmetric: bool = True,
    roles: Iterable[str] = DEFAULT_ROLES,
    path: str | os.PathLike | None = None,
    *,
    overrides: Mapping[str, WeightFormat] | None = None,
    tensors: Collection[str] | None = None,
) -> onnx.ModelProto:
    """Store chosen weights as integers read through ``DequantizeLinear`` (a QDQ model).

    Each weight ``W`` becomes an int8 (``bits`` ≤ 8) or int16 initializer ``W_quantized`` with
    its scale and zero point, and a ``DequantizeLinear`` node (placed first in the graph) that
    outputs ``W`` again, so every consumer is unchanged. Codes, scales and zero points come from
    :class:`edgequant.quantizers.Affine` (signed codes), whose reconstruction
    ``float32(s)·(q − z)`` is exactly what ``DequantizeLinear`` computes. Per channel, the scale
    axis is the output-channel axis of each tensor (:func:`~.channels.output_channel_axis`: Conv
    ``[M, C/g, kH, kW]``: 0; ConvTranspose ``[C, M/g, kH, kW]``: 1; Gemm ``[N, K]`` with
    ``transB=1``: 0, ``[K, N]``: 1; MatMul ``[..., K, N]``: the last); tensors without one
    (biases, weights read through Reshape) get one scale. Weights stored in another float type
    (fp16, bf16, fp64) are dequantized to float32 and then ``Cast`` back to that type.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        The float model (not modified).
    bits : int, default 8
        2–16; codes are stored in int8 up to 8 bits, int16 above (needs opset 21).
    per_channel : bool, default True
    symmetric : bool, default True
        Symmetric (zero point 0) or asymmetric ranges.
    roles : iterable of str, default ``("conv_weight", "gemm_weight")``
        Roles of the tensors to store as integers.
    path : str or os.PathLike, optional
        Also write the model there.
    overrides : mapping of str to WeightFormat, optional
        Tensor name -> its own format, instead of (``bits``, ``per_channel``, ``symmetric``)
        (per-layer or per-channel bit widths, say).
    tensors : collection of str, optional
        Only these tensors (among those with ``roles``); the others stay float.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ValueError
        If ``bits`` is out of range, an override names a tensor that is not quantized, gives
        per-channel widths whose count is not the tensor's output-channel count (or to a tensor
        without one), the model's opset is too old for the requested DequantizeLinear (convert it
        with :func:`converted_for_qdq` first), or it has nothing to quantize.
    """
    default = WeightFormat(bits, per_channel, symmetric)
    loaded = load_model_and_files(model)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(loaded.model)
    selection = select_weights(rewritten, roles, False, loaded.description, names=tensors)
    formats = _formats_of(selection, default, overrides)
    _check_opset(rewritten, formats.values(), loaded.description)
    _write_qdq(rewritten, selection, formats, {})
    return _saved(rewritten, path)


def layers_to_qdq(
    model: ModelSource,
    layers: Collection[str],
    input_quantization: Mapping[str, tuple[float, int]] | None = None,
    path: str | os.PathLike | None = None,
    *,
    overrides: Mapping[str, WeightFormat] | None = None,
    weight_format: WeightFormat | None = None,
    integer_tensors: Mapping[str, tuple[float, int]] | None = None,
    branch_quantization: Mapping[str, tuple[float, int]] | None = None,
) -> onnx.ModelProto:
    """The QDQ model of an INT8 engine: the weights of ``layers`` as s8, their inputs as u8.

    The model is first brought to opset 13 (:func:`~edgequant.model.qdq_graph.converted_for_qdq`: per-axis
    DequantizeLinear), naming its unnamed nodes as the engine does. The weight (input 1) of
    every node named in ``layers`` is stored as in :func:`to_qdq` (8 bits, per output channel,
    symmetric, unless ``overrides`` says otherwise); input 0 of such a layer, when
    ``input_quantization`` holds it, goes through a u8 QuantizeLinear/DequantizeLinear pair
    with that scale and zero point (float16 values are cast to float32 around it). A value in
    ``integer_tensors`` (one the engine holds only as u8 codes) is read through its pair by every
    node, not only by the layers: a residual Add fused into a conv, a pool or a Concat then sees
    the rounded value the engine sees, so ONNX Runtime on the file computes what the engine does.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        The float model (not modified).
    layers : collection of str
        Names of the Conv / Gemm / MatMul nodes to quantize; other names are ignored.
    input_quantization : mapping of str to (float, int), optional
        Value name -> (scale, u8 zero point) of the layer inputs to quantize (static INT8).
    path : str or os.PathLike, optional
        Also write the model there.
    overrides : mapping of str to WeightFormat, optional
        Weight tensor name -> its own format.
    weight_format : WeightFormat, optional
        The format of the other weights (default: 8 bits, per channel, symmetric; an engine with
        ``reduce_range`` writes the 7 bits it ran).
    integer_tensors : mapping of str to (float, int), optional
        Value name -> (scale, u8 zero point) of the values static INT8 hands from layer to layer
        as codes (:meth:`edgequant.engine.Engine.integer_tensors`).
    branch_quantization : mapping of str to (float, int), optional
        ``"<If node>::then_branch::<tensor>"`` -> (scale, u8 zero point): the inputs of the layers
        inside ``If`` branches that the engine ran in static INT8; those layers get their Q/DQ and
        weights inside the branch (:func:`edgequant.model.qdq_branches.quantize_branches`).

    Returns
    -------
    onnx.ModelProto
        The rewritten copy.

    Raises
    ------
    ValueError
        If the opset conversion fails, an override names a tensor that is not quantized, one
        needs int16 codes (opset 21), or a grid's scale or zero point is invalid.
    """
    loaded = load_model_and_files(model)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(loaded.model)
    rewritten = converted_for_qdq(rewritten)
    layers = set(layers)
    layer_nodes = [node for node in rewritten.graph.node if node.name in layers and len(node.input) >= 2]
    weight_names = {node.input[1] for node in layer_nodes}
    try:
        selection = select_weights(rewritten, ROLES, False, loaded.description, names=weight_names)
    except ValueError:  # no layer has a float constant weight: nothing to store as integers
        selection = WeightSelection(tensors=[])
    formats = _formats_of(selection, weight_format or WeightFormat(), overrides)
    _check_opset(rewritten, formats.values(), loaded.description)
    grids, readers = dict(input_quantization or {}), {}
    for what, given in (("input_quantization", input_quantization), ("integer_tensors", integer_tensors),
                        ("branch_quantization", branch_quantization)):
        for name, (scale, zero_point) in (given or {}).items():
            if not (np.isfinite(scale) and scale > 0) or int(zero_point) != zero_point or not 0 <= zero_point <= 255:
                raise ValueError(f"{what}[{name!r}]: a u8 grid needs a finite positive scale and a zero point in "
                                 f"0..255, got ({scale}, {zero_point})")
    for node in layer_nodes:
        if input_quantization and node.input[1] in formats and node.input[0] in input_quantization:
            readers.setdefault(node.input[0], set()).add(node.name)
    for source, grid in (integer_tensors or {}).items():
        grids[source] = grid  # the codes' own grid (the same as the calibrated one where both exist)
        readers.setdefault(source, set()).update(node.name for node in rewritten.graph.node if source in node.input)
    _write_qdq(rewritten, selection, formats, {
        source: (grids[source], names) for source, names in readers.items() if names
    })
    if branch_quantization:
        bits = weight_format.bits if weight_format is not None and isinstance(weight_format.bits, int) else 8
        quantize_branches(rewritten, branch_quantization, bits)
    return _saved(rewritten, path)


def _formats_of(selection: WeightSelection, default: WeightFormat,
                overrides: Mapping[str, WeightFormat] | None) -> dict[str, WeightFormat]:
    overrides = dict(overrides or {})
    names = {tensor.name for tensor in selection.tensors}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"overrides name tensors that are not quantized here: {unknown}")
    for name, fmt in overrides.items():
        if not isinstance(fmt, WeightFormat):
            raise TypeError(f"overrides[{name!r}] must be a WeightFormat, got {type(fmt).__name__}")
    return {tensor.name: overrides.get(tensor.name, default) for tensor in selection.tensors}


def _write_qdq(model: onnx.ModelProto, selection: WeightSelection, formats: Mapping[str, WeightFormat],
               quantized_inputs: Mapping[str, tuple[tuple[float, int], set[str]]]) -> None:
    """Rewrites ``model`` in place: each selected weight read through DequantizeLinear (nodes
    first in the graph), each quantized value through QuantizeLinear/DequantizeLinear (read so by
    the nodes named with it only)."""
    graph = model.graph
    taken = names_in_use(graph)
    new_nodes, new_initializers, replaced = [], [], set()
    for tensor in selection.tensors:
        fmt = formats[tensor.name]
        axis = selection.axes[tensor.name] if fmt.per_channel else None
        codes, scale, zero_point = _encoded(tensor, fmt, axis)
        names = {part: fresh_name(f"{tensor.name}_{part}", taken) for part in ("quantized", "scale", "zero_point")}
        new_initializers += [
            numpy_helper.from_array(codes, names["quantized"]),
            numpy_helper.from_array(scale, names["scale"]),
            numpy_helper.from_array(zero_point, names["zero_point"]),
        ]
        storage = storage_type(graph, tensor.name)
        dequantized = tensor.name if storage == TensorProto.FLOAT else fresh_name(f"{tensor.name}_float", taken)
        attributes = {"axis": axis} if axis is not None else {}
        new_nodes.append(helper.make_node(
            "DequantizeLinear", [names["quantized"], names["scale"], names["zero_point"]], [dequantized],
            name=fresh_name(f"{tensor.name}_DequantizeLinear", taken), **attributes))
        if dequantized != tensor.name:
            new_nodes.append(helper.make_node("Cast", [dequantized], [tensor.name], to=storage,
                                              name=fresh_name(f"{tensor.name}_Cast", taken)))
        replaced.add(tensor.name)

    remove_constants(graph, replaced)
    graph.initializer.extend(new_initializers)
    activation_nodes = []
    if quantized_inputs:
        types = value_types(model)
        rewired: dict[str, dict[str, str]] = {}  # node name -> {value: its Q/DQ pair's output}
        for source, ((scale, zero_point), readers) in quantized_inputs.items():
            dequantized = append_activation_qdq(graph, source, scale, zero_point,
                                                types.get(source, TensorProto.FLOAT), taken, activation_nodes)
            for reader in readers:
                rewired.setdefault(reader, {})[source] = dequantized
        # By name, in the graph itself: remove_constants has rewritten the node list.
        for node in graph.node:
            for index, value in enumerate(node.input):
                if value in rewired.get(node.name, {}):
                    node.input[index] = rewired[node.name][value]
    kept_nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes + kept_nodes + activation_nodes)  # weight DQs first: initializers exist
    if activation_nodes:  # the activation Q/DQ pairs were appended after their readers
        sort_topologically(graph)


def _encoded(tensor, fmt: WeightFormat, axis: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes (int8, or int16 above 8 bits), float32 scales and zero points of ``tensor`` in
    ``fmt``: one (scale, zero point) per index of ``axis``, or one in all when it is None."""
    code_dtype = np.int8 if fmt.max_bits <= 8 else np.int16
    if fmt.grid == "engine":
        codes, scales = _engine_weights(tensor.values, fmt.bits, axis)
        zero_points = np.zeros(scales.shape, np.int32)
    elif isinstance(fmt.bits, int):
        affine = Affine(bits=fmt.bits, symmetric=fmt.symmetric, signed=True, axis=axis)
        codes = affine.encode(tensor.values)
        scales, zero_points = np.atleast_1d(affine.scale), np.atleast_1d(affine.zero_point)
    else:
        codes, scales, zero_points = _encoded_per_channel_widths(tensor, fmt, axis)
    shape = (-1,) if axis is not None else ()
    return (codes.astype(code_dtype), np.asarray(scales, np.float32).reshape(shape),
            np.asarray(zero_points, code_dtype).reshape(shape))


def _engine_weights(values: np.ndarray, bits: int, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The engine's own INT8 weights (its C++ fit and encoder): codes shaped as ``values`` and one
    scale per index of ``axis`` (one in all when it is None)."""
    from .._engine import quantize_int8_weights

    values = np.asarray(values, np.float32)
    rows = np.moveaxis(values, axis, 0) if axis is not None else values.reshape(1, -1)
    codes, scales = quantize_int8_weights(np.ascontiguousarray(rows.reshape(rows.shape[0], -1)), bits)
    codes = np.moveaxis(codes.reshape(rows.shape), 0, axis) if axis is not None else codes.reshape(values.shape)
    return codes, scales


def _encoded_per_channel_widths(tensor, fmt: WeightFormat, axis: int | None):
    """One Affine fit per distinct width, over the channels that have it (``np.take``), the
    codes written back in place: the same codes as fitting each channel alone."""
    if axis is None:
        raise ValueError(f"tensor {tensor.name!r} has no output-channel axis: give it one bit width, not one per "
                         "channel")
    widths = np.asarray(fmt.bits)
    channels = tensor.values.shape[axis]
    if widths.size != channels:
        raise ValueError(f"tensor {tensor.name!r} has {channels} output channels (axis {axis}), its format gives "
                         f"{widths.size} bit widths")
    codes = np.empty(tensor.values.shape, np.int32)
    scales, zero_points = np.empty(channels, np.float64), np.empty(channels, np.int32)
    where = [slice(None)] * codes.ndim
    for width in np.unique(widths):
        chosen = np.flatnonzero(widths == width)
        affine = Affine(bits=int(width), symmetric=fmt.symmetric, signed=True, axis=axis)
        where[axis] = chosen
        codes[tuple(where)] = affine.encode(np.take(tensor.values, chosen, axis=axis))
        scales[chosen], zero_points[chosen] = affine.scale, affine.zero_point
    return codes, scales, zero_points


def _check_opset(model: onnx.ModelProto, formats: Iterable[WeightFormat], description: str) -> None:
    opset = default_opset(model, missing=0)
    needed, why = _MIN_OPSET_PER_TENSOR, "DequantizeLinear"
    for fmt in formats:
        if fmt.per_channel and needed < _MIN_OPSET_PER_AXIS:
            needed, why = _MIN_OPSET_PER_AXIS, "per-channel DequantizeLinear (axis attribute)"
        if fmt.max_bits > 8:
            needed, why = QDQ_INT16_OPSET, f"{fmt.max_bits}-bit (int16) DequantizeLinear"
            break
    if opset < needed:
        raise ValueError(
            f"{description} uses opset {opset}, but {why} needs opset {needed}; convert it first "
            f"with onnx.version_converter.convert_version(model, {needed})"
        )


def _saved(model: onnx.ModelProto, path) -> onnx.ModelProto:
    if path is not None:
        Path(path).write_bytes(model.SerializeToString())
    return model
