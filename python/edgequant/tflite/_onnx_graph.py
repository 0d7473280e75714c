"""The ONNX graph a TFLite model becomes, while it is written: value names, initializers, the NHWC /
NCHW layout of each tensor and the QuantizeLinear / DequantizeLinear pairs of its quantized tensors.

Conventions, the same for every operator (``_onnx_ops.py``):

- every TFLite tensor has one ONNX value holding its *real* values, float32: a quantized tensor's
  value is the DequantizeLinear of its codes, x = scale·(q − zero_point);
- a 4-D tensor (NHWC in TFLite) is NCHW in the ONNX graph; tensors of other ranks keep TFLite's
  order. Only the graph's inputs and outputs are NHWC, behind a Transpose.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)

#: TFLite tensor types whose tensors may be quantized: their codes become ONNX QDQ codes.
QUANTIZED_TYPES = (np.int8, np.uint8)


def is_quantized(tensor) -> bool:
    """An int8 / uint8 tensor with a scale: its real values are scale·(q − zero_point)."""
    return tensor.dtype in QUANTIZED_TYPES and len(tensor.scale) > 0


def same_order_in_both_layouts(shape) -> bool:
    """A 4-D NHWC shape whose elements lie in the same order as the NCHW tensor's (one spatial
    position, or one channel): reshaping it needs no Transpose."""
    _, height, width, channels = shape
    return height * width == 1 or channels == 1


class OnnxGraph:
    """Nodes and initializers of the ONNX graph under construction, and the ONNX value of every TFLite
    tensor written so far.

    Parameters
    ----------
    tensors : list of TFLiteTensor
        The model's tensors (constants folded by the caller included).
    opset : int
        The default domain's opset the nodes are written for.
    """

    def __init__(self, tensors, opset: int):
        self.tensors = tensors
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.values = {}  # TFLite tensor index -> ONNX value of its real values (NCHW when 4-D)
        self._taken = set()
        self._weights = {}  # (TFLite constant index, permutation) -> its ONNX value, written once
        self._output_names = set()

    # --- names and nodes ----------------------------------------------------------------------
    def claim(self, name: str) -> str:
        """``name`` (or ``name_1``, ``name_2``... when taken) reserved for one value."""
        unique, k = name, 0
        while unique in self._taken:
            k += 1
            unique = f"{name}_{k}"
        self._taken.add(unique)
        return unique

    def constant(self, array, name: str) -> str:
        """An initializer holding ``array`` (its dtype kept)."""
        unique = self.claim(name)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), unique))
        return unique

    def node(self, op_type: str, inputs, name: str, **attributes) -> str:
        """Adds one single-output node; returns its output's name (derived from ``name``)."""
        output = self.claim(name)
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=output, **attributes))
        return output

    def rename(self, old: str, new: str) -> None:
        """Renames the value ``old`` (a node's output) to the free name ``new`` everywhere."""
        for node in self.nodes:
            node.output[:] = [new if o == old else o for o in node.output]
            node.input[:] = [new if i == old else i for i in node.input]
        self._taken.add(new)

    # --- quantization -------------------------------------------------------------------------
    def _activation_parameters(self, index: int) -> tuple[str, str]:
        """The (scale, zero point) initializers of quantized activation ``index``: per tensor."""
        tensor = self.tensors[index]
        if len(tensor.scale) != 1 or len(tensor.zero_point) != 1:
            raise ValueError(f"tensor {index} {tensor.name!r} is quantized per channel ({len(tensor.scale)} scales): "
                             "only weights may be")
        scale = float(tensor.scale[0])
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"tensor {index} {tensor.name!r} has the scale {scale}, which is not a positive number")
        info = np.iinfo(tensor.dtype)
        zero_point = int(tensor.zero_point[0])
        if not info.min <= zero_point <= info.max:
            raise ValueError(f"tensor {index} {tensor.name!r} has the zero point {zero_point}, outside "
                             f"{np.dtype(tensor.dtype).name}")
        return (self.constant(np.float32(scale), f"{tensor.name}/scale"),
                self.constant(np.array(zero_point, dtype=tensor.dtype), f"{tensor.name}/zero_point"))

    def rounded(self, index: int, value: str) -> str:
        """``value`` on tensor ``index``'s grid: QuantizeLinear -> DequantizeLinear with the file's
        parameters when the tensor is quantized (so its codes are the file's), else ``value``."""
        tensor = self.tensors[index]
        if not is_quantized(tensor):
            return value
        scale, zero_point = self._activation_parameters(index)
        codes = self.node("QuantizeLinear", [value, scale, zero_point], f"{tensor.name}/codes")
        return self.node("DequantizeLinear", [codes, scale, zero_point], f"{tensor.name}/real")

    def dequantized_constant(self, array, tensor, axis_after: int | None, name: str) -> str:
        """The real values of constant ``array`` (codes of ``tensor``'s quantization, already in the
        ONNX layout): DequantizeLinear of the codes, per channel along ``axis_after``."""
        if len(tensor.scale) == 1:
            scale, zero_point = np.float32(tensor.scale[0]), np.array(tensor.zero_point[0], dtype=array.dtype)
            attributes = {}
        else:
            if axis_after is None or array.shape[axis_after] != len(tensor.scale):
                raise ValueError(f"tensor {tensor.index} {tensor.name!r} has {len(tensor.scale)} scales for "
                                 f"dimension {tensor.quantized_dimension} of its shape {list(tensor.shape)}")
            scale, zero_point = tensor.scale.astype(np.float32), tensor.zero_point.astype(array.dtype)
            attributes = {"axis": axis_after}
        codes = self.constant(array, f"{name}/codes")
        inputs = [codes, self.constant(scale, f"{name}/scale"), self.constant(zero_point, f"{name}/zero_point")]
        return self.node("DequantizeLinear", inputs, f"{name}/real", **attributes)

    # --- constants ----------------------------------------------------------------------------
    def weights(self, index: int, permutation) -> str:
        """Constant ``index`` as ONNX weights: its data transposed by ``permutation``, dequantized
        (per channel along the permuted ``quantized_dimension``) when quantized."""
        tensor = self.tensors[index]
        if tensor.data is None:
            raise ValueError(f"tensor {index} {tensor.name!r} holds weights but is not a constant")
        key = (index, tuple(permutation))
        if key not in self._weights:
            data = np.ascontiguousarray(np.transpose(tensor.data, permutation))
            if is_quantized(tensor):
                axis = list(permutation).index(tensor.quantized_dimension) if len(tensor.scale) > 1 else None
                self._weights[key] = self.dequantized_constant(data, tensor, axis, tensor.name)
            else:
                self._weights[key] = self.constant(self.float_data(tensor, data), f"{tensor.name}/float")
        return self._weights[key]

    def bias(self, index: int, input_index: int, weights_index: int) -> str:
        """Bias constant ``index``: int32 codes in units of s_input · s_weight[c] (TFLite's convention,
        whatever scale the bias tensor itself records) as a DequantizeLinear with that product."""
        tensor = self.tensors[index]
        if tensor.data is None or tensor.data.ndim != 1:
            raise ValueError(f"tensor {index} {tensor.name!r} is a bias but not a 1-D constant")
        if tensor.dtype in (np.float32, np.float16):
            return self.constant(tensor.data.astype(np.float32), f"{tensor.name}/float")
        source, weights = self.tensors[input_index], self.tensors[weights_index]
        if tensor.dtype != np.int32 or not (is_quantized(source) and is_quantized(weights)):
            raise ValueError(f"tensor {index} {tensor.name!r}: a {np.dtype(tensor.dtype).name} bias needs an int8 "
                             "input and int8 weights (an int32 bias of an int8 layer is supported)")
        product = np.float64(source.scale[0]) * weights.scale.astype(np.float64)
        if len(product) not in (1, len(tensor.data)):
            raise ValueError(f"tensor {index} {tensor.name!r}: {len(tensor.data)} biases for "
                             f"{len(product)} weight scales")
        scale = product.astype(np.float32)
        codes = self.constant(tensor.data, f"{tensor.name}/codes")
        if len(scale) == 1:
            return self.node("DequantizeLinear", [codes, self.constant(scale[0], f"{tensor.name}/scale")],
                             f"{tensor.name}/real")
        return self.node("DequantizeLinear", [codes, self.constant(scale, f"{tensor.name}/scale")],
                         f"{tensor.name}/real", axis=0)

    @staticmethod
    def float_data(tensor, data) -> np.ndarray:
        """``data`` (of unquantized ``tensor``) as float32; an integer tensor has no real values."""
        if tensor.dtype not in (np.float32, np.float16, np.float64):
            raise ValueError(f"tensor {tensor.index} {tensor.name!r} is {np.dtype(tensor.dtype).name} "
                             "without quantization parameters: no real values")
        return data.astype(np.float32)

    # --- values -------------------------------------------------------------------------------
    def value(self, index: int) -> str:
        """The ONNX value of tensor ``index``'s real values (NCHW when 4-D)."""
        if index in self.values:
            return self.values[index]
        tensor = self.tensors[index]
        if tensor.data is None:
            raise ValueError(f"tensor {index} {tensor.name!r} is read before any operator writes it")
        return self.weights(index, NHWC_TO_NCHW if tensor.data.ndim == 4 else tuple(range(tensor.data.ndim)))

    def broadcast_value(self, index: int, rank: int) -> str:
        """Tensor ``index``'s value for a broadcasting op whose output has ``rank``: a lower-rank operand
        of a 4-D result is aligned as TFLite aligns it (with the trailing NHWC axes), then made NCHW."""
        tensor = self.tensors[index]
        if rank != 4 or len(tensor.shape) == 4:
            return self.value(index)
        shape_4d = (1,) * (4 - len(tensor.shape)) + tuple(tensor.shape)
        reshaped = self.node("Reshape", [self.value(index), self.constant(np.array(shape_4d, np.int64),
                                                                          f"{tensor.name}/nhwc_shape")],
                             f"{tensor.name}/nhwc")
        return self.node("Transpose", [reshaped], f"{tensor.name}/nchw", perm=list(NHWC_TO_NCHW))

    def in_tflite_order(self, index: int) -> str:
        """Tensor ``index``'s value with its elements in TFLite's (NHWC) order, in any shape: callers
        reshape it. A Transpose only when the NCHW order differs."""
        tensor = self.tensors[index]
        value = self.value(index)
        if len(tensor.shape) != 4 or same_order_in_both_layouts(tensor.shape):
            return value
        return self.node("Transpose", [value], f"{tensor.name}/nhwc", perm=list(NCHW_TO_NHWC))

    def write(self, index: int, value: str) -> None:
        """``value`` (real values, ONNX layout) computes tensor ``index``: rounded to its grid when
        quantized, it becomes the tensor's value."""
        tensor = self.tensors[index]
        if not (is_quantized(tensor) or tensor.dtype in (np.float32, np.float16)):
            raise ValueError(f"tensor {index} {tensor.name!r} is {np.dtype(tensor.dtype).name} without quantization "
                             "parameters: only float and quantized int8 / uint8 activations are supported")
        self.values[index] = self.rounded(index, value)

    def write_reshaped(self, index: int, value: str) -> None:
        """``value`` holds tensor ``index``'s elements in TFLite's order, in any shape: reshaped to the
        tensor's shape (NCHW when 4-D), then written."""
        tensor = self.tensors[index]
        shape = list(tensor.shape)
        if len(shape) == 4 and same_order_in_both_layouts(shape):
            shape = [shape[i] for i in NHWC_TO_NCHW]
        value = self.node("Reshape", [value, self.constant(np.array(shape, np.int64), f"{tensor.name}/shape")],
                          f"{tensor.name}/reshaped")
        if len(shape) == 4 and not same_order_in_both_layouts(tensor.shape):
            value = self.node("Transpose", [value], f"{tensor.name}/nchw", perm=list(NHWC_TO_NCHW))
        self.write(index, value)

    def activation(self, value: str, kind: str, name: str) -> str:
        """A fused activation after ``value`` (before the output's rounding, as TFLite clamps)."""
        if kind == "NONE":
            return value
        if kind == "RELU":
            return self.node("Relu", [value], f"{name}/relu")
        if kind == "TANH":
            return self.node("Tanh", [value], f"{name}/tanh")
        bounds = {"RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}
        if kind not in bounds:
            raise ValueError(f"the fused activation {kind} is not supported (NONE, RELU, RELU6, RELU_N1_TO_1, TANH)")
        low, high = bounds[kind]
        return self.node("Clip", [value, self.constant(np.float32(low), f"{name}/min"),
                                  self.constant(np.float32(high), f"{name}/max")], f"{name}/clip")

    # --- graph inputs and outputs -------------------------------------------------------------
    def graph_input(self, index: int):
        """Declares TFLite input ``index`` as a float32 NHWC graph input; returns its ValueInfo."""
        tensor = self.tensors[index]
        name = self.claim(tensor.name)
        value = name
        if len(tensor.shape) == 4:
            value = self.node("Transpose", [value], f"{tensor.name}/nchw", perm=list(NHWC_TO_NCHW))
        self.write(index, value)
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(tensor.shape))

    def graph_output(self, index: int, name: str):
        """Declares TFLite output ``index`` as the float32 NHWC graph output ``name`` (claimed by the
        caller); returns its ValueInfo."""
        tensor = self.tensors[index]
        value = self.value(index)
        if len(tensor.shape) == 4:
            self.nodes.append(helper.make_node("Transpose", [value], [name], name=name, perm=list(NCHW_TO_NHWC)))
        elif value not in self._output_names and any(value in node.output for node in self.nodes):
            self.rename(value, name)  # the node computing it writes the graph output itself
            self.values = {k: (name if v == value else v) for k, v in self.values.items()}
        else:  # a graph input, an initializer or another output's value
            self.nodes.append(helper.make_node("Identity", [value], [name], name=name))
        self._output_names.add(name)
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(tensor.shape))
