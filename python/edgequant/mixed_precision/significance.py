"""Semantic significance and generic sensitivity of every component (SPEC §7.2).

``S_c = E_{D_crit}[L(M'_c(x), y)] − E_{D_crit}[L(M(x), y)]``: the rise in mean cross-entropy on
the critical classes' samples when only component ``c`` is quantized (per-channel affine at
``bits``, :func:`~.quantization.weight_quantizer`) and everything else stays FP32. Generic
sensitivity is the same rise over all samples — the scalar other tools rank components by.

Components run in parallel — in worker processes of a local pool (``workers``) or on any
``concurrent.futures`` executor (``executor``, e.g. a Dask client's) — in batches; each worker
builds its own loss runner (:mod:`.losses`) once per job and then evaluates components
(:mod:`.significance_worker`, :mod:`.significance_jobs`). With ``db``, every finished evaluation
is committed to the SQLite results file the sweeps use (:mod:`.significance_store`): running the
same measurement again skips what is recorded, so an interrupted run resumes. A tqdm bar shows
progress over the whole job and the time left.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor

import numpy as np

from ..sweep.identity import data_hash, model_hash
from .components import is_torch_module, list_components, match_components
from .losses import BACKENDS, RunnerSpec, float_weights
from .quantization import MAX_BITS, MIN_BITS, check_choices
from .significance_jobs import run_job
from .significance_store import BASELINE, SignificanceStore, job_key
from .significance_worker import SignificanceJob

#: ``{component: {bits: rise in mean cross-entropy}}``.
Costs = dict[str, dict[int, float]]

__all__ = ["generic_sensitivity", "layer_costs", "semantic_significance", "significance_tables"]


def semantic_significance(model, x, y, critical, bits: int = 4, per_channel: bool = False, workers: int | None = None,
                          backend: str = "onnxruntime", components: Iterable[str] | None = None,
                          batch_size: int = 256, progress: bool | None = None, *, executor: Executor | None = None,
                          db: str | os.PathLike | None = None) -> dict[str, float]:
    """``{component: S_c}`` on the samples of the ``critical`` classes (see the module docstring).

    Parameters
    ----------
    model : str, os.PathLike, bytes, onnx.ModelProto or torch.nn.Module
        A classifier whose first output is the logits ``[N, classes]``.
    x : numpy.ndarray
        Inputs ``[N, ...]`` (float32 for ONNX models).
    y : array_like of int
        Labels ``[N]``.
    critical : iterable of int or CriticalClasses
        The critical classes; ``D_crit`` is the samples whose label is one of them.
    bits : int, default 4
        The aggressive bit width (2–16) each component is quantized to alone.
    per_channel : bool, default False
        Components are output channels (``"tensor[k]"``) rather than whole tensors.
    workers : int, optional
        Worker processes of the local pool (default: the CPU count, at most one per component; for a
        torch module, this process); 1 runs in this process. Ignored with ``executor``.
    backend : {"onnxruntime", "edgequant"}
        Where ONNX models run (ONNX Runtime, or edgequant's engine); torch modules run in torch.
    components : iterable of str, optional
        Measure only these components (names as :func:`~.components.list_components` gives them).
    batch_size : int, default 256
    progress : bool, optional
        tqdm bar over the whole job with the time left (default: on a terminal or in a notebook).
    executor : concurrent.futures.Executor, optional
        Where the evaluations run, e.g. ``dask.distributed.Client(address).get_executor()``
        (not shut down here). The job — model, data, masks — reaches each worker once: scattered
        on Dask, else sent with the first batch a worker asks it for; workers keep it by content
        hash. Prefer one thread per worker process.
    db : str or os.PathLike, optional
        SQLite results file (the sweeps' format; created if missing): each finished evaluation is
        committed, and evaluations already recorded for the same model, data, critical samples,
        backend, per_channel and batch_size are not run again.

    Raises
    ------
    ValueError
        No sample of the critical classes, labels out of range, an unknown component or backend,
        an unusable ``db``.
    TypeError
        ``executor`` is not a ``concurrent.futures.Executor``.
    """
    mask = critical_mask(y, critical)
    semantic, = _significance(model, x, y, [mask], (check_bits(bits),), per_channel, workers, backend, components,
                              batch_size, progress, executor, db)
    return {name: by_bits[bits] for name, by_bits in semantic.items()}


def generic_sensitivity(model, x, y, bits: int = 4, per_channel: bool = False, workers: int | None = None,
                        backend: str = "onnxruntime", components: Iterable[str] | None = None,
                        batch_size: int = 256, progress: bool | None = None, *, executor: Executor | None = None,
                        db: str | os.PathLike | None = None) -> dict[str, float]:
    """``{component: rise in mean cross-entropy over all samples}``: parameters as
    :func:`semantic_significance` without ``critical``."""
    everything = np.ones(len(np.asarray(y)), bool)
    generic, = _significance(model, x, y, [everything], (check_bits(bits),), per_channel, workers, backend,
                             components, batch_size, progress, executor, db)
    return {name: by_bits[bits] for name, by_bits in generic.items()}


def layer_costs(model, x, y, critical=None, choices: Sequence[int] = (2, 4, 8), per_channel: bool = False,
                workers: int | None = None, backend: str = "onnxruntime", components: Iterable[str] | None = None,
                batch_size: int = 256, progress: bool | None = None, *, executor: Executor | None = None,
                db: str | os.PathLike | None = None) -> dict[str, dict[int, float]]:
    """``costs[c][b]``: significance of ``c`` quantized alone at each bit width of ``choices``.

    Semantic (on ``D_crit``) when ``critical`` is given, generic (all samples) otherwise; the
    input :func:`~.allocation.allocate_bits` expects.
    """
    mask = np.ones(len(np.asarray(y)), bool) if critical is None else critical_mask(y, critical)
    costs, = _significance(model, x, y, [mask], check_choices(choices), per_channel, workers, backend, components,
                           batch_size, progress, executor, db)
    return costs


def significance_tables(model, x, y, critical, choices: Sequence[int] = (2, 4, 8), per_channel: bool = False,
                        workers: int | None = None, backend: str = "onnxruntime",
                        components: Iterable[str] | None = None, batch_size: int = 256,
                        progress: bool | None = None, *, executor: Executor | None = None,
                        db: str | os.PathLike | None = None) -> tuple[Costs, Costs]:
    """``(semantic, generic)`` costs ``[c][b]`` from one pass over the data (what the CLI shows)."""
    masks = [critical_mask(y, critical), np.ones(len(np.asarray(y)), bool)]
    semantic, generic = _significance(model, x, y, masks, check_choices(choices), per_channel, workers, backend,
                                      components, batch_size, progress, executor, db)
    return semantic, generic


def critical_mask(y, critical) -> np.ndarray:
    """Boolean mask of the samples whose label is a critical class (ValueError if none)."""
    labels = np.asarray(y)
    if isinstance(critical, str):
        raise TypeError(f"critical must be class indices or CriticalClasses, got the string {critical!r}: "
                        "turn names into classes with parse_critical(text, class_names)")
    classes = sorted({int(c) for c in critical})
    if not classes:
        raise ValueError("critical names no class")
    mask = np.isin(labels, classes)
    if not mask.any():
        raise ValueError(f"no sample has a critical class {classes}: D_crit is empty")
    return mask


def check_bits(bits) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bits must be an integer in [{MIN_BITS}, {MAX_BITS}], got {bits!r}")
    return int(bits)


# --- the measurement ------------------------------------------------------------------------------
def _significance(model, x, y, masks, choices, per_channel, workers, backend, names, batch_size, progress,
                  executor, db):
    """One dict ``{component: {bits: rise}}`` per mask, every (component, bits) evaluated once."""
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    torch_model = is_torch_module(model)
    backend = _check_backend(backend, torch_model)
    x, y = _check_data(x, y, torch_model)
    all_components = list_components(model, per_channel=per_channel)
    chosen = all_components if names is None else match_components(all_components, names)
    if not chosen:
        raise ValueError("components is empty")
    if torch_model:
        serialized, description = model, type(model).__name__
    else:
        from ..onnx.loader import load_model_and_files

        loaded = load_model_and_files(model)
        serialized, description = loaded.model.SerializeToString(), loaded.description
    tasks = [(c, b) for c in chosen for b in choices]
    # A torch module stays in this process unless asked (it may live on a GPU, and spawned workers
    # must import torch and unpickle the module's class).
    if executor is not None:
        workers = 1  # unused: the executor decides
    elif torch_model and workers is None:
        workers = 1
    else:
        workers = _worker_count(workers, len(tasks))
    store = None if db is None else SignificanceStore(db)
    try:
        union = np.logical_or.reduce(masks)  # run only the samples some mask needs
        tensors = sorted({c.tensor for c in chosen})
        spec = RunnerSpec(backend, serialized, np.ascontiguousarray(x[union]), y[union], batch_size,
                          overridable=tuple(tensors))
        digests = (_model_digest(serialized), data_hash(x, y))
        settings = {"backend": backend, "per_channel": bool(per_channel), "batch_size": int(batch_size)}
        key = job_key(*digests, masks, settings)  # the masks over all samples: which samples each loss reads
        masks = tuple(m[union] for m in masks)
        if store is not None:
            store.begin_job(key, description, *digests, settings)
        job = SignificanceJob(key, spec, float_weights(model if torch_model else serialized, tensors), masks)
        results = run_job(job, tasks, executor=executor, workers=workers, store=store, progress=progress)
    finally:
        if store is not None:
            store.close()
    baseline = results[BASELINE]
    tables = []
    for index in range(len(masks)):
        tables.append({c.name: {b: float(results[c.name, b][index] - baseline[index]) for b in sorted(choices)}
                       for c in chosen})
    return tables


def _model_digest(serialized) -> str:
    """SHA-256 of an ONNX model's bytes, or of a torch module's structure and state."""
    if isinstance(serialized, bytes):
        return model_hash(serialized)
    digest = hashlib.sha256(repr(serialized).encode())
    for name, tensor in serialized.state_dict().items():
        values = tensor.detach().cpu().contiguous()
        try:
            values = values.numpy()
        except TypeError:  # a dtype numpy lacks (bfloat16): its float32 values identify it as well
            values = values.float().numpy()
        digest.update(f"{name}{values.dtype.str}{values.shape}".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def _check_backend(backend, torch_model: bool) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if torch_model:
        if backend == "edgequant":
            raise ValueError("backend='edgequant' runs ONNX models; export the torch module to ONNX first")
        return "torch"
    if backend == "torch":
        raise ValueError("backend='torch' needs a torch.nn.Module; an ONNX model runs on 'onnxruntime' or 'edgequant'")
    return backend


def _check_data(x, y, torch_model: bool):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"x must hold at least one sample along axis 0, got shape {x.shape}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be 1-D with one label per sample of x ({x.shape[0]}), got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0:
        raise ValueError(f"y holds a negative label ({y.min()})")
    if x.dtype.kind != "f":
        raise ValueError(f"x must be a float array, got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x holds NaN or Inf")
    return (x.astype(np.float32, copy=False), y.astype(np.int64))


def _worker_count(workers, tasks: int) -> int:
    if workers is None:
        return max(1, min(os.cpu_count() or 1, tasks))
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1 (or None for the CPU count), got {workers!r}")
    return int(min(workers, max(tasks, 1)))
