"""Semantic significance and generic sensitivity: the definition, the constructed network, backends."""

import numpy as np
import pytest
from constructed_network import W1, W2, constructed_model, numpy_forward

from edgequant.engine import engine_available
from edgequant.mixed_precision import (
    generic_sensitivity,
    layer_costs,
    semantic_significance,
    significance_tables,
    weight_quantizer,
)
from edgequant.mixed_precision.losses import cross_entropy


def _mean_ce(x, y, w1, w2):
    logits = numpy_forward(x.astype(np.float64), w1.astype(np.float64), w2.astype(np.float64))
    return float(np.mean(cross_entropy(logits, y)))


def test_cross_entropy_matches_the_formula():
    logits = np.array([[2.0, -1.0, 0.5], [1000.0, 0.0, -1000.0]])
    labels = np.array([2, 0])
    expected = [np.log(np.exp(2.0) + np.exp(-1.0) + np.exp(0.5)) - 0.5, 0.0]
    np.testing.assert_allclose(cross_entropy(logits, labels), expected, atol=1e-12)
    with pytest.raises(ValueError, match="NaN or Inf"):
        cross_entropy(np.array([[np.nan, 0.0]]), np.array([0]))


def test_unused_components_have_zero_semantic_significance(constructed, constructed_xy):
    x, y = constructed_xy
    semantic = semantic_significance(constructed, x, y, critical=[0, 1], bits=2, per_channel=True, workers=1)
    generic = generic_sensitivity(constructed, x, y, bits=2, per_channel=True, workers=1)
    assert set(semantic) == {f"W1[{k}]" for k in range(4)} | {f"W2[{k}]" for k in range(3)}
    for unused in ("W1[0]", "W1[1]", "W2[2]"):
        assert abs(semantic[unused]) < 1e-9, (unused, semantic[unused])
        assert generic[unused] > 1e-4, (unused, generic[unused])  # class 2 does use them
    for used in ("W1[2]", "W1[3]", "W2[0]", "W2[1]"):
        assert abs(semantic[used]) > 1e-4, (used, semantic[used])


def test_significance_is_the_rise_of_the_mean_loss_on_the_critical_samples(constructed, constructed_xy):
    x, y = constructed_xy
    semantic = semantic_significance(constructed, x, y, critical=[1], bits=2, workers=1)
    critical = y == 1
    baseline = _mean_ce(x[critical], y[critical], W1, W2)
    quantized_w1 = weight_quantizer(2, axis=0)(W1)  # Gemm transB=1: output channels on axis 0
    expected = _mean_ce(x[critical], y[critical], quantized_w1, W2) - baseline
    assert semantic["W1"] == pytest.approx(expected, rel=1e-5, abs=1e-7)
    channel = W2.copy()
    channel[1:2] = weight_quantizer(2, axis=0)(W2[1:2])
    by_channel = semantic_significance(constructed, x, y, critical=[1], bits=2, per_channel=True, workers=1,
                                       components=["W2[1]"])
    assert by_channel == {"W2[1]": pytest.approx(_mean_ce(x[critical], y[critical], W1, channel) - baseline,
                                                 rel=1e-5, abs=1e-7)}


def test_parallel_workers_give_the_same_numbers(constructed, constructed_xy):
    x, y = constructed_xy
    one = layer_costs(constructed, x, y, [0, 1], choices=(2, 4), per_channel=True, workers=1)
    two = layer_costs(constructed, x, y, [0, 1], choices=(2, 4), per_channel=True, workers=2)
    assert one == two


def test_tables_hold_semantic_and_generic_at_every_choice(constructed, constructed_xy):
    x, y = constructed_xy
    semantic, generic = significance_tables(constructed, x, y, [0, 1], choices=(2, 8), workers=1)
    assert semantic["W1"] == pytest.approx(layer_costs(constructed, x, y, [0, 1], choices=(2, 8), workers=1)["W1"])
    assert generic["W2"] == pytest.approx(layer_costs(constructed, x, y, None, choices=(2, 8), workers=1)["W2"])
    assert abs(semantic["W1"][8]) < abs(semantic["W1"][2])


@pytest.mark.skipif(not engine_available(), reason="built without the engine")
def test_engine_backend_agrees_with_onnxruntime(constructed, constructed_xy):
    x, y = constructed_xy
    by_ort = semantic_significance(constructed, x, y, [0, 1], bits=2, per_channel=True, workers=1)
    by_engine = semantic_significance(constructed, x, y, [0, 1], bits=2, per_channel=True, workers=1,
                                      backend="edgequant")
    assert by_engine == pytest.approx(by_ort, abs=1e-5)


def test_torch_module_gives_the_onnx_numbers(constructed, constructed_xy):
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(4, 4, bias=False), torch.nn.ReLU(), torch.nn.Linear(4, 3, bias=False))
    with torch.no_grad():
        module[0].weight.copy_(torch.from_numpy(W1))
        module[2].weight.copy_(torch.from_numpy(W2))
    x, y = constructed_xy
    by_torch = semantic_significance(module, x, y, [0, 1], bits=2, per_channel=True, workers=1)
    by_onnx = semantic_significance(constructed, x, y, [0, 1], bits=2, per_channel=True, workers=1)
    renamed = {name.replace("0.weight", "W1").replace("2.weight", "W2"): value for name, value in by_torch.items()}
    assert renamed == pytest.approx(by_onnx, abs=1e-5)
    assert torch.equal(module[0].weight, torch.from_numpy(W1))  # restored after each component


def test_bad_inputs_raise_clear_errors(constructed, constructed_xy):
    x, y = constructed_xy
    with pytest.raises(TypeError, match="parse_critical"):
        semantic_significance(constructed, x, y, critical="0,1", workers=1)
    with pytest.raises(ValueError, match="D_crit is empty"):
        semantic_significance(constructed, x, y, critical=[7], workers=1)
    with pytest.raises(ValueError, match="not components of the model"):
        semantic_significance(constructed, x, y, [0], components=["W3"], workers=1)
    with pytest.raises(ValueError, match="bits must be an integer in"):
        semantic_significance(constructed, x, y, [0], bits=1, workers=1)
    with pytest.raises(ValueError, match="backend must be one of"):
        semantic_significance(constructed, x, y, [0], backend="tensorrt", workers=1)
    with pytest.raises(ValueError, match="one label per sample"):
        semantic_significance(constructed, x, y[:-1], [0], workers=1)
    with pytest.raises(ValueError, match="workers must be"):
        semantic_significance(constructed, x, y, [0], workers=0)
    with pytest.raises(ValueError, match="NaN or Inf"):
        semantic_significance(constructed, np.full_like(x, np.nan), y, [0], workers=1)
    with pytest.raises(ValueError, match="choices"):
        layer_costs(constructed_model(), x, y, [0], choices=(2, 2), workers=1)
