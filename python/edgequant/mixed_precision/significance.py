"""Semantic significance and generic sensitivity of every component (SPEC §7.2).

``S_c = E_{D_crit}[L(M'_c(x), y)] − E_{D_crit}[L(M(x), y)]``: the rise in mean cross-entropy on
the critical classes' samples when only component ``c`` is quantized (per-channel affine at
``bits``, :func:`~.quantization.weight_quantizer`) and everything else stays FP32. Generic
sensitivity is the same rise over all samples — the scalar other tools rank components by.

Components run in parallel in worker processes (``workers``), each of which builds its own loss
runner (:mod:`.losses`) once and then evaluates components; a tqdm bar shows progress.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from tqdm.auto import tqdm

from .components import Component, is_torch_module, list_components, match_components
from .losses import BACKENDS, RunnerSpec, build_runner, float_weights
from .quantization import MAX_BITS, MIN_BITS, check_choices, quantize_channel, weight_quantizer

#: ``{component: {bits: rise in mean cross-entropy}}``.
Costs = dict[str, dict[int, float]]

__all__ = ["generic_sensitivity", "layer_costs", "semantic_significance", "significance_tables"]


def semantic_significance(model, x, y, critical, bits: int = 4, per_channel: bool = False, workers: int | None = None,
                          backend: str = "onnxruntime", components: Iterable[str] | None = None,
                          batch_size: int = 256, progress: bool | None = None) -> dict[str, float]:
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
        Worker processes (default: the CPU count, at most one per component; for a torch module, this
        process); 1 runs in this process.
    backend : {"onnxruntime", "edgequant"}
        Where ONNX models run (ONNX Runtime, or edgequant's engine); torch modules run in torch.
    components : iterable of str, optional
        Measure only these components (names as :func:`~.components.list_components` gives them).
    batch_size : int, default 256
    progress : bool, optional
        tqdm bar (default: on a terminal or in a notebook).

    Raises
    ------
    ValueError
        No sample of the critical classes, labels out of range, an unknown component or backend.
    """
    mask = critical_mask(y, critical)
    semantic, = _significance(model, x, y, [mask], (check_bits(bits),), per_channel, workers, backend, components,
                              batch_size, progress)
    return {name: by_bits[bits] for name, by_bits in semantic.items()}


def generic_sensitivity(model, x, y, bits: int = 4, per_channel: bool = False, workers: int | None = None,
                        backend: str = "onnxruntime", components: Iterable[str] | None = None,
                        batch_size: int = 256, progress: bool | None = None) -> dict[str, float]:
    """``{component: rise in mean cross-entropy over all samples}``: parameters as
    :func:`semantic_significance` without ``critical``."""
    everything = np.ones(len(np.asarray(y)), bool)
    generic, = _significance(model, x, y, [everything], (check_bits(bits),), per_channel, workers, backend,
                             components, batch_size, progress)
    return {name: by_bits[bits] for name, by_bits in generic.items()}


def layer_costs(model, x, y, critical=None, choices: Sequence[int] = (2, 4, 8), per_channel: bool = False,
                workers: int | None = None, backend: str = "onnxruntime", components: Iterable[str] | None = None,
                batch_size: int = 256, progress: bool | None = None) -> dict[str, dict[int, float]]:
    """``costs[c][b]``: significance of ``c`` quantized alone at each bit width of ``choices``.

    Semantic (on ``D_crit``) when ``critical`` is given, generic (all samples) otherwise; the
    input :func:`~.allocation.allocate_bits` expects.
    """
    mask = np.ones(len(np.asarray(y)), bool) if critical is None else critical_mask(y, critical)
    costs, = _significance(model, x, y, [mask], check_choices(choices), per_channel, workers, backend, components,
                           batch_size, progress)
    return costs


