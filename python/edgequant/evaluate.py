"""Run an ONNX model (original or quantized) on a data set with ONNX Runtime and score it.

>>> from edgequant import zoo
>>> from edgequant.evaluate import Evaluator
>>> x, y = zoo.load_test_set()
>>> evaluator = Evaluator(zoo.model_path(), x, y)          # the FP32 reference
>>> evaluator.evaluate(quantized_model)  # top1, ..., top1_agreement, mean_softmax_kl, ...

The data set is held in memory (an iterable of batches is gathered once) so that every model is
run on exactly the same inputs. Needs the optional ``onnx`` dependency (onnxruntime).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import onnx
from onnx import helper

from .metrics import classification_report, mean_softmax_kl, output_sqnr_db, top1_agreement
from .metrics._checks import class_indices
from .onnx.loader import load_model_and_files

__all__ = ["Evaluator", "FIDELITY_METRICS"]

#: Label-free metrics of a model's outputs against the reference model's outputs.
FIDELITY_METRICS = ("top1_agreement", "mean_softmax_kl", "output_sqnr_db")


class Evaluator:
    """Evaluate ONNX models on one data set against a reference (FP32) model.

    Every check on the data happens here, before any model is scored: the data must match the
    reference model's input (rank, fixed dimensions; it is cast to the input's element type,
    e.g. float16) and labels must be class indices the model can output.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        The reference model (usually FP32); fidelity metrics compare against its outputs.
    inputs : numpy.ndarray or iterable
        ``[N, ...]`` samples, or an iterable of batches (arrays, or ``(x, y)`` pairs when
        ``labels`` is not given), gathered into one array.
    labels : array_like of int, optional
        ``[N]`` class indices. Without labels only the fidelity metrics are reported.
    batch_size : int, default 256
        Samples per ``session.run``. A model with a fixed batch dimension uses that instead
        (the last batch is padded by repeating its last sample, then trimmed).
    input_name : str, optional
        The input to feed; required when the model has several non-initializer inputs.
    providers : sequence of str, default ``("CPUExecutionProvider",)``
    threads : int, default 0
        ONNX Runtime intra-op threads (0: its default, all cores). Use 1 in parallel workers.
    output_name : str, optional
        The output to score (default: the first). It is flattened to ``[N, -1]``.
    per_anchor : bool, default False
        For detectors, whose output holds one score vector per anchor (e.g. UltraFace's
        ``scores`` ``[N, 4420, 2]``): ``top1_agreement`` and ``mean_softmax_kl`` then treat
        every anchor as a sample (output reshaped to ``[-1, last axis]``), so agreement is the
        fraction of anchors whose class (face/background) is unchanged, instead of one argmax
        over the whole flattened output per image. Labels are refused (they are per image).

    Raises
    ------
    ValueError
        If the data does not match the model's input, labels are out of range or of the wrong
        length, or the model input cannot be chosen.
    """

    def __init__(
        self,
        model,
        inputs,
        labels=None,
        batch_size: int = 256,
        input_name: str | None = None,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        threads: int = 0,
        output_name: str | None = None,
        per_anchor: bool = False,
    ):
        if not isinstance(per_anchor, bool):
            raise TypeError(f"per_anchor must be a bool, got {type(per_anchor).__name__}")
        if per_anchor and labels is not None:
            raise ValueError("per_anchor=True scores fidelity per anchor: labels (per image) cannot be used")
        self.per_anchor = per_anchor
        self._anchor_width = None
        loaded = load_model_and_files(model)
        self.reference_model = loaded.model
        self.description = loaded.description
        self.providers = tuple(providers)
        self.threads = _non_negative_int(threads, "threads")
        self.batch_size = _positive_int(batch_size, "batch_size")
        graph = loaded.model.graph
        self.input_name, input_type, input_dims = _model_input(graph, input_name, self.description)
        self.output_name = _model_output(graph, output_name, self.description)
        inputs, batch_labels = _gather(inputs)
        if labels is None:
            labels = batch_labels
        elif batch_labels is not None:
            raise ValueError("labels were given twice: as the labels argument and inside the batches")
        self.inputs = _checked_inputs(inputs, input_type, input_dims, self.description)
        self.batch_size_is_fixed = bool(input_dims) and input_dims[0] is not None
        if self.batch_size_is_fixed:
            self.batch_size = input_dims[0]
        self.labels = None
        if labels is not None:
            self.labels = class_indices(labels, "labels")
            if len(self.labels) != len(self.inputs):
                raise ValueError(f"labels has {len(self.labels)} entries but inputs {len(self.inputs)} samples")
            _check_label_range(self.labels, self._static_classes(graph), self)
        self._reference_outputs = None

    # ---------------------------------------------------------------------------------------
    @property
    def num_samples(self) -> int:
        return len(self.inputs)

    @property
    def reference_outputs(self) -> np.ndarray:
        """Outputs of the reference model, ``[N, -1]`` float32 (computed once)."""
        if self._reference_outputs is None:
            self._reference_outputs = self.outputs(self.reference_model)
        return self._reference_outputs

    def session(self, model):
        """An ONNX Runtime session for ``model`` with this evaluator's providers and threads."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # keep worker logs quiet; errors still raise
        return ort.InferenceSession(_model_bytes(model), options, providers=list(self.providers))

    def outputs(self, model) -> np.ndarray:
        """Run ``model`` on the whole data set.

        Parameters
        ----------
        model : onnx.ModelProto, bytes, path or QuantizedModel
            Must have the reference model's input and output names.

        Returns
        -------
        numpy.ndarray
            ``[N, -1]`` float32 outputs.
        """
        session = self.session(model)
        n, step = len(self.inputs), self.batch_size
        chunks = []
        for start in range(0, n, step):
            batch = self.inputs[start : start + step]
            short = step - len(batch) if self.batch_size_is_fixed else 0
            if short:
                batch = np.concatenate([batch, np.repeat(batch[-1:], short, axis=0)])
            out = session.run([self.output_name], {self.input_name: batch})[0]
            self._anchor_width = out.shape[-1] if out.ndim else 1
            chunks.append(out[: len(out) - short])
        return np.concatenate(chunks).reshape(n, -1).astype(np.float32, copy=False)

    def evaluate(self, model) -> dict:
        """Score ``model``: classification metrics (with labels) and fidelity to the reference.

        Returns
        -------
        dict
            With labels, the keys of :func:`edgequant.metrics.classification_report` (``top1``,
            ``top5``, ``accuracy``, ``macro_accuracy``, ``precision``, ``recall``, ``f1``,
            ``n_samples``, ``num_classes``); always ``top1_agreement``, ``mean_softmax_kl``
            (nats) and ``output_sqnr_db`` against the reference outputs.

        Raises
        ------
        ValueError
            If the model's outputs contain NaN/Inf (nothing meaningful can be scored).
        """
        return self.score(self.outputs(model))

    def score(self, outputs: np.ndarray) -> dict:
        """:meth:`evaluate` for outputs already computed (``[N, -1]``)."""
        outputs = np.asarray(outputs)
        if not np.all(np.isfinite(outputs)):
            bad = int(np.size(outputs) - np.count_nonzero(np.isfinite(outputs)))
            raise ValueError(f"the model's outputs contain {bad} NaN/Inf value(s)")
        reference = self.reference_outputs
        metrics = {}
        if self.labels is not None:
            metrics.update(classification_report(outputs, self.labels))
        rows_ref, rows_out = reference, outputs
        if self.per_anchor:  # one row per anchor: [N, A*C] -> [N*A, C]
            width = self._anchor_width
            if width is None or reference.size % width or outputs.size != reference.size:
                raise ValueError(f"per_anchor: outputs of shape {outputs.shape} do not split into anchors of {width}")
            rows_ref, rows_out = reference.reshape(-1, width), outputs.reshape(-1, width)
        metrics["top1_agreement"] = top1_agreement(rows_ref, rows_out)
        metrics["mean_softmax_kl"] = mean_softmax_kl(rows_ref, rows_out)
        metrics["output_sqnr_db"] = output_sqnr_db(reference, outputs)
        return metrics

    def _static_classes(self, graph: onnx.GraphProto) -> int:
        """Number of output classes, from the output's static shape or one reference run."""
        for value in graph.output:
            if value.name == self.output_name and value.type.HasField("tensor_type"):
                dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
                if len(dims) >= 2 and all(d is not None for d in dims[1:]):
                    return int(np.prod(dims[1:]))
        return self.reference_outputs.shape[1]


