"""Components of ONNX models and torch modules."""

import pytest

from edgequant.mixed_precision import list_components
from edgequant.mixed_precision.components import match_components, split_name
from edgequant.zoo import model_path


def test_digits_components_per_tensor_and_per_channel():
    tensors = list_components(model_path())
    assert [(c.name, c.axis, c.size) for c in tensors] == [("0.weight", 0, 288), ("3.weight", 0, 18432),
                                                          ("9.weight", 0, 10240)]
    channels = list_components(model_path(), per_channel=True)
    assert len(channels) == 32 + 64 + 10
    assert channels[33].name == "3.weight[1]" and channels[33].channel == 1 and channels[33].size == 32 * 9
    assert sum(c.size for c in channels) == sum(c.size for c in tensors)


def test_a_gemm_weight_stored_k_by_n_has_its_channels_on_axis_1(constructed):
    from onnx import helper

    for attribute in constructed.graph.node[2].attribute:
        if attribute.name == "transB":
            attribute.CopyFrom(helper.make_attribute("transB", 0))
    assert {c.name: c.axis for c in list_components(constructed)}["W2"] == 1


def test_torch_components():
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.ConvTranspose2d(4, 2, 2), torch.nn.Flatten(), torch.nn.LazyLinear(3))
    module(torch.zeros(1, 1, 6, 6))
    names = {c.name: c.axis for c in list_components(module)}
    assert names == {"0.weight": 0, "3.weight": 1, "5.weight": 0}  # not BatchNorm's weight
    assert len(list_components(module, per_channel=True)) == 4 + 2 + 3
    with pytest.raises(ValueError, match="has no Conv/ConvTranspose/Linear weight"):
        list_components(torch.nn.Sequential(torch.nn.ReLU()))


def test_a_component_list_that_does_not_match_the_model():
    components = list_components(model_path())
    with pytest.raises(ValueError, match=r"\['conv9.weight'\] are not components of the model; it has: 0.weight"):
        match_components(components, ["0.weight", "conv9.weight"])
    with pytest.raises(ValueError, match="more than once"):
        match_components(components, ["0.weight", "0.weight"])
    assert split_name("a.b[12]") == ("a.b", 12) and split_name("a.b") == ("a.b", None)
