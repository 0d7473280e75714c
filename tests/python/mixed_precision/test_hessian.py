"""Hutchinson's Hessian-trace estimator against exact Hessians, and the HAWQ costs built on it."""

import os

import numpy as np
import pytest

if os.environ.get("EDGEQUANT_REQUIRE_TORCH") == "1":
    import torch
else:
    torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from edgequant.mixed_precision.hessian import hessian_costs, hessian_traces, weight_parameters  # noqa: E402
from edgequant.quantizers import Affine  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]




def half_mse(output, target):
    return 0.5 * ((output - target) ** 2).sum(dim=1).mean()


def test_linear_model_with_orthogonal_inputs_is_exact():
    # L = 1/(2N)·Σ‖W x_i − t_i‖²: the Hessian of W is I_out ⊗ (XᵀX/N). With orthogonal input
    # columns it is diagonal, so every Rademacher probe gives the trace exactly (v_i² = 1).
    torch.manual_seed(0)
    x = torch.linalg.qr(torch.randn(40, 6, dtype=torch.float64))[0] * torch.arange(1.0, 7.0, dtype=torch.float64)
    model = nn.Linear(6, 3, bias=False).double()
    estimate = hessian_traces(model, x, torch.randn(40, 3, dtype=torch.float64), loss_fn=half_mse, max_probes=5,
                              min_probes=3, device="cpu")
    exact = 3 * float((x ** 2).sum()) / 40
    assert estimate.traces["weight"] == pytest.approx(exact, rel=1e-12)
    assert estimate.standard_errors["weight"] == pytest.approx(0.0, abs=1e-12)
    assert estimate.converged and estimate.probes == 3


def exact_block_traces(model, x, y, loss_fn):
    """Diagonal-block traces of the full Hessian, computed exactly with torch.autograd.functional."""
    names = [n for n, _ in model.named_parameters()]
    values = tuple(p.detach() for _, p in model.named_parameters())

    def loss(*params):
        return loss_fn(torch.func.functional_call(model, dict(zip(names, params, strict=True)), (x,)), y)

    hessian = torch.autograd.functional.hessian(loss, values)
    return {name: float(torch.diagonal(hessian[i][i].reshape(values[i].numel(), -1)).sum())
            for i, name in enumerate(names)}


def test_two_layer_network_within_the_stated_tolerance():
    # Cross-entropy through a smooth nonlinearity: off-diagonal Hessian entries and cross-layer
    # blocks, so the estimate is noisy and the stopping rule matters.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Softplus(), nn.Linear(6, 3)).double()
    x, y = 2 * torch.randn(48, 4, dtype=torch.float64), torch.randint(0, 3, (48,))
    exact = exact_block_traces(model, x, y, nn.functional.cross_entropy)
    for tolerance in (0.1, 0.05):
        estimate = hessian_traces(model, x, y, batch_size=24, tolerance=tolerance, max_probes=5000, seed=3,
                                  device="cpu")
        assert estimate.converged and estimate.probes < 5000
        for name in ("0.weight", "2.weight"):
            # the stopping rule bounds the standard error by tolerance·|trace|; allow 4 of them
            assert estimate.standard_errors[name] <= tolerance * abs(estimate.traces[name])
            assert abs(estimate.traces[name] - exact[name]) <= 4 * estimate.standard_errors[name], (tolerance, name)
            assert abs(estimate.traces[name] / exact[name] - 1) <= 4 * tolerance
    assert set(estimate.traces) == {"0.weight", "2.weight"}  # biases are not components
    assert estimate.sizes == {"0.weight": 24, "2.weight": 18}


def test_batching_and_seed_do_not_change_the_probes():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5)).double()
    x, y = torch.randn(20, 1, 6, 6, dtype=torch.float64), torch.randint(0, 5, (20,))
    one = hessian_traces(model, x, y, batch_size=20, min_probes=4, max_probes=4, seed=7, device="cpu")
    many = hessian_traces(model, x, y, batch_size=3, min_probes=4, max_probes=4, seed=7, device="cpu")
    other = hessian_traces(model, x, y, batch_size=20, min_probes=4, max_probes=4, seed=8, device="cpu")
    for name in one.traces:
        np.testing.assert_allclose(one.samples[name], many.samples[name], rtol=1e-9)
        assert not np.allclose(one.samples[name], other.samples[name])
    assert model.training  # restored


def test_hessian_costs_are_mean_trace_times_affine_error():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    x, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    estimate = hessian_traces(model, x, y, min_probes=2, max_probes=4, device="cpu")
    costs = hessian_costs(model, estimate, choices=(2, 4, 8))
    for name, parameter in weight_parameters(model).items():
        w = parameter.detach().numpy()
        for bits in (2, 4, 8):
            error = float(((Affine(bits=bits, axis=0)(w).astype(np.float64) - w) ** 2).sum())
            expected = max(estimate.traces[name] / w.size, 0.0) * error
            assert costs[name][bits] == pytest.approx(expected, rel=1e-12)
        assert costs[name][2] >= costs[name][4] >= costs[name][8]


def test_bad_input():
    model = nn.Linear(3, 2)
    x, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
    with pytest.raises(ValueError, match="same non-zero number"):
        hessian_traces(model, x, y[:3])
    with pytest.raises(ValueError, match="same non-zero number"):
        hessian_traces(model, x[:0], y[:0])
    with pytest.raises(ValueError, match="tolerance"):
        hessian_traces(model, x, y, tolerance=0)
    with pytest.raises(ValueError, match="min_probes"):
        hessian_traces(model, x, y, min_probes=5, max_probes=2)
    with pytest.raises(ValueError, match="unknown parameter"):
        hessian_traces(model, x, y, parameters=["nope.weight"])
    with pytest.raises(ValueError, match="finite scalar"):
        hessian_traces(model, x * float("nan"), y)
    with pytest.raises(ValueError, match="no Conv/Linear"):
        hessian_traces(nn.Sequential(nn.ReLU()), x, y)
