"""The README's first command, `make demo`, end to end on a small sweep: every step runs and the
report names the compressed file against the ONNX model and xz (a regression: xz left the library's
defaults and step 4 failed to print it)."""

from edgequant.demo import run_demo


def test_the_demo_runs_all_four_steps(tmp_path, capsys):
    report = run_demo(out=tmp_path / "demo", max_bits=2, workers=1)
    printed = capsys.readouterr().out
    assert report.is_file() and "[4/4]" in printed
    assert "xz -9" in printed and "outputs identical after decompress: True" in printed
