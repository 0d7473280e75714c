"""QAT at a mixed bit configuration: the fake-quantized forward equals Affine-quantized weights bit
for bit, fine-tuning recovers accuracy, and the QDQ export runs in ONNX Runtime and the engine."""

import os

import numpy as np
import pytest

if os.environ.get("EDGEQUANT_REQUIRE_TORCH") == "1":
    import torch
else:
    torch = pytest.importorskip("torch")

from edgequant.mixed_precision import list_components, make_config  # noqa: E402
from edgequant.mixed_precision.qat import FakeQuantModel, export_qdq, fine_tune  # noqa: E402
from edgequant.quantizers import Affine  # noqa: E402
from edgequant.training import Protocol, accuracy, build_model, digits_data, train_run  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]




@pytest.fixture(scope="module")
def digits():
    return digits_data()


@pytest.fixture(scope="module")
def trained(digits):
    """The digits CNN after a short FP32 training (accuracy is not the point, real weights are)."""
    torch.set_num_threads(1)
    run = train_run(digits, 0.0, 32, 0.05, Protocol(epochs=6, patience=6), device="cpu")
    model = build_model("digits_cnn")
    model.load_state_dict(run.best_state)
    return model.eval()


def mixed_bits(model):
    widths = (2, 3, 4, 8)
    return {c.name: widths[i % len(widths)] for i, c in enumerate(list_components(model))}


def affine_quantized_copy(model, bits):
    """The reference: every configured weight replaced by edgequant.quantizers.Affine's output."""
    import copy

    clone = copy.deepcopy(model)
    with torch.no_grad():
        for name, parameter in clone.named_parameters():
            if name in bits:
                parameter.copy_(torch.from_numpy(Affine(bits=bits[name], axis=0)(parameter.numpy())))
    return clone


def test_forward_equals_affine_quantized_weights_bit_for_bit(trained, digits):
    bits = mixed_bits(trained)
    wrapper = FakeQuantModel(trained, bits).eval()
    reference = affine_quantized_copy(trained, bits).eval()
    x = torch.from_numpy(digits.x_test[:64])
    with torch.no_grad():
        assert torch.equal(wrapper(x), reference(x))
        quantized = dict(wrapper.quantized_model().named_parameters())
        for name, parameter in reference.named_parameters():
            assert torch.equal(quantized[name], parameter), name
    # the wrapped model keeps its float weights and names
    assert set(wrapper.model.state_dict()) == set(trained.state_dict())
    assert not torch.equal(dict(wrapper.model.named_parameters())["0.0.weight"],
                           dict(reference.named_parameters())["0.0.weight"])


def test_a_saved_config_and_an_allocation_mean_the_same(trained):
    bits = mixed_bits(trained)
    from_allocation = FakeQuantModel(trained, bits)
    from_config = FakeQuantModel(trained, make_config(bits, list_components(trained)))
    assert from_allocation.widths == from_config.widths
    partial = FakeQuantModel(trained, {"1.10.weight": 2})  # the rest stays float
    assert list(partial.quantized_weights()) == ["1.10.weight"]


def test_per_channel_components(trained, digits):
    components = list_components(trained, per_channel=True)
    bits = {c.name: (2, 8)[c.channel % 2] if c.channel is not None else 4 for c in components}
    wrapper = FakeQuantModel(trained, bits)
    weight = dict(trained.named_parameters())["0.4.weight"].detach().numpy()
    expected = np.stack([Affine(bits=(2, 8)[k % 2], axis=0)(weight[k:k + 1])[0] for k in range(weight.shape[0])])
    assert np.array_equal(wrapper.quantized_weights()["0.4.weight"].detach().numpy(), expected)


def test_fine_tuning_recovers_two_bit_accuracy(trained, digits):
    bits = {c.name: 2 for c in list_components(trained)}
    post_training = accuracy(FakeQuantModel(trained, bits), digits.x_val, digits.y_val, "cpu")
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    result = fine_tune(trained, bits, digits, epochs=3, lr=0.01, device="cpu")
    assert result.history["val_acc"][0] == post_training
    assert result.val_acc > post_training + 0.05
    assert result.val_loss == min(result.history["val_loss"]) and 0 < result.best_epoch <= 3
    assert result.val_loss < result.history["val_loss"][0]
    assert accuracy(result.model, digits.x_val, digits.y_val, "cpu") == result.val_acc  # the best epoch is kept
    assert all(torch.equal(v, trained.state_dict()[k]) for k, v in before.items())  # the input is untouched


