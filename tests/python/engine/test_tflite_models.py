"""TFLite models converted to ONNX (:func:`edgequant.tflite.tflite_to_onnx`) run on the engine with the
file's own integer parameters, and agree with TensorFlow Lite Micro's interpreter (reference kernels).

The yardstick is the output quantization step s of the TFLite model: ours and TFLite's outputs are
compared as real values, |ours − s·(q − z)| / s. Each operator alone, fed TFLite's own input codes,
lands within 1 step (the engine rounds some requantizations in float, TFLite in fixed point: a tie
now and then). Whole models add those 1-step differences up, more so in ResNet-8, whose residual
additions and classifier amplify them (see ``END_TO_END_STEPS``).
"""

import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("tflite")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
tflm = pytest.importorskip("tflite_micro.python.tflite_micro.runtime", reason="tflite-micro not installed")

from ort_reference import qdq_session  # noqa: E402

from edgequant.engine import Engine, int8_weight_bits, supported_backends  # noqa: E402
from edgequant.tflite import TFLiteModel, TFLiteOperator, TFLiteTensor, read_tflite, tflite_to_onnx  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "microcontroller"))
import tflite_forge  # noqa: E402
from tflite_forge import ModelSpec, OpSpec, TensorSpec, serialize  # noqa: E402

INT8_MODELS = {"resnet8": "pretrainedResnet_quant.tflite", "vww": "vww_96_int8.tflite", "kws": "kws_ref_model.tflite"}
FLOAT_MODELS = {"resnet8": "pretrainedResnet.tflite", "vww": "vww_96_float.tflite"}
# |ours − TFLite| in output steps, engine with the file's 8-bit weight codes: (the largest over the
# inputs below, the median of each input's largest). Measured (2026-11-26): ResNet-8 6 and 0 on these
# 32 CIFAR-10 images, 30 of them bit-exact (64 and 3.5 while its residual Adds ran in float, 20 and 0
# while its average pool did: they are TFLite's integer Add and average now, graph/code_adds.h,
# graph/code_average_pools.h); VWW 1 and 0; KWS 0 and 0. What remains are 1-step ties that the
# layers after amplify: a softmax step is 1/256, and one step of ResNet-8's logits (0.17) moves it by
# up to 11.
END_TO_END_STEPS = {"resnet8": (6, 0), "vww": (2, 1), "kws": (2, 1)}
# ONNX Runtime on the same converted files, every requantization rounded in float: measured 66, 3, 9.
ORT_STEPS = {"resnet8": 80, "vww": 24, "kws": 24}
TOP1_AGREEMENT = {"resnet8": 0.9, "vww": 1.0, "kws": 1.0}
# Backends whose INT8 convolutions requantize with float output scales (oneDNN's), as ONNX Runtime
# does, not in TFLite's fixed point: held to ONNX Runtime's bounds. Measured on an AVX-512 VNNI CPU
# (the oneDNN backend takes 8-bit weights there only), 2026-11-26: 66, 3, 9 steps — ORT's own numbers —
# top-1 agreement 0.97 / 1.0 / 0.94.
FLOAT_REQUANTIZATION_BACKENDS = {"onednn"}
WEIGHT_LAYERS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
EXACT_WEIGHT_BACKENDS = [b for b in supported_backends() if int8_weight_bits(b) == 8]
ONE_STEP = 1.001  # outputs are float32 grid values: a hair of float error around whole steps


@pytest.fixture(scope="module")
def tflite_dir(shared_data):
    folder = shared_data / "tflite"
    if not folder.is_dir():
        pytest.skip(f"no MLPerf Tiny models in {folder}")
    return folder


def _real_inputs(name, shared_data, count) -> np.ndarray:
    """Real inputs in each model's units, NHWC float32: CIFAR-10 pixels 0-255 for ResNet-8, COCO photos
    scaled to 0-1 at 96x96 for VWW, random features in the int8 input's range for KWS."""
    if name == "resnet8":
        from edgequant.datasets import load_cifar10

        images, _ = load_cifar10(shared_data / "cifar10" / "cifar10-jpg.tar.gz", split="test", limit=count)
        return images.astype(np.float32)
    if name == "vww":
        from PIL import Image

        files = sorted((shared_data / "coco128" / "images").glob("*.jpg"))[:count]
        pixels = [np.asarray(Image.open(f).convert("RGB").resize((96, 96), Image.BILINEAR)) for f in files]
        return np.stack(pixels).astype(np.float32) / 255
    rng = np.random.default_rng(5)
    return rng.uniform(-120, 25, (count, 49, 10, 1)).astype(np.float32)  # KWS input range: 0.585·(q − 83)


def _quantize(x, tensor) -> np.ndarray:
    info = np.iinfo(tensor.dtype)
    return np.clip(np.round(x / tensor.scale[0]) + tensor.zero_point[0], info.min, info.max).astype(tensor.dtype)


