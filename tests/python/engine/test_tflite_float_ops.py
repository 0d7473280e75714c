"""The TFLite operators that float models exported for phones use (MediaPipe's pose, hand, face and
segmentation models from PyPI's ``mediapipe`` wheel): CONCATENATION, PAD / PADV2, PRELU, RELU / RELU6,
LOGISTIC, HARD_SWISH, MUL / SUB, RESIZE_BILINEAR (every coordinate mode), TRANSPOSE_CONV and MediaPipe's
custom Convolution2DTransposeBias, converted by :func:`edgequant.tflite.tflite_to_onnx` and run on the
engine. Each alone, in a forged float model, against TensorFlow Lite Micro's reference kernels (the
custom operator, which TFLite Micro does not know, against TRANSPOSE_CONV with its bias added after);
malformed operators are refused with the operator named. Sparse weight tensors (TFLite's sparsity format, CSR
and block CSR, as MediaPipe's detectors store them) are read dense."""

import pathlib
import struct
import sys
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("tflite")
pytest.importorskip("onnx")
tflm = pytest.importorskip("tflite_micro.python.tflite_micro.runtime", reason="tflite-micro not installed")

from edgequant.engine import Engine, supported_backends  # noqa: E402
from edgequant.tflite import tflite_to_onnx  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "microcontroller"))
from tflite_forge import ModelSpec, OpSpec, TensorSpec, serialize  # noqa: E402

BACKENDS = supported_backends()
RNG = np.random.default_rng(0)


def f32(name, shape, data=None):
    return TensorSpec(name, list(shape), "FLOAT32", data=None if data is None else np.asarray(data, np.float32))


def i32(name, values):
    values = np.asarray(values, np.int32)
    return TensorSpec(name, list(values.shape), "INT32", data=values)


def model(tensors, operators, inputs, outputs) -> bytes:
    return serialize(ModelSpec(tensors, operators, inputs, outputs))


def tflm_run(model_bytes, feeds) -> list:
    interpreter = tflm.Interpreter.from_bytes(model_bytes, arena_size=1 << 24)
    for k, x in enumerate(feeds):
        interpreter.set_input(x, k)
    interpreter.invoke()
    return [interpreter.get_output(k).copy() for k in range(_output_count(model_bytes))]


def _output_count(model_bytes) -> int:
    from edgequant.tflite import read_tflite

    return len(read_tflite(model_bytes).outputs)


def check_against_tflm(model_bytes, feeds, tolerance=1e-5):
    expected = tflm_run(model_bytes, feeds)
    for backend in BACKENDS:
        ours = Engine(model_bytes, threads=1, backend=backend).run(feeds)
        for got, want in zip(ours, expected, strict=True):
            assert got.shape == want.shape, backend
            scale = max(float(np.abs(want).max()), 1e-30)
            assert float(np.abs(got - want).max()) <= tolerance * scale, (backend, np.abs(got - want).max(), scale)


def unary_model(kind, shape=(1, 5, 7, 6)):
    return model([f32("x", shape), f32("y", shape)], [OpSpec(kind, [0], [1])], [0], [1])


@pytest.mark.parametrize("kind", ["RELU", "RELU6", "LOGISTIC", "HARD_SWISH", "TANH"])
@pytest.mark.parametrize("shape", [(1, 5, 7, 6), (2, 9)])
def test_unary(kind, shape):
    x = (RNG.standard_normal(shape) * 5).astype(np.float32)
    x.flat[:4] = [-3.0, 3.0, 0.0, 6.0]  # HardSwish's and Relu6's corners
    check_against_tflm(unary_model(kind, shape), [x])


@pytest.mark.parametrize("kind", ["MUL", "SUB"])
@pytest.mark.parametrize("other", [(1, 4, 5, 3), (3,), (1, 1, 1, 3)])
def test_binary_broadcast(kind, other):
    tensors = [f32("x", (1, 4, 5, 3)), f32("c", other, RNG.standard_normal(other)), f32("y", (1, 4, 5, 3))]
    m = model(tensors, [OpSpec(kind, [0, 1], [2], {"activation": "RELU6"})], [0], [2])
    check_against_tflm(m, [(RNG.standard_normal((1, 4, 5, 3)) * 4).astype(np.float32)])


