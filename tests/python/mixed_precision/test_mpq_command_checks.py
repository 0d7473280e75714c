"""``edgequant mpq``: option and data checks (one line, the right exit status) and ``--db`` resumption."""

import numpy as np
import pytest

from edgequant.cli import main
from edgequant.mixed_precision import significance_worker as worker
from edgequant.zoo import load_test_set, model_path


def _mpq(capsys, *argv):
    code = main(["mpq", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("options, named", [
    (["--budget", "-1"], "--budget"),
    (["--budget", "0"], "--budget"),
    (["--budget", "nan"], "--budget"),
    (["--budget-bytes", "-5"], "--budget-bytes"),
    (["--budget", "3", "--workers", "0"], "--workers"),
    (["--budget", "3", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler"),
])
def test_impossible_options_are_usage_errors(tmp_path, capsys, digits_npz, options, named):
    code, out, err = _mpq(capsys, model_path(), "--data", digits_npz, *options, "--out", tmp_path / "bits.json")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err
    assert not (tmp_path / "bits.json").exists()


def test_complex_data_is_refused_not_truncated(tmp_path, capsys):
    x, y = load_test_set()
    np.savez(tmp_path / "complex.npz", x=x + 1j * x, y=y)
    code, out, err = _mpq(capsys, model_path(), "--data", tmp_path / "complex.npz", "--budget", "3",
                          "--workers", "1", "--out", tmp_path / "bits.json")
    assert code == 1
    assert err.strip().splitlines() == [f"edgequant mpq: error: --data {tmp_path / 'complex.npz'}: x must hold real "
                                        "numbers, got dtype complex64"]


def test_a_rerun_with_the_same_db_evaluates_nothing_and_writes_the_same_config(tmp_path, capsys, digits_npz,
                                                                               monkeypatch):
    evaluated = []
    evaluate = worker._evaluate
    monkeypatch.setattr(worker, "_evaluate", lambda *args: evaluated.append(args[1:]) or evaluate(*args))
    argv = [model_path("digits_cnn_small"), "--data", digits_npz, "--critical", "3,9", "--budget", "3",
            "--per-channel", "--workers", "1", "--db", tmp_path / "costs.sqlite"]
    code, out, err = _mpq(capsys, *argv, "--out", tmp_path / "first.json")
    assert code == 0, err
    assert len(evaluated) == 1 + 3 * 50  # FP32 + 50 channels at 2, 4 and 8 bits
    code, again, err = _mpq(capsys, *argv, "--out", tmp_path / "second.json")
    assert code == 0, err
    assert len(evaluated) == 1 + 3 * 50  # none more
    assert (tmp_path / "first.json").read_text() == (tmp_path / "second.json").read_text()
    assert again.replace("second.json", "first.json") == out
