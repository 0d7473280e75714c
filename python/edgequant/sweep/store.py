"""Sweep results in SQLite: one row per point, committed as soon as the point finishes.

The database runs in WAL mode, so a reader (e.g. a progress monitor) never blocks the writer,
and a sweep killed at any moment keeps every committed point. Only the process running the
sweep writes; workers return rows to it. Points are keyed by ``(sweep_id, point_key)``: the
sweep identity (model hash + data hash + what is quantized) and the point's canonical JSON.
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
from pathlib import Path

#: Columns of the ``points`` table, with their SQLite types, in CSV/DataFrame order.
POINT_COLUMNS = {
    "sweep_id": "TEXT NOT NULL",
    "point_key": "TEXT NOT NULL",
    "method": "TEXT NOT NULL",
    "params": "TEXT NOT NULL",
    "label": "TEXT NOT NULL",
    "status": "TEXT NOT NULL",  # "ok" or "error"
    "error": "TEXT",
    "entropy": "REAL",
    "compression_ratio": "REAL",
    "space_saving": "REAL",
    "weight_sqnr_db": "REAL",
    "weight_count": "INTEGER",
    "metrics": "TEXT",  # JSON dict of the evaluator's metrics
    "quantize_s": "REAL",
    "entropy_s": "REAL",
    "evaluate_s": "REAL",
    "worker": "TEXT",
    "finished_at": "TEXT",
}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sweeps (
    sweep_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    model_hash TEXT NOT NULL,
    data_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    baseline TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS points (
    {", ".join(f"{name} {kind}" for name, kind in POINT_COLUMNS.items())},
    PRIMARY KEY (sweep_id, point_key)
);
"""


class ResultStore:
    """The results database of one or more sweeps.

    Parameters
    ----------
    path : str or os.PathLike
        SQLite file, created if missing (its folder must exist and be writable).

    Raises
    ------
    ValueError
        If ``path`` is a folder, its folder is missing, or the file is not a usable SQLite
        database (not writable, not SQLite, locked...). Raised on construction, before work.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._connection = _open(self.path)

    # -- writing -------------------------------------------------------------------------
    def begin_sweep(
        self,
        sweep_id: str,
        model: str,
        model_hash: str,
        data_hash: str,
        settings: dict,
        baseline: dict,
    ) -> None:
        """Record (or refresh) a sweep's identity and its reference (FP32) metrics."""
        with self._connection:
            self._connection.execute(
                "INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sweep_id) DO UPDATE "
                "SET model = excluded.model, baseline = excluded.baseline",
                (sweep_id, model, model_hash, data_hash, json.dumps(settings, sort_keys=True),
                 json.dumps(baseline), _now()),
            )  # fmt: skip

    def add(self, row: dict) -> None:
        """Insert one point and commit (replacing an earlier failed attempt at it)."""
        values = dict(row)
        values["params"] = json.dumps(values["params"], sort_keys=True)
        values["metrics"] = None if values.get("metrics") is None else json.dumps(values["metrics"])
        values.setdefault("finished_at", _now())
        names = list(POINT_COLUMNS)
        with self._connection:
            self._connection.execute(
                f"INSERT OR REPLACE INTO points ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                [values.get(name) for name in names],
            )

    # -- reading -------------------------------------------------------------------------
    def finished_keys(self, sweep_id: str) -> set[str]:
        """Point keys of ``sweep_id`` finished successfully (failed points are retried)."""
        cursor = self._connection.execute(
            "SELECT point_key FROM points WHERE sweep_id = ? AND status = 'ok'", (sweep_id,)
        )
        return {key for (key,) in cursor}

    def baseline(self, sweep_id: str) -> dict | None:
        """The reference metrics recorded by :meth:`begin_sweep`, or None."""
        found = self._connection.execute("SELECT baseline FROM sweeps WHERE sweep_id = ?", (sweep_id,)).fetchone()
        return None if found is None else json.loads(found[0])

    def sweep_ids(self) -> list[str]:
        return [sid for (sid,) in self._connection.execute("SELECT sweep_id FROM sweeps ORDER BY created_at")]

    def rows(self, sweep_id: str | None = None) -> list[dict]:
        """Points as dicts (``params`` and ``metrics`` decoded), in insertion order.

        Each metric is also a top-level key (``row["top1"]``), so rows read like table rows.
        """
        query = f"SELECT {', '.join(POINT_COLUMNS)} FROM points"
        args: tuple = ()
        if sweep_id is not None:
            query, args = query + " WHERE sweep_id = ?", (sweep_id,)
        rows = []
        for values in self._connection.execute(query + " ORDER BY rowid", args):
            row = dict(zip(POINT_COLUMNS, values, strict=True))
            row["params"] = json.loads(row["params"])
            row["metrics"] = json.loads(row["metrics"]) if row["metrics"] else {}
            rows.append({**row, **row["metrics"]})
        return rows

    def to_pandas(self, sweep_id: str | None = None):
        """The points as a pandas DataFrame, one column per metric (needs pandas)."""
        import pandas as pd

        rows = self.rows(sweep_id)
        for row in rows:
            row["params"] = json.dumps(row["params"], sort_keys=True)
            del row["metrics"]
        return pd.DataFrame(rows)

    def to_csv(self, path: str | os.PathLike, sweep_id: str | None = None) -> Path:
        """Write the points to a CSV file (one column per metric)."""
        return write_csv(self.rows(sweep_id), path)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def write_csv(rows: list[dict], path: str | os.PathLike) -> Path:
    """Rows (as from :meth:`ResultStore.rows`) to CSV, ``params`` as JSON, metrics flattened."""
    import csv

    path = Path(path)
    flat = []
    for row in rows:
        row = {k: v for k, v in row.items() if k != "metrics"}
        row["params"] = json.dumps(row["params"], sort_keys=True)
        flat.append(row)
    columns = list(dict.fromkeys(name for row in flat for name in row))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(flat)
    return path


def _open(path: Path) -> sqlite3.Connection:
    if path.is_dir():
        raise ValueError(f"results path {str(path)!r} is a folder; give a file name, e.g. results.sqlite")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"cannot write results to {str(path)!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        raise ValueError(f"cannot write results to {str(path)!r}: permission denied")
    try:
        connection = sqlite3.connect(path, timeout=30.0)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: commits survive a process kill, not a power cut
        connection.executescript(_SCHEMA)
    except sqlite3.DatabaseError as error:
        raise ValueError(f"cannot use {str(path)!r} as the results database: {error}") from error
    return connection


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