@pytest.mark.parametrize("axis", [3, -1, 1, 2])
def test_concatenation(axis):
    a_shape, b_shape = [1, 4, 5, 3], [1, 4, 5, 3]
    b_shape[axis] = 2
    out = list(a_shape)
    out[axis] = a_shape[axis] + 2
    tensors = [f32("a", a_shape), f32("b", b_shape), f32("y", out)]
    m = model(tensors, [OpSpec("CONCATENATION", [0, 1], [2], {"axis": axis})], [0, 1], [2])
    check_against_tflm(m, [RNG.standard_normal(a_shape).astype(np.float32),
                           RNG.standard_normal(b_shape).astype(np.float32)])


@pytest.mark.parametrize("kind", ["PAD", "PADV2"])
def test_pad(kind):
    paddings = [[0, 0], [1, 2], [0, 3], [2, 1]]
    tensors = [f32("x", (1, 4, 5, 3)), i32("p", paddings), f32("y", (1, 7, 8, 6))]
    inputs = [0, 1]
    if kind == "PADV2":
        tensors.append(f32("v", (1,), [-2.5]))
        inputs.append(3)
    m = model(tensors, [OpSpec(kind, inputs, [2])], [0], [2])
    check_against_tflm(m, [RNG.standard_normal((1, 4, 5, 3)).astype(np.float32)])


@pytest.mark.parametrize("alpha_shape", [(1, 1, 3), (3,), (4, 5, 3), (1, 4, 5, 3)])
def test_prelu(alpha_shape):
    tensors = [f32("x", (1, 4, 5, 3)), f32("a", alpha_shape, RNG.random(alpha_shape)), f32("y", (1, 4, 5, 3))]
    m = model(tensors, [OpSpec("PRELU", [0, 1], [2])], [0], [2])
    check_against_tflm(m, [RNG.standard_normal((1, 4, 5, 3)).astype(np.float32)])


@pytest.mark.parametrize("mode", [{}, {"align_corners": True}, {"half_pixel_centers": True}])
@pytest.mark.parametrize("size", [(8, 10), (7, 3), (4, 5)])
def test_resize_bilinear(mode, size):
    tensors = [f32("x", (1, 4, 5, 3)), i32("s", size), f32("y", (1, *size, 3))]
    m = model(tensors, [OpSpec("RESIZE_BILINEAR", [0, 1], [2], dict(mode))], [0], [2])
    check_against_tflm(m, [RNG.standard_normal((1, 4, 5, 3)).astype(np.float32)])


@pytest.mark.parametrize("mode", [{}, {"align_corners": True}, {"half_pixel_centers": True},
                                  {"align_corners": True, "half_pixel_centers": True}])
@pytest.mark.parametrize(("source", "size"), [((4, 5), (8, 10)), ((4, 5), (7, 3)), ((5, 3), (3, 7)),
                                              ((6, 5), (3, 5)), ((3, 7), (1, 1)), ((5, 6), (10, 13))])
def test_resize_nearest_neighbor(mode, source, size):
    tensors = [f32("x", (1, *source, 3)), i32("s", size), f32("y", (1, *size, 3))]
    m = model(tensors, [OpSpec("RESIZE_NEAREST_NEIGHBOR", [0, 1], [2], dict(mode))], [0], [2])
    check_against_tflm(m, [RNG.standard_normal((1, *source, 3)).astype(np.float32)], tolerance=0)


def test_resize_nearest_neighbor_needs_the_output_size():
    tensors = [f32("x", (1, 4, 5, 3)), i32("s", [8, 9]), f32("y", (1, 8, 10, 3))]
    with pytest.raises(ValueError, match=r"RESIZE_NEAREST_NEIGHBOR.*size \[8, 9\] is not the output's \[8, 10\]"):
        tflite_to_onnx(model(tensors, [OpSpec("RESIZE_NEAREST_NEIGHBOR", [0, 1], [2])], [0], [2]))


