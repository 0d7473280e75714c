"""The documentation's compression-aware training example (docs/guide/training.md) runs as printed and does what it
says (it was the README's)."""

import pathlib
import re

import pytest

torch = pytest.importorskip("torch")

PAGE = pathlib.Path(__file__).resolve().parents[3] / "docs" / "guide" / "training.md"


def readme_example() -> str:
    return re.search(r"```python\n(.*?)```", PAGE.read_text(), re.S).group(1)


def test_readme_training_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        exec(compile(readme_example(), str(PAGE), "exec"), {})
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    accuracy, density = (float(v) for v in re.search(r"test ([\d.]+)%, density ([\d.]+)%", printed).groups())
    assert accuracy > 50 and 10 < density < 90  # it learned, and it pruned
    assert "coded" in printed and (tmp_path / "digits_pq.eqz").stat().st_size > 0
