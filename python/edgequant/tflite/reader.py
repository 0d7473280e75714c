"""Flatbuffer decoding through PyPI's ``tflite`` schema readers."""

from __future__ import annotations

import os
import pathlib
import struct

import numpy as np

_DTYPES = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "UINT8": np.uint8,
           "INT64": np.int64, "INT16": np.int16, "INT8": np.int8, "FLOAT64": np.float64, "BOOL": np.bool_}


_OPTION_TYPES = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
                 "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
                 "FULLY_CONNECTED": "FullyConnectedOptions", "ADD": "AddOptions", "SOFTMAX": "SoftmaxOptions",
                 "RESHAPE": "ReshapeOptions", "MEAN": "ReducerOptions", "MUL": "MulOptions", "SUB": "SubOptions",
                 "CONCATENATION": "ConcatenationOptions", "RESIZE_BILINEAR": "ResizeBilinearOptions",
                 "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions", "TRANSPOSE_CONV": "TransposeConvOptions",
                 "DEPTH_TO_SPACE": "DepthToSpaceOptions", "STRIDED_SLICE": "StridedSliceOptions"}


def _schema():
    try:
        import tflite
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("reading .tflite files needs the 'tflite' package: pip install 'edgequant[mcu]'") from error
    return tflite


def _enum_names(enum_class) -> dict:
    return {value: name for name, value in vars(enum_class).items() if not name.startswith("_")}


def _options(schema, op, kind: str) -> dict:
    """Decode the options of the builtin ops the microcontroller runtime and the ONNX conversion know;
    others stay empty."""
    activation_names = _enum_names(schema.ActivationFunctionType)
    padding_names = _enum_names(schema.Padding)
    table = op.BuiltinOptions()
    expected = _OPTION_TYPES.get(kind)
    if table is None or (expected is not None and op.BuiltinOptionsType() != getattr(schema.BuiltinOptions, expected)):
        return {}  # absent, or a table of another operator's options: nothing to decode

    def view(cls):
        options = cls()
        options.Init(table.Bytes, table.Pos)
        return options

    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        cls = schema.Conv2DOptions if kind == "CONV_2D" else schema.DepthwiseConv2DOptions
        o = view(cls)
        result = {"padding": padding_names[o.Padding()], "stride_h": o.StrideH(), "stride_w": o.StrideW(),
                  "dilation_h": o.DilationHFactor(), "dilation_w": o.DilationWFactor(),
                  "activation": activation_names[o.FusedActivationFunction()]}
        if kind == "DEPTHWISE_CONV_2D":
            result["depth_multiplier"] = o.DepthMultiplier()
        return result
    if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        o = view(schema.Pool2DOptions)
        return {"padding": padding_names[o.Padding()], "stride_h": o.StrideH(), "stride_w": o.StrideW(),
                "filter_h": o.FilterHeight(), "filter_w": o.FilterWidth(),
                "activation": activation_names[o.FusedActivationFunction()]}
    if kind == "FULLY_CONNECTED":
        o = view(schema.FullyConnectedOptions)
        return {"activation": activation_names[o.FusedActivationFunction()], "keep_num_dims": bool(o.KeepNumDims()),
                "weights_format": o.WeightsFormat()}
    if kind in ("ADD", "MUL", "SUB"):
        cls = {"ADD": schema.AddOptions, "MUL": schema.MulOptions, "SUB": schema.SubOptions}[kind]
        return {"activation": activation_names[view(cls).FusedActivationFunction()]}
    if kind == "CONCATENATION":
        o = view(schema.ConcatenationOptions)
        return {"axis": o.Axis(), "activation": activation_names[o.FusedActivationFunction()]}
    if kind in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        o = view(schema.ResizeBilinearOptions if kind == "RESIZE_BILINEAR" else schema.ResizeNearestNeighborOptions)
        return {"align_corners": bool(o.AlignCorners()), "half_pixel_centers": bool(o.HalfPixelCenters())}
    if kind == "DEPTH_TO_SPACE":
        return {"block_size": view(schema.DepthToSpaceOptions).BlockSize()}
    if kind == "TRANSPOSE_CONV":
        o = view(schema.TransposeConvOptions)
        return {"padding": padding_names[o.Padding()], "stride_h": o.StrideH(), "stride_w": o.StrideW(),
                "activation": activation_names[o.FusedActivationFunction()]}
    if kind == "SOFTMAX":
        return {"beta": float(view(schema.SoftmaxOptions).Beta())}
    if kind == "RESHAPE":
        o = view(schema.ReshapeOptions)
        # new_shape is optional (the shape tensor, input 1, usually says it): absent, not an empty shape
        return {} if o.NewShapeIsNone() else {"new_shape": [int(d) for d in o.NewShapeAsNumpy()]}
    if kind == "MEAN":
        return {"keep_dims": bool(view(schema.ReducerOptions).KeepDims())}
    if kind == "STRIDED_SLICE":
        o = view(schema.StridedSliceOptions)
        return {"begin_mask": o.BeginMask(), "end_mask": o.EndMask(), "ellipsis_mask": o.EllipsisMask(),
                "new_axis_mask": o.NewAxisMask(), "shrink_axis_mask": o.ShrinkAxisMask(), "offset": bool(o.Offset())}
    return {}


