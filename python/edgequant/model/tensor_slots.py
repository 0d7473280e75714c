"""Where a constant tensor lives in a ModelProto, so that its values can be replaced in place."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

#: The TensorProto fields that hold a tensor's values.
_DATA_FIELDS = ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data")


class TensorSlots:
    """Index of the rewritable constants of a graph: initializers and ``Constant(value=...)``.

    Sparse initializers and Constant nodes holding literal attributes (``value_floats``...) are
    not rewritable; :meth:`why_not_rewritable` says so.
    """

    def __init__(self, model: onnx.ModelProto):
        self._tensors: dict[str, onnx.TensorProto] = {}
        for initializer in model.graph.initializer:
            self._tensors[initializer.name] = initializer
        self._sparse = {sparse.values.name for sparse in model.graph.sparse_initializer}
        self._literal_constants: set[str] = set()
        for node in model.graph.node:
            if node.op_type != "Constant" or node.domain not in ("", "ai.onnx") or not node.output:
                continue
            value = next((a for a in node.attribute if a.name == "value"), None)
            if value is not None:
                self._tensors.setdefault(node.output[0], value.t)
            else:
                self._literal_constants.add(node.output[0])

    def why_not_rewritable(self, name: str) -> str | None:
        """None if ``name`` can be rewritten, else the reason."""
        if name in self._tensors:
            return None
        if name in self._sparse:
            return "a sparse initializer (not rewritten)"
        if name in self._literal_constants:
            return "a Constant node with a literal attribute, not a tensor value (not rewritten)"
        return "not an initializer or Constant tensor of the top-level graph"

    def proto(self, name: str) -> onnx.TensorProto:
        """The TensorProto holding ``name``'s values."""
        return self._tensors[name]

    def write(self, name: str, values: np.ndarray) -> np.ndarray:
        """Replace ``name``'s values, keeping its storage dtype and shape.

        Parameters
        ----------
        name : str
        values : numpy.ndarray
            float32 values of the tensor's shape.

        Returns
        -------
        numpy.ndarray
            The values as stored (rounded to the storage dtype, e.g. float16), widened to
            float32, so that callers measure what the model really holds.
        """
        proto = self._tensors[name]
        storage = helper.tensor_dtype_to_np_dtype(proto.data_type)
        stored = np.asarray(values, dtype=storage).reshape(tuple(proto.dims))  # no copy for fp32
        replacement = numpy_helper.from_array(stored, name=proto.name)
        proto.CopyFrom(replacement)
        return stored.astype(np.float32, copy=False)

    def clear_values(self, name: str) -> None:
        """Remove ``name``'s values, keeping its name, shape and type (``.eqz`` stores them coded)."""
        proto = self._tensors[name]
        for field in _DATA_FIELDS:
            proto.ClearField(field)
