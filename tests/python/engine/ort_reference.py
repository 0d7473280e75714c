"""ONNX Runtime as the reference the engine is held against."""

import numpy as np
import onnx
import onnxruntime as ort

from edgequant.profiling.onnxruntime_peer import int8_kernels_saturate


def float32_model(path) -> bytes:
    """The model with every float16 initializer, input and output upcast to float32."""
    model = onnx.load(str(path))
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT16:
            array = onnx.numpy_helper.to_array(init).astype(np.float32)
            init.CopyFrom(onnx.numpy_helper.from_array(array, init.name))
    for value in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        if value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT16:
            value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    return model.SerializeToString()


def ort_int8_is_exact() -> bool:
    """Whether ONNX Runtime's INT8 kernels sum u8·s8 products exactly on this CPU (VNNI)."""
    return not int8_kernels_saturate()


def qdq_session(model, threads=1) -> ort.InferenceSession:
    """ONNX Runtime evaluating a quantized (QDQ) model as ONNX defines it: without graph optimisation
    QuantizeLinear / DequantizeLinear run as ops and Conv / MatMul in float32. Its optimised INT8
    kernels are no oracle on x86 without VNNI: they add u8·s8 products in pairs in saturating 16 bits
    (as oneDNN's do), and full-range 8-bit weights then give wrong sums."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), options,
                                providers=["CPUExecutionProvider"])


def run_ort(model, feeds, threads=1):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model if isinstance(model, bytes) else str(model), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def max_relative_error(out, ref):
    out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
    return float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-30))
