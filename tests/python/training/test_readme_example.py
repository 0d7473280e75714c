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


def test_long_run_example_runs_with_fewer_steps(tmp_path, monkeypatch, capsys):
    """The page's second example (a 300,000-step run), cut to 300 steps: the calls and names it uses exist."""
    example = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)[1]
    assert "steps=300_000" in example
    monkeypatch.chdir(tmp_path)
    exec(compile(example.replace("steps=300_000", "steps=300"), str(PAGE), "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("done 300 ") and "| pruned-shadow γ=0.375 b=8 lr=0.05 | 300 | done |" in printed
    assert (tmp_path / "runs" / "density_accuracy.png").is_file()
