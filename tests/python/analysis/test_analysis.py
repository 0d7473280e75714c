"""The model analysis workflow and `edgequant analyze` on real and synthetic models."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant.analysis import PAPER_FAMILIES, analyze_model, resolve_families
from edgequant.cli import main
from edgequant.zoo import model_path


def gemm_model(weight: np.ndarray) -> onnx.ModelProto:
    """y = x @ W (Gemm with a weight initializer)."""
    w = numpy_helper.from_array(weight.astype(np.float32), "W")
    node = helper.make_node("Gemm", ["x", "W"], ["y"], name="fc")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, weight.shape[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weight.shape[1]])
    graph = helper.make_graph([node], "g", [x], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("family, sampler", [
    ("laplace", lambda rng, n: rng.laplace(0.01, 0.05, n)),
    ("norm", lambda rng, n: rng.normal(-0.02, 0.1, n)),
    ("cauchy", lambda rng, n: 0.01 * rng.standard_cauchy(n)),
])
def test_generating_family_leads_on_a_synthetic_model(family, sampler):
    weight = sampler(np.random.default_rng(0), 400 * 500).reshape(400, 500)
    analysis = analyze_model(gemm_model(weight), families="paper")
    assert analysis.top("kl", 1) == [family]
    assert analysis.top("sse", 1) == [family]
    assert analysis.rank_of(family, "kl") == 1


def test_embedded_model_per_layer_and_roles():
    analysis = analyze_model(model_path(), per_layer=True)
    assert analysis.whole.summary["count"] == sum(
        row["count"] for row in analysis.layers if row["role"] in ("conv_weight", "gemm_weight"))
    assert set(analysis.by_role) <= {"conv_weight", "gemm_weight", "bias", "batchnorm"}
    assert analysis.by_layer and all(len(report.ranking("sse")) == 10 for report in analysis.by_layer.values())
    text = str(analysis)
    assert "by SSE" in text and "by KL" in text and "Recommendation" in text
    json.dumps(analysis.to_dict(), default=str)  # JSON-ready


def test_laplacian_weights_get_a_dead_zone_recommendation():
    weight = np.random.default_rng(1).laplace(0, 0.05, (300, 300))
    assert "dead-zone" in analyze_model(gemm_model(weight), families="paper").recommendation()


def test_family_selection():
    assert resolve_families("paper") == PAPER_FAMILIES
    assert len(resolve_families(None)) == 10
    assert resolve_families("laplace,norm") == ("laplace", "norm")
    with pytest.raises(ValueError, match="unknown families"):
        resolve_families(["laplace", "zipf"])


def test_cli_writes_json_and_plots(tmp_path, capsys):
    assert main(["analyze", str(model_path()), "--per-layer", "--json", str(tmp_path / "out" / "a.json"),
                 "--plot", str(tmp_path / "plots")]) == 0
    printed = capsys.readouterr().out
    assert "weights+biases %" in printed and "Recommendation" in printed
    data = json.loads((tmp_path / "out" / "a.json").read_text())
    assert data["whole"]["ranking"]["sse"][0] in resolve_families("all")
    assert (tmp_path / "plots" / "whole_model.png").stat().st_size > 10_000
    assert (tmp_path / "plots" / "layers.png").exists()


def test_cli_reports_bad_files_cleanly(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07 this is not a model")
    assert main(["analyze", str(bad)]) == 1
    assert "not a valid ONNX model" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "missing.onnx")]) == 1


def test_nan_weights_are_refused():
    weight = np.random.default_rng(2).normal(size=(50, 50))
    weight[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        analyze_model(gemm_model(weight))
