"""Significance resumes from the SQLite results file and runs on any ``concurrent.futures`` executor."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from edgequant import zoo
from edgequant.engine import engine_available
from edgequant.mixed_precision import layer_costs, significance_tables
from edgequant.mixed_precision import significance_worker as worker
from edgequant.mixed_precision.significance_jobs import _batches
from edgequant.mixed_precision.significance_store import SignificanceStore
from edgequant.sweep.store import ResultStore


@pytest.fixture
def evaluated(monkeypatch):
    """Every evaluation made in this process, as ``(component, bits)`` (``("", 0)``: the FP32 model)."""
    done = []
    evaluate = worker._evaluate

    def counting(loaded, component, bits):
        done.append(("" if component is None else component.name, bits))
        return evaluate(loaded, component, bits)

    monkeypatch.setattr(worker, "_evaluate", counting)
    return done


@pytest.fixture(scope="module")
def digits():
    return zoo.load_test_set()


def test_a_rerun_with_the_same_db_evaluates_only_what_is_missing(tmp_path, evaluated, digits, capsys):
    x, y = digits
    db = tmp_path / "costs.sqlite"
    first = layer_costs(zoo.model_path(), x, y, [3, 9], (2, 4, 8), workers=1, db=db, progress=False)
    assert sorted(evaluated) == sorted([("", 0)] + [(c, b) for c in first for b in (2, 4, 8)])

    evaluated.clear()
    assert layer_costs(zoo.model_path(), x, y, [3, 9], (2, 4, 8), workers=1, db=db, progress=False) == first
    assert evaluated == []  # all recorded

    with sqlite3.connect(db) as connection:  # as if the run had died before these two
        connection.execute("DELETE FROM significance_evaluations WHERE (component = '3.weight' AND bits = 4) "
                           "OR component = ''")
    capsys.readouterr()
    assert layer_costs(zoo.model_path(), x, y, [3, 9], (2, 4, 8), workers=1, db=db, progress=True) == first
    assert sorted(evaluated) == [("", 0), ("3.weight", 4)]
    bar = capsys.readouterr().err  # over the whole job, the recorded evaluations counted as done
    assert "significance:  80%" in bar and "| 8/10 [" in bar, bar


def test_another_loss_set_data_or_backend_is_another_job(tmp_path, evaluated, digits):
    x, y = digits
    db = tmp_path / "costs.sqlite"
    runs = [dict(critical=[3, 9]), dict(critical=[1, 7]), dict(critical=None), dict(critical=[3, 9], batch_size=100)]
    if engine_available():
        runs.append(dict(critical=[3, 9], backend="edgequant"))
    for options in runs:
        layer_costs(zoo.model_path(), x, y, choices=(2,), workers=1, db=db, progress=False, **options)
    changed = x.copy()
    changed[0, 0, 0, 0] += 0.5
    layer_costs(zoo.model_path(), changed, y, [3, 9], choices=(2,), workers=1, db=db, progress=False)
    assert len(evaluated) == (len(runs) + 1) * 4  # nothing reused: FP32 + 3 tensors, every time
    with SignificanceStore(db) as store:
        assert len(store.job_ids()) == len(runs) + 1
    with ResultStore(db) as sweeps:  # the sweeps' tables share the file untouched
        assert sweeps.sweep_ids() == []


def test_any_executor_gives_the_serial_costs_with_the_job_sent_on_demand(evaluated, monkeypatch, digits):
    x, y = digits
    model = zoo.model_path("digits_cnn_small")
    serial = significance_tables(model, x, y, [3, 9], (2, 4), per_channel=True, workers=1, progress=False)
    evaluated.clear()
    loads = []
    load = worker.load
    monkeypatch.setattr(worker, "load", lambda job, in_worker=True: loads.append(job.key) or load(job, in_worker))
    with ThreadPoolExecutor(2) as pool:
        tables = significance_tables(model, x, y, [3, 9], (2, 4), per_channel=True, executor=pool, progress=False)
    assert tables == serial
    assert len(evaluated) == len(set(evaluated)) == 1 + 2 * len(serial[0])  # each evaluation once
    assert 1 <= len(loads) <= 2 and not worker._LOADED  # one process, one runner; released after


def test_arguments_are_checked_before_any_evaluation(tmp_path, evaluated, digits):
    x, y = digits
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        layer_costs(zoo.model_path(), x, y, [3, 9], executor="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        layer_costs(zoo.model_path(), x, y, [3, 9], workers=0)
    with pytest.raises(ValueError, match="is a folder"):
        layer_costs(zoo.model_path(), x, y, [3, 9], workers=1, db=tmp_path)
    assert evaluated == []


def test_batches_are_sized_to_keep_every_worker_busy():
    assert [len(b) for b in _batches(list(range(101)), 2)] == [13] * 7 + [10]  # four or more per worker
    assert max(len(b) for b in _batches(list(range(14_000)), 16)) == 32  # what a dead worker loses stays small
    assert [len(b) for b in _batches(list(range(3)), 8)] == [1, 1, 1]
