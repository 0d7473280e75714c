"""Per-sample cross-entropy of a model whose weights are overridden, on three backends.

A *loss runner* holds a model, a data set and the model's float weights, and answers
``losses(overrides)``: the cross-entropy of every sample when the tensors in ``overrides``
(name -> float32 array) replace the model's own. Significance asks it once per component.

- ``onnxruntime``: one session; the weight tensors are made graph inputs, so an override is
  just another feed (no session rebuilt per component).
- ``edgequant``: our engine, rebuilt from the rewritten model for each override (the engine has
  no feed for initializers).
- ``torch``: the module's parameters are swapped in place and restored.

Runners are built from picklable specs so that worker processes build their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKENDS = ("onnxruntime", "edgequant", "torch")


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample ``logsumexp(z) − z[y]`` in float64 (``logits`` are unnormalised scores [N, C])."""
    z = np.asarray(logits, dtype=np.float64).reshape(len(labels), -1)
    if not np.all(np.isfinite(z)):
        raise ValueError("the model produced NaN or Inf logits")
    peak = z.max(axis=1, keepdims=True)
    log_norm = peak[:, 0] + np.log(np.exp(z - peak).sum(axis=1))
    return log_norm - z[np.arange(len(labels)), labels]


@dataclass(frozen=True)
class RunnerSpec:
    """Everything a process needs to build a loss runner (picklable).

    ``model`` is the serialized ONNX model (bytes) or a torch module; ``x``/``y`` the data.
    """

    backend: str
    model: object
    x: np.ndarray
    y: np.ndarray
    batch_size: int = 256
    threads: int = 1
    overridable: tuple[str, ...] = ()


def build_runner(spec: RunnerSpec):
    """The runner of ``spec.backend``."""
    runners = {"onnxruntime": OnnxRuntimeLosses, "edgequant": EngineLosses, "torch": TorchLosses}
    return runners[spec.backend](spec)


def _batches(count: int, batch_size: int):
    for start in range(0, count, batch_size):
        yield slice(start, min(start + batch_size, count))