def test_qdq_export_runs_in_onnxruntime_and_the_engine(trained, digits, tmp_path):
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    bits = mixed_bits(trained)
    wrapper = FakeQuantModel(trained, bits).eval()
    path = tmp_path / "mixed.onnx"
    model = export_qdq(wrapper, path, (1, 8, 8))
    # every weight is an int8 initializer on its b-bit grid whose dequantization is the
    # fake-quantized weight, bit for bit
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    nodes = {n.output[0]: n for n in model.graph.node if n.op_type == "DequantizeLinear"}
    quantized = wrapper.quantized_weights()
    assert set(nodes) == set(bits)
    for name, width in bits.items():
        codes, scale, zero_point = (initializers[i] for i in nodes[name].input)
        assert codes.dtype == np.int8 and codes.min() >= -(1 << (width - 1)) and codes.max() < (1 << (width - 1))
        dequantized = (codes.astype(np.int32) - zero_point.reshape(-1, *[1] * (codes.ndim - 1))).astype(np.float32) \
            * scale.reshape(-1, *[1] * (codes.ndim - 1))
        assert np.array_equal(dequantized, quantized[name].detach().numpy()), name
    onnx.checker.check_model(model)
    x = digits.x_test[:1]
    with torch.no_grad():
        expected = wrapper(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    from_ort = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(from_ort, expected, rtol=1e-4, atol=1e-4)
    from edgequant.engine import Engine, engine_available

    if not engine_available():
        pytest.skip("this build has no inference engine")
    from_engine = Engine(str(path), threads=1).run(x)
    from_engine = from_engine[0] if isinstance(from_engine, list | tuple) else from_engine
    np.testing.assert_allclose(from_engine, from_ort, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bits, error, match", [
    ({"nope.weight": 4}, ValueError, "nope.weight"),
    ({"0.0.weight": 1}, ValueError, r"0.0.weight.*\[2, 16\]"),
    ({"0.0.weight": 4.5}, ValueError, r"0.0.weight.*\[2, 16\]"),
    ({"0.0.weight": [4, 4]}, ValueError, "output channels"),
    ([("0.0.weight", 4)], TypeError, "mapping"),
])
def test_bad_configs(trained, bits, error, match):
    with pytest.raises(error, match=match):
        FakeQuantModel(trained, bits)


def test_bad_fine_tuning_arguments(trained, digits):
    bits = {"1.10.weight": 4}
    with pytest.raises(ValueError, match="epochs"):
        fine_tune(trained, bits, digits, epochs=-1)
    with pytest.raises(ValueError, match="lr"):
        fine_tune(trained, bits, digits, lr=0)


def test_fine_tuning_depends_on_the_seed_only(trained, digits):
    bits = {c.name: 3 for c in list_components(trained)}
    first = fine_tune(trained, bits, digits, epochs=1, lr=0.01, seed=5, device="cpu")
    torch.rand(100)  # moves the global generator (dropout draws from a forked one)
    again = fine_tune(trained, bits, digits, epochs=1, lr=0.01, seed=5, device="cpu")
    other = fine_tune(trained, bits, digits, epochs=1, lr=0.01, seed=6, device="cpu")
    first_state, again_state = first.model.model.state_dict(), again.model.model.state_dict()
    assert all(torch.equal(first_state[k], again_state[k]) for k in first_state)
    assert all(first.history[k][1:] == again.history[k][1:] for k in first.history)  # the training itself
    assert first.history["loss"][1] != other.history["loss"][1]


def test_an_empty_config_quantizes_nothing(trained, digits, tmp_path):
    wrapper = FakeQuantModel(trained, {}).eval()
    x = torch.from_numpy(digits.x_test[:16])
    with torch.no_grad():
        assert torch.equal(wrapper(x), trained.eval()(x))
    with pytest.raises(ValueError, match="quantizes no weight"):
        export_qdq(wrapper, tmp_path / "none.onnx", (1, 8, 8))
