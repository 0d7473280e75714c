"""shared_data_dir: $EDGEQUANT_DATA, else ../shared/data beside the package's checkout or beside the
working tree the current directory is in (a non-editable install lives in site-packages)."""

import pytest

from edgequant.datasets import shared_data as data


@pytest.fixture
def installed_in_site_packages(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    installed = tmp_path / "venv/lib/python3/site-packages/edgequant/datasets/shared_data.py"
    monkeypatch.setattr(data, "__file__", str(installed))


def make_tree(root, name="edgequant"):
    (root / "tree" / "tests").mkdir(parents=True)
    (root / "tree" / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n')
    (root / "shared" / "data").mkdir(parents=True)
    return root / "tree"


def test_found_beside_the_working_tree_from_any_folder_inside_it(installed_in_site_packages, tmp_path, monkeypatch):
    tree = make_tree(tmp_path)
    monkeypatch.chdir(tree / "tests")
    assert data.shared_data_dir() == (tmp_path / "shared" / "data").resolve()


def test_not_found_outside_an_edgequant_tree(installed_in_site_packages, tmp_path, monkeypatch):
    tree = make_tree(tmp_path, name="someone-else")
    monkeypatch.chdir(tree)
    assert data.shared_data_dir() is None


def test_the_variable_wins_and_a_missing_folder_is_none(tmp_path, monkeypatch):
    make_tree(tmp_path)
    monkeypatch.chdir(tmp_path / "tree")
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "elsewhere"))
    assert data.shared_data_dir() is None
    (tmp_path / "elsewhere").mkdir()
    assert data.shared_data_dir() == (tmp_path / "elsewhere").resolve()


def test_found_beside_the_checkout_holding_the_package(tmp_path, monkeypatch):
    """An in-place build: the package's own checkout counts, wherever the current directory is."""
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    tree = make_tree(tmp_path)
    monkeypatch.setattr(data, "__file__", str(tree / "python/edgequant/datasets/shared_data.py"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert data.shared_data_dir() == (tmp_path / "shared" / "data").resolve()
