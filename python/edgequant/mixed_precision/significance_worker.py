"""What runs where significance is evaluated: a batch of (component, bits) -> mean losses.

A process keeps the loss runner of the jobs it has evaluated in :data:`_LOADED`, keyed by the
job's content hash (:func:`~.significance_store.job_key`). A batch carries only that key plus,
at most, the job itself: a process that does not hold the job and was not sent it answers
:data:`NEEDS_JOB`, and the client sends that batch again with the job. So the model and data
reach a worker once, not with every evaluation (on Dask, the job is scattered once and batches
carry a reference to it).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .components import Component
from .losses import RunnerSpec, build_runner
from .quantization import quantize_channel, weight_quantizer
from .significance_store import BASELINE, worker_name

#: A worker's answer to a batch of a job it does not hold (and was not sent).
NEEDS_JOB = "needs-job"

#: Jobs a process keeps loaded: the current one and one more (two jobs sharing a cluster). A run on
#: Dask frees its job on the workers when it finishes; other executors' workers keep it until replaced.
_JOBS_KEPT = 2


@dataclass(frozen=True)
class SignificanceJob:
    """Everything a worker needs to evaluate a job's components (picklable).

    Attributes
    ----------
    key : str
        The job's identity (content hash).
    spec : RunnerSpec
        Model, data (the samples some mask needs) and backend of the loss runner.
    weights : dict of str to numpy.ndarray
        FP32 values of the tensors whose components are measured.
    masks : tuple of numpy.ndarray
        One boolean mask per loss over ``spec``'s samples; each evaluation returns the mean loss
        over each.
    """

    key: str
    spec: RunnerSpec
    weights: dict[str, np.ndarray]
    masks: tuple[np.ndarray, ...]


class _Loaded:
    def __init__(self, job: SignificanceJob):
        self.runner = build_runner(job.spec)
        self.weights = job.weights
        self.masks = job.masks


_LOADED: OrderedDict[str, _Loaded] = OrderedDict()
_LOCK = threading.Lock()  # Dask runs tasks on threads: build each runner once


def load(job: SignificanceJob, in_worker: bool = True) -> _Loaded:
    """This process's runner for ``job`` (built on first use); a worker also limits the core's threads."""
    with _LOCK:
        loaded = _LOADED.get(job.key)
        if loaded is None:
            # A started worker (pool, Dask) limits the core's threads; a caller's process is left as it is.
            if in_worker and job.spec.backend != "torch" and multiprocessing.parent_process() is not None:
                from .. import set_num_threads

                set_num_threads(job.spec.threads)
            loaded = _LOADED[job.key] = _Loaded(job)
            while len(_LOADED) > _JOBS_KEPT:
                _LOADED.popitem(last=False)
        _LOADED.move_to_end(job.key)
        return loaded


def release(key: str | None = None) -> None:
    """Forget one job (or all): in-process runs do not keep the session, model and weights alive."""
    with _LOCK:
        if key is None:
            _LOADED.clear()
        else:
            _LOADED.pop(key, None)


def initialize(job: SignificanceJob) -> None:
    """Executor initializer of the local process pool: load the job at start."""
    load(job)


def evaluate_batch(key: str, job: SignificanceJob | None, tasks, in_worker: bool = True):
    """Evaluate ``tasks`` — ``(component or None, bits)``, None: the FP32 model — of job ``key``.

    Returns
    -------
    tuple or str
        ``(rows, worker)``: rows ``(component name, bits, means)`` in task order and ``host:pid``;
        or :data:`NEEDS_JOB` when this process does not hold the job and ``job`` is None.
    """
    with _LOCK:
        loaded = _LOADED.get(key)
    if loaded is None:
        if job is None:
            return NEEDS_JOB
        loaded = load(job, in_worker)
    rows = []
    for component, bits in tasks:
        name, bits = BASELINE if component is None else (component.name, int(bits))
        rows.append((name, bits, _evaluate(loaded, component, bits)))
    return rows, worker_name()


def _evaluate(loaded: _Loaded, component: Component | None, bits: int) -> list[float]:
    """Mean loss over each mask with only ``component`` quantized (None: the FP32 model)."""
    overrides = {}
    if component is not None:
        values = loaded.weights[component.tensor]
        if component.channel is None:
            overrides[component.tensor] = weight_quantizer(bits, component.axis)(values)
        else:
            overrides[component.tensor] = quantize_channel(values, bits, component.axis, component.channel)
    losses = loaded.runner.losses(overrides)
    return [float(np.mean(losses[mask])) for mask in loaded.masks]
