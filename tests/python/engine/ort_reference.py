"""ONNX Runtime as the reference the engine is held against."""

import numpy as np
import onnx
import onnxruntime as ort


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


def run_ort(model, feeds, threads=1):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model if isinstance(model, bytes) else str(model), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def max_relative_error(out, ref):
    out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
    return float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-30))