class OnnxRuntimeLosses:
    """Losses through one ONNX Runtime session whose weight initializers are overridable inputs."""

    def __init__(self, spec: RunnerSpec):
        import onnx
        import onnxruntime as ort
        from onnx import helper

        model = onnx.load_from_string(spec.model)
        listed = {value.name for value in model.graph.input}
        initializers = {init.name: init for init in model.graph.initializer}
        self.input_name = next(v.name for v in model.graph.input if v.name not in initializers)
        self.output_name = model.graph.output[0].name
        for name in spec.overridable:  # only these: the others stay constants ORT may fold
            init = initializers[name]
            if name not in listed:
                model.graph.input.append(helper.make_tensor_value_info(name, init.data_type, list(init.dims)))
        self.storage = {name: helper.tensor_dtype_to_np_dtype(init.data_type) for name, init in initializers.items()}
        model.ir_version = max(model.ir_version, 4)  # IR >= 4: initializers listed as inputs are overridable
        options = ort.SessionOptions()
        options.intra_op_num_threads = spec.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # ORT warns about every overridable initializer
        self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.x, self.y, self.batch_size = spec.x, spec.y, spec.batch_size

    def losses(self, overrides: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {name: np.ascontiguousarray(values, dtype=self.storage[name]) for name, values in overrides.items()}
        out = np.empty(len(self.y), np.float64)
        for rows in _batches(len(self.y), self.batch_size):
            logits = self.session.run([self.output_name], {self.input_name: self.x[rows], **feeds})[0]
            out[rows] = cross_entropy(logits, self.y[rows])
        return out


class EngineLosses:
    """Losses through edgequant's engine (FP32), rebuilt for each set of overrides."""

    def __init__(self, spec: RunnerSpec):
        import onnx

        from ..engine import Engine

        self._engine_class = Engine
        self.model = onnx.load_from_string(spec.model)
        self.x, self.y, self.batch_size, self.threads = spec.x, spec.y, spec.batch_size, spec.threads
        self._plain = Engine(self.model, threads=self.threads)

    def losses(self, overrides: dict[str, np.ndarray]) -> np.ndarray:
        import onnx

        from ..model.tensor_slots import TensorSlots

        engine = self._plain
        if overrides:
            rewritten = onnx.ModelProto()
            rewritten.CopyFrom(self.model)
            slots = TensorSlots(rewritten)
            for name, values in overrides.items():
                slots.write(name, values)
            engine = self._engine_class(rewritten, threads=self.threads)
        out = np.empty(len(self.y), np.float64)
        for rows in _batches(len(self.y), self.batch_size):
            out[rows] = cross_entropy(engine.run(self.x[rows])[0], self.y[rows])
        return out


class TorchLosses:
    """Losses of a torch module (eval mode, no grad) with parameters swapped in and restored."""

    def __init__(self, spec: RunnerSpec):
        import torch

        self.torch = torch
        self.module = spec.model
        self.module.eval()
        self.parameters = dict(self.module.named_parameters())
        self.device = next(iter(self.parameters.values())).device
        self.x, self.y, self.batch_size = spec.x, spec.y, spec.batch_size

    def losses(self, overrides: dict[str, np.ndarray]) -> np.ndarray:
        torch = self.torch
        saved = {name: self.parameters[name].detach().clone() for name in overrides}
        out = np.empty(len(self.y), np.float64)
        try:
            with torch.no_grad():
                for name, values in overrides.items():
                    parameter = self.parameters[name]
                    parameter.copy_(torch.from_numpy(np.asarray(values, np.float32)).to(parameter.device,
                                                                                       parameter.dtype))
                for rows in _batches(len(self.y), self.batch_size):
                    batch = torch.from_numpy(np.ascontiguousarray(self.x[rows])).to(self.device)
                    logits = self.module(batch).detach().float().cpu().numpy()
                    out[rows] = cross_entropy(logits, self.y[rows])
        finally:
            with torch.no_grad():
                for name, values in saved.items():
                    self.parameters[name].copy_(values)
        return out


def float_weights(model, tensors: list[str]) -> dict[str, np.ndarray]:
    """float32 values of the named weight tensors of an ONNX model (bytes/ModelProto) or torch module."""
    from .components import is_torch_module

    if is_torch_module(model):
        parameters = dict(model.named_parameters())
        return {name: parameters[name].detach().float().cpu().numpy().copy() for name in tensors}
    from ..onnx.loader import load_model_and_files
    from ..onnx.weights import weights_of_loaded

    loaded = load_model_and_files(model)
    values = {t.name: t.values for t in weights_of_loaded(loaded.model, loaded.description)}
    return {name: np.asarray(values[name], np.float32) for name in tensors}



def model_logits(model, x: np.ndarray, backend: str = "onnxruntime", batch_size: int = 256) -> np.ndarray:
    """The first output of an ONNX model (path, bytes or ModelProto) on ``x``, batch by batch."""
    from ..onnx.loader import load_model_and_files

    if backend not in ("onnxruntime", "edgequant"):
        raise ValueError(f"backend must be 'onnxruntime' or 'edgequant', got {backend!r}")
    serialized = load_model_and_files(model).model.SerializeToString()
    x = np.ascontiguousarray(x, dtype=np.float32)
    if backend == "edgequant":
        from ..engine import Engine

        engine = Engine(serialized, threads=1)
        return np.concatenate([engine.run(x[rows])[0] for rows in _batches(len(x), batch_size)])
    runner = OnnxRuntimeLosses(RunnerSpec(backend, serialized, x, np.zeros(len(x), np.int64), batch_size))
    return np.concatenate([runner.session.run([runner.output_name], {runner.input_name: x[rows]})[0]
                           for rows in _batches(len(x), batch_size)])
