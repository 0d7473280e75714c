"""Long compression-aware runs (issue 24): exact resumption, budgets, divergence, the MNIST split
and the report, on scikit-learn's digits (a few hundred steps, seconds)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgequant.training import long_run  # noqa: E402
from edgequant.training.long_run import LongRunConfig, load_trace, train_long, weight_statistics  # noqa: E402
from edgequant.training.long_run_report import summary_table, write_report  # noqa: E402

DIGITS = LongRunConfig(dataset="digits", mode="pruned-shadow", gamma=0.375, bits=8, lr=0.05)


def _weights(folder):
    return torch.load(folder / "checkpoint.pt", weights_only=False)["model"]


def _comparable(records):
    return [{k: v for k, v in r.items() if k != "train_s"} for r in records]


@pytest.mark.parametrize("mode", ["pruned-shadow", "paper", "frozen", "straight-through"])
def test_a_run_cut_anywhere_resumes_bit_for_bit(tmp_path, mode):
    config = LongRunConfig(dataset="digits", mode=mode, gamma=0.375, bits=8, lr=0.05, warmup_steps=20)
    whole = train_long(config, tmp_path / "whole", steps=90, record_every=30, progress=False)
    train_long(config, tmp_path / "cut", steps=47, record_every=30, progress=False)  # mid-epoch (34 per epoch)
    resumed = train_long(config, tmp_path / "cut", steps=90, record_every=30, progress=False)
    assert whole.status == resumed.status == "done"
    first, second = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    assert all(torch.equal(first[k], second[k]) for k in first)
    # the cut run has one record more (step 47), which also splits the running loss of step 50's
    # record; everything else recorded is identical
    cut = [r for r in _comparable(resumed.records) if r["step"] != 47]
    whole_records = _comparable(whole.records)
    for record in (*cut, *whole_records):
        if record["step"] == 50:
            del record["loss"], record["train_acc"]
    assert cut == whole_records
    assert [r["step"] for r in whole.records] == [0, 25, 30, 50, 60, 90]


def test_records_hold_the_per_layer_statistics(tmp_path):
    trace = train_long(DIGITS, tmp_path, steps=30, record_every=30, progress=False)
    last = trace.records[-1]
    assert set(last) >= {"step", "epoch", "loss", "train_acc", "test_acc", "density", "layers"}
    layer = last["layers"]["1.1.weight"]
    assert set(layer) == {"density", "beta", "q", "std", "kurtosis", "kurtosis_survivors", "rms_survivors",
                          "max_abs", "norm"}
    assert 0 < layer["density"] < 1 and layer["beta"] > 0 and layer["q"] > 0
    assert 0 < last["density"] < trace.records[0]["density"] <= 1  # γ = 0.375 has pruned
    assert load_trace(tmp_path).records == trace.records


def test_weight_statistics_against_numpy():
    w = torch.tensor([0.0, 0.0, 1.0, -2.0, 3.0, 0.5], dtype=torch.float32)
    stats = weight_statistics(w)
    x = w.double().numpy()
    centred = x - x.mean()
    assert np.isclose(stats["std"], x.std())
    assert np.isclose(stats["kurtosis"], (centred ** 4).mean() / x.var() ** 2 - 3)
    nonzero = x[x != 0]
    assert np.isclose(stats["kurtosis_survivors"],
                      ((nonzero - nonzero.mean()) ** 4).mean() / nonzero.var() ** 2 - 3)
    assert np.isclose(stats["rms_survivors"], np.sqrt((nonzero ** 2).mean()))
    assert stats["max_abs"] == 3.0 and np.isclose(stats["norm"], np.linalg.norm(x))
    empty = weight_statistics(torch.zeros(4))
    assert empty["kurtosis"] is None and empty["rms_survivors"] == 0.0


def test_a_budget_stops_at_an_epoch_end_and_the_next_call_goes_on(tmp_path):
    stopped = train_long(DIGITS, tmp_path, steps=200, budget_s=0.0, progress=False)
    assert stopped.status == "stopped" and "budget" in stopped.reason
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 34  # one epoch (1,078 images)
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "stopped"
    done = train_long(DIGITS, tmp_path, steps=70, progress=False)
    assert done.status == "done" and done.steps == 70


def test_divergence_is_reported_not_raised(tmp_path):
    config = LongRunConfig(dataset="digits", mode="paper", gamma=0.375, bits=8, lr=1e30, momentum=0.0)
    trace = train_long(config, tmp_path, steps=100, progress=False)
    assert trace.status == "diverged"
    assert "diverged" in trace.records[-1]
    assert load_trace(tmp_path).status == "diverged"
    assert "diverged" in summary_table([trace])


def test_a_folder_of_another_run_is_refused(tmp_path):
    train_long(DIGITS, tmp_path, steps=5, progress=False)
    with pytest.raises(ValueError, match="another run"):
        train_long(LongRunConfig(dataset="digits", lr=0.01), tmp_path, steps=5, progress=False)


@pytest.mark.parametrize("fields, match", [
    ({"dataset": "imagenet"}, "dataset"), ({"mode": "magic"}, "mode"), ({"lr": 0.0}, "lr"),
    ({"lr": float("nan")}, "lr"), ({"grid": "x"}, "grid"), ({"threshold_std": "x"}, "threshold_std"),
    ({"batch_size": 1}, "batch_size"), ({"model": "resnet"}, "model"),
])
def test_bad_configs_raise_clear_errors(fields, match):
    with pytest.raises(ValueError, match=match):
        LongRunConfig(**fields)


def test_names_and_labels_tell_runs_apart():
    assert DIGITS.name == "digits-pruned-shadow-g0.375-b8-lr0.05"
    other = LongRunConfig(threshold_std="survivors", grid="threshold", weight_decay=0.0, reset_pruned_momentum=True)
    assert other.name == "mnist-paper-g0.375-b8-lr0.01-wd0-std-survivors-grid-threshold-reset-momentum"
    assert "levels from β" in other.label() and "std over survivors" in other.label()
    assert DIGITS.label().startswith("digits ") and not other.label().startswith("mnist")


def test_report_writes_figures_and_tables(tmp_path):
    for lr in (0.05, 0.01):
        config = LongRunConfig(dataset="digits", mode="pruned-shadow", gamma=0.375, bits=8, lr=lr)
        train_long(config, tmp_path / config.name, steps=60, record_every=30, progress=False)
    text = write_report(tmp_path, paper={(0.375, 8): (84.78, 8.68)})
    assert (tmp_path / "density_accuracy.png").stat().st_size > 10_000
    assert (tmp_path / "layers.png").stat().st_size > 10_000
    assert "pruned-shadow γ=0.375 b=8 lr=0.05" in text and "84.78 (8.68)" in text
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "nothing")


def test_report_orders_runs_of_every_sitting_by_the_plan(tmp_path):
    plan = [(dict(dataset="digits", mode="pruned-shadow", gamma=0.375, bits=8, lr=lr), 30) for lr in (0.05, 0.01)]
    first, second = (LongRunConfig(**fields) for fields, _ in plan)
    train_long(second, tmp_path / "now" / second.name, steps=30, record_every=30, progress=False)
    earlier = [train_long(first, tmp_path / "earlier" / first.name, steps=30, record_every=30, progress=False)]
    text = write_report(tmp_path / "now", plan, earlier=earlier)
    rows = [line for line in text.splitlines() if line.startswith("| digits")]
    assert [row.split(" | ")[0] for row in rows] == [f"| {first.label()}", f"| {second.label()}"]
    assert [run["config"]["lr"] for run in json.loads((tmp_path / "now" / "traces.json").read_text())["runs"]] \
        == [0.05, 0.01]


def test_mnist_split_is_stratified_seeded_and_disjoint():
    from edgequant.training.data import mnist_data

    data = mnist_data()
    assert data.x_train.shape == (8000, 1, 28, 28) and data.x_test.shape == (2000, 1, 28, 28)
    assert len(data.y_val) == 0 and data.x_train.dtype == np.float32 and data.x_train.max() <= 1.0
    counts = np.bincount(data.y_test, minlength=10) / 2000
    assert np.all(np.abs(counts - np.bincount(data.y_train, minlength=10) / 8000) < 0.002)
    train_rows = {row.tobytes() for row in data.x_train[:500]}
    assert not train_rows & {row.tobytes() for row in data.x_test}
    again = mnist_data()
    assert np.array_equal(again.y_train, data.y_train)
    assert len(mnist_data(validation=0.1).y_val) == 800
    with pytest.raises(ValueError, match="train_images"):
        mnist_data(train_images=10_000)


def test_a_truncated_checkpoint_is_a_clear_error(tmp_path):
    train_long(DIGITS, tmp_path, steps=5, progress=False)
    data = (tmp_path / "checkpoint.pt").read_bytes()
    (tmp_path / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot be read.*delete it"):
        train_long(DIGITS, tmp_path, steps=10, progress=False)


def test_a_run_being_trained_elsewhere_is_refused(tmp_path):
    import fcntl

    train_long(DIGITS, tmp_path, steps=5, progress=False)
    with open(tmp_path / "lock", "w") as held:  # what another process training the run holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RuntimeError, match="another process"):
            train_long(DIGITS, tmp_path, steps=10, progress=False)
    assert train_long(DIGITS, tmp_path, steps=10, progress=False).status == "done"


def test_a_dead_network_is_recognised_only_over_the_whole_window():
    from edgequant.training.long_run import _dead_for

    def records(accuracies, every=2000):
        return [{"step": i * every, "test_acc": a} for i, a in enumerate(accuracies)]

    assert _dead_for(records([0.98] + [0.11] * 11), 20_000)
    assert not _dead_for(records([0.98] * 2 + [0.11] * 10), 20_000)  # 18,000 steps dead so far
    assert not _dead_for(records([0.11] * 5), 20_000)  # the window is not covered yet
    assert not _dead_for(records([0.98] + [0.11] * 5 + [0.5] + [0.11] * 5), 20_000)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the device machine, not CI)")
def test_a_run_trains_on_a_gpu_and_continues_on_the_cpu_from_its_checkpoint(tmp_path):
    gpu = train_long(DIGITS, tmp_path, steps=40, record_every=20, progress=False, device="cuda")
    assert gpu.status == "done" and gpu.records[-1]["density"] < 0.9  # the compressor's torch path pruned
    cpu = train_long(DIGITS, tmp_path, steps=80, record_every=20, progress=False, device="cpu")
    assert cpu.status == "done" and cpu.steps == 80 and cpu.records[-1]["test_acc"] > 0.2  # learning: > 2× chance


def test_a_device_that_is_not_there_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="torch device"):
        train_long(DIGITS, tmp_path / "bogus", steps=5, progress=False, device="no-such-device")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            train_long(DIGITS, tmp_path / "cuda", steps=5, progress=False, device="cuda")
    assert not (tmp_path / "bogus").exists() and not (tmp_path / "cuda").exists()


def _as_on_a_gpu(monkeypatch):
    from edgequant.training import compressor

    monkeypatch.setattr(long_run, "_defers_checks", lambda device: True)
    monkeypatch.setattr(compressor, "_core_can_view", lambda weight: False)


@pytest.mark.parametrize("config", [DIGITS, LongRunConfig(dataset="digits", mode="paper", gamma=0.0, bits=32,
                                                          lr=0.05)])
def test_checks_deferred_to_records_give_the_same_run(tmp_path, monkeypatch, config):
    # what a GPU run does (the compressor's torch path; no wait per step: loss, accuracy and NaN/Inf
    # looked at when recording), here on the CPU: every record is the one a run that checks each step writes
    from edgequant.training import compressor

    monkeypatch.setattr(compressor, "_core_can_view", lambda weight: False)
    checked = train_long(config, tmp_path / "checked", steps=60, record_every=30, progress=False)
    _as_on_a_gpu(monkeypatch)
    deferred = train_long(config, tmp_path / "deferred", steps=60, record_every=30, progress=False)
    assert _comparable(deferred.records) == _comparable(checked.records)
    first, second = _weights(tmp_path / "checked"), _weights(tmp_path / "deferred")
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_deferred_divergence_is_reported_at_the_next_record(tmp_path, monkeypatch):
    _as_on_a_gpu(monkeypatch)
    config = LongRunConfig(dataset="digits", mode="paper", gamma=0.375, bits=8, lr=1e30, momentum=0.0)
    trace = train_long(config, tmp_path, steps=100, progress=False)
    assert trace.status == "diverged" and "steps 1-" in trace.reason
    assert "diverged" in trace.records[-1]


def test_an_epoch_drawn_up_front_is_the_epoch_drawn_batch_by_batch():
    from edgequant.training.trainer import draw_epoch, epoch_batches

    x, y = torch.arange(65 * 4, dtype=torch.float32).reshape(65, 1, 2, 2), torch.arange(65)
    one, two = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    # batch by batch (how a checkpoint written before draw_epoch resumes): the permutation, then each batch's flips
    batch_by_batch = list(epoch_batches(x, y, 32, one, True, "cpu", order=torch.randperm(65, generator=one)))
    order, flips = draw_epoch(65, 32, two, True)
    up_front = list(epoch_batches(x, y, 32, two, True, "cpu", order=order, flips=flips))
    assert len(up_front) == len(batch_by_batch) == 2  # 65 = 32 + 32 + 1: a batch of one is skipped (BatchNorm)
    for (x_one, y_one), (x_two, y_two) in zip(up_front, batch_by_batch, strict=True):
        assert torch.equal(x_one, x_two) and torch.equal(y_one, y_two)
    assert torch.equal(one.get_state(), two.get_state())  # the next epoch starts from the same state
    assert bool(flips.any()) and not bool(flips.all())
    three = torch.Generator().manual_seed(3)  # a fresh epoch is drawn up front
    fresh = list(epoch_batches(x, y, 32, three, True, "cpu"))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(fresh, up_front, strict=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the device machine, not CI)")
def test_a_gpu_run_waits_only_at_records_and_still_reports_divergence(tmp_path):
    config = LongRunConfig(dataset="digits", mode="paper", gamma=0.375, bits=8, lr=1e30, momentum=0.0)
    trace = train_long(config, tmp_path / "nan", steps=100, progress=False, device="cuda")
    assert trace.status == "diverged" and "steps 1-" in trace.reason
    checked = train_long(DIGITS, tmp_path / "ok", steps=60, record_every=30, progress=False, device="cuda")
    assert checked.status == "done" and all(isinstance(r["loss"], float) for r in checked.records[1:])