def _dequantize(codes, tensor) -> np.ndarray:
    return ((codes.astype(np.float32) - tensor.zero_point[0]) * tensor.scale[0]).astype(np.float32)


def _tflm(model_bytes, preserve_all=False):
    config = tflm.InterpreterConfig.kPreserveAllTensors if preserve_all else tflm.InterpreterConfig.kAllocationRecording
    return tflm.Interpreter.from_bytes(model_bytes, arena_size=1 << 24, intrepreter_config=config)


def _tflm_outputs(model_bytes, rows, outputs=1) -> list:
    """TFLite Micro on each row (one input each): one array per graph output, rows stacked."""
    interpreter = _tflm(model_bytes)
    results = [[] for _ in range(outputs)]
    for row in rows:
        interpreter.set_input(row[None], 0)
        interpreter.invoke()
        for k in range(outputs):
            results[k].append(interpreter.get_output(k)[0].copy())
    return [np.stack(r) for r in results]


def _tflm_tensors(model_bytes, rows, model) -> dict:
    """TFLite Micro on each row: every activation tensor's values (codes, or floats) by index, rows stacked."""
    interpreter = _tflm(model_bytes, preserve_all=True)
    activations = [i for i, t in enumerate(model.tensors) if t.data is None]
    results = {i: [] for i in activations}
    for row in rows:
        interpreter.set_input(row[None], 0)
        interpreter.invoke()
        for i in activations:
            results[i].append(interpreter.GetTensor(i, 0)["tensor_data"].reshape(model.tensors[i].shape)[0].copy())
    return {i: np.stack(r) for i, r in results.items()}


def _steps(ours, codes, tensor) -> np.ndarray:
    return np.abs(ours.reshape(codes.shape) - _dequantize(codes, tensor)) / tensor.scale[0]


def _engine_outputs(engine, rows) -> np.ndarray:
    return np.stack([engine.run(row[None])[0][0] for row in rows])


def _int8_case(name, tflite_dir, shared_data, count):
    path = tflite_dir / INT8_MODELS[name]
    model = read_tflite(path)
    source, output = model.tensors[model.inputs[0]], model.tensors[model.outputs[0]]
    codes = _quantize(_real_inputs(name, shared_data, count), source)
    (reference,) = _tflm_outputs(path.read_bytes(), codes)
    return model, tflite_to_onnx(path).SerializeToString(), _dequantize(codes, source), reference, output


def _assert_int8_plan(engine, model):
    precision = [(op, p) for _, op, p in engine.plan() if op in ("Conv", "Gemm", "MatMul")]
    assert len(precision) == sum(op.kind in WEIGHT_LAYERS for op in model.operators)
    assert {p for _, p in precision} == {"int8_static"}, precision  # INT8 ran, with no calibration


@pytest.mark.parametrize("backend", EXACT_WEIGHT_BACKENDS)
@pytest.mark.parametrize("name", list(INT8_MODELS))
def test_int8_model_runs_int8_close_to_tflite(name, backend, tflite_dir, shared_data):
    count = 32 if name == "resnet8" else 16
    model, onnx_bytes, real, reference, output = _int8_case(name, tflite_dir, shared_data, count)
    engine = Engine(onnx_bytes, backend=backend, threads=1, reduce_range=False)
    assert engine.carries_quantization and engine.mode == "static"  # the default for a QDQ file
    _assert_int8_plan(engine, model)
    ours = _engine_outputs(engine, real)
    per_input = _steps(ours, reference, output).max(axis=1)
    agreement = np.mean(ours.argmax(axis=1) == reference.argmax(axis=1))
    if backend in FLOAT_REQUANTIZATION_BACKENDS:
        assert per_input.max() <= ORT_STEPS[name] + 0.001, per_input
        assert agreement >= 0.9, agreement
        return
    largest, median = END_TO_END_STEPS[name]
    assert per_input.max() <= largest + 0.001 and np.median(per_input) <= median + 0.001, per_input
    assert agreement >= TOP1_AGREEMENT[name], agreement


@pytest.mark.parametrize("name", list(INT8_MODELS))
def test_int8_model_on_the_default_engine_agrees_on_top1(name, tflite_dir, shared_data):
    """``Engine(model)`` as a user writes it: the fastest backend, which on x86 CPUs without VNNI puts
    the file's 8-bit weights on a 7-bit grid (reduce_range): INT8 still, further from TFLite."""
    model, onnx_bytes, real, reference, _ = _int8_case(name, tflite_dir, shared_data, 16)
    engine = Engine(onnx_bytes, threads=1)
    assert engine.mode == "static"
    _assert_int8_plan(engine, model)
    ours = _engine_outputs(engine, real)
    assert np.mean(ours.argmax(axis=1) == reference.argmax(axis=1)) >= 0.85


