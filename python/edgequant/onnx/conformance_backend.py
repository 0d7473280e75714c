"""An ``onnx.backend.base.Backend`` over edgequant's inference engine, for ONNX's conformance suite.

``onnx.backend.test.BackendTest(EngineBackend)`` runs ONNX's own node and model test cases on
:class:`edgequant.engine.Engine` (float32, CPU):

>>> import onnx.backend.test
>>> from edgequant.onnx.conformance_backend import EngineBackend
>>> suite = onnx.backend.test.BackendTest(EngineBackend, __name__)

The engine computes float tensors in float32 and integer tensors in int64; the backend hands each
output back in the element type the model declares (float16 / float64 / int32 / bool ...), as any
backend's caller expects, so the suite's tolerance decides whether float32 was close enough. An
integer output that does not fit its declared type is an error, never wrapped around.

A model the engine cannot run is refused by :class:`Engine` with a ``ValueError`` (an unsupported
op, attribute, data type or shape: the engine's documented refusal); :func:`is_refusal` tells such a
refusal from a failure.

The engine takes weights (Conv's W, Gemm's B, BatchNormalization's statistics, Clip's bounds) only
as initializers, as exported models hold them; ONNX's node cases feed them as graph inputs. With
``EngineBackend.bind_parameters`` set, a model refused for that reason is built at
:meth:`EngineBackendRep.run`
instead, its parameter inputs (graph inputs that no node takes as its first, data input) turned
into initializers holding the values that run passes: the op then computes on the same numbers.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import onnx.numpy_helper
import onnx.shape_inference
from onnx.backend.base import Backend, BackendRep

__all__ = ["EngineBackend", "EngineBackendRep", "is_refusal"]

#: The engine's refusal of a node whose weights are not initializers (Conv, Gemm, BatchNormalization, Clip).
_NEEDS_INITIALIZER = re.compile(r"must be (an )?initializers?\b")


def is_refusal(error: BaseException) -> bool:
    """Whether ``error`` is the engine's clean refusal of a model it does not support.

    That is the ``ValueError`` the engine raises for an unsupported op, attribute, data type or
    shape (C++ ``InvalidArgument``), or the ``TypeError`` of :meth:`Engine.run` for an input type it
    does not take. A :class:`~edgequant._core.CorruptDataError` (also a ValueError) is not: the
    conformance models are valid files.
    """
    from .._core import CorruptDataError

    return isinstance(error, (ValueError, TypeError)) and not isinstance(error, CorruptDataError)


class EngineBackendRep(BackendRep):
    """A model prepared on the engine; :meth:`run` takes the inputs in graph-input order.

    Parameters
    ----------
    engine : edgequant.engine.Engine
    input_names : list of str
        The model's graph inputs that are not initializers, in order (the suite's input order).
    output_types : list of numpy.dtype or None
        Per graph output, the declared element type (None: unknown, left as the engine gives it).
    unbound_model : onnx.ModelProto, optional
        Instead of ``engine``: a model to build at each run with its parameter inputs bound to
        that run's values (see ``EngineBackend.bind_parameters``).
    engine_options : dict, optional
        Keyword arguments of :class:`~edgequant.engine.Engine` for ``unbound_model``.

    Attributes
    ----------
    bound_inputs : list of str
        The inputs the last run turned into initializers (empty when the model ran as given).
    """

    def __init__(self, engine, input_names: Sequence[str], output_types: Sequence[np.dtype | None],
                 unbound_model: onnx.ModelProto | None = None, engine_options: dict | None = None):
        self.engine = engine
        self.input_names = list(input_names)
        self.output_types = list(output_types)
        self.unbound_model = unbound_model
        self.engine_options = dict(engine_options or {})
        self.bound_inputs: list[str] = []

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:  # noqa: ARG002 - Backend's signature
        if isinstance(inputs, dict):
            feeds = dict(inputs)
        else:
            if isinstance(inputs, np.ndarray):
                inputs = [inputs]
            feeds = dict(zip(self.input_names, inputs, strict=False))
        engine = self.engine
        if self.unbound_model is not None:
            self.bound_inputs = _parameter_inputs(self.unbound_model)
            engine = _build_engine(_bind(self.unbound_model, {name: feeds[name] for name in self.bound_inputs}),
                                   self.engine_options)
        # An input the engine dropped (no output needs it), or that is now an initializer, is not fed.
        feeds = {name: value for name, value in feeds.items() if name in engine.input_names}
        with np.errstate(over="ignore"):
            # A float64 input beyond float32's range becomes Inf on the way in, which the engine then
            # refuses (ValueError) rather than computing on: no NumPy overflow warning on top of that.
            outputs = engine.run(feeds)
        if len(outputs) != len(self.output_types):  # not a ValueError: that would read as a refusal
            raise RuntimeError(f"the engine gave {len(outputs)} outputs, the model declares {len(self.output_types)}")
        return tuple(_as_declared(value, dtype) for value, dtype in zip(outputs, self.output_types, strict=True))


class EngineBackend(Backend):
    """edgequant's engine as an ONNX backend (CPU only, float32 precision).

    ``prepare(model, threads=None, backend=None)``: ``threads`` and ``backend`` go to
    :class:`edgequant.engine.Engine` (default: all cores, the fastest compute backend).
    """

    # The prepared model's class (a subclass may change how runs end).
    _rep_class: type[EngineBackendRep] = EngineBackendRep
    #: Build a model the engine refuses for weights that are graph inputs at each run, with those
    #: inputs bound to the run's values (ONNX's node cases feed weights as inputs).
    bind_parameters = False

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> EngineBackendRep:
        if not cls.supports_device(device):
            raise ValueError(f"the edgequant engine runs on CPU only, not {device!r}")
        options = {"threads": kwargs.get("threads"), "backend": kwargs.get("backend")}
        initializers = {tensor.name for tensor in model.graph.initializer}
        input_names = [value.name for value in model.graph.input if value.name not in initializers]
        output_types = [_declared_dtype(value) for value in model.graph.output]
        try:
            engine = _build_engine(model, options)
        except ValueError as error:
            if not (cls.bind_parameters and _NEEDS_INITIALIZER.search(str(error)) and _parameter_inputs(model)):
                raise
            return cls._rep_class(None, input_names, output_types, unbound_model=model, engine_options=options)
        return cls._rep_class(engine, input_names, output_types)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Any, device: str = "CPU", outputs_info=None,
                 **kwargs: Any) -> tuple[np.ndarray, ...]:
        """Runs one node, wrapped in a one-node model whose inputs take the given arrays' types."""
        arrays = [np.asarray(value) for value in inputs]
        graph_inputs = [onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(array.dtype),
                                                           array.shape)
                        for name, array in zip(node.input, arrays, strict=False)]
        opset = kwargs.pop("opset_version", onnx.defs.onnx_opset_version())
        opsets = [onnx.helper.make_opsetid("", opset)]
        if outputs_info is None:  # the output types ONNX's shape inference gives
            graph = onnx.helper.make_graph([node], "run_node", graph_inputs,
                                           [onnx.helper.make_empty_tensor_value_info(name) for name in node.output])
            inferred = onnx.shape_inference.infer_shapes(onnx.helper.make_model(graph, opset_imports=opsets))
            known = {value.name: value for value in [*inferred.graph.value_info, *inferred.graph.output]
                     if value.type.tensor_type.elem_type}
            graph_outputs = [known.get(name, onnx.helper.make_empty_tensor_value_info(name)) for name in node.output]
        else:
            graph_outputs = [onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(dtype),
                                                                shape)
                             for name, (dtype, shape) in zip(node.output, outputs_info, strict=True)]
        graph = onnx.helper.make_graph([node], "run_node", graph_inputs, graph_outputs)
        model = onnx.helper.make_model(graph, opset_imports=opsets)
        return cls.prepare(model, device, **kwargs).run(arrays)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"


