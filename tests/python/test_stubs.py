"""The committed type stubs of the compiled modules match the bindings (regenerate with
scripts/generate_stubs.py)."""

import importlib.util
import pathlib
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("generate_stubs", ROOT / "scripts" / "generate_stubs.py")
generate_stubs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate_stubs)


@pytest.mark.parametrize("module", generate_stubs.MODULES)
def test_stub_is_current(module):
    committed = (ROOT / "python" / "edgequant" / (module.split(".")[-1] + ".pyi")).read_text()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate_stubs.generate(module, pathlib.Path(tmp))
    assert fresh == committed, "stale stub: run python scripts/generate_stubs.py"