@pytest.mark.parametrize("name", list(INT8_MODELS))
def test_onnxruntime_runs_the_converted_model_close_to_tflite(name, tflite_dir, shared_data):
    """ONNX Runtime evaluates the QDQ graph as ONNX defines it (every requantization rounded in float):
    the same answers, with more 1-step differences to add up than the engine's fixed point has."""
    _, onnx_bytes, real, reference, output = _int8_case(name, tflite_dir, shared_data, 16)
    session = qdq_session(onnx_bytes)
    ours = np.stack([session.run(None, {session.get_inputs()[0].name: row[None]})[0][0] for row in real])
    assert _steps(ours, reference, output).max() <= ORT_STEPS[name] + 0.001
    assert np.mean(ours.argmax(axis=1) == reference.argmax(axis=1)) >= 0.9


def _assert_each_operator_within_one_step(model_bytes, rows):
    """Every operator converted alone (a one-operator model) and fed TFLite's own input values gives
    TFLite's output within one step of the output's grid (of the input's, for a DEQUANTIZE)."""
    model = read_tflite(model_bytes)
    tensors = _tflm_tensors(model_bytes, rows, model)
    for op in model.operators:
        activations = [i for i in op.inputs if i >= 0 and model.tensors[i].data is None]
        alone = TFLiteModel(model.tensors, [op], activations, [op.outputs[0]])
        engine = Engine(tflite_to_onnx(alone).SerializeToString(), backend="reference", threads=1, reduce_range=False)
        output = model.tensors[op.outputs[0]]
        step = (output if output.dtype == np.int8 else model.tensors[op.inputs[0]]).scale[0]
        for row in range(len(rows)):
            feeds = {model.tensors[i].name: _dequantize_if(tensors[i][row:row + 1], model.tensors[i])
                     for i in activations}
            theirs = _dequantize_if(tensors[op.outputs[0]][row:row + 1], output)
            error = np.abs(engine.run(feeds)[0].reshape(theirs.shape) - theirs).max() / step
            assert error <= ONE_STEP, (op.index, op.kind, error)


def _dequantize_if(values, tensor):
    return _dequantize(values, tensor) if tensor.dtype == np.int8 else values


@pytest.mark.parametrize("name", list(INT8_MODELS))
def test_each_operator_within_one_step_of_tflite(name, tflite_dir, shared_data):
    """Each op's conversion is right, whatever the whole model adds up."""
    path = tflite_dir / INT8_MODELS[name]
    model = read_tflite(path)
    codes = _quantize(_real_inputs(name, shared_data, 3), model.tensors[model.inputs[0]])
    _assert_each_operator_within_one_step(path.read_bytes(), codes)


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("name", list(FLOAT_MODELS))
def test_float_model_matches_tflite(name, backend, tflite_dir, shared_data):
    path = tflite_dir / FLOAT_MODELS[name]
    real = _real_inputs(name, shared_data, 8)
    (reference,) = _tflm_outputs(path.read_bytes(), real)
    engine = Engine(tflite_to_onnx(path).SerializeToString(), backend=backend, threads=1)
    assert engine.mode == "fp32" and {p for _, _, p in engine.plan()} == {"f32"}
    ours = _engine_outputs(engine, real)
    assert np.abs(ours - reference).max() <= 1e-4 * np.abs(reference).max()
    assert np.array_equal(ours.argmax(axis=1), reference.argmax(axis=1))


def test_qdq_carries_the_files_codes_and_parameters(tflite_dir):
    """Weights are the file's int8 codes (OHWI -> OIHW) behind a per-channel DequantizeLinear on axis
    0, every activation's QuantizeLinear has its scale and int8 zero point, and the graph's inputs
    and outputs keep TFLite's names and NHWC shapes."""
    from onnx import numpy_helper

    model = read_tflite(tflite_dir / INT8_MODELS["resnet8"])
    onnx_model = tflite_to_onnx(model)
    graph = onnx_model.graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    io = [(v.name, [d.dim_value for d in v.type.tensor_type.shape.dim]) for v in (*graph.input, *graph.output)]
    assert io == [(model.tensors[i].name, list(model.tensors[i].shape)) for i in (*model.inputs, *model.outputs)]
    convs = [n for n in graph.node if n.op_type == "Conv"]
    tflite_convs = [op for op in model.operators if op.kind == "CONV_2D"]
    assert len(convs) == len(tflite_convs)
    for node, op in zip(convs, tflite_convs, strict=True):
        weights = model.tensors[op.inputs[1]]
        dequantize = producer[node.input[1]]
        axis = [a.i for a in dequantize.attribute if a.name == "axis"]
        assert dequantize.op_type == "DequantizeLinear" and axis == [0]
        codes, scale, zero_point = (initializers[name] for name in dequantize.input)
        assert codes.dtype == np.int8 and np.array_equal(codes, weights.data.transpose(0, 3, 1, 2))
        assert np.array_equal(scale, weights.scale) and zero_point.dtype == np.int8 and not zero_point.any()
    quantized = {model.tensors[op.outputs[0]].name for op in model.operators}
    quantize_nodes = [n for n in graph.node if n.op_type == "QuantizeLinear"]
    assert len(quantize_nodes) == len(quantized) + 1  # every op's output, and the input
    by_name = {t.name: t for t in model.tensors}
    for node in quantize_nodes:
        tensor = by_name[node.output[0].removesuffix("/codes")]
        scale, zero_point = initializers[node.input[1]], initializers[node.input[2]]
        assert scale == tensor.scale[0] and zero_point.dtype == np.int8 and zero_point == tensor.zero_point[0]