@pytest.mark.parametrize("block", [2, 3])
def test_depth_to_space(block):
    channels = 2 * block * block
    tensors = [f32("x", (1, 3, 4, channels)), f32("y", (1, 3 * block, 4 * block, 2))]
    m = model(tensors, [OpSpec("DEPTH_TO_SPACE", [0], [1], {"block_size": block})], [0], [1])
    check_against_tflm(m, [RNG.standard_normal((1, 3, 4, channels)).astype(np.float32)])


def strided_slice_model(shape, begin, end, strides, **options):
    """One STRIDED_SLICE of a float input; the output shape from NumPy's slicing, TFLite's semantics."""
    from edgequant.tflite._onnx_ops import _slice_per_axis

    op = OpSpec("STRIDED_SLICE", [0, 1, 2, 3], [4], options)
    picks = _slice_per_axis(SimpleNamespace(options=options), list(shape), begin, end, strides)
    out_shape = np.empty(shape)[tuple(picks)].shape
    tensors = [f32("x", shape), i32("begin", begin), i32("end", end), i32("strides", strides), f32("y", out_shape)]
    return model(tensors, [op], [0], [4]), out_shape


STRIDED_SLICES = [  # (input shape, begin, end, strides, options): MediaPipe's hand_recrop, then the masks' corners
    ((1, 1, 1, 5), [0, 0, 0, 0], [1, 1, 1, 2], [1, 1, 1, 1], {"begin_mask": 7, "end_mask": 7}),
    ((1, 6, 5, 4), [0, 1, 0, 1], [1, 5, 5, 3], [1, 2, 1, 1], {}),
    ((1, 6, 5, 4), [0, -2, 4, 3], [1, 0, 0, 0], [1, -1, -2, -1], {"end_mask": 6}),
    ((1, 6, 5, 4), [0, 2, 0, 0], [1, 3, 5, 4], [1, 1, 1, 1], {"shrink_axis_mask": 2}),
    ((1, 6, 5, 4), [0, 0, -1, 2], [1, 6, 0, 0], [1, 3, 1, 1], {"shrink_axis_mask": 12}),
    ((2, 9), [-1, 0], [0, 100], [1, 3], {"end_mask": 1}),
]


@pytest.mark.parametrize(("shape", "begin", "end", "strides", "options"), STRIDED_SLICES)
def test_strided_slice(shape, begin, end, strides, options):
    m, _ = strided_slice_model(shape, begin, end, strides, **options)
    check_against_tflm(m, [RNG.standard_normal(shape).astype(np.float32)], tolerance=0)


def test_strided_slice_offset_makes_end_relative_to_begin():
    # TFLite Micro ignores ``offset``; TFLite's kernels (LiteRT) read end as begin + end: x[1:2, 2:6:2]
    m, out_shape = strided_slice_model((2, 9), [1, 2], [1, 4], [1, 2], offset=True)
    x = RNG.standard_normal((2, 9)).astype(np.float32)
    assert out_shape == (1, 2)
    for backend in BACKENDS:
        assert np.array_equal(Engine(m, threads=1, backend=backend).run([x])[0], x[1:2, 2:6:2]), backend
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="LiteRT: pip install '.[bench]'")
    interpreter = litert.Interpreter(model_content=m)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    assert np.array_equal(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), x[1:2, 2:6:2])


def test_strided_slice_needs_one_value_per_axis():
    # TFLite's kernels read begin / end / strides for every axis of the input
    tensors = [f32("x", (3, 4, 5)), i32("begin", [1]), i32("end", [3]), i32("strides", [1]), f32("y", (2, 4, 5))]
    with pytest.raises(ValueError, match=r"one value per axis of the rank-3 input"):
        tflite_to_onnx(model(tensors, [OpSpec("STRIDED_SLICE", [0, 1, 2, 3], [4])], [0], [4]))


@pytest.mark.parametrize(("options", "match"), [({"ellipsis_mask": 1}, "ellipsis_mask 1 is not supported"),
                                                ({"new_axis_mask": 2}, "new_axis_mask 2 is not supported")])
