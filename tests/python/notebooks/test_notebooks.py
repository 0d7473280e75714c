"""Every notebook in notebooks/ runs top to bottom without error (nbclient, a fresh kernel).

A notebook runs in a temporary folder (what it writes stays out of the checkout), with the shared
data folder that the lookup finds from this checkout passed to its kernel as ``EDGEQUANT_DATA``:
from a temporary folder, a package installed outside the checkout could not find it itself.

A notebook whose metadata lists ``"edgequant": {"requires": ["torch"]}`` carries the ``torch``
marker and skips, saying why, where that package is not installed (``make test``'s environment has
no torch; ``make test-torch`` runs it) — unless ``EDGEQUANT_REQUIRE_TORCH=1`` makes that an error.
"""

import importlib.util
import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

from edgequant.datasets import DATA_ENV_VAR, shared_data_dir

CHECKOUT = pathlib.Path(__file__).resolve().parents[3]
NOTEBOOKS = sorted((CHECKOUT / "notebooks").glob("*.ipynb"))


def _requirements(path) -> list[str]:
    return list(nbformat.read(path, as_version=4).metadata.get("edgequant", {}).get("requires", []))


def _parameter(path):
    marks = [pytest.mark.torch] if "torch" in _requirements(path) else []
    return pytest.param(path, id=path.name, marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("path", [_parameter(p) for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    missing = [name for name in _requirements(path) if importlib.util.find_spec(name) is None]
    if missing:
        message = f"{path.name} needs {', '.join(missing)} (pip install 'edgequant[torch]', i.e. torch==2.13.0)"
        if "torch" in missing and os.environ.get("EDGEQUANT_REQUIRE_TORCH") == "1":
            pytest.fail(f"EDGEQUANT_REQUIRE_TORCH=1 but {message}")
        pytest.skip(message)
    with monkeypatch.context() as here:
        here.chdir(CHECKOUT)  # the lookup as from the working tree: $EDGEQUANT_DATA, else ../shared/data
        data = shared_data_dir()
    if data is not None:
        monkeypatch.setenv(DATA_ENV_VAR, str(data))  # the kernel inherits the environment
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
              if output.output_type == "error"]
    assert not errors
    assert any(output.output_type in ("execute_result", "display_data") for cell in notebook.cells
               if cell.cell_type == "code" for output in cell.get("outputs", []))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ is empty"
