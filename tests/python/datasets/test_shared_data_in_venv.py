"""shared_data_dir with the package installed (non-editable) in a virtual environment inside the
checkout, as ``make test`` does, and the current directory elsewhere: a notebook running in a
temporary folder still finds ``../shared/data`` (issue 22)."""

import pytest

from edgequant.datasets import shared_data as data


def make_checkout(root, name="edgequant"):
    (root / "tree").mkdir(parents=True)
    (root / "tree" / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n')
    (root / "shared" / "data").mkdir(parents=True)
    return root / "tree"


def installed_in(monkeypatch, checkout):
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(data, "__file__",
                        str(checkout / ".venv/lib/python3.11/site-packages/edgequant/datasets/shared_data.py"))


def test_found_from_a_venv_inside_the_checkout_whatever_the_current_directory(tmp_path, monkeypatch):
    installed_in(monkeypatch, make_checkout(tmp_path))
    (tmp_path / "notebook-run").mkdir()
    monkeypatch.chdir(tmp_path / "notebook-run")
    assert data.shared_data_dir() == (tmp_path / "shared" / "data").resolve()


@pytest.mark.parametrize("name", ["someone-else", None])
def test_a_venv_inside_another_project_or_none_finds_nothing(tmp_path, monkeypatch, name):
    checkout = make_checkout(tmp_path, name or "edgequant")
    if name is None:
        (checkout / "pyproject.toml").unlink()
    installed_in(monkeypatch, checkout)
    monkeypatch.chdir(tmp_path)
    assert data.shared_data_dir() is None
