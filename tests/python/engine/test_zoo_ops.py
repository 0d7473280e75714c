"""Ops met in model-zoo files (InstanceNormalization, Pad edge/reflect, ImageScaler, Upsample at
opsets 7 and 9, LRN): the engine's plain loops against ONNX Runtime, edge cases included."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

F = TensorProto.FLOAT


def _model(node, x_shape, opset, initializers=(), extra_inputs=()):
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, list(x_shape)), *extra_inputs],
                              [helper.make_tensor_value_info("y", F, None)], initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 7)
    return model.SerializeToString()


def _check(model, x, atol=1e-5, **feeds):
    (expected,) = run_ort(model, {"x": x, **feeds})
    for backend in supported_backends():
        (got,) = Engine(model, backend=backend).run([x, *feeds.values()])
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=atol)
    return expected


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 2, 7), (1, 4, 1, 1)])
@pytest.mark.parametrize("constant", [False, True])
def test_instance_normalization(shape, constant):
    c = shape[1]
    inits = [numpy_helper.from_array(RNG.standard_normal(c).astype(np.float32), "s"),
             numpy_helper.from_array(RNG.standard_normal(c).astype(np.float32), "b")]
    model = _model(helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], epsilon=1e-3), shape, 9, inits)
    x = np.full(shape, 3.5, np.float32) if constant else (RNG.standard_normal(shape) * 4 + 1).astype(np.float32)
    _check(model, x, atol=1e-4)


@pytest.mark.parametrize("mode", ["edge", "reflect", "constant"])
@pytest.mark.parametrize("pads", [[0, 0, 1, 2, 0, 0, 2, 1], [0, 1, 0, 0, 0, 0, 3, 0], [0, 0, -1, 1, 0, 0, 1, -1]])
def test_pad_modes_opset11(mode, pads):
    shape = (1, 2, 4, 5)
    init = [numpy_helper.from_array(np.array(pads, np.int64), "pads")]
    model = _model(helper.make_node("Pad", ["x", "pads"], ["y"], mode=mode), shape, 11, init)
    _check(model, RNG.standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("mode", ["edge", "reflect"])
def test_pad_modes_opset2_attribute(mode):
    model = _model(helper.make_node("Pad", ["x"], ["y"], mode=mode, pads=[0, 0, 2, 1, 0, 0, 1, 2]), (1, 3, 4, 4), 2)
    _check(model, RNG.standard_normal((1, 3, 4, 4)).astype(np.float32))


def _numpy_pad(x, pads, mode, value):
    """ONNX Pad from its definition: pad by the positive pads with numpy, then crop the negative ones."""
    rank = x.ndim
    grow = [(max(pads[k], 0), max(pads[k + rank], 0)) for k in range(rank)]
    kwargs = {"constant_values": value} if mode == "constant" else {}
    y = np.pad(x, grow, mode=mode, **kwargs)
    crop = tuple(slice(max(-pads[k], 0), y.shape[k] - max(-pads[k + rank], 0)) for k in range(rank))
    return y[crop]


def _random_pad_case(seed):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 6))
    shape = [int(d) for d in rng.integers(1, 6, rank)]
    mode = ["constant", "edge", "reflect"][seed % 3]
    pads = []
    for _side in range(2):
        for k in range(rank):
            limit = shape[k] - 1 if mode == "reflect" else 3
            pads.append(int(rng.integers(-1 if shape[k] > 2 else 0, limit + 1)) if rng.random() < 0.6 else 0)
    if seed % 5 == 0:  # only leading axes padded: the trailing ones form one block
        pads = [p if k % rank < rank // 2 else 0 for k, p in enumerate(pads)]
    return np.asarray(rng.standard_normal(shape), np.float32), pads, mode


@pytest.mark.parametrize("seed", range(48))
def test_pad_matches_its_definition_on_random_shapes(seed):
    x, pads, mode = _random_pad_case(seed)
    value = 0.0 if mode != "constant" else 1.5
    init = [numpy_helper.from_array(np.array(pads, np.int64), "pads"),
            numpy_helper.from_array(np.array(value, np.float32), "value")]
    model = _model(helper.make_node("Pad", ["x", "pads", "value"], ["y"], mode=mode), x.shape, 11, init)
    expected = _numpy_pad(x, pads, mode, value)
    for backend in supported_backends():
        (got,) = Engine(model, backend=backend).run([x])
        np.testing.assert_array_equal(got, expected, err_msg=f"{mode} {pads} {x.shape}")


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad_of_a_non_contiguous_input_and_to_nothing(mode):
    x = RNG.standard_normal((2, 3, 6, 5)).astype(np.float32)[:, ::2, :, 1:]
    pads = [1, 0, 2, 0, 0, 1, 1, 3]
    init = [numpy_helper.from_array(np.array(pads, np.int64), "pads")]
    model = _model(helper.make_node("Pad", ["x", "pads"], ["y"], mode=mode), x.shape, 11, init)
    (got,) = Engine(model).run([x])
    np.testing.assert_array_equal(got, _numpy_pad(np.ascontiguousarray(x), pads, mode, 0.0))
    crop = [0, 0, -3, 0, 0, 0, -3, 0]  # an axis cropped to nothing: an empty output
    init = [numpy_helper.from_array(np.array(crop, np.int64), "pads")]
    model = _model(helper.make_node("Pad", ["x", "pads"], ["y"], mode=mode), (1, 2, 6, 4), 11, init)
    (got,) = Engine(model).run([np.ones((1, 2, 6, 4), np.float32)])
    assert got.shape == (1, 2, 0, 4)


def test_reflect_pad_larger_than_the_axis_is_refused():
    init = [numpy_helper.from_array(np.array([0, 0, 0, 4, 0, 0, 0, 0], np.int64), "pads")]
    model = _model(helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect", name="p"), (1, 1, 2, 4), 11, init)
    with pytest.raises(ValueError, match="Pad node 'p': reflect pads must be smaller"):
        Engine(model).run(np.zeros((1, 1, 2, 4), np.float32))
    with pytest.raises(ValueError, match="mode 'wrap' is not supported"):
        Engine(_model(helper.make_node("Pad", ["x", "pads"], ["y"], mode="wrap"), (1, 1, 2, 4), 11, init))


def test_image_scaler():
    model = _model(helper.make_node("ImageScaler", ["x"], ["y"], scale=0.5, bias=[1.0, -2.0, 3.0]), (2, 3, 4, 4), 9)
    x = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32)
    try:
        _check(model, x)
    except Exception as error:  # ONNX Runtime builds without the experimental op
        if "ImageScaler" not in str(error) or "Engine" in str(error):
            raise
        (got,) = Engine(model).run(x)
        np.testing.assert_allclose(got, 0.5 * x + np.array([1, -2, 3], np.float32)[None, :, None, None], rtol=1e-6)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 3.0, 1.5], [1.0, 1.0, 2.5, 1.0]])
def test_upsample_opset7_and_9(mode, scales):
    shape = (1, 2, 3, 4)
    x = RNG.standard_normal(shape).astype(np.float32)
    opset7 = _model(helper.make_node("Upsample", ["x"], ["y"], mode=mode, scales=scales), shape, 7)
    expected = _check(opset7, x)
    init = [numpy_helper.from_array(np.array(scales, np.float32), "scales")]
    opset9 = _model(helper.make_node("Upsample", ["x", "scales"], ["y"], mode=mode), shape, 9, init)
    np.testing.assert_array_equal(_check(opset9, x), expected)


def test_upsample_refuses_shrinking_scales():
    model = _model(helper.make_node("Upsample", ["x"], ["y"], scales=[1.0, 1.0, 0.5, 1.0], name="u"), (1, 1, 4, 4), 7)
    with pytest.raises(ValueError, match="Upsample node 'u': scales must be in"):
        Engine(model).run(np.zeros((1, 1, 4, 4), np.float32))


@pytest.mark.parametrize("size", [1, 3, 5])  # ONNX Runtime takes odd sizes only
def test_lrn(size):
    shape = (2, 6, 3, 3)
    model = _model(helper.make_node("LRN", ["x"], ["y"], size=size, alpha=2e-3, beta=0.8, bias=1.5), shape, 13)
    x = (RNG.standard_normal(shape) * 5).astype(np.float32)
    _check(model, x)
    _check(model, np.zeros(shape, np.float32))


def test_lrn_even_size_against_the_onnx_formula():
    """Even sizes (ONNX allows them): window [c - floor((size-1)/2), c + ceil((size-1)/2)]."""
    x = RNG.standard_normal((1, 5, 2, 2)).astype(np.float64)
    model = _model(helper.make_node("LRN", ["x"], ["y"], size=4, alpha=0.1, beta=0.5, bias=2.0), x.shape, 13)
    squares = np.stack([(x[:, max(0, c - 1):c + 3] ** 2).sum(1) for c in range(5)], 1)
    expected = x / (2.0 + 0.1 / 4 * squares) ** 0.5
    np.testing.assert_allclose(Engine(model).run(x.astype(np.float32))[0], expected, rtol=1e-5)


def test_lrn_needs_size():
    with pytest.raises(ValueError, match="'size' is required"):
        Engine(_model(helper.make_node("LRN", ["x"], ["y"]), (1, 2, 2, 2), 13))
