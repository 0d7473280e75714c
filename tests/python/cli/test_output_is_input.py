"""No command overwrites one of its own inputs (issue 22): an output path that is an input — the
same path, a symlink to it or a hard link — exits 2 with one line, and the input is unchanged.
Every command of ``edgequant.cli.COMMANDS`` is covered here or named as having no input file."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from edgequant.cli import COMMANDS, main
from edgequant.compress import compress_model
from edgequant.quantizers import Midtread
from edgequant.zoo import model_path

#: Commands that read no file the user names: nothing of theirs to overwrite.
NO_INPUT_FILE = {"demo": "runs on the embedded model; writes only into --out"}


@pytest.fixture
def files(tmp_path):
    """A model, an .eqz, arrays and links to the model in one folder: name -> path."""
    model = tmp_path / "m.onnx"
    shutil.copyfile(model_path(), model)
    eqz = tmp_path / "m.eqz"
    compress_model(model, Midtread(levels=16), eqz)
    data = tmp_path / "data.npz"
    np.savez(data, x=np.zeros((2, 1, 8, 8), np.float32), y=np.zeros(2, np.int64))
    calibration = tmp_path / "calibration.npy"
    np.save(calibration, np.zeros((2, 1, 8, 8), np.float32))
    config = tmp_path / "bits.json"
    config.write_text("{}")
    (tmp_path / "symlink.onnx").symlink_to(model.name)
    os.link(model, tmp_path / "hardlink.onnx")
    plots = tmp_path / "plots"
    plots.mkdir()
    os.link(model, plots / "whole_model.png")  # what analyze --plot DIR would write over
    exported = tmp_path / "exported"
    exported.mkdir()
    (exported / "model.c").symlink_to(model)  # what export-c -o DIR would write through
    return {"model": model, "eqz": eqz, "data": data, "calibration": calibration, "config": config,
            "symlink": tmp_path / "symlink.onnx", "hardlink": tmp_path / "hardlink.onnx", "plots": plots,
            "exported": exported, "folder": tmp_path}


#: command -> argv templates ({name} is a path of the ``files`` fixture); each must be refused.
CASES = {
    "compress": [
        "compress {model} --method midtread --levels 16 -o {model}",
        "compress {model} --method midtread --levels 16 -o {symlink}",
        "compress {model} --method midtread --levels 16 -o {hardlink}",
        "compress {symlink} --method midtread --levels 16 -o {model}",
        "compress {model} --bits-config {config} -o {config}",
        "compress {model} --method midtread --levels 16 --data {calibration} -o {calibration}",
    ],
    "decompress": ["decompress {eqz} -o {eqz}"],
    "profile": [
        "profile {model} --json {model}",
        "profile {model} --json {hardlink}",
        "profile {model} --plot {model}",
        "profile {model} --calibration {calibration} --json {calibration}",
        "profile {model} --inputs {calibration} --json {calibration}",
    ],
    "analyze": ["analyze {model} --json {model}", "analyze {model} --json {symlink}", "analyze {model} --plot {plots}"],
    "sweep": [
        "sweep {model} --db {model}",
        "sweep {model} --csv {hardlink}",
        "sweep {model} --data {data} --csv {data}",
    ],
    "export-c": [
        "export-c {model} --calibration {calibration} -o {model}",
        "export-c {model} --calibration {calibration} -o {exported}",
        "export-c {model} --calibration {calibration} -o {calibration}",
    ],
    "train-pq": ["train-pq --dataset cifar10 --data {folder} --out {folder}"],
    "mpq": ["mpq {model} --data {data} --budget 4 --out {model}"],
}


def _cases():
    for templates in CASES.values():
        for template in templates:
            yield pytest.param(template, id=template.replace(" ", "_"))


def test_every_command_is_covered():
    commands = {name.replace("_", "-") for name in COMMANDS}
    assert commands == set(CASES) | set(NO_INPUT_FILE)


@pytest.mark.parametrize("template", list(_cases()))
def test_an_output_that_is_an_input_is_refused(files, capsys, template):
    before = {path: path.read_bytes() for path in files.values() if path.is_file()}
    listing = sorted(files["folder"].rglob("*"))
    argv = [part.format(**files) for part in template.split()]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "is the input" in err and "refusing to overwrite" in err, err
    assert {path: path.read_bytes() for path in before} == before
    assert sorted(files["folder"].rglob("*")) == listing  # nothing written, not even a temporary file


def test_two_outputs_on_one_file_are_refused(files, capsys):
    png = files["folder"] / "p.png"
    code = main(["profile", str(files["model"]), "--json", str(png), "--plot", str(png)])
    err = capsys.readouterr().err
    assert code == 2 and "same file" in err and len(err.strip().splitlines()) == 1, err
    assert not png.exists()
