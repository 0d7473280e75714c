"""The device choice: CUDA when present, else the CPU, and the grid runner (so the CIFAR-10 script,
which passes no device) leaves the choice to it. No GPU is needed: the CUDA check is patched."""

import pytest

torch = pytest.importorskip("torch")

import edgequant.training.trainer as trainer  # noqa: E402
from edgequant.training import Protocol, digits_data, run_training_grid, training_grid  # noqa: E402


def test_pick_device_prefers_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert trainer.pick_device() == torch.device("cuda")
    assert trainer.pick_device("cpu") == torch.device("cpu")  # an explicit choice wins
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert trainer.pick_device() == torch.device("cpu")


def test_grid_runs_leave_the_device_to_pick_device(monkeypatch, tmp_path):
    asked = []
    real = trainer.pick_device

    def spy(device=None):
        asked.append(device)
        return real("cpu")

    monkeypatch.setattr(trainer, "pick_device", spy)
    rows = run_training_grid(digits_data(), training_grid([0.5], [8], [0.05]), tmp_path / "results.sqlite",
                             Protocol(model="digits_cnn", epochs=1, batch_size=64), threads=1, progress=False)
    assert rows[0]["status"] == "ok", rows[0].get("error")
    assert asked and asked[0] is None  # no device given: CUDA would be taken when present