def _build_engine(model: onnx.ModelProto, options: dict):
    from ..engine import Engine

    with warnings.catch_warnings():
        # The engine warns about, and leaves out, outputs that are not tensors; a backend's caller
        # expects every output, so such a model is refused below instead.
        warnings.simplefilter("ignore")
        engine = Engine(model.SerializeToString(), **options)
    dropped = engine._native.ignored_outputs
    if dropped:
        raise ValueError("; ".join(f"output {name!r} is {why}" for name, why in dropped))
    return engine


def _parameter_inputs(model: onnx.ModelProto) -> list[str]:
    """Graph inputs (not initializers) that no node takes as its first input, nor the graph returns."""
    initializers = {tensor.name for tensor in model.graph.initializer}
    data = {node.input[0] for node in model.graph.node if node.input}
    data |= {value.name for value in model.graph.output}
    return [value.name for value in model.graph.input if value.name not in initializers | data]


def _bind(model: onnx.ModelProto, values: dict[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of ``model`` whose inputs ``values`` are initializers holding those arrays."""
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    kept = [value for value in bound.graph.input if value.name not in values]
    del bound.graph.input[:]
    bound.graph.input.extend(kept)
    bound.graph.initializer.extend(onnx.numpy_helper.from_array(np.asarray(array), name)
                                   for name, array in values.items())
    return bound


def _declared_dtype(value: onnx.ValueInfoProto) -> np.dtype | None:
    if not value.type.HasField("tensor_type") or not value.type.tensor_type.elem_type:
        return None
    return onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)


def _as_declared(value: np.ndarray, dtype: np.dtype | None) -> np.ndarray:
    """``value`` (the engine's float32 / int64 / bool) in the model's declared element type.

    Only float to float and integer (or bool) to integer or bool: an output of the other kind is
    handed back as it is, for the caller's type check to catch (never truncated to look right)."""
    if dtype is None or value.dtype == dtype:
        return value
    if (value.dtype.kind == "f") != (dtype.kind == "f"):
        return value
    converted = value.astype(dtype)
    if dtype.kind in "iub" and not np.array_equal(converted.astype(value.dtype), value):
        # Not a ValueError: that would read as the engine's refusal.
        raise OverflowError(f"the engine's {value.dtype} output does not fit the declared {dtype}")
    return converted