# --- forged models: the options and operators the MLPerf Tiny models do not use ----------------------
class _Forge:
    """A small TFLite model written tensor by tensor: int8 (per-channel weights, int32 biases in units
    of s_input·s_weight) or, with ``quantized=False``, the same model in float32."""

    def __init__(self, quantized: bool, seed: int = 11, unsigned: bool = False):
        self.quantized, self.unsigned = quantized, unsigned
        self.rng = np.random.default_rng(seed)
        self.tensors, self.operators = [], []

    def _add(self, spec) -> int:
        self.tensors.append(spec)
        return len(self.tensors) - 1

    def activation(self, name, shape, scale, zero_point, always_float=False) -> int:
        if self.quantized and self.unsigned and not always_float:  # the same grid on uint8 codes
            return self._add(TensorSpec(name, list(shape), "UINT8", [scale], [zero_point + 128]))
        if self.quantized and not always_float:
            return self._add(TensorSpec(name, list(shape), "INT8", [scale], [zero_point]))
        return self._add(TensorSpec(name, list(shape), "FLOAT32"))

    def weights(self, name, shape, scales, axis=0) -> int:
        codes = self.rng.integers(-127, 128, shape).astype(np.int8)
        scales = np.asarray(scales, np.float32)
        if self.quantized:
            return self._add(TensorSpec(name, list(shape), "INT8", scales.tolist(), [0] * len(scales), axis, codes))
        along = [len(scales) if d == axis else 1 for d in range(len(shape))] if len(scales) > 1 else [1] * len(shape)
        return self._add(TensorSpec(name, list(shape), "FLOAT32", data=codes * scales.reshape(along)))

    def bias(self, name, count, input_scale, weight_scales) -> int:
        codes = self.rng.integers(-600, 600, count).astype(np.int32)
        scales = np.float32(input_scale) * np.broadcast_to(np.asarray(weight_scales, np.float32), (count,))
        if self.quantized:
            return self._add(TensorSpec(name, [count], "INT32", scales.tolist(), [0] * count, 0, codes))
        return self._add(TensorSpec(name, [count], "FLOAT32", data=(codes * scales).astype(np.float32)))

    def integers(self, name, values) -> int:
        return self._add(TensorSpec(name, [len(values)], "INT32", data=np.array(values, np.int32)))

    def op(self, kind, inputs, output, **options) -> int:
        self.operators.append(OpSpec(kind, list(inputs), [output], options))
        return output

    def serialize(self, inputs, outputs) -> bytes:
        return serialize(ModelSpec(self.tensors, self.operators, list(inputs), list(outputs)))


def _window_model(quantized: bool, unsigned: bool = False) -> bytes:
    """SAME padding with stride 2 on odd sizes, a dilated depthwise conv with multiplier 2, RELU6 /
    RELU_N1_TO_1 / RELU, an ADD broadcasting a [C] constant, max pooling, a reshape of a 4-D tensor whose
    NHWC and NCHW orders differ, a per-channel FULLY_CONNECTED and SOFTMAX with beta 0.5. Outputs: the
    probabilities and a 4-D tensor. ``unsigned``: uint8 activations on the same grids."""
    f = _Forge(quantized, unsigned=unsigned)
    x = f.activation("x", [1, 7, 9, 3], 0.05, 2)
    w1_scales = [0.004, 0.005, 0.003, 0.006]
    c1 = f.op("CONV_2D", [x, f.weights("w1", [4, 3, 3, 3], w1_scales), f.bias("b1", 4, 0.05, w1_scales)],
              f.activation("c1", [1, 4, 5, 4], 6 / 255, -128), padding="SAME", stride_h=2, stride_w=2,
              dilation_h=1, dilation_w=1, activation="RELU6")
    w2_scales = np.linspace(0.003, 0.006, 8)
    c2 = f.op("DEPTHWISE_CONV_2D", [c1, f.weights("w2", [1, 3, 3, 8], w2_scales, axis=3),
                                    f.bias("b2", 8, 6 / 255, w2_scales)],
              f.activation("c2", [1, 4, 5, 8], 2 / 255, 0), padding="SAME", stride_h=1, stride_w=1,
              depth_multiplier=2, dilation_h=2, dilation_w=2, activation="RELU_N1_TO_1")
    added = f.op("ADD", [c2, f.weights("k", [8], [0.004])], f.activation("a", [1, 4, 5, 8], 1.5 / 255, -128),
                 activation="RELU")
    pooled = f.op("MAX_POOL_2D", [added], f.activation("p", [1, 2, 3, 8], 1.5 / 255, -128), padding="SAME",
                  stride_h=2, stride_w=2, filter_h=2, filter_w=2, activation="NONE")
    rows = f.op("RESHAPE", [pooled, f.integers("shape", [1, 48])], f.activation("r", [1, 48], 1.5 / 255, -128))
    w3_scales = np.linspace(0.008, 0.012, 6)
    logits = f.op("FULLY_CONNECTED", [rows, f.weights("w3", [6, 48], w3_scales), f.bias("b3", 6, 1.5 / 255, w3_scales)],
                  f.activation("f", [1, 6], 8 / 255, 0), activation="NONE")
    probabilities = f.op("SOFTMAX", [logits], f.activation("y", [1, 6], 1 / 256, -128), beta=0.5)
    return f.serialize([x], [probabilities, added])


