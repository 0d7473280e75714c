"""Every constant tensor of a graph (initializers, sparse initializers, Constant nodes), decoded.

Decoding turns any ONNX storage type into a numpy array (fp16/bf16/fp8 keep their own dtype
here; callers widen). A malformed tensor raises ValueError naming it, never a numpy or
protobuf error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT_TYPES = frozenset(
    getattr(TensorProto, name)
    for name in (
        "FLOAT", "FLOAT16", "BFLOAT16", "DOUBLE", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
        "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "FLOAT8E8M0", "FLOAT4E2M1",
    )
    if hasattr(TensorProto, name)
)  # fmt: skip

# Packed types store several elements per byte.
_SUB_BYTE_BITS = {
    getattr(TensorProto, name): bits
    for name, bits in (("INT4", 4), ("UINT4", 4), ("FLOAT4E2M1", 4), ("INT2", 2), ("UINT2", 2))
    if hasattr(TensorProto, name)
}


def storage_dtype_name(data_type: int) -> str:
    """Numpy-style name of an ONNX element type: ``float32``, ``float16``, ``bfloat16``..."""
    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(data_type)).name
    except Exception:  # unknown or UNDEFINED type codes
        return f"onnx_type_{data_type}"


def storage_bits(data_type: int) -> int:
    """Bits one element occupies in the file (0 for types without a fixed width, e.g. string)."""
    if data_type in _SUB_BYTE_BITS:
        return _SUB_BYTE_BITS[data_type]
    if data_type == TensorProto.STRING:
        return 0
    try:
        return 8 * np.dtype(helper.tensor_dtype_to_np_dtype(data_type)).itemsize
    except Exception:
        return 0


@dataclass(frozen=True, eq=False)
class ConstantTensor:
    """One constant tensor of a graph, decoded on demand.

    Attributes
    ----------
    name : str
        The tensor name nodes refer to (a Constant node's output name).
    origin : str
        ``"initializer"``, ``"sparse_initializer"`` or ``"Constant"``.
    data_type : int
        ONNX element type (``onnx.TensorProto.DataType``).
    shape : tuple of int
    storage_bytes : int
        Bytes the data takes in the file: elements × element width (values plus indices for
        sparse tensors).
    """

    name: str
    origin: str
    data_type: int
    shape: tuple[int, ...]
    storage_bytes: int
    _proto: object  # TensorProto, SparseTensorProto or a ready numpy array

    @property
    def is_float(self) -> bool:
        """Whether the stored elements are floating point (fp32, fp16, bf16, fp8, ...)."""
        return self.data_type in FLOAT_TYPES

    def read(self) -> np.ndarray:
        """Decode the values in their storage dtype; raise ValueError naming the tensor."""
        try:
            if isinstance(self._proto, np.ndarray):
                return self._proto
            if isinstance(self._proto, onnx.SparseTensorProto):
                return _densify(self._proto)
            if self._proto.data_location == TensorProto.EXTERNAL:
                # to_array would read a path relative to the working directory: refuse.
                raise ValueError("its external data was not loaded")
            array = numpy_helper.to_array(self._proto)
        except Exception as error:
            raise ValueError(f"tensor {self.name!r} cannot be decoded: {error}") from error
        if array.shape != self.shape:
            raise ValueError(f"tensor {self.name!r} has shape {array.shape}, dims say {self.shape}")
        return array


def _dense_bytes(data_type: int, shape) -> int:
    return math.ceil(math.prod(shape) * storage_bits(data_type) / 8)


def _densify(sparse: onnx.SparseTensorProto) -> np.ndarray:
    values = numpy_helper.to_array(sparse.values).reshape(-1)
    indices = numpy_helper.to_array(sparse.indices).astype(np.int64)
    shape = tuple(sparse.dims)
    dense = np.zeros(math.prod(shape), dtype=values.dtype)
    if indices.ndim == 2:  # one row of coordinates per value
        indices = np.ravel_multi_index(tuple(indices.T), shape)
    indices = indices.reshape(-1)
    if indices.size != values.size or (
        indices.size and (indices.min() < 0 or indices.max() >= dense.size)
    ):
        raise ValueError("sparse indices do not match its values and dims")
    dense[indices] = values
    return dense.reshape(shape)


def _from_tensor(proto: TensorProto, name: str, origin: str) -> ConstantTensor:
    shape = tuple(int(d) for d in proto.dims)
    return ConstantTensor(
        name, origin, proto.data_type, shape, _dense_bytes(proto.data_type, shape), proto
    )


def _from_sparse(sparse: onnx.SparseTensorProto, name: str, origin: str) -> ConstantTensor:
    shape = tuple(int(d) for d in sparse.dims)
    stored = sum(
        _dense_bytes(part.data_type, tuple(part.dims)) for part in (sparse.values, sparse.indices)
    )
    return ConstantTensor(name, origin, sparse.values.data_type, shape, stored, sparse)


def _from_constant_node(node: onnx.NodeProto) -> ConstantTensor | None:
    """The tensor a Constant node produces, or None if it has no usable value attribute."""
    if not node.output or not node.attribute:
        return None
    name = node.output[0]
    attribute = node.attribute[0]
    if attribute.name == "value":
        return _from_tensor(attribute.t, name, "Constant")
    if attribute.name == "sparse_value":
        return _from_sparse(attribute.sparse_tensor, name, "Constant")
    literal = {
        "value_float": (np.float32, TensorProto.FLOAT, lambda: attribute.f),
        "value_floats": (np.float32, TensorProto.FLOAT, lambda: list(attribute.floats)),
        "value_int": (np.int64, TensorProto.INT64, lambda: attribute.i),
        "value_ints": (np.int64, TensorProto.INT64, lambda: list(attribute.ints)),
    }.get(attribute.name)
    if literal is None:
        return None  # value_string(s): not numeric
    dtype, data_type, getter = literal
    array = np.asarray(getter(), dtype=dtype)
    return ConstantTensor(
        name, "Constant", data_type, array.shape, _dense_bytes(data_type, array.shape), array
    )


def graph_constants(graph: onnx.GraphProto) -> dict[str, ConstantTensor]:
    """Map each constant tensor name of ``graph`` (top level only) to its ConstantTensor.

    Order is initializers, sparse initializers, then Constant nodes in graph order. A name
    given twice keeps its first definition.
    """
    constants: dict[str, ConstantTensor] = {}
    candidates = [_from_tensor(t, t.name, "initializer") for t in graph.initializer]
    candidates += [
        _from_sparse(s, s.values.name, "sparse_initializer") for s in graph.sparse_initializer
    ]
    candidates += [
        _from_constant_node(node)
        for node in graph.node
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx")
    ]
    for constant in candidates:
        if constant is not None and constant.name and constant.name not in constants:
            constants[constant.name] = constant
    return constants
