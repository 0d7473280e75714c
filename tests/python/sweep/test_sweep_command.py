"""``edgequant sweep`` from the command line: defaults to the embedded model and data."""

import numpy as np

from edgequant import zoo
from edgequant.cli import main


def test_sweep_command_runs_and_writes_every_output(tmp_path, capsys):
    db, png, csv = tmp_path / "r.sqlite", tmp_path / "rd.png", tmp_path / "r.csv"
    arguments = [
        "sweep",
        "--db",
        str(db),
        "--methods",
        "midtread",
        "affine",
        "--max-bits",
        "3",
        "--workers",
        "1",
        "--plot",
        str(png),
        "--csv",
        str(csv),
        "--no-progress",
    ]
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert "reference (FP32) top1 = 0.9944" in out and "best: " in out
    assert "6 point(s) run, 0 already" in out
    assert png.stat().st_size > 0 and len(csv.read_text().splitlines()) == 7
    assert main(arguments) == 0  # resumed: nothing left to do
    assert "0 point(s) run, 6 already" in capsys.readouterr().out


def test_sweep_command_takes_an_npz_and_a_model(tmp_path, capsys):
    x, y = zoo.load_test_set()
    data = tmp_path / "d.npz"
    np.savez(data, x=x[:50], y=y[:50])
    arguments = [
        "sweep",
        str(zoo.model_path("digits_mlp")),
        "--data",
        str(data),
        "--db",
        str(tmp_path / "r.sqlite"),
        "--methods",
        "affine",
        "--max-bits",
        "2",
        "--workers",
        "1",
        "--no-progress",
    ]
    assert main(arguments) == 0
    assert "2 point(s) run" in capsys.readouterr().out


def test_sweep_command_bad_input_is_a_clear_error(tmp_path, capsys):
    small = ["--methods", "midtread", "--max-bits", "2"]
    bad = tmp_path / "bad.npz"
    np.savez(bad, inputs=np.zeros(3))
    assert main(["sweep", "--data", str(bad), "--db", str(tmp_path / "r.sqlite"), *small]) == 1
    assert "must hold an array 'x'" in capsys.readouterr().err
    assert main(["sweep", "--plot", str(tmp_path / "no" / "rd.png"), "--db", str(tmp_path / "r.sqlite")]) == 1
    assert "does not exist" in capsys.readouterr().err
    x, _ = zoo.load_test_set()
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=x.reshape(540, 64))
    assert main(["sweep", "--data", str(wrong), "--db", str(tmp_path / "r.sqlite"), *small]) == 1
    assert "inputs have shape (540, 64)" in capsys.readouterr().err