def _input_and_relu6_conv(f: _Forge) -> tuple[int, int]:
    """The input x [1, 6, 7, 3] and a 3x3 SAME conv of it to 4 channels with RELU6 (output c1 on [0, 6])."""
    x = f.activation("x", [1, 6, 7, 3], 0.05, 2)
    w_scales = [0.004, 0.005, 0.003, 0.006]
    c1 = f.op("CONV_2D", [x, f.weights("w1", [4, 3, 3, 3], w_scales), f.bias("b1", 4, 0.05, w_scales)],
              f.activation("c1", [1, 6, 7, 4], 6 / 255, -128), padding="SAME", stride_h=1, stride_w=1,
              dilation_h=1, dilation_w=1, activation="RELU6")
    return x, c1


def _phone_ops_model(quantized: bool) -> bytes:
    """The operators of phone models (MediaPipe's) on int8 grids: PAD on the spatial and channel axes, MUL
    by a per-channel constant, RESIZE_BILINEAR with half-pixel centres, HARD_SWISH, LOGISTIC (TFLite's
    1/256 grid) and CONCATENATION on the channels."""
    f = _Forge(quantized, seed=13)
    x, c1 = _input_and_relu6_conv(f)
    paddings = f._add(TensorSpec("pads", [4, 2], "INT32", data=np.array([[0, 0], [1, 0], [0, 1], [0, 2]], np.int32)))
    padded = f.op("PAD", [c1, paddings], f.activation("pad", [1, 7, 8, 6], 6 / 255, -128))
    scaled = f.op("MUL", [padded, f.weights("k", [6], [0.01])], f.activation("mul", [1, 7, 8, 6], 0.03, 0),
                  activation="NONE")
    resized = f.op("RESIZE_BILINEAR", [scaled, f.integers("size", [10, 12])],
                   f.activation("rs", [1, 10, 12, 6], 0.03, 0), half_pixel_centers=True)
    swished = f.op("HARD_SWISH", [resized], f.activation("hs", [1, 10, 12, 6], 0.03, -20))
    gate = f.op("LOGISTIC", [swished], f.activation("sg", [1, 10, 12, 6], 1 / 256, -128))
    other = f.op("LOGISTIC", [resized], f.activation("sg2", [1, 10, 12, 6], 1 / 256, -128))
    joined = f.op("CONCATENATION", [gate, other], f.activation("y", [1, 10, 12, 12], 1 / 256, -128), axis=3)
    return f.serialize([x], [joined])


def _sliced_conv_model(quantized: bool) -> bytes:
    """A conv's output sliced as MediaPipe's hand_recrop slices its features (the first half of the channels),
    a strided slice of it with a shrunk axis (rows 1, 3, 5 of column 2), and its nearest-neighbour resize with
    half-pixel centres to 11 x 9."""
    f = _Forge(quantized, seed=17)
    x, c = _input_and_relu6_conv(f)
    half = f.op("STRIDED_SLICE", [c, f.integers("b1", [0, 0, 0, 0]), f.integers("e1", [1, 6, 7, 2]),
                                  f.integers("s1", [1, 1, 1, 1])], f.activation("half", [1, 6, 7, 2], 6 / 255, -128))
    rows = f.op("STRIDED_SLICE", [c, f.integers("b2", [0, 1, 2, 0]), f.integers("e2", [1, 6, 3, 4]),
                                  f.integers("s2", [1, 2, 1, 1])], f.activation("rows", [1, 3, 4], 6 / 255, -128),
                shrink_axis_mask=4)
    resized = f.op("RESIZE_NEAREST_NEIGHBOR", [c, f.integers("size", [11, 9])],
                   f.activation("resized", [1, 11, 9, 4], 6 / 255, -128), half_pixel_centers=True)
    return f.serialize([x], [half, rows, resized])