def read_tflite(model) -> object:
    """Read a ``.tflite`` model.

    Parameters
    ----------
    model : str, os.PathLike or bytes
        A path to the flatbuffer, or its bytes.

    Returns
    -------
    TFLiteModel
        The first subgraph's tensors (with constant data and quantization parameters) and operators.

    Raises
    ------
    FileNotFoundError
        ``model`` is a path that does not exist.
    ValueError
        The bytes are not a TFLite flatbuffer.
    """
    from .model import TFLiteModel, TFLiteOperator, TFLiteTensor

    schema = _schema()
    if isinstance(model, (str, os.PathLike)):
        path = pathlib.Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"no TFLite model at {str(path)!r}")
        buffer = path.read_bytes()
    elif isinstance(model, (bytes, bytearray, memoryview)):
        buffer = bytes(model)
    else:
        raise TypeError(f"model must be a path or bytes, not {type(model).__name__}")
    if len(buffer) < 8 or buffer[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (the file identifier 'TFL3' is missing)")
    try:
        root = schema.Model.GetRootAsModel(buffer, 0)
        if root.SubgraphsLength() < 1:
            raise ValueError("the TFLite model has no subgraph")
        graph = root.Subgraphs(0)
        tensors = [_tensor(schema, root, graph.Tensors(i), i, buffer, TFLiteTensor)
                   for i in range(graph.TensorsLength())]
        operator_names = _enum_names(schema.BuiltinOperator)
        operators = []
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            code = root.OperatorCodes(op.OpcodeIndex())
            builtin = max(_builtin_code(code), code.DeprecatedBuiltinCode())
            kind = operator_names.get(builtin, f"BUILTIN_{builtin}")
            options = _options(schema, op, kind)
            if kind == "CUSTOM":
                kind = f"CUSTOM:{code.CustomCode().decode()}"
                if op.CustomOptionsLength():
                    options = {"custom": op.CustomOptionsAsNumpy().tobytes()}
            operators.append(TFLiteOperator(i, kind, [int(t) for t in op.InputsAsNumpy()],
                                            [int(t) for t in op.OutputsAsNumpy()], options))
        description = root.Description().decode() if root.Description() else ""
        return TFLiteModel(tensors, operators, [int(t) for t in graph.InputsAsNumpy()],
                           [int(t) for t in graph.OutputsAsNumpy()], description)
    except (IndexError, KeyError, AttributeError, TypeError, OverflowError, UnicodeDecodeError, struct.error) as error:
        raise ValueError(f"corrupt TFLite flatbuffer ({type(error).__name__}: {error})") from error


def _builtin_code(code) -> int:
    """The int32 ``builtin_code`` field as stored (0 when absent).

    The schema says an operator's kind is max(builtin_code, deprecated_builtin_code). The ``tflite``
    package's ``BuiltinCode()`` returns the deprecated byte whenever the int32 field is below 127, so
    a file that writes only ``builtin_code`` (deprecated 0) would read as ADD everywhere.
    """
    import flatbuffers

    offset = code._tab.Offset(10)
    return code._tab.Get(flatbuffers.number_types.Int32Flags, offset + code._tab.Pos) if offset else 0


def _tensor(schema, root, tensor, index, buffer, cls):
    type_names = _enum_names(schema.TensorType)
    type_name = type_names.get(tensor.Type(), str(tensor.Type()))
    if type_name not in _DTYPES:
        raise ValueError(f"tensor {index} has type {type_name}, which edgequant does not read")
    dtype = np.dtype(_DTYPES[type_name])
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    scale = np.zeros(0, np.float32)
    zero_point = np.zeros(0, np.int64)
    axis = 0
    quantization = tensor.Quantization()
    if quantization is not None and quantization.ScaleLength():
        scale = quantization.ScaleAsNumpy().astype(np.float32)
        zero_point = (quantization.ZeroPointAsNumpy().astype(np.int64) if quantization.ZeroPointLength()
                      else np.zeros(len(scale), np.int64))
        axis = quantization.QuantizedDimension()
    data = None
    stored = root.Buffers(tensor.Buffer())
    if stored is not None:
        if stored.DataLength():
            raw = stored.DataAsNumpy().tobytes()
        elif stored.Offset() > 1:  # models over 2 GB keep buffers after the flatbuffer
            raw = buffer[stored.Offset():stored.Offset() + stored.Size()]
        else:
            raw = None
        if raw is not None and tensor.Sparsity() is not None:
            data = _densify(schema, tensor.Sparsity(), np.frombuffer(raw, dtype=dtype), shape, index)
            raw = None
        elif tensor.Sparsity() is not None:
            raise ValueError(f"tensor {index} has sparsity parameters but no constant data")
        if raw is not None:
            expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if any(d < 0 for d in shape) or len(raw) != expected:
                raise ValueError(f"tensor {index} holds {len(raw)} bytes of constant data; its shape {list(shape)} "
                                 f"of {dtype.name} needs {max(expected, 0)}")
            data = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    name = tensor.Name().decode() if tensor.Name() else f"tensor_{index}"
    return cls(index, name, dtype, shape, scale, zero_point, axis, data)


def _index_vector(schema, metadata, which: str) -> np.ndarray:
    """A DimensionMetadata's array_segments / array_indices (an Int32, Uint16 or Uint8 vector)."""
    kind = getattr(metadata, f"Array{which}Type")()
    table = getattr(metadata, f"Array{which}")()
    classes = {schema.SparseIndexVector.Int32Vector: schema.Int32Vector,
               schema.SparseIndexVector.Uint16Vector: schema.Uint16Vector,
               schema.SparseIndexVector.Uint8Vector: schema.Uint8Vector}
    if table is None or kind not in classes:
        raise ValueError(f"a sparse dimension has no array_{which.lower()}")
    vector = classes[kind]()
    vector.Init(table.Bytes, table.Pos)
    return vector.ValuesAsNumpy().astype(np.int64) if vector.ValuesLength() else np.zeros(0, np.int64)


def _densify(schema, sparsity, values: np.ndarray, shape: tuple, index: int) -> np.ndarray:
    """The dense array of a sparse constant (TFLite's sparsity format, as its FormatConverter reads it):
    ``traversal_order`` walks the ``rank`` original dimensions and one per entry of ``block_map`` (the
    block's inner dimension of that original one); each walked dimension is DENSE (every index up to
    ``dense_size``) or SPARSE_CSR (the indices listed between two segment offsets). The stored values
    are consumed in walking order."""
    rank = len(shape)
    order = [int(v) for v in sparsity.TraversalOrderAsNumpy()] if sparsity.TraversalOrderLength() else []
    block_map = [int(v) for v in sparsity.BlockMapAsNumpy()] if sparsity.BlockMapLength() else []
    levels = rank + len(block_map)
    if sorted(order) != list(range(levels)) or sparsity.DimMetadataLength() != levels or \
            any(not 0 <= d < rank for d in block_map) or any(d < 0 for d in shape):
        raise ValueError(f"tensor {index} is sparse, but its sparsity parameters do not fit its shape {list(shape)}")
    metadata = [sparsity.DimMetadata(k) for k in range(levels)]
    dense = schema.DimensionType.DENSE
    block_size = [0] * len(block_map)
    for k in range(len(block_map)):
        level = order.index(rank + k)
        if metadata[level].Format() != dense or metadata[level].DenseSize() < 1:
            raise ValueError(f"tensor {index}: block dimension {k} is not dense")
        block_size[k] = metadata[level].DenseSize()
    levels_meta = []
    for level in range(levels):
        m = metadata[level]
        if m.Format() == dense:
            levels_meta.append(("dense", m.DenseSize(), None, None))
        else:
            levels_meta.append(("csr", 0, _index_vector(schema, m, "Segments"), _index_vector(schema, m, "Indices")))
    # Level by level, every leaf so far: its position in the level's storage (a CSR level's index into
    # its arrays) and its index along each walked dimension; children follow their parent in order, so the
    # leaves end in walking order, the order of the stored values.
    position = np.zeros(1, np.int64)
    walked = np.zeros((levels, 1), np.int64)
    for level, (kind, size, segments, indices) in enumerate(levels_meta):
        if kind == "dense":
            counts = np.full(len(position), size, np.int64)
            along = np.tile(np.arange(size, dtype=np.int64), len(position))
            children = np.repeat(position * size, counts) + along
        else:
            if len(position) and (position.max() + 1 >= len(segments) or np.any(np.diff(segments) < 0) or
                                  segments[0] < 0 or segments[-1] > len(indices)):
                raise ValueError(f"tensor {index}: its sparse segments do not fit its indices")
            starts = segments[position]
            counts = segments[position + 1] - starts
            offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
            children = np.repeat(starts, counts) + offsets
            along = indices[children]
        walked = np.repeat(walked, counts, axis=1)
        walked[order[level]] = along
        position = children
    if walked.shape[1] != len(values):
        raise ValueError(f"tensor {index}: {len(values)} sparse values stored, {walked.shape[1]} indexed")
    original = walked[:rank].copy()
    for k, d in enumerate(block_map):
        original[d] = original[d] * block_size[k] + walked[rank + k]
    limits = np.array(shape, np.int64)[:, None]
    if np.any(original < 0) or np.any(original >= limits):
        raise ValueError(f"tensor {index}: a sparse index lies outside its shape {list(shape)}")
    result = np.zeros(int(np.prod(shape, dtype=np.int64)), values.dtype)
    result[np.ravel_multi_index(tuple(original), shape) if rank else 0] = values
    return result.reshape(shape)
