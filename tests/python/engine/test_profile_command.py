"""The profile subcommand end to end on a small model."""

import json

from edgequant import zoo
from edgequant.cli import main


def test_profile_writes_json(tmp_path, capsys):
    out = tmp_path / "profile.json"
    code = main(["profile", str(zoo.model_path()), "--mode", "dynamic", "--runs", "3", "--warmup", "1",
                 "--threads", "1", "--json", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    run = results["runs"]["edgequant dynamic"]
    assert run["p50_ms"] > 0 and run["layers"] and results["model_bytes"] > 0
    assert "slowest layers" in capsys.readouterr().out


def test_profile_missing_model(tmp_path):
    assert main(["profile", str(tmp_path / "missing.onnx")]) == 1
