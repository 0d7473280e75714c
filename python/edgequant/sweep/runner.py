"""Run a sweep: every grid point quantized, measured and evaluated on an executor, results in
SQLite as they finish, resumable."""

from __future__ import annotations

import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm.auto import tqdm

from ..evaluate import Evaluator
from ..model import DEFAULT_ROLES, select_weights
from ..model.selection import check_roles
from ..onnx.loader import load_model_and_files
from .grid import check_grid, default_grid, point_key
from .identity import data_hash, model_hash, sweep_id
from .result import SweepResult
from .store import ResultStore
from .summary import default_metric
from .worker import SweepContext, initialize, run_point

#: Points kept submitted per worker: enough to keep workers busy, few enough that a kill loses
#: little and that progress is smooth.
_POINTS_IN_FLIGHT_PER_WORKER = 2


def run_sweep(
    model,
    data,
    labels=None,
    grid: Iterable[dict] | None = None,
    db: str | os.PathLike = "results.sqlite",
    executor: Executor | None = None,
    budget_pp: float = 1.0,
    progress: bool = True,
    *,
    workers: int = 2,
    roles: Iterable[str] = DEFAULT_ROLES,
    include_biases: bool = False,
    batch_size: int = 256,
    input_name: str | None = None,
    output_name: str | None = None,
    threads_per_worker: int = 1,
    per_anchor: bool = False,
) -> SweepResult:
    """Quantize the weights of ``model`` at every grid point, measure rate and quality.

    Every check runs before any point does: the grid (each point is built once), the data
    against the model's input, the labels against its outputs, that the model has weights to
    quantize, and that ``db`` can be opened for writing. Then the reference model is evaluated
    (the FP32 baseline), points already finished in ``db`` for this very sweep (same model,
    data and quantized roles) are skipped, and the others run on ``executor``. Each finished
    point is committed at once, by this process only, so an interrupted sweep resumes where it
    stopped when run again.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        The FP32 model.
    data : numpy.ndarray or iterable of batches
        Inputs (see :class:`edgequant.evaluate.Evaluator`).
    labels : array_like of int, optional
        Class labels; without them quality is ``top1_agreement`` with the FP32 model.
    grid : iterable of dict, optional
        Points ``{"method": ..., "params": {...}}``; default :func:`~.grid.default_grid`.
    db : str or os.PathLike, default ``"results.sqlite"``
        The SQLite results file (created if missing).
    executor : concurrent.futures.Executor, optional
        Where points run, e.g. ``dask.distributed.Client(...).get_executor()``. Default: a
        local process pool of ``workers`` processes (forkserver, else spawn). A given executor
        is not shut down; its workers load the model and data on their first point and cache
        them (each task carries them, so prefer few, large workers to many small ones).
    budget_pp : float, default 1.0
        Allowed loss of the metric in percentage points for :meth:`SweepResult.best`.
    progress : bool, default True
        Show a tqdm progress bar (points done, time left).
    workers : int, default 2
        Size of the default process pool.
    roles, include_biases
        Which tensors are quantized (see :func:`edgequant.model.quantize_weights`).
    batch_size, input_name, output_name
        As :class:`edgequant.evaluate.Evaluator`.
    threads_per_worker : int, default 1
        ONNX Runtime / C++ core threads in each worker (1: workers do not oversubscribe cores).
    per_anchor : bool, default False
        For detectors (no labels): agreement counted per anchor of the scored output, not per
        image (see :class:`edgequant.evaluate.Evaluator`). Part of the sweep's identity.

    Returns
    -------
    SweepResult

    Notes
    -----
    The default pool starts its workers with forkserver/spawn, so a script calling this must
    guard its entry point with ``if __name__ == "__main__":`` (as for any multiprocessing).

    Raises
    ------
    ValueError, TypeError
        On bad input, before any point runs (see above).
    """
    started = time.perf_counter()
    if isinstance(budget_pp, bool) or not isinstance(budget_pp, int | float) or not math.isfinite(budget_pp):
        raise ValueError(f"budget_pp must be a finite number >= 0, got {budget_pp!r}")
    if budget_pp < 0:
        raise ValueError(f"budget_pp must be >= 0, got {budget_pp}")
    if executor is None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    roles = check_roles(roles, include_biases)
    specs = check_grid(default_grid() if grid is None else grid)

    loaded = load_model_and_files(model)
    evaluator = Evaluator(
        loaded.model,
        data,
        labels,
        batch_size=batch_size,
        input_name=input_name,
        output_name=output_name,
        threads=threads_per_worker,
        per_anchor=per_anchor,
    )
    select_weights(loaded.model, roles, False, loaded.description)  # something to quantize?
    store = ResultStore(db)
    try:
        return _run(
            specs,
            loaded,
            evaluator,
            store,
            executor,
            budget_pp,
            progress,
            workers,
            roles,
            threads_per_worker,
            started,
        )
    finally:
        store.close()