# -------------------------------------------------------------------------------------------
def _non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def _positive_int(value, name: str) -> int:
    if _non_negative_int(value, name) == 0:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def _model_bytes(model) -> bytes | str:
    inner = getattr(model, "model", None)  # a QuantizedModel
    if isinstance(inner, onnx.ModelProto):
        model = inner
    if isinstance(model, onnx.ModelProto):
        return model.SerializeToString()
    if isinstance(model, bytes | bytearray):
        return bytes(model)
    if isinstance(model, str | os.PathLike):
        return os.fspath(model)
    raise TypeError("model must be an ONNX ModelProto, bytes, a path or a QuantizedModel, got " + type(model).__name__)


def _input_dims(graph: onnx.GraphProto, name: str) -> list[int | None]:
    value = next(v for v in graph.input if v.name == name)
    shape = value.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in shape.dim]


def _model_input(graph: onnx.GraphProto, name: str | None, description: str):
    """(name, numpy dtype, dims with None for free ones) of the data input."""
    initializers = {init.name for init in graph.initializer}
    candidates = [v for v in graph.input if v.name not in initializers]
    names = [v.name for v in candidates]
    if name is None:
        if len(candidates) != 1:
            raise ValueError(f"{description} has inputs {names}: pass input_name to choose the data input")
        name = names[0]
    elif name not in names:
        raise ValueError(f"input_name={name!r} is not an input of {description}; its inputs are {names}")
    value = candidates[names.index(name)]
    if not value.type.HasField("tensor_type"):
        raise ValueError(f"input {name!r} of {description} is not a tensor")
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))
    dims = _input_dims(graph, name) if value.type.tensor_type.HasField("shape") else []
    return name, dtype, dims


