"""``profile --plot``: a folder gets the plot inside it, not ``FOLDER.png`` beside it (issue 22)."""

from __future__ import annotations

import shutil

import pytest

from edgequant.cli import main
from edgequant.zoo import model_path


@pytest.fixture
def model(tmp_path):
    return shutil.copyfile(model_path(), tmp_path / "digits.onnx")


def profile(model, plot):
    return main(["profile", str(model), "--runs", "1", "--warmup", "0", "--layers", "0", "--plot", plot])


def test_an_existing_folder_gets_the_plot_inside(tmp_path, model):
    folder = tmp_path / "plots"
    folder.mkdir()
    assert profile(model, str(folder)) == 0
    assert [p.name for p in folder.iterdir()] == ["digits_profile.png"]
    assert not (tmp_path / "plots.png").exists()


def test_a_path_ending_in_a_slash_is_a_folder_to_create(tmp_path, model):
    assert profile(model, f"{tmp_path / 'new' / 'plots'}/") == 0
    assert (tmp_path / "new" / "plots" / "digits_profile.png").read_bytes().startswith(b"\x89PNG")


def test_a_file_name_is_the_plot_and_gets_png_when_it_has_no_suffix(tmp_path, model):
    assert profile(model, str(tmp_path / "latency.png")) == 0
    assert profile(model, str(tmp_path / "latency2")) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.onnx", "latency.png", "latency2.png"]


def test_a_file_where_the_folder_belongs_is_refused_in_one_line(tmp_path, model, capsys):
    (tmp_path / "a_file").write_text("x")
    assert profile(model, f"{tmp_path / 'a_file'}/") == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "a_file" in err, err
