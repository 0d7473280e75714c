"""A grid of compression-aware training runs (γ × bits × learning rate), one row per run in the
sweeps' SQLite store: committed as each run ends, so a killed grid resumes where it stopped."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import socket
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm.auto import tqdm

from ..sweep.store import ResultStore
from .data import TrainingData
from .trainer import Protocol

#: The ``method`` column of the store's rows written by this module.
METHOD = "prune_quantize_training"

#: The paper's grid (SPEC §5).
PAPER_GAMMAS = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75)
#: The paper's bit widths (SPEC §5).
PAPER_BITS = (3, 4, 8, 16, 32)
#: The paper's learning rates (SPEC §5).
PAPER_LRS = (1e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1)


def training_grid(gammas: Iterable[float] = PAPER_GAMMAS, bits: Iterable[int] = PAPER_BITS,
                  lrs: Iterable[float] = PAPER_LRS) -> list[dict]:
    """Every ``{"gamma", "bits", "lr"}`` combination, baseline (γ = 0, 32 bits) first."""
    points = [{"gamma": float(g), "bits": int(b), "lr": float(r)} for g, b, r in itertools.product(gammas, bits, lrs)]
    if not points:
        raise ValueError("the grid is empty: give at least one gamma, one bits and one lr")
    return sorted(points, key=lambda p: (not (p["gamma"] == 0 and p["bits"] == 32), 0))


def grid_key(point: dict) -> str:
    """A run's identity within its grid (canonical JSON)."""
    return json.dumps({"gamma": float(point["gamma"]), "bits": int(point["bits"]), "lr": float(point["lr"])},
                      sort_keys=True)


def grid_identity(data: TrainingData, protocol: Protocol) -> str:
    """Same data and protocol -> same identity -> a rerun resumes (16 hex digits)."""
    text = json.dumps({"data": data.digest(), "protocol": dataclasses.asdict(protocol), "method": METHOD},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_training_grid(data: TrainingData, grid: Iterable[dict], db: str | os.PathLike, protocol: Protocol | None = None,
                      executor: Executor | None = None, workers: int = 1, progress: bool = True,
                      checkpoints: str | os.PathLike | None = None, threads: int | None = None,
                      device=None, log_epochs: bool = False) -> list[dict]:
    """Train every grid point not yet finished in ``db``; return the grid's rows.

    Parameters
    ----------
    data : TrainingData
    grid : iterable of dict
        Points ``{"gamma", "bits", "lr"}`` (see :func:`training_grid`).
    db : path-like
        The SQLite results file (the sweeps' format; created if missing).
    protocol : Protocol, optional
        Default ``Protocol()`` (the digits CNN).
    executor : concurrent.futures.Executor, optional
        Where runs go (e.g. a Dask client's executor); default: in this process when
        ``workers == 1``, else a local process pool of ``workers``.
    workers : int, default 1
        Processes of the local pool when no ``executor`` is given.
    progress : bool, default True
        A tqdm bar over the runs.
    checkpoints : path-like, optional
        A folder that receives each run's best ``state_dict`` as ``<identity>-<hash>.pt``.
    threads : int, optional
        ``torch.set_num_threads`` in each run (1 keeps a shared machine responsive).
    device : optional
        As :func:`~.trainer.train_run` (default CUDA when present).
    log_epochs : bool, default False
        Print one line per epoch (accuracies, density) for long runs.

    Returns
    -------
    list of dict
        The store's rows of this grid, in grid order; failed runs have ``status == "error"``
        and are retried by the next call.
    """
    protocol = Protocol() if protocol is None else protocol
    points = [dict(p) for p in grid]
    for point in points:
        grid_key(point)  # every point well-formed before any run
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if checkpoints is not None:
        checkpoints = Path(checkpoints)
        checkpoints.mkdir(parents=True, exist_ok=True)
    store = ResultStore(db)
    try:
        identity = grid_identity(data, protocol)
        store.begin_sweep(identity, protocol.model, protocol.model, data.digest(),
                          {"method": METHOD, "protocol": dataclasses.asdict(protocol), "data": data.describe()}, {})
        finished = store.finished_keys(identity)
        todo = [p for p in points if grid_key(p) not in finished]
        task = (identity, data, protocol, None if checkpoints is None else str(checkpoints), threads, device,
                log_epochs)
        bar = tqdm(total=len(points), initial=len(points) - len(todo), unit="run", desc=f"train {protocol.model}",
                   disable=not progress, dynamic_ncols=True)
        try:
            if executor is None and workers == 1:
                for point in todo:
                    store.add(run_grid_point(task, point))
                    bar.update(1)
            else:
                _run_on_executor(executor, workers, task, todo, store, bar)
        finally:
            bar.close()
        keys = {grid_key(p): i for i, p in enumerate(points)}
        rows = [r for r in store.rows(identity) if r["point_key"] in keys]
        return sorted(rows, key=lambda r: keys[r["point_key"]])
    finally:
        store.close()


def _run_on_executor(executor, workers, task, todo, store, bar) -> None:
    own = executor is None
    if own:
        import multiprocessing

        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))
    try:
        futures = {executor.submit(run_grid_point, task, point) for point in todo}
        while futures:
            done, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                store.add(future.result())
                bar.update(1)
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)


def run_grid_point(task: tuple, point: dict) -> dict:
    """Train one point; a row for the store (errors become ``status="error"`` rows)."""
    import torch

    from .trainer import train_run

    identity, data, protocol, checkpoints, threads, device, log_epochs = task
    if threads:
        torch.set_num_threads(threads)
    key = grid_key(point)
    row = {"sweep_id": identity, "point_key": key, "method": METHOD,
           "params": json.loads(key), "label": f"γ={point['gamma']:g} b={point['bits']} lr={point['lr']:g}",
           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    started = time.perf_counter()
    try:
        result = train_run(data, point["gamma"], point["bits"], point["lr"], protocol, device=device,
                           keep_best_state=checkpoints is not None,
                           progress=_epoch_logger(row["label"]) if log_epochs else None)
    except (ValueError, RuntimeError) as error:
        return {**row, "status": "error", "error": f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}",
                "evaluate_s": time.perf_counter() - started}
    if checkpoints is not None:
        torch.save({"model": protocol.model, "state_dict": result.best_state, "steps": result.steps,
                    "gamma": result.gamma, "bits": result.bits}, Path(checkpoints) / checkpoint_name(identity, point))
    return {**row, "status": "ok", "weight_count": result.weight_count, "metrics": result.metrics(),
            "quantize_s": result.compress_s, "evaluate_s": result.train_s}


def _epoch_logger(label: str):
    def log(epoch: int, history: dict) -> None:
        tqdm.write(f"{label} epoch {epoch + 1}: train {history['train_acc'][-1]:.3f} val {history['val_acc'][-1]:.3f} "
                   f"test {history['test_acc'][-1]:.3f} density {history['density'][-1]:.4f}")
    return log


def checkpoint_name(identity: str, point: dict) -> str:
    return f"{identity}-{hashlib.sha256(grid_key(point).encode()).hexdigest()[:10]}.pt"
