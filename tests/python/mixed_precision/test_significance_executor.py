"""Significance on a Dask LocalCluster: the serial costs exactly, through a killed worker and a killed client.

Every evaluation on a worker is logged by a worker plugin (significance_counting.py), so the
tests count what was computed: once each on a clean run, and twice only for the evaluations of
the batch a dead worker or client lost.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import edgequant
from edgequant import zoo
from edgequant.cli import main
from edgequant.mixed_precision import list_components, significance_tables
from edgequant.mixed_precision.significance_jobs import _batches

distributed = pytest.importorskip("distributed")
from significance_counting import CountEvaluations, evaluations, read_log  # noqa: E402 - needs distributed

MODEL = "digits_cnn_small"  # 50 output channels: 101 evaluations at two widths, ~0.3 s serial
CRITICAL = [3, 9]
CHOICES = (2, 4)


@pytest.fixture(scope="module")
def data():
    return zoo.load_test_set()


@pytest.fixture(scope="module")
def serial(data):
    x, y = data
    return significance_tables(zoo.model_path(MODEL), x, y, CRITICAL, CHOICES, per_channel=True, workers=1,
                               progress=False)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def counting(client, tmp_path):
    """Install the logging plugin on every worker (present and future); remove it after the test."""
    def install(**options) -> Path:
        log = tmp_path / "evaluations.log"
        client.register_plugin(CountEvaluations(log, marker=tmp_path / "killed", **options), name=CountEvaluations.name)
        return log

    yield install
    client.unregister_worker_plugin(CountEvaluations.name)


def _every_evaluation() -> set[tuple[str, int]]:
    names = [c.name for c in list_components(zoo.model_path(MODEL), per_channel=True)]
    return {("", 0)} | {(name, bits) for name in names for bits in CHOICES}


def _batch_size(capacity: int = 2) -> int:
    return len(_batches(sorted(_every_evaluation()), capacity)[0])


def test_dask_costs_equal_the_serial_run_and_the_job_reaches_each_worker_once(client, counting, data, serial):
    log = counting()
    x, y = data
    tables = significance_tables(zoo.model_path(MODEL), x, y, CRITICAL, CHOICES, per_channel=True,
                                 executor=client.get_executor(), progress=False)
    assert tables == serial  # exactly: the same runner, the same float operations, whatever the worker
    done = evaluations(log)
    assert sorted(done) == sorted(_every_evaluation())  # each once
    loads = [pid for name, _, pid in read_log(log) if name == "load"]
    assert 1 <= len(loads) == len(set(loads)) <= 2  # the runner built once per worker process
    assert client.run(_jobs_held) == dict.fromkeys(client.run(os.getpid), [])  # and freed after the run


def _jobs_held() -> list[str]:
    from edgequant.mixed_precision import significance_worker

    return list(significance_worker._LOADED)


def test_a_worker_killed_mid_run_loses_only_its_batch(client, counting, data, serial, tmp_path):
    log = counting(delay=0.02, kill_after=40)
    x, y = data
    tables = significance_tables(zoo.model_path(MODEL), x, y, CRITICAL, CHOICES, per_channel=True,
                                 executor=client.get_executor(), progress=False, db=tmp_path / "costs.sqlite")
    assert tables == serial
    killed = (tmp_path / "killed").read_text()
    assert killed not in {str(pid) for pid in client.run(os.getpid).values()}  # it did die
    done = [(name, int(bits), pid) for name, bits, pid in read_log(log) if name != "load"]
    first = {}
    for name, bits, pid in done:
        first.setdefault(("" if name == "''" else name, bits), pid)
    twice = {key for key in first if sum(1 for n, b, _ in done if (("" if n == "''" else n), b) == key) > 1}
    assert set(first) == _every_evaluation()
    assert len(twice) <= _batch_size() and all(first[key] == killed for key in twice), (twice, killed)
    with sqlite3.connect(tmp_path / "costs.sqlite") as db:
        assert db.execute("SELECT count(*) FROM significance_evaluations").fetchone()[0] == len(_every_evaluation())


def test_a_killed_client_resumes_from_the_db(client, counting, data, serial, tmp_path):
    log = counting(delay=0.03)
    x, y = data
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    db = tmp_path / "costs.sqlite"
    argv = ["mpq", str(zoo.model_path(MODEL)), "--data", str(tmp_path / "digits.npz"), "--critical", "3,9",
            "--budget", "3", "--bits", "2", "4", "--per-channel", "--scheduler", client.scheduler.address,
            "--db", str(db), "--out", str(tmp_path / "bits.json")]
    source = str(Path(edgequant.__file__).parents[1])
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    first_run = subprocess.Popen([sys.executable, "-m", "edgequant", *argv], env=environment,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _recorded(db) == set() and first_run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert first_run.poll() is None, first_run.stderr.read().decode()  # still running: kill it mid-run
        os.kill(first_run.pid, signal.SIGKILL)
    finally:
        first_run.kill()
        first_run.wait()
        first_run.stderr.close()
    _wait_until_idle(client, log)
    recorded, before = _recorded(db), evaluations(log)
    assert 0 < len(recorded) < len(_every_evaluation())
    in_flight = 2 * 2 * _batch_size()  # two batches per worker: what the client had not received
    assert len(before) - len(recorded) <= in_flight

    assert main(argv) == 0  # the same command again, in this process
    again = evaluations(log)[len(before):]
    assert sorted(again) == sorted(_every_evaluation() - recorded)  # nothing recorded is computed again
    config = json.loads((tmp_path / "bits.json").read_text())
    semantic, generic = serial
    assert config["significance"]["semantic"] == {n: {str(b): v for b, v in row.items()} for n, row in semantic.items()}
    assert config["significance"]["generic"] == {n: {str(b): v for b, v in row.items()} for n, row in generic.items()}


def _recorded(db: Path) -> set[tuple[str, int]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return set(connection.execute("SELECT component, bits FROM significance_evaluations"))
    except sqlite3.OperationalError:  # not created yet
        return set()


def _wait_until_idle(client, log: Path, timeout: float = 60.0) -> None:
    """Until the batches the killed client left running have finished (the log stops growing)."""
    deadline, seen, quiet_since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(read_log(log))
        busy = any(client.processing().values())
        if count != seen or busy:
            seen, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since > 0.5:
            return
        time.sleep(0.05)
    raise AssertionError("the cluster did not become idle")
