"""How much of an ONNX file is weights and biases (the paper's Table 3.1, ``004`` §3.1).

Bytes are storage bytes: elements × element width of the stored type (fp16 = 2, int8 = 1,
int4 = ½), which is what the file holds when tensors use ``raw_data`` (all exporters we know).
"Weights" are every weight tensor that is not a bias (conv, gemm, batchnorm and ``other`` float
tensors, see :mod:`edgequant.onnx.weights`); "other bytes" are everything else in the file:
graph structure, names, integer shape tensors, quantization scales, protobuf framing.
"""

from __future__ import annotations

from .loader import ModelSource, load_model_and_files
from .roles import BIAS, ROLES
from .weights import weights_of_loaded


def composition(model: ModelSource) -> dict:
    """Break an ONNX model's size down into weights, biases and the rest.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        A model file (its external-data files are counted in the file size), serialized bytes
        or a ModelProto (its serialized size, data inline, is the file size).

    Returns
    -------
    dict
        ``source``; ``file_bytes`` (model file plus external-data files), ``model_file_bytes``,
        ``external_data_bytes``; ``weight_bytes``, ``bias_bytes``, ``weight_and_bias_bytes``,
        ``other_bytes``; ``weight_and_bias_percent`` (Table 3.1's column, 0–100);
        ``parameters``, ``weight_parameters``, ``bias_parameters``; ``by_role``: role →
        ``{"tensors", "parameters", "bytes"}`` for every role.

    Raises
    ------
    ValueError
        As :func:`~edgequant.onnx.weights`.
    """
    loaded = load_model_and_files(model)
    tensors = weights_of_loaded(loaded.model, loaded.description)
    if loaded.model_file is not None:
        model_file_bytes = loaded.model_file.stat().st_size
        external_data_bytes = sum(path.stat().st_size for path in loaded.external_files)
    else:  # in memory: the serialized size, data inline, is the file it would be
        model_file_bytes, external_data_bytes = loaded.model.ByteSize(), 0

    by_role = {role: {"tensors": 0, "parameters": 0, "bytes": 0} for role in ROLES}
    for tensor in tensors:
        entry = by_role[tensor.role]
        entry["tensors"] += 1
        entry["parameters"] += tensor.size
        entry["bytes"] += tensor.storage_bytes

    file_bytes = model_file_bytes + external_data_bytes
    bias_bytes = by_role[BIAS]["bytes"]
    weight_bytes = sum(entry["bytes"] for role, entry in by_role.items() if role != BIAS)
    bias_parameters = by_role[BIAS]["parameters"]
    parameters = sum(entry["parameters"] for entry in by_role.values())
    return {
        "source": loaded.description,
        "file_bytes": file_bytes,
        "model_file_bytes": model_file_bytes,
        "external_data_bytes": external_data_bytes,
        "weight_bytes": weight_bytes,
        "bias_bytes": bias_bytes,
        "weight_and_bias_bytes": weight_bytes + bias_bytes,
        "other_bytes": file_bytes - weight_bytes - bias_bytes,
        "weight_and_bias_percent": 100.0 * (weight_bytes + bias_bytes) / file_bytes
        if file_bytes
        else 0.0,
        "parameters": parameters,
        "weight_parameters": parameters - bias_parameters,
        "bias_parameters": bias_parameters,
        "by_role": by_role,
    }