def _model_output(graph: onnx.GraphProto, name: str | None, description: str) -> str:
    names = [v.name for v in graph.output]
    if not names:
        raise ValueError(f"{description} has no outputs")
    if name is None:
        return names[0]
    if name not in names:
        raise ValueError(f"output_name={name!r} is not an output of {description}; its outputs are {names}")
    return name


def _gather(inputs) -> tuple[np.ndarray, np.ndarray | None]:
    """One array of samples (and labels, if the batches carry them) from an array or batches."""
    if isinstance(inputs, np.ndarray):
        return inputs, None
    if not isinstance(inputs, Iterable) or isinstance(inputs, str | bytes):
        raise TypeError(f"inputs must be an array or an iterable of batches, got {type(inputs).__name__}")
    xs, ys = [], []
    for batch in inputs:
        if isinstance(batch, tuple | list) and len(batch) == 2:
            xs.append(np.asarray(batch[0]))
            ys.append(np.asarray(batch[1]))
        else:
            xs.append(np.asarray(batch))
    if not xs:
        raise ValueError("inputs is empty: no batch was produced")
    if ys and len(ys) != len(xs):
        raise ValueError("inputs mixes (x, y) batches with batches without labels")
    ranks = {x.ndim for x in xs}
    if len(ranks) != 1 or len({x.shape[1:] for x in xs}) != 1:
        raise ValueError(f"the batches of inputs differ in sample shape: {sorted({x.shape for x in xs})}")
    return np.concatenate(xs), (np.concatenate(ys) if ys else None)


def _checked_inputs(x: np.ndarray, dtype: np.dtype, dims: list, description: str) -> np.ndarray:
    """``x`` cast to the model's input dtype after checking its shape against ``dims``."""
    if x.size == 0 or x.ndim == 0:
        raise ValueError(f"inputs is empty (shape {x.shape})")
    if x.dtype.kind not in "iufb":
        raise TypeError(f"inputs must be numeric, got dtype {x.dtype}")
    if x.dtype.kind == "f" and dtype.kind in "iub":
        raise TypeError(f"inputs are {x.dtype} but {description} expects {dtype} data")
    if dims:
        expected = ["N" if d is None else d for d in dims]
        if x.ndim != len(dims) or any(d is not None and d != s for d, s in zip(dims[1:], x.shape[1:], strict=False)):
            raise ValueError(f"inputs have shape {x.shape} but {description} expects {expected} (first axis: samples)")
    return np.ascontiguousarray(x, dtype=dtype)


def _check_label_range(labels: np.ndarray, classes: int, evaluator: Evaluator) -> None:
    if labels.max() >= classes:
        raise ValueError(
            f"labels go up to {int(labels.max())} but {evaluator.description} outputs "
            f"{classes} classes (output {evaluator.output_name!r}); labels must be < {classes}"
        )
