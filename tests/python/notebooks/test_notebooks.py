"""Every notebook in notebooks/ runs top to bottom without error (nbclient, a fresh kernel).

A notebook whose metadata lists ``edgequant.requires`` (e.g. ``["torch"]``, an optional extra) is
skipped, naming what is missing, when those packages are not installed — unless
``EDGEQUANT_REQUIRE_TORCH=1`` (CI's ``make test-torch``) makes a missing torch an error."""

import importlib.util
import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[3] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    missing = [name for name in notebook.metadata.get("edgequant", {}).get("requires", [])
               if importlib.util.find_spec(name) is None]
    if missing:
        if "torch" in missing and os.environ.get("EDGEQUANT_REQUIRE_TORCH") == "1":
            pytest.fail(f"{path.name} needs torch and EDGEQUANT_REQUIRE_TORCH=1: pip install torch==2.13.0")
        pytest.skip(f"{path.name} needs {', '.join(missing)} (pip install 'edgequant[torch]')")
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
