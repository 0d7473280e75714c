"""The compressor's readings of paper 002 (issue 24): the grid of eq. 4, the pruned shadow, std(W)
over the survivors; and its state_dict for resumable runs. References written from the formulas."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_compressor import random_model, reference  # noqa: E402

from edgequant.training.compressor import PruneQuantizeCompressor  # noqa: E402


def threshold_grid_reference(w: np.ndarray, gamma: float, bits: int) -> np.ndarray:
    """Eqs. 1–3, then 2^(b−1)−1 levels from β to max|H|: C = sign(H)·(β + q·round((|H| − β)/q))."""
    w = np.asarray(w, dtype=np.float64)
    beta = gamma * float(np.std(w))
    h = np.where(np.abs(w) >= beta, w, 0.0)
    top = 2 ** (bits - 1) - 1
    q = (np.max(np.abs(h)) - beta) / top
    levels = np.maximum(np.rint((np.abs(h) - beta) / q), 0)
    return np.where(h != 0, np.sign(h) * (beta + q * levels), 0.0)


@pytest.mark.parametrize("gamma, bits", [(0.375, 8), (0.625, 4), (0.125, 3)])
def test_threshold_grid_equals_its_reference_and_fits_b_bits(gamma, bits):
    model = random_model(seed=2)
    before = model[4].weight.detach().numpy().copy()
    compressor = PruneQuantizeCompressor(model, gamma, bits, grid="threshold")
    compressor.step()
    after = model[4].weight.detach().numpy()
    expected = threshold_grid_reference(before, gamma, bits)
    np.testing.assert_allclose(after, expected, rtol=0, atol=1e-6 * np.abs(before).max())
    state = compressor.states[1]
    levels = (np.abs(after[after != 0]) - state.threshold) / state.step
    np.testing.assert_allclose(levels, np.rint(levels), atol=1e-3)  # sign + b−1 bits per survivor
    assert levels.min() > -1e-3 and levels.max() < 2 ** (bits - 1) - 1 + 1e-3
    assert np.isclose(np.abs(after).max(), np.abs(before).max(), rtol=1e-6)  # max|H| is a level
    # the zero grid of eq. 4 as printed gives another answer: levels at multiples of q
    assert not np.allclose(expected, reference(before, gamma, bits), atol=1e-6)


def _repeat(grid: str, steps: int = 300, seed: int = 0) -> float:
    """max|W| after ``steps`` re-quantizations (tiny zero-mean updates between them), relative to
    the first."""
    generator = torch.Generator().manual_seed(seed)
    layer = torch.nn.Linear(500, 100, bias=False)
    weight = layer.weight.data
    weight.copy_(0.05 * torch.randn(weight.shape, generator=generator))
    compressor = PruneQuantizeCompressor(layer, 0.375, 8, grid=grid)
    compressor.step()
    start = float(weight.abs().max())
    for _ in range(steps):
        weight.add_(1e-5 * torch.randn(weight.shape, generator=generator))
        compressor.step()
    return float(weight.abs().max()) / start


@pytest.mark.parametrize("seed", [0, 2, 4])
def test_the_printed_grid_drifts_geometrically_and_the_threshold_grid_does_not(seed):
    """Why paper mode blows up or dies on long runs: with β > 0, max|H|/q_k = (2^(b−1)−1)·max|H|/
    (max|H| − β) is not an integer, so every re-quantization rounds the top weights the same way
    (the ratio is scale-free): max|H|, q_k and the whole layer shrink or grow by a fixed factor per
    step, at a rate set by that fraction (slow for some layers). On the threshold grid max|H| is a
    level: a fixed point."""
    drift = _repeat("zero", seed=seed)
    assert drift > 1.7 or drift < 0.6, drift
    assert abs(_repeat("threshold", seed=seed) - 1.0) < 0.02


def test_pruned_shadow_prunes_the_stored_weights_and_quantizes_only_the_forward_copy():
    model = random_model(seed=7)
    compressor = PruneQuantizeCompressor(model, 0.375, 3, mode="pruned-shadow")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    for step in range(4):
        x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        model(x).square().sum().backward()
        before = compressor.full_precision_weights()["4.weight"].numpy().copy()
        delta = -1e-3 * model[4].weight.grad.numpy()
        optimizer.step()
        compressor.step()
        updated = before + delta if step else model[4].weight.detach().numpy()  # step 0 also copies
        shadow = compressor.full_precision_weights()["4.weight"].numpy()
        if step:
            np.testing.assert_allclose(model[4].weight.detach().numpy(), reference(updated, 0.375, 3),
                                       atol=1e-6)
            np.testing.assert_allclose(shadow, reference(updated, 0.375, None), atol=1e-7)  # H = P(W): pruned
    assert np.count_nonzero(shadow == 0) > 0.2 * shadow.size
    assert not np.array_equal(shadow, model[4].weight.detach().numpy())  # survivors stay full precision


def test_std_over_the_survivors_ignores_the_positions_pruned_last_step():
    model = random_model(seed=3)
    compressor = PruneQuantizeCompressor(model, 0.5, 32, threshold_std="survivors")
    compressor.step()  # the first step has no previous mask: std over all
    kept = model[4].weight.detach().numpy() != 0
    with torch.no_grad():
        model[4].weight.add_(1e-4)  # pruned positions now hold a tiny update
    weights = model[4].weight.detach().numpy().astype(np.float64)
    compressor.step()
    assert np.isclose(compressor.states[1].threshold, 0.5 * weights[kept].std(), rtol=1e-9)
    assert not np.isclose(compressor.states[1].threshold, 0.5 * weights.std(), rtol=1e-3)


@pytest.mark.parametrize("options", [
    {"mode": "paper"}, {"mode": "paper", "grid": "threshold"}, {"mode": "frozen", "warmup_steps": 2},
    {"mode": "straight-through"}, {"mode": "pruned-shadow"}, {"mode": "paper", "threshold_std": "survivors"},
])
def test_state_dict_resumes_exactly(options):
    def train(model, compressor, steps, seed):
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(steps):
            x = torch.randn(8, 3, 8, 8, generator=generator)
            optimizer.zero_grad()
            model(x).square().mean().backward()
            optimizer.step()
            compressor.step()

    model = random_model(seed=4)
    compressor = PruneQuantizeCompressor(model, 0.5, 4, **options)
    train(model, compressor, 3, seed=0)
    saved_model, saved = copy.deepcopy(model.state_dict()), compressor.state_dict()
    train(model, compressor, 3, seed=1)

    other = random_model(seed=99)
    other.load_state_dict(saved_model)
    restored = PruneQuantizeCompressor(other, 0.5, 4, **options)
    restored.load_state_dict(saved)
    train(other, restored, 3, seed=1)
    for (name, a), (_, b) in zip(model.named_parameters(), other.named_parameters(), strict=True):
        assert torch.equal(a, b), name
    assert restored.steps_done == compressor.steps_done == 6


def test_state_dict_of_other_settings_is_refused():
    saved = PruneQuantizeCompressor(random_model(), 0.5, 4).state_dict()
    with pytest.raises(ValueError, match="settings"):
        PruneQuantizeCompressor(random_model(), 0.5, 8).load_state_dict(saved)
    saved["masks"] = [torch.zeros(2, dtype=torch.bool)] * 3
    with pytest.raises(ValueError, match="shapes"):
        PruneQuantizeCompressor(random_model(), 0.5, 4).load_state_dict(saved)


@pytest.mark.parametrize("kwargs, match", [
    ({"grid": "middle"}, "grid"),
    ({"threshold_std": "median"}, "threshold_std"),
    ({"threshold_std": "survivors", "mode": "straight-through"}, "survivors"),
    ({"threshold_std": "survivors", "mode": "pruned-shadow"}, "survivors"),
])
def test_bad_readings_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PruneQuantizeCompressor(random_model(), 0.5, 4, **kwargs)


@pytest.mark.parametrize("options", [{"grid": "threshold"}, {"mode": "pruned-shadow"},
                                     {"threshold_std": "survivors"}])
def test_diverged_weights_name_the_layer_in_every_reading(options):
    model = random_model()
    compressor = PruneQuantizeCompressor(model, 0.5, 4, **options)
    compressor.step()
    with torch.no_grad():
        model[4].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="4.weight"):
        compressor.step()
