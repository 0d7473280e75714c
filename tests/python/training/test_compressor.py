"""PruneQuantizeCompressor against a NumPy reference of paper 002 eqs. 1–4, its modes and its errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgequant.training.compressor import PruneQuantizeCompressor, torch_prune_quantize_  # noqa: E402


def reference(w: np.ndarray, gamma: float, bits: int | None) -> np.ndarray:
    """Eqs. 1–4 written from the formulas: β = γ·std(W) (population std), H = W·[|W| ≥ β],
    q = (max|H| − β)/(2^(b−1) − 1) (fallbacks of cpp/quant/prune_quantize.h when that is not > 0),
    C = q·round(H/q) computed in the weights' precision; ``bits=None`` prunes only."""
    w = np.asarray(w)
    beta = gamma * float(np.std(w.astype(np.float64)))
    h = np.where(np.abs(w) >= w.dtype.type(beta), w, w.dtype.type(0))
    if bits is None:
        return h
    top = 2 ** (bits - 1) - 1
    max_h = float(np.max(np.abs(h)))
    q = (max_h - beta) / top
    if not q > 0:
        q = max_h / top if max_h > 0 else 1.0
    symbols = np.rint(h / w.dtype.type(q))
    return (w.dtype.type(q) * symbols).astype(w.dtype)


def random_model(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(8 * 6 * 6, 33), torch.nn.ReLU(), torch.nn.Linear(33, 5),
    ).to(dtype)
    with torch.no_grad():  # layers of different scales and shapes of distribution
        model[0].weight.mul_(3.0)
        model[4].weight.copy_(torch.distributions.Laplace(0.0, 0.02).sample(model[4].weight.shape))
    return model


WEIGHTS = ["0.weight", "4.weight", "6.weight"]


@pytest.mark.parametrize("gamma", [0.0, 0.125, 0.375, 0.75, 2.0])
@pytest.mark.parametrize("bits", [2, 3, 4, 8, 16, 32])
def test_one_step_equals_the_numpy_reference(gamma, bits):
    model = random_model(seed=int(gamma * 8) + bits)
    before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    compressor = PruneQuantizeCompressor(model, gamma, bits)
    assert [name for name, _ in compressor.parameters] == WEIGHTS  # BN and biases left alone
    compressor.step()
    for name, parameter in model.named_parameters():
        if name in WEIGHTS:
            expected = reference(before[name], gamma, None if bits == 32 else bits)
            np.testing.assert_array_equal(parameter.detach().numpy(), expected, err_msg=name)
        else:
            np.testing.assert_array_equal(parameter.detach().numpy(), before[name], err_msg=name)


def test_it_actually_prunes_and_quantizes():
    model = random_model()
    compressor = PruneQuantizeCompressor(model, 0.375, 3)
    compressor.step()
    for (name, parameter), state in zip(compressor.parameters, compressor.states, strict=True):
        w = parameter.detach().numpy()
        assert 0 < np.count_nonzero(w) < w.size, name  # some pruned, some kept
        symbols = w / np.float32(state.step)
        np.testing.assert_allclose(symbols, np.rint(symbols), atol=1e-4)  # on the grid
        assert len(np.unique(symbols)) <= 2 * (np.abs(symbols).max()) + 1


def test_works_in_place_on_the_parameters_memory():
    model = random_model()
    pointers = [p.data_ptr() for _, p in PruneQuantizeCompressor(model, 0.5, 4).parameters]
    view = model[4].weight.detach().numpy()  # taken before the step
    PruneQuantizeCompressor(model, 0.5, 4).step()
    assert [p.data_ptr() for p in (model[0].weight, model[4].weight, model[6].weight)] == pointers
    np.testing.assert_array_equal(view, model[4].weight.detach().numpy())
    assert np.count_nonzero(view) < view.size


def test_density_bookkeeping_is_exact():
    model = random_model(seed=3)
    compressor = PruneQuantizeCompressor(model, 0.625, 4)
    compressor.step()
    density = compressor.density()
    counts = {name: (int(np.count_nonzero(p.detach().numpy())), p.numel()) for name, p in compressor.parameters}
    for name, (nonzero, size) in counts.items():
        assert density[name] == nonzero / size
    total_nonzero = sum(n for n, _ in counts.values())
    total = sum(s for _, s in counts.values())
    assert density["total"] == total_nonzero / total  # weighted by size, not a mean of densities
    assert compressor.nonzero == total_nonzero and compressor.size == total
    with torch.no_grad():  # counted again when asked, not stale
        model[6].weight.zero_()
    assert compressor.density()["6.weight"] == 0.0


