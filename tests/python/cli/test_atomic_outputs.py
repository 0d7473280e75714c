"""Commands write their outputs atomically (issue 22): a failure while writing leaves the old file
(or folder) as it was and no temporary file behind; a success replaces it whole."""

from __future__ import annotations

import os
import pathlib
import shutil
import stat

import numpy as np
import pytest

from edgequant.cli import main
from edgequant.cli.output_paths import atomic_folder_output, atomic_output
from edgequant.zoo import model_path


def test_atomic_output_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    with atomic_output(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".json"
        temporary.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_output_keeps_permissions_and_writes_through_a_symlink(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(target.name)
    with atomic_output(link) as temporary:
        temporary.write_text("new")
    assert link.is_symlink() and target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.txt"
    with atomic_output(fresh) as temporary:
        temporary.write_text("x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # as open() would create it, not mkstemp's 0o600


def test_atomic_folder_output(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.c").write_text("old a")
    (folder / "stale.c").write_text("from an earlier run")
    (folder / "mine.txt").write_text("the user's")
    with pytest.raises(RuntimeError), atomic_folder_output(folder, stale=["a.c", "stale.c"]) as temporary:
        (temporary / "a.c").write_text("half")
        raise RuntimeError("failed")
    assert (folder / "a.c").read_text() == "old a" and (folder / "stale.c").exists()
    with atomic_folder_output(folder, stale=["a.c", "stale.c"]) as temporary:
        (temporary / "a.c").write_text("new a")
    assert sorted(p.name for p in folder.iterdir()) == ["a.c", "mine.txt"]
    assert (folder / "a.c").read_text() == "new a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


def test_a_failing_compress_keeps_the_old_eqz(tmp_path, monkeypatch, capsys):
    from edgequant import compress

    output = tmp_path / "m.eqz"
    output.write_bytes(b"the previous .eqz")

    def fails_while_writing(model, quantizer, path, **options):
        pathlib.Path(path).write_bytes(b"half an .eqz")
        raise MemoryError("out of memory half way")

    monkeypatch.setattr(compress, "compress_model", fails_while_writing)
    code = main(["compress", str(model_path()), "--method", "midtread", "--levels", "16", "-o", str(output)])
    assert code == 1 and "out of memory" in capsys.readouterr().err
    assert output.read_bytes() == b"the previous .eqz"
    assert [p.name for p in tmp_path.iterdir()] == ["m.eqz"]


@pytest.fixture
def calibration(tmp_path):
    path = tmp_path / "calibration.npy"
    np.save(path, np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32))
    return path


def test_a_failing_export_c_leaves_the_folder_as_it_was(tmp_path, monkeypatch, calibration, capsys):
    from edgequant.microcontroller import export

    model = shutil.copyfile(model_path(), tmp_path / "m.onnx")
    folder = tmp_path / "exported"
    argv = ["export-c", str(model), "--calibration", str(calibration), "-o", str(folder)]
    assert main(argv) == 0
    for name in ("model.h", "eq_conv2d.c"):  # as another model's export (or another version) left them
        (folder / name).write_text(f"/* the previous {name} */")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert "model.c" in before and len(before) > 10

    def fails(*args, **kwargs):
        raise RuntimeError("code generation failed")

    monkeypatch.setattr(export, "model_source", fails)  # after the runtime files and model.h were written
    assert main(argv) == 1 and "code generation failed" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.npy", "exported", "m.onnx"]


def test_export_c_removes_the_decoder_an_earlier_coded_export_left(tmp_path, calibration):
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "eq_rans_decode.c").write_text("/* from a --coded-weights export */")
    (folder / "app.c").write_text("/* the user's */")
    assert main(["export-c", str(model_path()), "--calibration", str(calibration), "-o", str(folder)]) == 0
    assert not (folder / "eq_rans_decode.c").exists() and (folder / "app.c").exists()