@pytest.mark.parametrize("backend", EXACT_WEIGHT_BACKENDS)
def test_forged_int8_slices_and_nearest_resize_close_to_tflite(backend):
    real = np.random.default_rng(6).uniform(-6, 6, (8, 6, 7, 3)).astype(np.float32)
    results = _forged_int8_close_to_tflite(_sliced_conv_model(quantized=True), real, backend)
    for ours, theirs, tensor in results:  # slices and the resize move codes: as close as the conv's output
        assert np.abs(ours - theirs).max() <= tensor.scale[0] * 1.001, tensor.name


@pytest.fixture
def forge_more_ops(monkeypatch):
    """tflite_forge's tables with MEAN, QUANTIZE, DEQUANTIZE and FULLY_CONNECTED's keep_num_dims."""
    for kind, code in (("MEAN", 40), ("QUANTIZE", 114), ("DEQUANTIZE", 6)):
        monkeypatch.setitem(tflite_forge.OPCODES, kind, code)
    monkeypatch.setitem(tflite_forge.OPTIONS, "MEAN", (27, [("keep_dims", "bool")]))  # ReducerOptions
    monkeypatch.setitem(tflite_forge.OPTIONS, "FULLY_CONNECTED",
                        (8, [("activation", "int8"), ("weights_format", "int8"), ("keep_num_dims", "bool")]))


def _reduction_model() -> bytes:
    """Float in, QUANTIZE, AVERAGE_POOL_2D with SAME padding (averaging the input pixels only), MEAN
    over H, W and over C (keep_dims), RESHAPE to a 4-D tensor and of a 4-D tensor to 3-D,
    FULLY_CONNECTED with keep_num_dims, DEQUANTIZE out."""
    f = _Forge(quantized=True, seed=12)
    x = f.activation("x", [1, 6, 5, 4], 0, 0, always_float=True)
    q = f.op("QUANTIZE", [x], f.activation("q", [1, 6, 5, 4], 0.02, -10))
    pooled = f.op("AVERAGE_POOL_2D", [q], f.activation("ap", [1, 3, 3, 4], 0.02, -10), padding="SAME",
                  stride_h=2, stride_w=2, filter_h=3, filter_w=3, activation="NONE")
    spatial = f.op("MEAN", [pooled, f.integers("hw", [1, 2])], f.activation("mean_hw", [1, 4], 0.01, 5),
                   keep_dims=False)
    square = f.op("RESHAPE", [spatial, f.integers("shape4", [1, 2, 1, 2])], f.activation("sq", [1, 2, 1, 2], 0.01, 5))
    out_square = f.op("DEQUANTIZE", [square], f.activation("out_sq", [1, 2, 1, 2], 0, 0, always_float=True))
    rows = f.op("RESHAPE", [pooled, f.integers("shape3", [1, 9, 4])], f.activation("rows", [1, 9, 4], 0.02, -10))
    dense = f.op("FULLY_CONNECTED", [rows, f.weights("w", [5, 4], [0.005]), f.bias("b", 5, 0.02, [0.005])],
                 f.activation("fc", [1, 9, 5], 0.05, 0), activation="NONE", keep_num_dims=True)
    out_dense = f.op("DEQUANTIZE", [dense], f.activation("out_fc", [1, 9, 5], 0, 0, always_float=True))
    channels = f.op("MEAN", [q, f.integers("c", [3])], f.activation("mean_c", [1, 6, 5, 1], 0.015, 0), keep_dims=True)
    return f.serialize([x], [out_square, out_dense, channels])


REDUCTION_OUTPUT_STEPS = (0.01, 0.05, 0.015)  # the grids of sq, fc and mean_c above


def _forged_outputs(model_bytes, real, backend) -> tuple:
    """(ours, TFLite Micro's as real values, the tensor each output's step is read from) per output."""
    model = read_tflite(model_bytes)
    source = model.tensors[model.inputs[0]]
    feed = _quantize(real, source) if source.dtype == np.int8 else real
    theirs = _tflm_outputs(model_bytes, feed, outputs=len(model.outputs))
    engine = Engine(tflite_to_onnx(model_bytes).SerializeToString(), backend=backend, threads=1,
                    reduce_range=False if int8_weight_bits(backend) == 8 else None)
    ours = [np.concatenate(o) for o in zip(*(engine.run(row[None]) for row in _dequantize_if(feed, source)),
                                           strict=True)]
    results = []
    for k, index in enumerate(model.outputs):
        tensor = model.tensors[index]
        if tensor.dtype == np.int8:
            results.append((ours[k], _dequantize(theirs[k], tensor), tensor))
        else:  # a DEQUANTIZE's output: steps of its input
            dequantized = next(model.tensors[op.inputs[0]] for op in model.operators if op.outputs[0] == index)
            results.append((ours[k], theirs[k], dequantized if dequantized.dtype == np.int8 else None))
    return engine, model, results


