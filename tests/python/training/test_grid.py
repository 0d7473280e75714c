"""The quick default end to end: a digits grid in the sweeps' store, resumed, tabulated, plotted, exported."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgequant.sweep.store import ResultStore  # noqa: E402
from edgequant.training import (  # noqa: E402
    Protocol,
    digits_data,
    run_training_grid,
    training_grid,
)
from edgequant.training import grid as grid_module  # noqa: E402
from edgequant.training.export import export_runs  # noqa: E402
from edgequant.training.plots import plot_figures  # noqa: E402
from edgequant.training.tables import markdown, table_i, table_ii  # noqa: E402

PROTOCOL = Protocol(model="digits_cnn", epochs=8, patience=3, batch_size=16)


@pytest.fixture(scope="module")
def digits():
    return digits_data()


@pytest.fixture(scope="module")
def finished(digits, tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    rows = run_training_grid(digits, training_grid((0.0, 0.5), (32, 4), (0.02,)), folder / "results.sqlite",
                             PROTOCOL, checkpoints=folder / "checkpoints", threads=1, progress=False)
    return folder, rows


def test_grid_rows_are_complete(finished):
    _, rows = finished
    assert [(r["params"]["gamma"], r["params"]["bits"]) for r in rows] == [(0.0, 32), (0.0, 4), (0.5, 32), (0.5, 4)]
    for row in rows:
        assert row["status"] == "ok", row["error"]
        assert row["method"] == "prune_quantize_training"
        assert 0 < row["density"] <= 1 and 0 <= row["test_acc"] <= 1
        assert 1 <= row["best_epoch"] <= row["epochs_run"] <= PROTOCOL.epochs
        assert len(row["history"]["val_acc"]) == row["epochs_run"]
        assert row["val_acc"] == max(row["history"]["val_acc"][:row["best_epoch"]])
        assert row["test_acc_paper"] == max(row["history"]["test_acc"])
    baseline = rows[0]
    assert baseline["density"] == 1.0 and baseline["test_acc"] > 0.5  # it learned
    assert rows[3]["density"] < 0.9  # γ = 0.5 pruned


def test_rerun_skips_finished_runs_and_retries_failed_ones(finished, digits, monkeypatch):
    folder, rows = finished
    db = folder / "results.sqlite"
    calls = []
    real = grid_module.run_grid_point

    def counting(task, point):
        calls.append(point)
        return real(task, point)

    monkeypatch.setattr(grid_module, "run_grid_point", counting)
    grid = training_grid((0.0, 0.5), (32, 4), (0.02, 1e9))  # lr = 1e9 diverges: an error row
    again = run_training_grid(digits, grid, db, PROTOCOL, progress=False)
    assert sorted(p["lr"] for p in calls) == [1e9] * 4
    failed = [r for r in again if r["status"] == "error"]
    assert len(failed) == 4 and all("diverged" in r["error"] or "NaN" in r["error"] for r in failed)
    calls.clear()
    run_training_grid(digits, grid, db, PROTOCOL, progress=False)
    assert len(calls) == 4  # failed runs are retried, finished ones are not
    with ResultStore(db) as store:
        assert len(store.sweep_ids()) == 1


def test_tables_and_figures(finished):
    folder, rows = finished
    first = table_i(rows)
    assert [line["gamma"] for line in first] == [0.0, 0.5]
    assert first[0]["32 bits"].startswith(f"{100 * rows[0]['test_acc']:.2f}% (100.00%)")
    assert first[0]["32 bits (paper)"] == "87.21% (100.00%)"
    second = table_ii(rows, bits=(4,))
    assert second[0]["gamma"] == 0.5 and second[0]["rho=1 4 bits (paper)"] == 87.09
    assert "| gamma |" in markdown(second)
    paths = plot_figures(rows, folder)
    assert [p.name[:4] for p in paths] == ["fig2", "fig3", "fig4", "fig5", "fig6", "fig7"]
    assert all(p.stat().st_size > 5000 for p in paths)


def test_export_codes_the_compressed_runs(finished):
    from edgequant.compress import decompress_model

    folder, rows = finished
    table = export_runs(rows, folder / "checkpoints", folder)
    assert [(r["gamma"], r["bits"]) for r in table] == [(0.0, 4), (0.5, 4)]
    pruned = table[1]
    assert pruned["coded bits/weight"] < 4  # far below float32's 32 bits: zeros and 4-bit symbols coded
    assert pruned["PE measured (ρ=1)"] > 1
    restored = decompress_model(folder / "g0.5_b4_lr0.02.eqz")
    saved = torch.load(next((folder / "checkpoints").glob("*.pt")), weights_only=True)
    assert saved["model"] == "digits_cnn"
    names = {t.name for t in restored.graph.initializer}
    assert "0.0.weight" in names and "1.1.weight" in names


def test_bad_grids_fail_before_training(digits, tmp_path):
    with pytest.raises(ValueError, match="empty"):
        training_grid((), (4,), (0.1,))
    with pytest.raises(ValueError, match="workers"):
        run_training_grid(digits, training_grid((0.0,), (32,), (0.1,)), tmp_path / "r.sqlite", workers=0)
    with pytest.raises(KeyError):
        run_training_grid(digits, [{"gamma": 0.0}], tmp_path / "r.sqlite")
    with pytest.raises(ValueError, match="folder"):
        run_training_grid(digits, training_grid((0.0,), (32,), (0.1,)), tmp_path / "missing" / "r.sqlite")


def test_bad_run_arguments_are_error_rows_not_crashes(digits, tmp_path):
    rows = run_training_grid(digits, [{"gamma": -1.0, "bits": 4, "lr": 0.1}, {"gamma": 0.5, "bits": 1, "lr": 0.1}],
                             tmp_path / "r.sqlite", Protocol(epochs=1), progress=False)
    assert [r["status"] for r in rows] == ["error", "error"]
    assert "gamma" in rows[0]["error"] and "bits" in rows[1]["error"]
    assert json.loads(rows[0]["point_key"])["gamma"] == -1.0
    assert np.isfinite(rows[0]["evaluate_s"])