def sgd_steps(model, compressor, steps, lr=0.5, seed=0, check=None):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for step in range(steps):
        x = torch.randn(16, 3, 8, 8, generator=generator)
        y = torch.randint(0, 5, (16,), generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        compressor.step()
        if check is not None:
            check(step)


def test_frozen_mode_keeps_pruned_weights_exactly_zero():
    model = random_model(seed=5)
    compressor = PruneQuantizeCompressor(model, 0.5, 4, mode="frozen", warmup_steps=3)
    masks = {}

    def check(step):
        if step == 2:  # the last warm-up step fixes the mask
            masks.update({name: p.detach().numpy() == 0 for name, p in compressor.parameters})
        elif step > 2:
            for name, parameter in compressor.parameters:
                w = parameter.detach().numpy()
                assert np.all(w[masks[name]] == 0), f"{name}: a pruned weight came back at step {step}"
                survivors = w[~masks[name]]
                assert np.count_nonzero(survivors) > 0

    sgd_steps(model, compressor, 25, check=check)
    assert masks


def test_paper_mode_lets_pruned_weights_come_back():
    """The contrast with frozen mode: the paper recomputes the mask, so the zeros move."""
    model = random_model(seed=5)
    compressor = PruneQuantizeCompressor(model, 0.5, 4)
    zeros = []
    sgd_steps(model, compressor, 10, check=lambda step: zeros.append(model[4].weight.detach().numpy() == 0))
    assert any(np.any(before & ~after) for before, after in zip(zeros, zeros[1:], strict=False))


def test_straight_through_accumulates_updates_in_full_precision():
    model = random_model(seed=7)
    compressor = PruneQuantizeCompressor(model, 0.375, 3, mode="straight-through")
    start = compressor.full_precision_weights()["4.weight"].numpy().copy()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    gradients = []
    for step in range(3):
        x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        model(x).square().sum().backward()
        gradients.append(model[4].weight.grad.numpy().copy())
        optimizer.step()
        compressor.step()
        shadow = compressor.full_precision_weights()["4.weight"].numpy()
        np.testing.assert_array_equal(model[4].weight.detach().numpy(), reference(shadow, 0.375, 3))
    # updates far below the 3-bit step still add up in the shadow instead of being rounded away
    np.testing.assert_allclose(shadow, start - 1e-3 * sum(gradients), rtol=1e-5, atol=1e-7)
    assert compressor.full_precision_weights() is not None
    assert PruneQuantizeCompressor(model, 0.375, 3).full_precision_weights() is None


def test_other_dtypes_and_layouts_take_the_torch_path_with_the_same_result():
    model = random_model(seed=9, dtype=torch.float64)
    before = model[4].weight.detach().numpy().copy()
    PruneQuantizeCompressor(model, 0.375, 8).step()
    np.testing.assert_allclose(model[4].weight.detach().numpy(), reference(before, 0.375, 8), rtol=0, atol=1e-12)

    model = random_model(seed=9).to(memory_format=torch.channels_last)  # conv weight not contiguous
    assert not model[0].weight.is_contiguous()
    before = model[0].weight.detach().numpy().copy()
    PruneQuantizeCompressor(model, 0.375, 8).step()
    np.testing.assert_allclose(model[0].weight.detach().numpy(), reference(before, 0.375, 8), rtol=0, atol=1e-6)


def test_constant_layer_is_kept_and_quantized_exactly():
    model = torch.nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.5)  # std = 0: beta = 0, nothing pruned
    compressor = PruneQuantizeCompressor(model, 0.75, 4)
    compressor.step()
    assert torch.equal(model.weight, torch.full((3, 4), 0.5))
    assert compressor.density()["total"] == 1.0
    with torch.no_grad():
        model.weight.zero_()
    compressor.step()
    assert torch.count_nonzero(model.weight) == 0 and compressor.density()["weight"] == 0.0


def test_layer_pruned_to_nothing_is_all_zero_not_an_error():
    model = random_model()
    compressor = PruneQuantizeCompressor(model, 1000.0, 4)  # beta far above max|W|
    compressor.step()
    assert compressor.density()["total"] == 0.0
    assert all(torch.count_nonzero(p) == 0 for _, p in compressor.parameters)
    compressor.step()  # and stays defined on the next step (std = 0 now)
    assert compressor.density()["total"] == 0.0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"gamma": -0.1}, ValueError, "gamma"),
    ({"gamma": float("nan")}, ValueError, "gamma"),
    ({"gamma": "0.5"}, TypeError, "gamma"),
    ({"bits": 1}, ValueError, "bits"),
    ({"bits": 0}, ValueError, "bits"),
    ({"bits": 17}, ValueError, "bits"),
    ({"bits": 33}, ValueError, "bits"),
    ({"bits": 4.0}, TypeError, "bits"),
    ({"mode": "magic"}, ValueError, "mode"),
    ({"layers": ["nope.weight"]}, ValueError, "unknown parameter"),
    ({"warmup_steps": -1}, ValueError, "warmup_steps"),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    arguments = {"gamma": 0.5, "bits": 4, **kwargs}
    with pytest.raises(error, match=match):
        PruneQuantizeCompressor(random_model(), **arguments)


