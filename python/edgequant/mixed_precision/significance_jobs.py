"""Run a significance job's evaluations: in this process, a local pool or any executor, resumably.

The evaluations still to do (those not in the store) go out in batches of components, a few per
worker at a time: batches large enough that scheduling costs little against the evaluations,
small enough that every worker stays busy to the end and that a worker which dies loses little
(its batch is run again; what other batches returned is already committed). Only this process
writes the store, one transaction per returned batch, so a client killed at any moment resumes
from every batch it had received.
"""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from tqdm.auto import tqdm

from .significance_store import BASELINE, SignificanceStore
from .significance_worker import NEEDS_JOB, SignificanceJob, evaluate_batch, initialize, load, release

#: Batches kept submitted per worker: one running, one waiting (no idle gap between batches).
_BATCHES_IN_FLIGHT_PER_WORKER = 2
#: The job is cut into at least this many batches per worker, so that all finish close together.
_BATCHES_PER_WORKER = 4
#: At most this many evaluations per batch: what a dead worker or a killed client can lose.
_MAX_BATCH = 32


def run_job(job: SignificanceJob, tasks, *, executor: Executor | None, workers: int,
            store: SignificanceStore | None, progress: bool | None) -> dict[tuple[str, int], list[float]]:
    """``{(component, bits): means}`` of every task (and of :data:`BASELINE`), resuming from ``store``.

    Parameters
    ----------
    job : SignificanceJob
    tasks : list of (Component, int)
        The evaluations of the job; the FP32 evaluation is added.
    executor : concurrent.futures.Executor, optional
        Where batches run; None: this process (``workers`` 1) or a local pool of ``workers``.
    workers : int
        Processes of the local pool (without ``executor``).
    store : SignificanceStore, optional
        Where finished evaluations are read from and committed to.
    progress : bool, optional
        tqdm bar over the whole job (default: on a terminal), resumed evaluations counted as done.
    """
    tasks = [(None, 0), *tasks]
    done = {} if store is None else store.evaluations(job.key)
    wanted = {_task_key(task) for task in tasks}
    results = {key: means for key, means in done.items() if key in wanted}
    todo = [task for task in tasks if _task_key(task) not in results]
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="eval", desc="significance",
               dynamic_ncols=True, smoothing=0.05, leave=False, disable=None if progress is None else not progress)

    def record(rows, worker):
        for name, bits, means in rows:
            results[name, bits] = means
        if store is not None:
            store.add_evaluations(job.key, rows, worker)
        bar.update(len(rows))

    try:
        if todo and executor is None and workers == 1:
            load(job, in_worker=False)
            for batch in _batches(todo, 1):
                record(*evaluate_batch(job.key, job, batch, in_worker=False))
        elif todo:
            _run_on_executor(job, todo, executor, workers, record)
    finally:
        bar.close()
        release(job.key)  # in-process runs (serial, threads): do not keep the runner alive
    return results


def _task_key(task) -> tuple[str, int]:
    component, bits = task
    return BASELINE if component is None else (component.name, int(bits))


def _batches(todo, capacity: int) -> list[list]:
    """``todo`` cut into batches: at least ``_BATCHES_PER_WORKER`` per worker, at most ``_MAX_BATCH`` long."""
    size = max(1, min(_MAX_BATCH, math.ceil(len(todo) / (capacity * _BATCHES_PER_WORKER))))
    return [todo[start:start + size] for start in range(0, len(todo), size)]


def _run_on_executor(job, todo, executor, workers, record) -> None:
    own_executor = executor is None
    scattered = None
    if own_executor:
        executor, capacity = local_pool(workers, job), workers
        payload = None  # the pool's initializer loaded the job
    else:
        capacity = executor_capacity(executor)
        scattered = _scatter(executor, job)
        payload = scattered  # Dask: a reference to the job, held by the workers; else None (sent on demand)
    queue, in_flight = iter(_batches(todo, capacity)), {}

    def submit(batch, with_job) -> None:
        in_flight[executor.submit(evaluate_batch, job.key, job if with_job else payload, batch)] = batch

    try:
        for batch in queue:
            submit(batch, False)
            if len(in_flight) >= capacity * _BATCHES_IN_FLIGHT_PER_WORKER:
                break
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                batch = in_flight.pop(future)
                answer = future.result()
                if isinstance(answer, str) and answer == NEEDS_JOB:  # a worker without the job: send it along
                    submit(batch, True)
                    continue
                record(*answer)
                batch = next(queue, None)
                if batch is not None:
                    submit(batch, False)
        if scattered is not None:  # a Dask cluster outlives the job: free the workers' copies of it
            executor._client.run(release, job.key)
    except (BrokenPipeError, BrokenProcessPool) as error:
        if not own_executor:
            raise
        # forkserver/spawn workers re-import the caller's script: unguarded top-level code
        # there starts them again, and Python stops the child.
        raise RuntimeError(
            f"the {workers} worker processes could not start or died ({error!r}). In a script, put the code "
            "that calls this under `if __name__ == \"__main__\":` (workers re-import the script), or pass "
            "workers=1 to evaluate in this process; finished evaluations are kept when a db is given") from error
    finally:
        for future in in_flight:
            future.cancel()
        if own_executor:
            executor.shutdown(wait=True, cancel_futures=True)
        if scattered is not None:
            scattered.release()


def local_pool(workers: int, job: SignificanceJob) -> ProcessPoolExecutor:
    """forkserver (else spawn) workers, never fork (ONNX Runtime / OpenMP thread pools), as the sweep."""
    if "forkserver" in multiprocessing.get_all_start_methods() and job.spec.backend != "torch":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["edgequant.mixed_precision.significance_worker", "onnxruntime"])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initialize, initargs=(job,))


def executor_capacity(executor: Executor) -> int:
    """How many batches an executor runs at once, as far as it can be told (>= 1)."""
    from ..sweep.runner import _executor_capacity

    return _executor_capacity(executor)


def _scatter(executor: Executor, job: SignificanceJob):
    """On a Dask client's executor: the job scattered to every worker once (a Future), else None."""
    client = getattr(executor, "_client", None)
    if client is None or not callable(getattr(client, "scatter", None)):
        return None
    return client.scatter(job, broadcast=True, hash=False)
