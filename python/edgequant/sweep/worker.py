"""What runs in a sweep worker: quantize the model at one point, evaluate it, return a row.

Each worker process loads the model and data once per sweep (from the executor's initializer,
or on the first point it receives) and keeps them in :data:`_STATES`, keyed by sweep identity;
later points reuse the parsed model, the weight selection and the ONNX Runtime reference
outputs.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

import numpy as np
import onnx

from ..model import apply_quantizer, select_weights
from .grid import curve_label, make_quantizer, point_key

#: Sweep identity -> loaded state, in this worker process.
_STATES: dict[str, _WorkerState] = {}


@dataclass(frozen=True)
class SweepContext:
    """Everything a worker needs to evaluate points of one sweep (picklable).

    Attributes
    ----------
    key : str
        The sweep identity.
    model_bytes : bytes
        The serialized reference model.
    inputs, labels : numpy.ndarray
        The data set (labels may be None), already checked and cast by the parent.
    batch_size, input_name, output_name
        As :class:`edgequant.evaluate.Evaluator`.
    roles : tuple of str
    include_biases : bool
    threads : int
        ONNX Runtime intra-op threads and C++ core threads per worker (1 avoids
        oversubscribing the cores that the other workers use).
    per_anchor : bool
        Fidelity counted per anchor (see :class:`edgequant.evaluate.Evaluator`).
    """

    key: str
    model_bytes: bytes
    inputs: np.ndarray
    labels: np.ndarray | None
    batch_size: int
    input_name: str
    output_name: str
    roles: tuple[str, ...]
    include_biases: bool
    threads: int = 1
    per_anchor: bool = False


class _WorkerState:
    def __init__(self, context: SweepContext):
        from .. import set_num_threads
        from ..evaluate import Evaluator

        if context.threads:
            set_num_threads(context.threads)
        self.model = onnx.load_from_string(context.model_bytes)
        self.selection = select_weights(self.model, context.roles, context.include_biases)
        self.evaluator = Evaluator(
            self.model,
            context.inputs,
            context.labels,
            batch_size=context.batch_size,
            input_name=context.input_name,
            output_name=context.output_name,
            threads=context.threads,
            per_anchor=context.per_anchor,
        )
        self.evaluator.reference_outputs  # noqa: B018 - computed once per worker, here


def initialize(context: SweepContext) -> None:
    """Executor initializer: load the sweep's model and data into this process."""
    state_for(context)


def state_for(context: SweepContext | str) -> _WorkerState:
    """The loaded state of a sweep: from the cache by key, or built from a full context."""
    if isinstance(context, str):
        try:
            return _STATES[context]
        except KeyError:
            raise RuntimeError(f"sweep {context} was not initialized in this worker") from None
    state = _STATES.get(context.key)
    if state is None:
        state = _STATES[context.key] = _WorkerState(context)
    return state


def run_point(context: SweepContext | str, spec: dict) -> dict:
    """Quantize, measure and evaluate one point; a row for :class:`~.store.ResultStore`.

    Errors of the point itself (a quantizer refusing a tensor, NaN outputs...) are returned as a
    row with ``status="error"`` so that the sweep goes on; they are retried on the next run.
    """
    state = state_for(context)
    row = {
        "sweep_id": context if isinstance(context, str) else context.key,
        "point_key": point_key(spec),
        "method": spec["method"],
        "params": spec.get("params", {}),
        "label": curve_label(spec),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    try:
        quantized = apply_quantizer(state.model, state.selection, make_quantizer(spec))
        start = time.perf_counter()
        metrics = state.evaluator.evaluate(quantized.model)
        evaluate_s = time.perf_counter() - start
    except (ValueError, TypeError, RuntimeError) as error:
        return {**row, "status": "error", "error": f"{type(error).__name__}: {error}"}
    return {
        **row,
        "status": "ok",
        "entropy": quantized.entropy,
        "compression_ratio": quantized.compression_ratio,
        "space_saving": quantized.space_saving,
        "weight_sqnr_db": quantized.weight_sqnr_db,
        "weight_count": quantized.weight_count,
        "metrics": metrics,
        "quantize_s": quantized.timings["quantize_s"],
        "entropy_s": quantized.timings["entropy_s"],
        "evaluate_s": evaluate_s,
    }