def test_bad_modules_raise_clear_errors():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        PruneQuantizeCompressor([torch.zeros(3)], 0.5, 4)
    with pytest.raises(ValueError, match="nothing to compress"):
        PruneQuantizeCompressor(torch.nn.Sequential(torch.nn.ReLU(), torch.nn.BatchNorm1d(3)), 0.5, 4)
    with pytest.raises(ValueError, match="does not belong"):
        PruneQuantizeCompressor(random_model(), 0.5, 4, layers=[torch.nn.Parameter(torch.zeros(2))])


def test_explicit_layers_may_include_biases():
    model = random_model()
    compressor = PruneQuantizeCompressor(model, 0.5, 4, layers=["4.bias", model[6].weight])
    assert [name for name, _ in compressor.parameters] == ["4.bias", "6.weight"]


@pytest.mark.parametrize("settings", [(0.5, 4, "paper"), (0.0, 32, "paper"), (0.5, 32, "paper"),
                                      (0.5, 4, "frozen"), (0.5, 4, "straight-through")])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_diverged_weights_name_the_layer(bad, settings):
    gamma, bits, mode = settings
    model = random_model()
    compressor = PruneQuantizeCompressor(model, gamma, bits, mode=mode)
    compressor.step()  # frozen: the mask is fixed now, the next step takes the survivors' path
    with torch.no_grad():
        model[4].weight[0, 1] = bad  # a survivor in frozen mode, or not: both must be caught
        model[4].weight[0, 0] = bad
    with pytest.raises(ValueError, match="4.weight"):
        compressor.step()
    with pytest.raises(ValueError, match="w"):
        torch_prune_quantize_(torch.tensor([1.0, bad]), 0.5, 4, "w")


@pytest.mark.parametrize("mode", ["paper", "pruned-shadow", "straight-through", "frozen"])
@pytest.mark.parametrize("gamma, bits", [(0.5, 4), (0.375, 8), (0.5, 32), (0.0, 32)])
def test_deferred_checks_give_the_same_steps_as_checking_every_step(mode, gamma, bits):
    # float64 weights take the torch path (the GPU's): the deferred steps must compute the same
    # weights, β and q_k as the steps that wait, only later
    models = [random_model(seed=4, dtype=torch.float64) for _ in range(2)]
    checked, deferred = (PruneQuantizeCompressor(m, gamma, bits, mode=mode, warmup_steps=2, check_every_step=flag)
                         for m, flag in zip(models, (True, False), strict=True))
    generator = torch.Generator().manual_seed(1)
    for step in range(5):
        for compressor in (checked, deferred):
            compressor.step()
        if step == 0 and gamma > 0:  # deferred: device tensors until settled
            assert isinstance(deferred.states[0].threshold, torch.Tensor)
        for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
            assert torch.equal(a, b)
            update = 0.01 * torch.randn(a.shape, generator=generator, dtype=a.dtype)
            with torch.no_grad():
                a.add_(update)
                b.add_(update)
    assert checked.density() == deferred.density()
    assert [(s.threshold, s.step) for s in checked.states] == [(s.threshold, s.step) for s in deferred.states]
    assert all(isinstance(s.threshold, float) and isinstance(s.step, float) for s in deferred.states)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_deferred_nan_is_reported_by_the_next_check_naming_the_layer(bad):
    model = random_model(dtype=torch.float64)
    compressor = PruneQuantizeCompressor(model, 0.5, 8, mode="paper", check_every_step=False)
    compressor.step()
    compressor.check_finite()  # clean so far
    with torch.no_grad():
        model[4].weight[0, 0] = bad
    compressor.step()  # queued, not looked at
    with torch.no_grad():  # repaired before the next step, whose own weights are finite: the flag remembers
        model[4].weight.nan_to_num_(0.0, 0.0, 0.0)
    compressor.step()
    with pytest.raises(ValueError, match="4.weight.*since the last check"):
        compressor.check_finite()
    with torch.no_grad():
        model[4].weight[0, 0] = bad
    compressor.step()
    with pytest.raises(ValueError, match="4.weight"):
        compressor.density()
    with pytest.raises(TypeError, match="check_every_step"):
        PruneQuantizeCompressor(model, 0.5, 8, check_every_step=1)