def _run(specs, loaded, evaluator, store, executor, budget_pp, progress, workers, roles, threads, started):
    model_bytes = loaded.model.SerializeToString()
    settings = {"roles": list(roles)}
    if evaluator.per_anchor:  # only when set, so the identity of earlier sweeps is unchanged
        settings["per_anchor"] = True
    digest_model = model_hash(model_bytes)
    digest_data = data_hash(evaluator.inputs, evaluator.labels)
    identity = sweep_id(digest_model, digest_data, settings)
    baseline = evaluator.evaluate(loaded.model)
    store.begin_sweep(identity, loaded.description, digest_model, digest_data, settings, baseline)

    finished = store.finished_keys(identity)
    todo = [spec for spec in specs if point_key(spec) not in finished]
    context = SweepContext(
        key=identity,
        model_bytes=model_bytes,
        inputs=evaluator.inputs,
        labels=evaluator.labels,
        batch_size=evaluator.batch_size,
        input_name=evaluator.input_name,
        output_name=evaluator.output_name,
        roles=tuple(roles),
        include_biases=False,
        threads=threads,
        per_anchor=evaluator.per_anchor,
    )
    setup_s = time.perf_counter() - started

    store_s, phase_s = 0.0, {"quantize_s": 0.0, "entropy_s": 0.0, "evaluate_s": 0.0}
    if todo:
        own_executor = executor is None
        if own_executor:
            executor = local_process_pool(workers, context)
        task_context = context.key if own_executor else context  # own pool: loaded by initializer
        capacity = workers if own_executor else _executor_capacity(executor)
        bar = tqdm(
            total=len(specs),
            initial=len(specs) - len(todo),
            unit="pt",
            desc="sweep",
            disable=not progress,
            dynamic_ncols=True,
            smoothing=0.05,
        )
        queue, in_flight = iter(todo), {}
        try:
            for spec in queue:
                in_flight[executor.submit(run_point, task_context, spec)] = spec
                if len(in_flight) >= capacity * _POINTS_IN_FLIGHT_PER_WORKER:
                    break
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    del in_flight[future]
                    row = future.result()
                    tick = time.perf_counter()
                    store.add(row)
                    store_s += time.perf_counter() - tick
                    for phase in phase_s:
                        phase_s[phase] += row.get(phase) or 0.0
                    bar.update(1)
                    spec = next(queue, None)
                    if spec is not None:
                        in_flight[executor.submit(run_point, task_context, spec)] = spec
        finally:
            bar.close()
            for future in in_flight:
                future.cancel()
            if own_executor:
                executor.shutdown(wait=True, cancel_futures=True)

    keys = {point_key(spec): index for index, spec in enumerate(specs)}
    rows = sorted(
        (r for r in store.rows(identity) if r["point_key"] in keys),
        key=lambda r: keys[r["point_key"]],
    )
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        warnings.warn(
            f"{len(failed)} point(s) failed (see the 'error' column; retried on the next run), "
            f"first: {failed[0]['point_key']}: {failed[0]['error']}",
            RuntimeWarning,
            stacklevel=3,
        )
    timings = {
        "wall_s": time.perf_counter() - started,
        "setup_s": setup_s,
        "store_s": store_s,
        "points_run": len(todo),
        "points_skipped": len(specs) - len(todo),
        **phase_s,
    }
    return SweepResult(
        rows,
        baseline,
        default_metric(baseline),
        float(budget_pp),
        identity,
        Path(store.path),
        timings,
    )


def local_process_pool(workers: int, context: SweepContext) -> ProcessPoolExecutor:
    """A process pool whose workers load ``context`` once, at start.

    forkserver (else spawn), never fork: forking a parent that holds ONNX Runtime and OpenMP
    thread pools can deadlock the children.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context_of_start = multiprocessing.get_context("forkserver")
        # The server imports ONNX Runtime and edgequant once; workers fork from it in ~0.1 s
        # instead of each importing them again (no effect once the server runs).
        context_of_start.set_forkserver_preload(["edgequant.sweep.worker", "onnxruntime"])
    else:
        context_of_start = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context_of_start,
        initializer=initialize,
        initargs=(context,),
    )


def _executor_capacity(executor: Executor) -> int:
    """How many points an executor runs at once, as far as it can be told (>= 1)."""
    workers = getattr(executor, "_max_workers", None)
    if isinstance(workers, int) and workers > 0:
        return workers
    client = getattr(executor, "_client", None)  # dask.distributed's ClientExecutor
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # a best guess only
            pass
    return os.cpu_count() or 2
