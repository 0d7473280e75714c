"""run_sweep on the local process pool: rows equal a direct computation, reruns skip, views work."""

import json
import sqlite3

import numpy as np
import pytest
from sweep_fixtures import SMALL_GRID, comparable

from edgequant import zoo
from edgequant.evaluate import Evaluator
from edgequant.model import quantize_weights
from edgequant.sweep import make_quantizer, point_key, run_sweep


def test_rows_equal_a_direct_computation(clean_sweep, digits):
    x, y = digits
    result = clean_sweep
    assert [row["point_key"] for row in result.table] == [point_key(spec) for spec in SMALL_GRID]
    assert all(row["status"] == "ok" for row in result.table)
    evaluator = Evaluator(zoo.model_path(), x, y, threads=1)
    assert result.baseline == evaluator.evaluate(zoo.model_path())
    assert result.metric == "top1"
    for spec, row in zip(SMALL_GRID[::3], result.table[::3], strict=True):
        quantized = quantize_weights(zoo.model_path(), make_quantizer(spec))
        assert row["entropy"] == quantized.entropy
        assert row["compression_ratio"] == pytest.approx(32 / quantized.entropy)
        assert row["weight_sqnr_db"] == quantized.weight_sqnr_db
        assert row["metrics"] == evaluator.evaluate(quantized.model)
        for phase in ("quantize_s", "entropy_s", "evaluate_s"):
            assert row[phase] > 0


def test_rerun_skips_finished_points_and_extends_the_grid(clean_sweep, digits, tmp_path):
    x, y = digits
    db = tmp_path / "r.sqlite"
    first = run_sweep(zoo.model_path(), x, y, grid=SMALL_GRID[:3], db=db, progress=False, workers=1)
    assert first.timings["points_run"] == 3
    again = run_sweep(zoo.model_path(), x, y, grid=SMALL_GRID, db=db, progress=False, workers=1)
    assert again.timings["points_run"] == len(SMALL_GRID) - 3
    assert again.timings["points_skipped"] == 3
    assert comparable(again.table) == comparable(clean_sweep.table)
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM points").fetchone()[0] == len(SMALL_GRID)
    # Other data is another sweep: nothing is reused.
    other = run_sweep(zoo.model_path(), x[:100], y[:100], grid=SMALL_GRID[:1], db=db, progress=False, workers=1)
    assert other.sweep_id != again.sweep_id and other.timings["points_run"] == 1


def test_views_table_csv_pandas_plot(clean_sweep, tmp_path):
    result = clean_sweep
    frame = result.to_pandas()
    assert len(frame) == len(SMALL_GRID)
    assert {"method", "params", "entropy", "compression_ratio", "top1", "top1_agreement"} <= set(frame.columns)
    assert json.loads(frame["params"][0]) == SMALL_GRID[0]["params"]
    csv = result.to_csv(tmp_path / "points.csv").read_text().splitlines()
    assert len(csv) == len(SMALL_GRID) + 1 and "entropy" in csv[0]
    png = result.plot(tmp_path / "rd.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = result.best()
    assert best is not None and best["loss_pp"] <= 1.0
    ok_within = [r for r in result.table if 100 * (result.baseline["top1"] - r["top1"]) <= 1.0]
    assert best["entropy"] == min(r["entropy"] for r in ok_within)
    summary = result.summary()
    assert summary[0]["entropy"] == best["entropy"]
    assert "loss pp" in result.format_summary()


def test_without_labels_the_budget_is_on_agreement_with_fp32(digits, tmp_path):
    x, _ = digits
    result = run_sweep(
        zoo.model_path(),
        x,
        grid=SMALL_GRID[:2],
        db=tmp_path / "u.sqlite",
        progress=False,
        workers=1,
    )
    assert result.metric == "top1_agreement" and result.baseline["top1_agreement"] == 1.0
    assert "top1" not in result.table[0]


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"data": np.zeros((10, 64), np.float32)}, ValueError, r"inputs have shape \(10, 64\)"),
        ({"labels": "out of range"}, ValueError, "labels go up to 10 but"),
        ({"grid": [{"method": "nonesuch", "params": {}}]}, ValueError, "unknown method 'nonesuch'"),
        (
            {"grid": [{"method": "midtread", "params": {"levels": 1}}]},
            ValueError,
            "levels must be in",
        ),
        ({"grid": [{"method": "midtread", "params": {"bits": 3}}]}, ValueError, "is invalid.*bits"),
        ({"db": "missing-folder/r.sqlite"}, ValueError, "does not exist"),
        ({"db": "."}, ValueError, "is a folder"),
        ({"db": "not-sqlite.txt"}, ValueError, "cannot use .* as the results database"),
        ({"budget_pp": -1}, ValueError, "budget_pp must be >= 0"),
        ({"workers": 0}, ValueError, "workers must be an integer >= 1"),
        ({"executor": "dask"}, TypeError, "executor must be a concurrent.futures.Executor"),
        ({"roles": ["conv"]}, ValueError, "unknown role"),
    ],
)
def test_bad_input_fails_before_any_work(digits, tmp_path, monkeypatch, change, error, match):
    x, y = digits
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-sqlite.txt").write_text("this is not a database, " * 100)
    arguments = {"data": x, "labels": y, "grid": SMALL_GRID[:1], "db": tmp_path / "r.sqlite"}
    arguments.update(change)
    if isinstance(arguments["labels"], str):
        arguments["labels"] = y + 1
    monkeypatch.setattr("edgequant.sweep.runner.local_process_pool", _no_pool)
    with pytest.raises(error, match=match):
        run_sweep(zoo.model_path(), progress=False, **arguments)


def _no_pool(*args, **kwargs):
    raise AssertionError("work started before the input was checked")
