"""Significance results in the sweeps' SQLite file, so that an interrupted measurement resumes.

A *job* is one measurement: a model, a data set, a set of losses (the sample masks, e.g. the
critical classes' samples and all samples), a backend, components per tensor or per channel and
a batch size, identified by :func:`job_key` (a content hash of all of them). Each evaluation of a
job — one component quantized alone at one bit width, or the FP32 model — is a row holding the
mean loss over each mask; the cost of ``(component, bits)`` is its means minus the FP32 row's,
so it does not matter in which order or on which worker the rows were made.

The tables live beside the sweeps' in the same file (:class:`~edgequant.sweep.store.ResultStore`,
WAL mode, committed as soon as a batch of evaluations returns, written by the client process only).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import socket
import sqlite3

import numpy as np

from ..sweep.store import ResultStore

#: The row of the FP32 (unquantized) model: no component, no bit width.
BASELINE = ("", 0)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS significance_jobs (
    job_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    model_hash TEXT NOT NULL,
    data_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS significance_evaluations (
    job_id TEXT NOT NULL,
    component TEXT NOT NULL,
    bits INTEGER NOT NULL,
    means TEXT NOT NULL,
    worker TEXT,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (job_id, component, bits)
);
"""


def job_key(model_digest: str, data_digest: str, masks, settings: dict) -> str:
    """Identity of a significance job: 16 hex digits of a SHA-256.

    Parameters
    ----------
    model_digest, data_digest : str
        Content hashes of the model and of the data (see :mod:`edgequant.sweep.identity`).
    masks : sequence of numpy.ndarray of bool
        The samples each loss averages over (the loss set: critical samples, all samples...).
    settings : dict
        Everything else that changes a number: backend, per_channel, batch_size.
    """
    digest = hashlib.sha256()
    for mask in masks:
        mask = np.asarray(mask, bool)
        digest.update(f"{mask.shape}".encode())
        digest.update(np.packbits(mask).tobytes())
    identity = json.dumps({"model": model_digest, "data": data_digest, "masks": digest.hexdigest(), **settings},
                          sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


class SignificanceStore(ResultStore):
    """The results file of sweeps and significance jobs (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        SQLite file, created if missing.

    Raises
    ------
    ValueError
        As :class:`~edgequant.sweep.store.ResultStore`: a folder, a missing folder, no write
        permission, not an SQLite file — on construction, before any work.
    """

    def __init__(self, path: str | os.PathLike):
        super().__init__(path)
        try:
            self._connection.executescript(_SCHEMA)
        except sqlite3.DatabaseError as error:
            self.close()
            raise ValueError(f"cannot use {str(self.path)!r} as the results database: {error}") from error

    def begin_job(self, job_id: str, model: str, model_hash: str, data_hash: str, settings: dict) -> None:
        """Record a job's identity (kept as first recorded when the job is run again)."""
        with self._connection:
            self._connection.execute(
                "INSERT OR IGNORE INTO significance_jobs VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, model, model_hash, data_hash, json.dumps(settings, sort_keys=True), _now()))

    def add_evaluations(self, job_id: str, rows, worker: str | None = None) -> None:
        """Commit ``rows`` — ``(component, bits, means)`` — in one transaction.

        ``means`` are written as JSON, whose floats read back bit for bit.
        """
        finished = _now()
        with self._connection:
            self._connection.executemany(
                "INSERT OR REPLACE INTO significance_evaluations VALUES (?, ?, ?, ?, ?, ?)",
                [(job_id, name, int(bits), json.dumps([float(m) for m in means]), worker, finished)
                 for name, bits, means in rows])

    def evaluations(self, job_id: str) -> dict[tuple[str, int], list[float]]:
        """``{(component, bits): means}`` recorded for ``job_id`` (the FP32 row under :data:`BASELINE`)."""
        cursor = self._connection.execute(
            "SELECT component, bits, means FROM significance_evaluations WHERE job_id = ?", (job_id,))
        return {(name, bits): json.loads(means) for name, bits, means in cursor}

    def job_ids(self) -> list[str]:
        return [job for (job,) in self._connection.execute("SELECT job_id FROM significance_jobs ORDER BY rowid")]


def worker_name() -> str:
    """``host:pid`` of this process (recorded with each row, to see where it ran)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