# Whole forged models: one op's 1-step tie can cost one more step downstream (c2's step is 1.3 of a's).
FORGED_STEPS = 2.001


def _forged_int8_close_to_tflite(model_bytes, real, backend) -> list:
    """The forged int8 model's convs run in INT8, its outputs within FORGED_STEPS of TFLite Micro's and each
    operator alone within one step; returns the (ours, TFLite's, tensor) of each output."""
    engine, model, results = _forged_outputs(model_bytes, real, backend)
    _assert_int8_plan(engine, model)
    for ours, theirs, tensor in results:
        assert np.abs(ours - theirs).max() <= FORGED_STEPS * tensor.scale[0], tensor.name
    _assert_each_operator_within_one_step(model_bytes, _quantize(real[:4], model.tensors[0]))
    return results


@pytest.mark.parametrize("backend", EXACT_WEIGHT_BACKENDS)
def test_forged_int8_window_ops_close_to_tflite(backend):
    real = np.random.default_rng(3).uniform(-6, 6, (12, 7, 9, 3)).astype(np.float32)
    probabilities = _forged_int8_close_to_tflite(_window_model(quantized=True), real, backend)[0][1]
    assert len(np.unique(probabilities.argmax(axis=1))) > 1  # the inputs reach different answers


@pytest.mark.parametrize("backend", EXACT_WEIGHT_BACKENDS)
def test_forged_int8_phone_ops_close_to_tflite(backend):
    real = np.random.default_rng(5).uniform(-6, 6, (8, 6, 7, 3)).astype(np.float32)
    gates = _forged_int8_close_to_tflite(_phone_ops_model(quantized=True), real, backend)[0][1]
    assert np.unique(gates).size > 20  # the gates take many values


@pytest.mark.parametrize("backend", supported_backends())
def test_forged_float_window_ops_match_tflite(backend):
    real = np.random.default_rng(3).uniform(-6, 6, (6, 7, 9, 3)).astype(np.float32)
    _, _, results = _forged_outputs(_window_model(quantized=False), real, backend)
    for ours, theirs, _ in results:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


@pytest.mark.parametrize("backend", EXACT_WEIGHT_BACKENDS)
def test_forged_reductions_quantize_and_dequantize_close_to_tflite(forge_more_ops, backend):
    real = np.random.default_rng(4).uniform(-2.5, 2.5, (12, 6, 5, 4)).astype(np.float32)
    _, _, results = _forged_outputs(_reduction_model(), real, backend)
    for ours, theirs, tensor in results:
        assert np.abs(ours - theirs).max() <= FORGED_STEPS * tensor.scale[0], tensor.name
    _assert_each_operator_within_one_step(_reduction_model(), real[:4])


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_other_opsets_give_the_same_outputs(forge_more_ops, opset):
    """ReduceMean takes its axes as an attribute before opset 18, as an input from 18."""
    model_bytes = _reduction_model()
    real = np.random.default_rng(4).uniform(-2.5, 2.5, (1, 6, 5, 4)).astype(np.float32)
    want = Engine(tflite_to_onnx(model_bytes).SerializeToString(), backend="reference", reduce_range=False).run(real)
    onnx_bytes = tflite_to_onnx(model_bytes, opset=opset).SerializeToString()
    got = Engine(onnx_bytes, backend="reference", reduce_range=False).run(real)
    session = qdq_session(onnx_bytes)
    from_ort = session.run(None, {"x": real})
    for ours, theirs, other, step in zip(got, want, from_ort, REDUCTION_OUTPUT_STEPS, strict=True):
        assert np.array_equal(ours, theirs)
        assert np.abs(ours - other).max() <= ONE_STEP * step


