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
                 "RESHAPE": "ReshapeOptions", "MEAN": "ReducerOptions"}


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
    if kind == "ADD":
        return {"activation": activation_names[view(schema.AddOptions).FusedActivationFunction()]}
    if kind == "SOFTMAX":
        return {"beta": float(view(schema.SoftmaxOptions).Beta())}
    if kind == "RESHAPE":
        o = view(schema.ReshapeOptions)
        # new_shape is optional (the shape tensor, input 1, usually says it): absent, not an empty shape
        return {} if o.NewShapeIsNone() else {"new_shape": [int(d) for d in o.NewShapeAsNumpy()]}
    if kind == "MEAN":
        return {"keep_dims": bool(view(schema.ReducerOptions).KeepDims())}
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
            if kind == "CUSTOM":
                kind = f"CUSTOM:{code.CustomCode().decode()}"
            operators.append(TFLiteOperator(i, kind, [int(t) for t in op.InputsAsNumpy()],
                                            [int(t) for t in op.OutputsAsNumpy()], _options(schema, op, kind)))
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
    if tensor.Sparsity() is not None:
        raise ValueError(f"tensor {index} is sparse (TFLite sparsity parameters), which edgequant does not read: "
                         "convert the model with dense weights")
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
        if raw is not None:
            expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if any(d < 0 for d in shape) or len(raw) != expected:
                raise ValueError(f"tensor {index} holds {len(raw)} bytes of constant data; its shape {list(shape)} "
                                 f"of {dtype.name} needs {max(expected, 0)}")
            data = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    name = tensor.Name().decode() if tensor.Name() else f"tensor_{index}"
    return cls(index, name, dtype, shape, scale, zero_point, axis, data)
