"""The docs' supported-op list (docs/specs/supported-ops.md) is the op registry's (scripts/update_readme_ops.py)."""

import importlib.util
import pathlib

from edgequant import _engine

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _script():
    spec = importlib.util.spec_from_file_location("update_readme_ops", ROOT / "scripts" / "update_readme_ops.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_ops_page_lists_the_registered_ops():
    script = _script()
    text = script.OPS_PAGE.read_text()
    assert script.updated(text, list(_engine.supported_ops())) == text, "run scripts/update_readme_ops.py"
    for op in _engine.supported_ops():
        assert f"`{op}`" in text


def test_a_new_op_makes_the_page_stale():
    script = _script()
    text = script.OPS_PAGE.read_text()
    assert script.updated(text, [*_engine.supported_ops(), "NotAnOp"]) != text
