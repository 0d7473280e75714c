"""Write `.tflite` flatbuffers from plain Python specs, so tests can build valid random int8 models
and forge broken ones field by field (the ``tflite`` package only reads). Imported as a plain module:
pytest puts this folder on sys.path.

Field numbers follow TensorFlow Lite's schema.fbs (e.g. ``Tensor.quantization`` is field 4).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import flatbuffers
import numpy as np

OPCODES = {"ADD": 0, "AVERAGE_POOL_2D": 1, "CONCATENATION": 2, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 4,
           "DEPTH_TO_SPACE": 5, "DEQUANTIZE": 6, "FLOOR": 8,
           "FULLY_CONNECTED": 9, "LOGISTIC": 14, "MAX_POOL_2D": 17, "MUL": 18, "RELU": 19, "RELU6": 21, "RESHAPE": 22,
           "RESIZE_BILINEAR": 23, "SOFTMAX": 25, "TANH": 28, "CUSTOM": 32, "PAD": 34, "SUB": 41, "PRELU": 54,
           "PADV2": 60, "TRANSPOSE_CONV": 67, "STRIDED_SLICE": 45, "RESIZE_NEAREST_NEIGHBOR": 97, "HARD_SWISH": 117,
           "DENSIFY": 124, "BUCKETIZE": 147}
TYPES = {"FLOAT32": 0, "FLOAT16": 1, "INT32": 2, "INT8": 9, "INT64": 4, "UINT8": 3}
NUMPY_TYPES = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "INT8": np.int8, "INT64": np.int64,
               "UINT8": np.uint8}
PADDING = {"SAME": 0, "VALID": 1}
ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4}
# (union type id, fields in schema order with their kinds)
OPTIONS = {
    "CONV_2D": (1, [("padding", "int8"), ("stride_w", "int32"), ("stride_h", "int32"), ("activation", "int8"),
                    ("dilation_w", "int32"), ("dilation_h", "int32")]),
    "DEPTHWISE_CONV_2D": (2, [("padding", "int8"), ("stride_w", "int32"), ("stride_h", "int32"),
                              ("depth_multiplier", "int32"), ("activation", "int8"), ("dilation_w", "int32"),
                              ("dilation_h", "int32")]),
    "AVERAGE_POOL_2D": (5, [("padding", "int8"), ("stride_w", "int32"), ("stride_h", "int32"), ("filter_w", "int32"),
                            ("filter_h", "int32"), ("activation", "int8")]),
    "FULLY_CONNECTED": (8, [("activation", "int8")]),
    "SOFTMAX": (9, [("beta", "float32")]),
    "ADD": (11, [("activation", "int8")]),
    "CONCATENATION": (10, [("axis", "int32"), ("activation", "int8")]),
    "MUL": (21, [("activation", "int8")]),
    "SUB": (28, [("activation", "int8")]),
    "RESIZE_BILINEAR": (15, [("new_height", "int32"), ("new_width", "int32"), ("align_corners", "bool"),
                             ("half_pixel_centers", "bool")]),
    "RESIZE_NEAREST_NEIGHBOR": (74, [("align_corners", "bool"), ("half_pixel_centers", "bool")]),
    "DEPTH_TO_SPACE": (94, [("block_size", "int32")]),
    "TRANSPOSE_CONV": (49, [("padding", "int8"), ("stride_w", "int32"), ("stride_h", "int32"), ("activation", "int8")]),
    "STRIDED_SLICE": (32, [("begin_mask", "int32"), ("end_mask", "int32"), ("ellipsis_mask", "int32"),
                           ("new_axis_mask", "int32"), ("shrink_axis_mask", "int32"), ("offset", "bool")]),
}
OPTIONS["MAX_POOL_2D"] = OPTIONS["AVERAGE_POOL_2D"]


@dataclass
class TensorSpec:
    """One tensor: ``data`` (a NumPy array, written as raw bytes) makes it a constant."""

    name: str
    shape: list
    dtype: str = "INT8"
    scale: list = field(default_factory=list)
    zero_point: list = field(default_factory=list)
    quantized_dimension: int = 0
    data: np.ndarray | None = None
    sparse: bool = False  # writes a (minimal, incomplete) sparsity table
    # A real one: {"traversal_order": [...], "block_map": [...], "dims": [("dense", size) or
    # ("csr", segments, indices), ...]} in traversal order; ``data`` then holds the stored values only.
    sparsity: dict | None = None


@dataclass
class OpSpec:
    """One operator. ``options`` by the names in :data:`OPTIONS`; ``codes`` overrides how the opcode is
    written: ``"deprecated"`` (the old byte only), ``"builtin"`` (the int32 field only, deprecated 0) or
    ``"both"`` (as current converters write). A custom operator is ``kind="CUSTOM:Name"``, its raw
    options bytes ``options={"custom": b"..."}``."""

    kind: str
    inputs: list
    outputs: list
    options: dict = field(default_factory=dict)
    codes: str = "both"
    options_type: int | None = None  # overrides the union type written


@dataclass
class ModelSpec:
    tensors: list
    operators: list
    inputs: list
    outputs: list

    def copy(self) -> ModelSpec:
        return copy.deepcopy(self)


def _vector(builder, values, kind):
    prepend = {"int32": builder.PrependInt32, "int64": builder.PrependInt64, "float32": builder.PrependFloat32,
               "uint8": builder.PrependUint8, "offset": builder.PrependUOffsetTRelative}[kind]
    size = {"int32": 4, "int64": 8, "float32": 4, "uint8": 1, "offset": 4}[kind]
    builder.StartVector(size, len(values), size if kind != "uint8" else 16)
    for value in reversed(list(values)):
        prepend(value)
    return builder.EndVector()


def _table(builder, fields):
    """``fields``: (slot, kind, value) with kind int8/int32/uint32/float32/bool/offset; None values skipped."""
    builder.StartObject(max((slot for slot, _, _ in fields), default=-1) + 1)
    adders = {"int8": builder.PrependInt8Slot, "uint8": builder.PrependUint8Slot, "int32": builder.PrependInt32Slot,
              "uint32": builder.PrependUint32Slot, "float32": builder.PrependFloat32Slot,
              "bool": builder.PrependBoolSlot, "offset": builder.PrependUOffsetTRelativeSlot}
    for slot, kind, value in fields:
        if value is None:
            continue
        # a default of an impossible value forces the field to be written even when it equals the schema default
        if kind == "offset":
            adders[kind](slot, value, 0)
        else:
            builder.ForceDefaults(True)
            adders[kind](slot, value, 0)
            builder.ForceDefaults(False)
    return builder.EndObject()


def serialize(spec: ModelSpec) -> bytes:
    """The spec as a ``.tflite`` flatbuffer (file identifier TFL3, schema version 3)."""
    builder = flatbuffers.Builder(1024)
    buffers = [_table(builder, [])]  # buffer 0: the empty sentinel
    tensor_tables = []
    for tensor in spec.tensors:
        buffer_index = 0
        if tensor.data is not None:
            raw = np.ascontiguousarray(tensor.data).tobytes()
            data = _vector(builder, raw, "uint8")
            buffers.append(_table(builder, [(0, "offset", data)]))
            buffer_index = len(buffers) - 1
        name = builder.CreateString(tensor.name)
        shape = _vector(builder, [int(d) for d in tensor.shape], "int32")
        quantization = None
        if tensor.scale or tensor.zero_point:
            scale = _vector(builder, [float(s) for s in tensor.scale], "float32")
            zero_point = _vector(builder, [int(z) for z in tensor.zero_point], "int64")
            quantization = _table(builder, [(2, "offset", scale), (3, "offset", zero_point),
                                            (6, "int32", int(tensor.quantized_dimension))])
        sparsity = None
        if tensor.sparse:
            order = _vector(builder, list(range(len(tensor.shape))), "int32")
            sparsity = _table(builder, [(0, "offset", order)])
        if tensor.sparsity is not None:
            dims = []
            for dim in tensor.sparsity["dims"]:
                if dim[0] == "dense":
                    dims.append(_table(builder, [(0, "int8", 0), (1, "int32", int(dim[1]))]))
                    continue
                segments = _table(builder, [(0, "offset", _vector(builder, [int(v) for v in dim[1]], "int32"))])
                indices = _table(builder, [(0, "offset", _vector(builder, [int(v) for v in dim[2]], "int32"))])
                dims.append(_table(builder, [(0, "int8", 1), (2, "uint8", 1), (3, "offset", segments),
                                             (4, "uint8", 1), (5, "offset", indices)]))
            order = _vector(builder, tensor.sparsity["traversal_order"], "int32")
            block_map = _vector(builder, tensor.sparsity.get("block_map", []), "int32")
            sparsity = _table(builder, [(0, "offset", order), (1, "offset", block_map),
                                        (2, "offset", _vector(builder, dims, "offset"))])
        tensor_tables.append(_table(builder, [(0, "offset", shape), (1, "int8", TYPES[tensor.dtype]),
                                              (2, "uint32", buffer_index), (3, "offset", name),
                                              (4, "offset", quantization), (6, "offset", sparsity)]))
    kinds = sorted({(op.kind, op.codes) for op in spec.operators})
    opcode_index = {key: i for i, key in enumerate(kinds)}
    code_tables = []
    for kind, codes in kinds:
        custom_code = builder.CreateString(kind.removeprefix("CUSTOM:")) if kind.startswith("CUSTOM:") else None
        number = OPCODES["CUSTOM" if custom_code is not None else kind]
        deprecated = min(number, 127) if codes in ("both", "deprecated") else 0
        builtin = number if codes in ("both", "builtin") else None
        code_tables.append(_table(builder, [(0, "int8", deprecated), (1, "offset", custom_code), (2, "int32", 1),
                                            (3, "int32", builtin)]))
    op_tables = []
    for op in spec.operators:
        options_type, options = 0, None
        if op.kind in OPTIONS:
            options_type, fields = OPTIONS[op.kind]
            values = []
            for slot, (name, kind) in enumerate(fields):
                value = op.options.get(name)
                if name == "padding" and value is not None:
                    value = PADDING.get(value, value)
                if name == "activation" and value is not None:
                    value = ACTIVATIONS.get(value, value)
                values.append((slot, kind, value))
            options = _table(builder, values)
        if op.options_type is not None:
            options_type = op.options_type
        custom = _vector(builder, op.options["custom"], "uint8") if "custom" in op.options else None
        inputs = _vector(builder, op.inputs, "int32")
        outputs = _vector(builder, op.outputs, "int32")
        op_tables.append(_table(builder, [(0, "uint32", opcode_index[(op.kind, op.codes)]), (1, "offset", inputs),
                                          (2, "offset", outputs), (3, "uint8", options_type if options else None),
                                          (4, "offset", options), (5, "offset", custom)]))
    tensors = _vector(builder, tensor_tables, "offset")
    inputs = _vector(builder, spec.inputs, "int32")
    outputs = _vector(builder, spec.outputs, "int32")
    operators = _vector(builder, op_tables, "offset")
    subgraph = _table(builder, [(0, "offset", tensors), (1, "offset", inputs), (2, "offset", outputs),
                                (3, "offset", operators)])
    subgraphs = _vector(builder, [subgraph], "offset")
    codes = _vector(builder, code_tables, "offset")
    buffer_vector = _vector(builder, buffers, "offset")
    description = builder.CreateString("edgequant test model")
    model = _table(builder, [(0, "uint32", 3), (1, "offset", codes), (2, "offset", subgraphs),
                             (3, "offset", description), (4, "offset", buffer_vector)])
    builder.Finish(model, file_identifier=b"TFL3")
    return bytes(builder.Output())