def test_strided_slice_masks_it_cannot_convert_are_named(options, match):
    op = OpSpec("STRIDED_SLICE", [0, 1, 2, 3], [4], options)
    tensors = [f32("x", (1, 6, 5, 4)), i32("begin", [0, 1, 0, 1]), i32("end", [1, 5, 5, 3]),
               i32("strides", [1, 2, 1, 1]), f32("y", (1, 2, 5, 2))]
    with pytest.raises(ValueError, match=f"STRIDED_SLICE.*{match}"):
        tflite_to_onnx(model(tensors, [op], [0], [4]))


def test_strided_slice_with_a_stride_of_zero_is_refused():
    tensors = [f32("x", (2, 9)), i32("begin", [0, 0]), i32("end", [2, 9]), i32("strides", [1, 0]), f32("y", (2, 9))]
    with pytest.raises(ValueError, match="stride 0 on axis 1"):
        tflite_to_onnx(model(tensors, [OpSpec("STRIDED_SLICE", [0, 1, 2, 3], [4])], [0], [4]))


def transpose_conv_model(padding, stride, kernel, size, out_size, bias=True):
    weights = RNG.standard_normal((5, kernel, kernel, 3)).astype(np.float32)
    tensors = [i32("shape", [1, out_size, out_size, 5]), f32("w", weights.shape, weights), f32("x", (1, size, size, 3)),
               f32("y", (1, out_size, out_size, 5))]
    inputs = [0, 1, 2]
    if bias:
        tensors.append(f32("b", (5,), RNG.standard_normal(5)))
        inputs.append(4)
    op = OpSpec("TRANSPOSE_CONV", inputs, [3], {"padding": padding, "stride_h": stride, "stride_w": stride})
    return model(tensors, [op], [2], [3]), weights


@pytest.mark.parametrize("padding,stride,kernel,size,out_size", [
    ("SAME", 2, 2, 4, 8), ("SAME", 2, 3, 4, 8), ("SAME", 1, 3, 5, 5), ("VALID", 2, 3, 4, 9), ("SAME", 3, 4, 3, 9)])
def test_transpose_conv(padding, stride, kernel, size, out_size):
    m, _ = transpose_conv_model(padding, stride, kernel, size, out_size)
    check_against_tflm(m, [RNG.standard_normal((1, size, size, 3)).astype(np.float32)])


def test_mediapipe_transpose_conv_bias():
    """Convolution2DTransposeBias (input, filters, bias; padding / strides as raw int32s) gives what
    TRANSPOSE_CONV gives with the same filters and the bias."""
    weights = RNG.standard_normal((5, 3, 3, 3)).astype(np.float32)
    bias = RNG.standard_normal(5).astype(np.float32)
    x = RNG.standard_normal((1, 4, 4, 3)).astype(np.float32)
    custom = struct.pack("<iii", 1, 2, 2)  # SAME, stride_width, stride_height
    tensors = [f32("x", (1, 4, 4, 3)), f32("w", weights.shape, weights), f32("b", (5,), bias), f32("y", (1, 8, 8, 5))]
    m = model(tensors, [OpSpec("CUSTOM:Convolution2DTransposeBias", [0, 1, 2], [3], {"custom": custom})], [0], [3])
    builtin_tensors = [i32("shape", [1, 8, 8, 5]), f32("w", weights.shape, weights), f32("x", (1, 4, 4, 3)),
                       f32("y", (1, 8, 8, 5)), f32("b", (5,), bias)]
    builtin = model(builtin_tensors, [OpSpec("TRANSPOSE_CONV", [0, 1, 2, 4], [3],
                                             {"padding": "SAME", "stride_h": 2, "stride_w": 2})], [2], [3])
    expected = tflm_run(builtin, [x])[0]
    for backend in BACKENDS:
        got = Engine(m, threads=1, backend=backend).run([x])[0]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_malformed_operators_are_named():
    tensors = [f32("x", (1, 4, 5, 3)), i32("p", [[0, 0], [1, 2], [0, 3]]), f32("y", (1, 7, 8, 3))]
    with pytest.raises(ValueError, match=r"operator 0 PAD: the paddings .* \[4, 2\]"):
        tflite_to_onnx(model(tensors, [OpSpec("PAD", [0, 1], [2])], [0], [2]))
    tensors = [f32("x", (1, 4, 5, 3)), i32("s", [9, 9]), f32("y", (1, 8, 10, 3))]
    with pytest.raises(ValueError, match="RESIZE_BILINEAR: the size"):
        tflite_to_onnx(model(tensors, [OpSpec("RESIZE_BILINEAR", [0, 1], [2])], [0], [2]))
    tensors = [f32("x", (1, 4, 5, 3)), i32("s", [8, 10]), f32("y", (1, 8, 10, 3))]
    both = {"align_corners": True, "half_pixel_centers": True}
    with pytest.raises(ValueError, match="both set"):
        tflite_to_onnx(model(tensors, [OpSpec("RESIZE_BILINEAR", [0, 1], [2], both)], [0], [2]))
    tensors = [f32("x", (1, 4, 4, 3)), f32("w", (5, 3, 3, 3), np.zeros((5, 3, 3, 3))), f32("b", (5,), np.zeros(5)),
               f32("y", (1, 8, 8, 5))]
    with pytest.raises(ValueError, match="custom options hold 4 bytes"):
        tflite_to_onnx(model(tensors, [OpSpec("CUSTOM:Convolution2DTransposeBias", [0, 1, 2], [3],
                                              {"custom": b"\x01\x00\x00\x00"})], [0], [3]))
    with pytest.raises(ValueError, match="CUSTOM:Unknown"):
        tflite_to_onnx(model(tensors, [OpSpec("CUSTOM:Unknown", [0, 1, 2], [3])], [0], [3]))


