"""Every notebook in notebooks/ runs top to bottom without error (nbclient, a fresh kernel)."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[3] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
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
