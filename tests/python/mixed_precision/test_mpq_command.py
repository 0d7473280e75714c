"""``edgequant mpq`` on the shipped digits model, and ``edgequant compress --bits-config``."""

import json

import numpy as np
import pytest

from edgequant.cli import main
from edgequant.compress import decompress_model
from edgequant.mixed_precision import load_config
from edgequant.zoo import model_path


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_auto_critical_classes_then_compress(tmp_path, capsys, digits_npz):
    config_path = tmp_path / "bits.json"
    code, out, err = _run(capsys, "mpq", model_path(), "--data", digits_npz, "--critical", "auto", "--budget", "3",
                          "--workers", "1", "--out", config_path)
    assert code == 0, err
    assert "critical classes: 3, 9" in out and "S_c@2" in out and "gen@8" in out  # the digits model's worst pair
    config = load_config(config_path)
    sizes = {"0.weight": 288, "3.weight": 18432, "9.weight": 10240}
    achieved = sum(sizes[n] * b for n, b in config["weights"].items()) / sum(sizes.values())
    assert achieved <= 3.0 and config["achieved_bits_per_weight"] == pytest.approx(achieved)
    assert f"achieved {achieved:.4f} bits/weight" in out
    assert config["critical"]["classes"] == [3, 9] and set(config["significance"]["semantic"]) == set(sizes)

    eqz = tmp_path / "m.eqz"
    code, out, err = _run(capsys, "compress", model_path(), "--bits-config", config_path, "-o", eqz)
    assert code == 0, err
    assert "MixedPrecisionAffine(3 tensors" in out
    assert len(decompress_model(eqz).graph.initializer) > 0


def test_named_classes_per_channel_and_a_bytes_budget(tmp_path, capsys, digits_npz):
    config_path = tmp_path / "bits.json"
    code, out, err = _run(capsys, "mpq", model_path(), "--data", digits_npz, "--critical", "1, 7",
                          "--budget-bytes", "9000", "--bits", "2", "4", "--per-channel", "--workers", "1",
                          "--out", config_path)
    assert code == 0, err
    config = json.loads(config_path.read_text())
    assert config["critical"]["names"] == ["1", "7"] and config["budget"]["bytes"] == 9000
    assert len(config["weights"]["3.weight"]) == 64 and set(config["weights"]["3.weight"]) <= {2, 4}
    assert "coded bytes" in out and "3.weight[63]" in out
    coded = int(out.split(" coded bytes")[0].rsplit(" ", 1)[1])
    assert coded <= 9000


@pytest.mark.parametrize(("options", "code", "words"), [
    ({"--critical": ["cat,dog"]}, 1, ["unknown class name(s) ['cat', 'dog']", "valid names: 0, 1, 2"]),
    ({"--budget": ["1"]}, 1, ["below the minimum", "2.0000 bits/weight"]),
    ({"--bits": ["1", "4"]}, 2, ["--bits", "[2, 16]"]),
    ({"--pairs": ["0"]}, 2, ["--pairs", "integer >= 1"]),
    ({"--class-names": ["a,b"]}, 2, ["2 class names for a model with 10 outputs"]),
])
def test_bad_options_are_one_line_errors(tmp_path, capsys, digits_npz, options, code, words):
    chosen = {"--data": [digits_npz], "--budget": ["4"], "--workers": ["1"], "--out": [tmp_path / "bits.json"],
              **options}
    argv = ["mpq", model_path()] + [item for flag, values in chosen.items() for item in (flag, *values)]
    status, _, err = _run(capsys, *argv)
    assert status == code, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err, err


def test_data_file_without_labels(tmp_path, capsys):
    path = tmp_path / "x.npz"
    np.savez(path, x=np.zeros((3, 1, 8, 8), np.float32))
    status, _, err = _run(capsys, "mpq", model_path(), "--data", path, "--budget", "4", "--out", tmp_path / "b.json")
    assert status == 1 and "has no array(s) ['y']" in err


def test_compress_bits_config_conflicts_and_mismatches(tmp_path, capsys):
    config = tmp_path / "bits.json"
    config.write_text(json.dumps({"format": "edgequant-mpq", "version": 1, "weights": {"0.weight": 4}}))
    status, _, err = _run(capsys, "compress", model_path(), "--bits-config", config, "--method", "affine",
                          "-o", tmp_path / "m.eqz")
    assert status == 2 and "drop --method" in err
    status, _, err = _run(capsys, "compress", model_path(), "--bits-config", config, "-o", tmp_path / "m.eqz")
    assert status == 1 and "no bit width for weight(s) ['3.weight', '9.weight']" in err
    status, _, err = _run(capsys, "compress", model_path(), "-o", tmp_path / "m.eqz")
    assert status == 2 and "--method" in err and "--bits-config" in err
