"""``edgequant train-pq`` from the command line, on the quick default (digits)."""

import pytest

torch = pytest.importorskip("torch")

from edgequant.cli import main  # noqa: E402


def test_train_pq_runs_and_writes_every_output(tmp_path, capsys):
    out = tmp_path / "run"
    arguments = ["train-pq", "--gammas", "0", "0.5", "--bits", "32", "8", "--epochs", "2", "--out", str(out),
                 "--no-progress", "--threads", "1"]
    assert main(arguments) == 0
    text = capsys.readouterr().out
    assert "Table I" in text and "Table II" in text and "coded bits/weight" in text
    assert (out / "results.sqlite").is_file() and len(list(out.glob("fig*.png"))) == 6
    assert len(list(out.glob("*.eqz"))) == 2 and len(list((out / "checkpoints").glob("*.pt"))) == 4
    assert main(arguments) == 0  # resumed: nothing left to train, same report


@pytest.mark.parametrize("extra, message", [
    (["--epochs", "0"], "--epochs"),
    (["--gammas", "-1"], "gamma"),
    (["--bits", "1"], "bits"),
])
def test_train_pq_bad_input_is_a_clear_error(tmp_path, capsys, extra, message):
    code = main(["train-pq", "--out", str(tmp_path / "o"), "--no-progress", "--epochs", "1", *extra])
    assert code == 2  # a usage error, refused while the command line is parsed
    captured = capsys.readouterr()
    assert message in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_train_pq_out_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["train-pq", "--out", str(tmp_path / "file")]) == 1
    assert "is a file" in capsys.readouterr().err