def significance_tables(model, x, y, critical, choices: Sequence[int] = (2, 4, 8), per_channel: bool = False,
                        workers: int | None = None, backend: str = "onnxruntime",
                        components: Iterable[str] | None = None, batch_size: int = 256,
                        progress: bool | None = None) -> tuple[Costs, Costs]:
    """``(semantic, generic)`` costs ``[c][b]`` from one pass over the data (what the CLI shows)."""
    masks = [critical_mask(y, critical), np.ones(len(np.asarray(y)), bool)]
    semantic, generic = _significance(model, x, y, masks, check_choices(choices), per_channel, workers, backend,
                                      components, batch_size, progress)
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
def _significance(model, x, y, masks, choices, per_channel, workers, backend, names, batch_size, progress):
    """One dict ``{component: {bits: rise}}`` per mask, every (component, bits) evaluated once."""
    torch_model = is_torch_module(model)
    backend = _check_backend(backend, torch_model)
    x, y = _check_data(x, y, torch_model)
    all_components = list_components(model, per_channel=per_channel)
    chosen = all_components if names is None else match_components(all_components, names)
    if not chosen:
        raise ValueError("components is empty")
    if torch_model:
        serialized = model
    else:
        from ..onnx.loader import load_model_and_files

        serialized = load_model_and_files(model).model.SerializeToString()
    union = np.logical_or.reduce(masks)  # run only the samples some mask needs
    tensors = sorted({c.tensor for c in chosen})
    spec = RunnerSpec(backend, serialized, np.ascontiguousarray(x[union]), y[union], batch_size,
                      overridable=tuple(tensors))
    masks = [m[union] for m in masks]
    weights = float_weights(model if torch_model else serialized, tensors)
    tasks = [(c, b) for c in chosen for b in choices]
    # A torch module stays in this process unless asked (it may live on a GPU, and spawned workers
    # must import torch and unpickle the module's class).
    workers = 1 if torch_model and workers is None else _worker_count(workers, len(tasks))

    results = {}
    bar = tqdm(total=len(tasks) + 1, unit="component", desc="significance", leave=False,
               disable=None if progress is None else not progress)
    try:
        if workers == 1:
            _initialize(spec, weights, in_worker=False)
            baseline = _evaluate(None, None, masks)
            bar.update(1)
            for task in tasks:
                results[task[0].name, task[1]] = _evaluate(*task, masks)
                bar.update(1)
        else:
            try:
                with _pool(workers, spec, weights) as pool:
                    baseline_future = pool.submit(_evaluate, None, None, masks)
                    futures = {pool.submit(_evaluate, c, b, masks): (c.name, b) for c, b in tasks}
                    baseline = baseline_future.result()
                    bar.update(1)
                    for future in _as_completed(futures):
                        results[futures[future]] = future.result()
                        bar.update(1)
            except (BrokenPipeError, BrokenProcessPool) as error:
                # forkserver/spawn workers re-import the caller's script: unguarded top-level code
                # there starts them again, and Python stops the child.
                raise RuntimeError(
                    f"the {workers} worker processes could not start or died ({error!r}). In a script, put the "
                    "code that calls this under `if __name__ == \"__main__\":` (workers re-import the script), "
                    "or pass workers=1 to evaluate in this process") from error
    finally:
        bar.close()
        _release()  # in-process runs: do not keep the session, module and weights alive
    tables = []
    for index in range(len(masks)):
        table = {c.name: {} for c in chosen}
        for (name, bits), means in results.items():
            table[name][bits] = float(means[index] - baseline[index])
        tables.append({c.name: dict(sorted(table[c.name].items())) for c in chosen})
    return tables


def _as_completed(futures):
    from concurrent.futures import as_completed

    return as_completed(futures)


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


def _pool(workers: int, spec: RunnerSpec, weights) -> ProcessPoolExecutor:
    """forkserver (else spawn) workers, never fork (ONNX Runtime / OpenMP thread pools), as the sweep."""
    if "forkserver" in multiprocessing.get_all_start_methods() and spec.backend != "torch":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["edgequant.mixed_precision.significance", "onnxruntime"])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_initialize,
                               initargs=(spec, weights))


# --- worker side ----------------------------------------------------------------------------------
_RUNNER = None
_WEIGHTS: dict[str, np.ndarray] = {}


def _initialize(spec: RunnerSpec, weights: dict[str, np.ndarray], in_worker: bool = True) -> None:
    """Build this process's loss runner (once per pool); a worker also limits the C++ core's threads."""
    global _RUNNER, _WEIGHTS
    if in_worker and spec.backend != "torch":
        from .. import set_num_threads

        set_num_threads(spec.threads)
    _RUNNER, _WEIGHTS = build_runner(spec), weights


def _release() -> None:
    global _RUNNER, _WEIGHTS
    _RUNNER, _WEIGHTS = None, {}


def _evaluate(component: Component | None, bits: int | None, masks) -> list[float]:
    """Mean loss over each mask with only ``component`` quantized (None: the FP32 model)."""
    overrides = {}
    if component is not None:
        values = _WEIGHTS[component.tensor]
        if component.channel is None:
            overrides[component.tensor] = weight_quantizer(bits, component.axis)(values)
        else:
            overrides[component.tensor] = quantize_channel(values, bits, component.axis, component.channel)
    losses = _RUNNER.losses(overrides)
    return [float(np.mean(losses[mask])) for mask in masks]
