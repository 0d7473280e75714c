"""The README's compression-aware training example runs as printed and does what it says."""

import pathlib
import re

import pytest

torch = pytest.importorskip("torch")

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## Compression-aware training", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_training_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        exec(compile(readme_example(), "README.md", "exec"), {})
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    accuracy, density = (float(v) for v in re.search(r"test ([\d.]+)%, density ([\d.]+)%", printed).groups())
    assert accuracy > 50 and 10 < density < 90  # it learned, and it pruned
    assert "coded" in printed and (tmp_path / "digits_pq.eqz").stat().st_size > 0