def test_uint8_activations_convert_like_int8_ones():
    """uint8 codes with zero point z + 128 are the same grid as int8 codes with z: the same outputs."""
    real = np.random.default_rng(3).uniform(-6, 6, (4, 7, 9, 3)).astype(np.float32)
    signed, unsigned = (tflite_to_onnx(_window_model(quantized=True, unsigned=u)) for u in (False, True))
    assert any(i.data_type == onnx.TensorProto.UINT8 for i in unsigned.graph.initializer)
    engines = [Engine(m.SerializeToString(), backend="reference", reduce_range=False) for m in (signed, unsigned)]
    for row in real:
        for ours, theirs in zip(*(engine.run(row[None]) for engine in engines), strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_reshape_new_shape_from_the_options_keeps_nhwc_order():
    """A float RESHAPE given only its options' new_shape (no shape tensor), of a 4-D tensor whose
    NCHW order differs, and a SOFTMAX over a 4-D tensor's channels."""
    float32 = np.dtype(np.float32)

    def tensor(index, name, shape):
        return TFLiteTensor(index, name, float32, shape, np.zeros(0, np.float32), np.zeros(0, np.int64))

    tensors = [tensor(0, "x", (1, 2, 3, 4)), tensor(1, "p", (1, 2, 3, 4)), tensor(2, "y", (1, 24)),
               tensor(3, "back", (1, 3, 2, 4))]
    operators = [TFLiteOperator(0, "SOFTMAX", [0], [1], {"beta": 2.0}),
                 TFLiteOperator(1, "RESHAPE", [1], [2], {"new_shape": [1, -1]}),
                 TFLiteOperator(2, "RESHAPE", [2], [3], {"new_shape": [1, 3, 2, 4]})]
    model = tflite_to_onnx(TFLiteModel(tensors, operators, [0], [2, 3]))
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    probabilities = np.exp(2 * x) / np.exp(2 * x).sum(axis=3, keepdims=True)
    onnx_bytes = model.SerializeToString()
    for outputs in (Engine(onnx_bytes).run(x), qdq_session(onnx_bytes).run(None, {"x": x})):
        np.testing.assert_allclose(outputs[0], probabilities.reshape(1, 24), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(outputs[1], probabilities.reshape(1, 3, 2, 4), rtol=1e-5, atol=1e-6)


# --- what is refused ----------------------------------------------------------------------------------
def _unsupported_model() -> bytes:
    f = _Forge(quantized=False)
    x = f.activation("x", [1, 4], 0, 0)
    boundaries = f.op("FLOOR", [x], f.activation("t", [1, 4], 0, 0))
    first = f.op("BUCKETIZE", [boundaries], f.activation("b1", [1, 4], 0, 0))
    second = f.op("BUCKETIZE", [first], f.activation("b2", [1, 4], 0, 0))
    return f.serialize([x], [second])


def test_unsupported_operators_are_all_named_with_their_counts():
    with pytest.raises(ValueError, match=r"BUCKETIZE \(2\), FLOOR \(1\)") as error:
        tflite_to_onnx(_unsupported_model())
    assert "CONV_2D" in str(error.value)  # and what is supported


def test_unsupported_fused_activation_is_named():
    f = _Forge(quantized=False)
    x = f.activation("x", [1, 4], 0, 0)
    y = f.op("ADD", [x, x], f.activation("y", [1, 4], 0, 0), activation=5)  # SIGN_BIT
    with pytest.raises(ValueError, match="operator 0 ADD: the fused activation SIGN_BIT"):
        tflite_to_onnx(f.serialize([x], [y]))


@pytest.mark.parametrize("bad", [b"", b"not a flatbuffer at all", b"\x10\x00\x00\x00TFL3" + b"\xff" * 40])
def test_malformed_bytes_raise_value_error(bad):
    with pytest.raises(ValueError):
        tflite_to_onnx(bad)


def test_truncated_and_corrupted_models_raise_value_error_or_convert(tflite_dir):
    """Cut anywhere, or with bytes flipped, a model converts (the damage hit weight data) or raises a
    ValueError; nothing else escapes."""
    whole = _window_model(quantized=True)
    for cut in range(0, len(whole), 13):
        with pytest.raises(ValueError):
            tflite_to_onnx(whole[:cut])
    rng = np.random.default_rng(0)
    for _ in range(300):
        damaged = bytearray(whole)
        for position in rng.integers(8, len(whole), 3):
            damaged[position] = rng.integers(0, 256)
        try:
            tflite_to_onnx(bytes(damaged))
        except ValueError:
            pass
    real_model = (tflite_dir / INT8_MODELS["kws"]).read_bytes()
    with pytest.raises(ValueError):
        tflite_to_onnx(real_model[: len(real_model) // 2])


def test_bad_arguments():
    with pytest.raises(ValueError, match="opset"):
        tflite_to_onnx(_window_model(quantized=False), opset=12)
    with pytest.raises(TypeError, match="opset"):
        tflite_to_onnx(_window_model(quantized=False), opset="17")
    with pytest.raises(TypeError):
        tflite_to_onnx(3.5)
    with pytest.raises(FileNotFoundError):
        tflite_to_onnx("/nonexistent/model.tflite")


def test_engine_takes_a_tflite_file_or_its_bytes(tflite_dir):
    """Engine(path or bytes of a .tflite) runs its ONNX form: the same outputs as the converted model."""
    path = tflite_dir / INT8_MODELS["kws"]
    x = np.random.default_rng(2).uniform(-50, 20, (1, 49, 10, 1)).astype(np.float32)
    (expected,) = Engine(tflite_to_onnx(path).SerializeToString(), backend="reference").run(x)
    for model in (path, str(path), path.read_bytes()):
        engine = Engine(model, backend="reference")
        assert engine.carries_quantization
        np.testing.assert_array_equal(engine.run(x)[0], expected)
