"""Every CLI error is one line on stderr, never a traceback; usage errors exit 2, data errors 1
(issue 9). A folder where a file belongs, or the reverse, is a data error naming the path."""

from __future__ import annotations

import pytest

from edgequant.cli import main
from edgequant.zoo import model_path


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


def assert_one_line(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.fixture
def eqz(tmp_path, capsys):
    path = tmp_path / "m.eqz"
    assert main(["compress", str(model_path()), "--method", "midtread", "--levels", "16", "-o", str(path)]) == 0
    capsys.readouterr()  # compress's report (and its fidelity warning at 16 levels) is not the tests' output
    return path


def cases(tmp_path, eqz):
    folder = tmp_path / "folder"
    folder.mkdir()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    model = model_path()
    return {
        "decompress_folder_input": (["decompress", folder, "-o", tmp_path / "r.onnx"], "folder"),
        "decompress_folder_output": (["decompress", eqz, "-o", folder], "folder"),
        "decompress_output_under_a_file": (["decompress", eqz, "-o", a_file / "r.onnx"], "a_file"),
        "compress_folder_input": (["compress", folder, "--method", "midtread", "--levels", "8", "-o",
                                   tmp_path / "x.eqz"], "folder"),
        "compress_folder_output": (["compress", model, "--method", "midtread", "--levels", "8", "-o", folder],
                                   "folder"),
        "analyze_folder_input": (["analyze", folder], "folder"),
        "analyze_json_is_a_folder": (["analyze", model, "--json", folder], "folder"),
        "analyze_plot_is_a_file": (["analyze", model, "--plot", a_file], "a_file"),
        "sweep_folder_input": (["sweep", folder, "--db", tmp_path / "r.sqlite"], "folder"),
        "sweep_data_is_a_folder": (["sweep", "--data", folder, "--db", tmp_path / "r.sqlite"], "folder"),
        "sweep_db_is_a_folder": (["sweep", "--db", folder], "folder"),
        "sweep_plot_is_a_folder": (["sweep", "--db", tmp_path / "r.sqlite", "--plot", folder], "folder"),
        "sweep_csv_is_a_folder": (["sweep", "--db", tmp_path / "r.sqlite", "--csv", folder], "folder"),
        "demo_out_is_a_file": (["demo", "--out", a_file], "a_file"),
        "demo_out_under_a_file": (["demo", "--out", a_file / "sub"], "a_file"),
    }


CASES = ["decompress_folder_input", "decompress_folder_output", "decompress_output_under_a_file",
         "compress_folder_input", "compress_folder_output", "analyze_folder_input", "analyze_json_is_a_folder",
         "analyze_plot_is_a_file", "sweep_folder_input", "sweep_data_is_a_folder", "sweep_db_is_a_folder",
         "sweep_plot_is_a_folder", "sweep_csv_is_a_folder", "demo_out_is_a_file", "demo_out_under_a_file"]


@pytest.mark.parametrize("case", CASES)
def test_folder_for_file_and_file_for_folder(tmp_path, eqz, capsys, case):
    argv, word = cases(tmp_path, eqz)[case]
    code, err = run(capsys, *argv)
    assert code == 1, err
    assert_one_line(err, f"edgequant {argv[0]}: error:", word)


def test_midtread_without_levels_names_the_flag(tmp_path, capsys):
    code, err = run(capsys, "compress", model_path(), "--method", "midtread", "-o", tmp_path / "m.eqz")
    assert code == 2
    assert_one_line(err, "--levels")
    assert "__init__" not in err


@pytest.mark.parametrize("argv, word", [
    (["compress", "MODEL", "--method", "lloyd", "-o", "OUT"], "unknown method"),
    (["compress", "MODEL", "--method", "midtread", "--levels", "8", "--delta", "0.3", "-o", "OUT"], "--delta"),
    (["compress", "MODEL", "--method", "midtread", "--levels", "1", "-o", "OUT"], "levels"),
    (["compress", "MODEL", "--method", "deadzone", "--levels", "8", "-o", "OUT"], "--delta"),
    (["compress", "MODEL", "--method", "midtread", "--levels", "8", "--xmax", "big", "-o", "OUT"], "--xmax"),
    (["compress", "MODEL", "--method", "midtread", "--levels", "eight", "-o", "OUT"], "--levels"),
    (["compress", "MODEL", "--method", "midtread"], "--output"),
    (["decompress"], "eqz"),
    (["analyze", "MODEL", "--bins", "many"], "--bins"),
    (["analyze", "--no-such-flag"], "--no-such-flag"),
    (["sweep", "--methods", "lloyd"], "lloyd"),
    (["nonsense"], "nonsense"),
], ids=lambda v: "_".join(v) if isinstance(v, list) else None)
def test_usage_errors_exit_2_in_one_line(tmp_path, capsys, argv, word):
    argv = [str(model_path()) if a == "MODEL" else str(tmp_path / "o.eqz") if a == "OUT" else a for a in argv]
    code, err = run(capsys, *argv)
    assert code == 2, err
    assert_one_line(err, word)


def test_data_errors_exit_1_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.eqz"
    bad.write_bytes(b"EQZ1" + b"\0" * 20)
    for argv in (["decompress", bad, "-o", tmp_path / "r.onnx"], ["decompress", tmp_path / "missing.eqz", "-o",
                 tmp_path / "r.onnx"], ["analyze", bad], ["compress", bad, "--method", "midtread", "--levels", "8",
                                                           "-o", tmp_path / "x.eqz"]):
        code, err = run(capsys, *argv)
        assert code == 1, err
        assert_one_line(err, f"edgequant {argv[0]}: error:")


def test_an_unexpected_exception_is_one_line_too(monkeypatch, tmp_path, capsys, eqz):
    from edgequant import compress

    def broken(source):
        raise RuntimeError("something internal\nover two lines")

    monkeypatch.setattr(compress, "decompress_model", broken)
    code, err = run(capsys, "decompress", eqz, "-o", tmp_path / "r.onnx")
    assert code == 1
    assert_one_line(err, "RuntimeError", "something internal over two lines")
