"""The documentation's mixed-precision example (docs/guide/mixed-precision.md, formerly the README's) runs as
printed, as a script (its worker processes re-import it)."""

import json
import pathlib
import re
import subprocess
import sys

import pytest

from edgequant.engine import engine_available

PAGE = pathlib.Path(__file__).resolve().parents[3] / "docs" / "guide" / "mixed-precision.md"


def readme_example() -> str:
    return re.search(r"```python\n(.*?)```", PAGE.read_text(), re.S).group(1)


@pytest.mark.skipif(not engine_available(), reason="built without the inference engine")
def test_readme_mixed_precision_example_runs_as_a_script(tmp_path):
    import onnxruntime as ort

    from edgequant import zoo
    from edgequant.mixed_precision import list_components

    script = tmp_path / "example.py"
    script.write_text(readme_example())
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, timeout=600)
    config = json.loads((tmp_path / "bits.json").read_text())
    widths = config["weights"]
    assert config["format"] == "edgequant-mpq" and widths and set(widths.values()) <= {2, 4, 8}
    sizes = {c.name: c.size for c in list_components(zoo.model_path())}
    assert sum(sizes[name] * bits for name, bits in widths.items()) <= 4 * sum(sizes.values())  # the budget
    x, y = zoo.load_test_set()
    session = ort.InferenceSession(str(tmp_path / "digits_mpq_qdq.onnx"))
    logits = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert (logits.argmax(1) == y).mean() > 0.9


def test_an_unguarded_script_gets_a_clear_error(tmp_path):
    """Worker processes re-import the script; without the guard they cannot start: say so, once, clearly."""
    script = tmp_path / "unguarded.py"
    script.write_text("from edgequant import zoo\nfrom edgequant.mixed_precision import generic_sensitivity\n"
                      "x, y = zoo.load_test_set()\n"
                      "generic_sensitivity(zoo.model_path(), x[:50], y[:50], workers=2, progress=False)\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert 'RuntimeError: the 2 worker processes could not start' in done.stderr
    assert 'if __name__ == "__main__":' in done.stderr
