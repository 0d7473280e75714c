"""The Python examples of README.md and of the getting-started page run as printed.

(The training and mixed-precision examples of docs/guide/ have their own tests beside the code they use:
tests/python/training/test_readme_example.py, tests/python/mixed_precision/test_mixed_precision_readme.py.)
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", ROOT / "docs" / "getting-started" / "index.md"]


def python_blocks(page: pathlib.Path) -> list[str]:
    """The fenced ```python blocks of a Markdown page, in order."""
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_the_first_python_example_runs(page, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], str(page), "exec"), {})
    printed = capsys.readouterr().out.split()
    entropy_bits, ratio, sqnr_db = (float(value) for value in printed[:3])
    assert 0 < entropy_bits < 9 and ratio == pytest.approx(32 / entropy_bits) and sqnr_db > 20