def csr_last_axis(weights):
    """TFLite sparsity of ``weights`` compressed along its last axis (the others dense, in order)."""
    rows = weights.reshape(-1, weights.shape[-1])
    segments, indices, values = [0], [], []
    for row in rows:
        kept = np.flatnonzero(row)
        indices += kept.tolist()
        values += row[kept].tolist()
        segments.append(len(indices))
    dims = [("dense", d) for d in weights.shape[:-1]] + [("csr", segments, indices)]
    return {"traversal_order": list(range(weights.ndim)), "dims": dims}, np.array(values, weights.dtype)


def block_csr(weights, block):
    """TFLite sparsity of a [rows, cols] matrix in blocks of ``block`` columns: a block is kept whole
    where any of its values is nonzero."""
    rows, cols = weights.shape
    segments, indices, values = [0], [], []
    for row in weights:
        for b in range(cols // block):
            if np.any(row[b * block:(b + 1) * block]):
                indices.append(b)
                values += row[b * block:(b + 1) * block].tolist()
        segments.append(len(indices))
    sparsity = {"traversal_order": [0, 1, 2], "block_map": [1],
                "dims": [("dense", rows), ("csr", segments, indices), ("dense", block)]}
    return sparsity, np.array(values, weights.dtype)


def sparse_conv_models():
    weights = RNG.standard_normal((6, 3, 3, 4)).astype(np.float32)
    weights[RNG.random(weights.shape) < 0.6] = 0
    weights[2] = 0  # a whole filter without a value
    sparsity, values = csr_last_axis(weights)
    bias = RNG.standard_normal(6)

    def conv(w_tensor):
        tensors = [f32("x", (1, 7, 7, 4)), w_tensor, f32("b", (6,), bias), f32("y", (1, 7, 7, 6))]
        op = OpSpec("CONV_2D", [0, 1, 2], [3], {"padding": "SAME", "stride_h": 1, "stride_w": 1, "dilation_h": 1,
                                                "dilation_w": 1})
        return model(tensors, [op], [0], [3])

    dense = conv(f32("w", weights.shape, weights))
    sparse = conv(TensorSpec("w", list(weights.shape), "FLOAT32", data=values, sparsity=sparsity))
    return dense, sparse


def test_sparse_conv_weights_are_densified():
    dense, sparse = sparse_conv_models()
    x = RNG.standard_normal((1, 7, 7, 4)).astype(np.float32)
    expected = tflm_run(dense, [x])[0]
    got = Engine(sparse, threads=1).run([x])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_densify_of_a_sparse_float16_constant_is_folded():
    """MediaPipe's detectors: sparse float16 weights -> DENSIFY -> DEQUANTIZE -> CONV_2D."""
    weights = RNG.standard_normal((6, 3, 3, 4)).astype(np.float16)
    weights[RNG.random(weights.shape) < 0.5] = 0
    sparsity, values = csr_last_axis(weights)
    tensors = [f32("x", (1, 7, 7, 4)), TensorSpec("w16", [6, 3, 3, 4], "FLOAT16", data=values, sparsity=sparsity),
               TensorSpec("w16_dense", [6, 3, 3, 4], "FLOAT16"), f32("w", (6, 3, 3, 4)), f32("y", (1, 7, 7, 6))]
    ops = [OpSpec("DENSIFY", [1], [2]), OpSpec("DEQUANTIZE", [2], [3]),
           OpSpec("CONV_2D", [0, 3], [4], {"padding": "SAME", "stride_h": 1, "stride_w": 1})]
    sparse = model(tensors, ops, [0], [4])
    dense = model([f32("x", (1, 7, 7, 4)), f32("w", weights.shape, weights.astype(np.float32)), f32("y", (1, 7, 7, 6))],
                  [OpSpec("CONV_2D", [0, 1], [2], {"padding": "SAME", "stride_h": 1, "stride_w": 1})], [0], [2])
    x = RNG.standard_normal((1, 7, 7, 4)).astype(np.float32)
    np.testing.assert_allclose(Engine(sparse, threads=1).run([x])[0], tflm_run(dense, [x])[0], rtol=1e-5, atol=1e-5)


def test_block_sparse_fully_connected_weights_are_densified():
    weights = RNG.standard_normal((5, 16)).astype(np.float32)
    weights[:, 4:8] = 0
    weights[3, :] = 0
    sparsity, values = block_csr(weights, 4)
    _sparse_dense_layer_matches_tflm(weights, values, sparsity)


def test_sparse_weights_walked_column_first():
    """traversal_order [1, 0]: the columns are the outer, dense level, each column's rows a CSR list."""
    weights = RNG.standard_normal((5, 12)).astype(np.float32)
    weights[RNG.random(weights.shape) < 0.5] = 0
    sparsity, values = csr_last_axis(np.ascontiguousarray(weights.T))
    sparsity["traversal_order"] = [1, 0]
    _sparse_dense_layer_matches_tflm(weights, values, sparsity)


def _sparse_dense_layer_matches_tflm(weights, values, sparsity):
    """A FULLY_CONNECTED with `weights` stored sparse (`values`, `sparsity`) on the engine equals TFLite
    Micro's run of the same layer with the weights dense."""
    outputs, inputs = weights.shape

    def fc(w_tensor):
        tensors = [f32("x", (2, inputs)), w_tensor, f32("y", (2, outputs))]
        return model(tensors, [OpSpec("FULLY_CONNECTED", [0, 1], [2])], [0], [2])

    x = RNG.standard_normal((2, inputs)).astype(np.float32)
    expected = tflm_run(fc(f32("w", weights.shape, weights)), [x])[0]
    sparse = fc(TensorSpec("w", list(weights.shape), "FLOAT32", data=values, sparsity=sparsity))
    np.testing.assert_allclose(Engine(sparse, threads=1).run([x])[0], expected, rtol=1e-5, atol=1e-5)


def test_malformed_sparsity_is_named():
    from edgequant.tflite import read_tflite

    weights = RNG.standard_normal((6, 3, 3, 4)).astype(np.float32)
    sparsity, values = csr_last_axis(weights)
    for broken, match in ((dict(sparsity, traversal_order=[0, 1, 2]), "sparsity parameters do not fit"),
                          (dict(sparsity, dims=sparsity["dims"][:3] + [("csr", [0, 99], [0])]), "segments"),
                          (sparsity, "sparse values")):
        data = values if broken is not sparsity else values[:-1]
        tensors = [f32("x", (1, 7, 7, 4)), TensorSpec("w", [6, 3, 3, 4], "FLOAT32", data=data, sparsity=broken),
                   f32("y", (1, 7, 7, 6))]
        op = OpSpec("CONV_2D", [0, 1], [2], {"padding": "SAME", "stride_h": 1, "stride_w": 1})
        with pytest.raises(ValueError, match=match):
            read_tflite(model(tensors, [op], [0], [2]))
