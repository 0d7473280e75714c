"""The engine session: :class:`Engine`, an ONNX model compiled for inference (see :mod:`edgequant.engine`)."""

from __future__ import annotations

import os
import pathlib
import warnings

import numpy as np

from .calibration import METHODS, observe_batches, observe_feeds

__all__ = ["MODES", "METHODS", "Engine", "engine_available", "int8_weight_bits", "supported_backends"]

#: The engine's precisions: float32, INT8 with calibrated activation ranges, INT8 with per-run ranges.
MODES = ("fp32", "static", "dynamic")


def _native():
    try:
        from .. import _engine
    except ImportError as error:  # pragma: no cover - depends on the build
        raise ImportError(
            "edgequant was built without its inference engine (edgequant._engine): rebuild with "
            "protobuf present (apt-get install libprotobuf-dev protobuf-compiler); on x86-64 the fast "
            "backend also wants oneDNN (pip install onednn-devel-cpu-iomp==2023.2.0 onednn-cpu-iomp==2023.2.0 "
            f"'intel-cmplr-lib-rt==2023.*'; without it the engine has its reference backends) ({error})"
        ) from error
    return _engine


def engine_available() -> bool:
    """Whether this build has the inference engine."""
    try:
        _native()
    except ImportError:
        return False
    return True


def supported_backends() -> list[str]:
    """The compute backends of this build, the default (the fastest) first; ``[]`` without the engine.

    ``"reference"`` (plain C++ loops, the yardstick of the tests) is always among them; ``"onednn"``
    where the build has oneDNN (x86-64, ``EDGEQUANT_WITH_ONEDNN``).
    """
    return list(_native().supported_backends()) if engine_available() else []


def int8_weight_bits(backend: str | None = None) -> int:
    """The INT8 weight grid in bits (8, or 7) that ``backend`` sums exactly on this CPU; without a
    backend, the grid an :class:`Engine` uses by default (the narrowest any backend needs).

    7 on x86 CPUs without VNNI for ``"onednn"``: its INT8 kernels add pairs of u8 x s8 products
    in saturating 16 bits there (``vpmaddubsw``), which 8-bit weights overflow.
    """
    return int(_native().int8_weight_bits(backend or ""))


class Engine:
    """An ONNX model compiled for inference.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        An ONNX model, or a TensorFlow Lite one (``.tflite``, recognised by its flatbuffer
        identifier), which runs as its ONNX form (:func:`edgequant.tflite.tflite_to_onnx`: an int8
        model as QDQ with the file's own quantization).
    mode : {"fp32", "static", "dynamic"}, optional
        ``static``: INT8 convolutions and matrix products with per-output-channel symmetric s8
        weights and u8 activations whose scale / zero point come from ``calibration``;
        ``dynamic``: the same weights, activation parameters from each input's min/max at run time.
        Other ops run in float32 either way; outputs are float32. Default: ``static`` for a model
        that carries its own quantization (see :attr:`carries_quantization`) or when ``calibration``
        is given, ``fp32`` otherwise.
        A quantized model (QDQ: QuantizeLinear / DequantizeLinear pairs, as ONNX Runtime's
        ``quantize_static`` writes; or QLinearConv / QLinearMatMul ops) runs static INT8 with the
        file's scales, zero points and weight codes, without calibration: exactly the layers whose
        input the file quantizes run INT8. In ``fp32`` mode its QuantizeLinear / DequantizeLinear
        pairs still round as the file says (float kernels, the ONNX semantics).
    calibration : array, list of arrays, dict name -> array, or list of dicts, optional
        Inputs for static calibration (batch along axis 0), required for ``mode="static"``. A list
        of dicts is one full feed per run, for models with inputs that have no batch axis (a
        scalar sample rate, a recurrent state).
    method : {"minmax", "percentile", "entropy", "mse"}
        How calibration turns the observed activations into ranges.
    threads : int, optional
        Threads for the kernels (default: all cores).
    backend : str, optional
        One of :func:`supported_backends` (default: its first, the fastest this build has);
        ``reference`` runs plain C++ loops (slow; the yardstick tests use).
    keep_float_weights : bool
        INT8 modes only. By default the session frees the float weights of its INT8 layers once
        they are quantized (about a quarter of the FP32 session's weight memory remains), after
        which :meth:`calibrate` cannot run again; ``True`` keeps them for recalibration.
    calibration_batch_size : int
        Calibration samples run at a time when the batch dimension is symbolic; a model with a fixed
        batch dimension (most model-zoo files: 1) is always calibrated in batches of that size.
    progress : bool, optional
        A progress bar for calibration (default: on a terminal or in a notebook only).
    outputs : list of str, optional
        The values to return, in order (any value of the graph). Default: the graph's tensor
        outputs; outputs that are not tensors (ZipMap's maps, sequences, strings) are left out with
        a warning. Nodes that no chosen output needs are not built.
    reduce_range : bool, optional
        INT8 weights on a 7-bit grid (codes in [-63, 63]; [-127, 127] at 8 bits) instead of 8 bits.
        x86 CPUs without VNNI (AMD Zen 1-3, Intel before Cascade Lake) add each pair of u8 x s8 products in saturating
        16 bits in oneDNN's INT8 kernels; 7-bit weights keep those sums exact, 8-bit ones would
        silently corrupt them. Default (None): 7 bits on such CPUs for every backend, so that outputs
        do not change with the backend (:attr:`reduce_range` says which; :func:`int8_weight_bits`).
        ``False`` keeps 8 bits where the backend sums them exactly (``reference``) and is refused
        where it would not. A quantized model's own 8-bit weight codes are requantized on 7 bits.

    Notes
    -----
    One Engine may be shared by threads: each run borrows its own session state (kernels,
    activation memory), runs release the GIL, and threads run in parallel; configuration calls
    (``calibrate``, ``set_threads``, ...) wait for the runs in progress. Each extra concurrent run
    adds a session's memory (its activations and kernels; the weights are shared).

    Float inputs holding NaN or Inf are refused with a ValueError (the INT8 kernels, and oneDNN's
    float pooling and activations, would turn them into finite numbers); so is such calibration data.
    """

    def __init__(self, model, mode=None, calibration=None, method="minmax", threads=None, backend=None,
                 keep_float_weights=False, calibration_batch_size=64, progress=None, outputs=None, reduce_range=None):
        native = _native()
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if calibration is None and method not in METHODS:  # with calibration, the C++ calibrator checks it
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        threads = 0 if threads is None else int(threads)
        if threads < 0:
            raise ValueError(f"threads must be >= 1 (or None for all cores), got {threads}")
        self._source = _model_source(model)  # not the bytes: they would double the session's memory
        if outputs is not None and (isinstance(outputs, str) or not all(isinstance(o, str) for o in outputs)):
            raise TypeError("outputs must be a list of value names")
        if backend is None:
            backend = native.supported_backends()[0]
        if reduce_range not in (None, True, False):
            raise TypeError(f"reduce_range must be None, True or False, got {reduce_range!r}")
        weight_bits = 0 if reduce_range is None else (7 if reduce_range else 8)
        # A model file's external data is read from its folder, under the rules of edgequant.onnx's loader.
        base_dir = str(self._source.parent) if isinstance(self._source, pathlib.Path) else ""
        self._native = native.Engine.from_bytes(_model_bytes(self._source), backend, threads, list(outputs or []),
                                                base_dir, weight_bits)
        for name, why in self._native.ignored_outputs:
            if outputs is None:
                warnings.warn(f"output {name!r} is {why}: left out (choose outputs with outputs=[...])",
                              stacklevel=2)
        self.method = method
        self.input_names = [name for name, *_ in self._native.inputs]
        self._input_dtypes = [dtype for _, dtype, *_ in self._native.inputs]  # the binding builds these per call
        self.output_names = [name for name, *_ in self._native.outputs]
        self.ranges: dict[str, tuple[float, float]] = {}
        if mode is None:
            mode = "static" if self.carries_quantization or calibration is not None else "fp32"
        if self.carries_quantization and calibration is not None:
            raise ValueError("this model carries its own quantization (QuantizeLinear / DequantizeLinear or QLinear "
                             "ops): static INT8 uses the file's scales and zero points, so it takes no calibration "
                             "data (calibration=None)")
        if mode == "static" and not self.carries_quantization:
            if calibration is None:
                raise ValueError("mode='static' needs calibration data (calibration=...)")
            self.calibrate(calibration, method, batch_size=calibration_batch_size, progress=progress)
        elif calibration is not None:
            raise ValueError(f"calibration data is only used with mode='static', not {mode!r}")
        self._native.set_mode(mode)
        if mode != "fp32" and not keep_float_weights:
            self._native.release_float_weights()

    @property
    def carries_quantization(self) -> bool:
        """Whether the model gives its own activation scales and zero points (QDQ or QLinear ops):
        static INT8 then runs with them and needs no calibration."""
        return bool(self._native.carries_quantization)

    @property
    def reduce_range(self) -> bool:
        """Whether INT8 weights use a 7-bit grid (see the ``reduce_range`` argument): by default
        True for the oneDNN backend on x86 CPUs without VNNI."""
        return self._native.int8_weight_bits == 7

    @property
    def mode(self) -> str:
        """The mode the engine runs in ("fp32", "static", "dynamic"), as the C++ engine reports it."""
        return self._native.mode

    def plan(self) -> list[tuple[str, str, str]]:
        """(node name, op type, precision) per executed node after the graph passes; precision is
        "f32", "int8_static" or "int8_dynamic" as the node's kernels run it, or "f32_s8_weights" for an LSTM
        of a quantized file that keeps its recurrent weights as s8 codes (float arithmetic). An ``If`` is
        followed by the steps of the branch it ran last, named ``"<if node>::then_branch::<node>"`` (an
        engine of its own; static INT8 where calibration ran that branch, float32 where it did not)."""
        return [tuple(step) for step in self._native.plan()]

    # --- running ------------------------------------------------------------------------------
    def run(self, inputs) -> list[np.ndarray]:
        """Runs the model; returns the outputs (float32 / int64 NumPy arrays) in graph order.

        ``inputs``: one array (single-input models), a list in graph-input order, or a dict by
        input name. Float inputs accept float16/32/64 (computed in float32), integer inputs int32/64.
        """
        return self._native.run(self._prepare(inputs))

    def _prepare(self, inputs) -> list[np.ndarray]:
        if isinstance(inputs, dict):
            missing = [name for name in self.input_names if name not in inputs]
            unknown = [name for name in inputs if name not in self.input_names]
            if missing or unknown:
                raise ValueError(f"inputs: missing {missing}, unknown {unknown}; the model takes {self.input_names}")
            inputs = [inputs[name] for name in self.input_names]
        elif not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if len(inputs) != len(self.input_names):
            raise ValueError(f"the model takes {len(self.input_names)} input(s) {self.input_names}, got {len(inputs)}")
        prepared = []
        for name, dtype, value in zip(self.input_names, self._input_dtypes, inputs, strict=True):
            if (type(value) is np.ndarray and dtype == "float32" and value.dtype == np.float32
                    and value.flags.c_contiguous):
                prepared.append(value)  # already what the engine takes: no conversion
                continue
            array = np.asarray(value)
            if dtype == "float32":
                if array.dtype.kind != "f":
                    raise TypeError(f"input {name!r} must be a float array, got dtype {array.dtype}")
                # reshape: ascontiguousarray turns a 0-d array (a NumPy scalar's) into shape (1,)
                array = np.ascontiguousarray(array, dtype=np.float32).reshape(array.shape)
            else:
                if array.dtype.kind not in "iub":  # the engine holds integer and bool inputs as int64 (bool: 0/1)
                    raise TypeError(f"input {name!r} must be an integer or bool array, got dtype {array.dtype}")
                array = np.ascontiguousarray(array, dtype=np.int64).reshape(array.shape)
            prepared.append(array)
        return prepared

    # --- quantization -------------------------------------------------------------------------
    def calibrate(self, calibration, method="minmax", batch_size=64, progress=None) -> dict[str, tuple[float, float]]:
        """Collects activation ranges by ``method`` on ``calibration`` and sets them for static INT8.
        Returns them by tensor; the tensors inside an ``If``'s branches that calibration ran are named
        ``"<If node>::then_branch::<tensor>"`` (or ``else_branch``), and such a branch runs static INT8.

        ``batch_size``: samples per run; a model whose first input has a fixed batch dimension ``b``
        runs batches of exactly ``b`` (the last one completed with the first samples again).
        ``progress``: a progress bar over the samples (None: on a terminal or notebook only)."""
        from tqdm.auto import tqdm

        if self.carries_quantization:
            raise ValueError("this model carries its own quantization (QDQ or QLinear ops): it takes no calibration")
        if self._native.float_weights_released:
            raise ValueError("this engine freed its float weights after quantizing; create it with "
                             "keep_float_weights=True to calibrate again")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if isinstance(calibration, (list, tuple)) and calibration and all(isinstance(f, dict) for f in calibration):
            # One full feed per run: models with inputs that have no batch axis (a scalar sample rate,
            # a recurrent state) are calibrated on these as they are.
            feeds = [self._prepare(feed) for feed in calibration]
            count, batch_size, fixed_batch = len(feeds), 1, None
        else:
            feeds = None
            arrays = self._prepare(calibration)
            count = arrays[0].shape[0] if arrays[0].ndim else 0
            if count == 0 or any(a.ndim == 0 or a.shape[0] != count for a in arrays):
                raise ValueError("calibration inputs must share a non-empty batch axis 0 (for inputs without one, "
                                 "give a list of feeds: [{input name: array, ...}, ...], one per run)")
            fixed_batch = self.fixed_batch_size()
            if fixed_batch:
                batch_size = fixed_batch
        previous = self.mode
        self._native.set_mode("fp32")
        bar = tqdm(total=count, unit="sample", desc=f"calibrating ({method})", leave=False,
                   disable=None if progress is None else not progress)
        try:
            try:
                if feeds is not None:
                    ranges = observe_feeds(_native(), self._native, feeds, method, bar)
                else:
                    ranges = observe_batches(_native(), self._native, arrays, method, batch_size, bool(fixed_batch),
                                             bar)
            except ValueError as error:  # the engine scans each batch for NaN / Inf as it runs it: one pass
                if "refuses non-finite inputs" not in str(error):
                    raise
                where = str(error).split(": the engine")[0].replace(")", " of its batch)")
                raise ValueError(f"calibration {where}: calibration needs finite data, not NaN or Inf") from None
            self._native.set_activation_ranges(ranges)
        except BaseException:
            self._native.set_mode(previous)  # a static engine keeps its previous ranges
            raise
        finally:
            bar.close()
        self.ranges = ranges
        self._native.set_mode(previous)  # static: re-planned with the new ranges
        return dict(self.ranges)

    def fixed_batch_size(self) -> int | None:
        """The batch dimension of the first input when the model fixes it (None: symbolic)."""
        _, _, shape, *_ = self._native.inputs[0]
        return int(shape[0]) if len(shape) and shape[0] > 0 else None

    def activation_quantization(self) -> dict[str, tuple[float, int]]:
        """(scale, zero_point) of every calibrated activation, as static INT8 uses them (u8: an int8
        zero point of a quantized model appears moved by +128, the same grid)."""
        if self.carries_quantization:
            given = {}
            for name in self._native.calibration_tensors():
                try:
                    given[name] = tuple(self._native.activation_quantization(name))
                except ValueError:  # a layer the file leaves in float
                    pass
            return given
        calibrated = set(self._native.calibration_tensors())  # not an If branch's ("key::tensor")
        return {name: tuple(self._native.activation_quantization(name)) for name in self.ranges if name in calibrated}

    def integer_tensors(self) -> dict[str, tuple[float, int]]:
        """The activations static INT8 passes from layer to layer as u8 codes, not as float:
        ``{tensor: (scale, zero_point)}``, x = scale·(q − zero_point). A tensor is handed over as
        codes where every op reading it takes them (INT8 convolutions, and Split / Concat / MaxPool /
        nearest Resize between them, which move the codes unchanged); the others, and every graph
        output, stay float32. Empty in FP32 and dynamic mode."""
        return {name: (float(scale), int(zero_point))
                for name, (scale, zero_point) in self._native.integer_tensors().items()}

    def save_quantized(self, path, weight_formats=None) -> None:
        """Writes the model as QDQ ONNX (ONNX Runtime runs it): s8 per-channel weights of the
        quantizable layers (the codes and scales the engine runs: ``WeightFormat(grid="engine")``),
        and for static mode u8 Quantize/DequantizeLinear on their inputs with
        the calibrated scales, and on every read of a value the engine holds only as u8 codes
        (:meth:`integer_tensors`: a skip added in a conv, a pool's input), so that ONNX Runtime on
        the file rounds where the engine rounds (:func:`edgequant.model.layers_to_qdq`, opset
        raised to 13 if older). Inside ``If`` branches that calibration ran, the Conv / Gemm /
        MatMul layers get their pairs and s8 weights within the branch (each input on its own
        calibrated grid; ONNX Runtime's ``quantize_static`` leaves branches float).

        ``weight_formats``: ``{weight tensor: edgequant.model.WeightFormat}`` for weights stored on
        other grids than 8 bits; the other layers keep 8 bits (7 where :attr:`reduce_range`: the
        grid the engine ran). A mixed-precision bit config
        (``edgequant mpq``'s JSON) is written with :func:`edgequant.mixed_precision.save_engine_qdq`,
        which turns it into these formats.
        """
        from ..model.qdq import WeightFormat, layers_to_qdq

        if self.carries_quantization:
            raise ValueError("this model is already quantized (QDQ or QLinear ops): its file is its quantized form")

        layers_to_qdq(self._source, self._native.quantizable_layers(),
                      self.activation_quantization() if self.mode == "static" else None, path,
                      overrides=dict(weight_formats) if weight_formats else None,
                      weight_format=WeightFormat(bits=7 if self.reduce_range else 8, grid="engine"),
                      integer_tensors=self.integer_tensors(),
                      branch_quantization=self._branch_grids() if self.mode == "static" else None)

    def _branch_grids(self) -> dict[str, tuple[float, int]]:
        """(scale, u8 zero point) of each calibrated tensor of an ``If`` branch ("<If>::<branch>::<tensor>"),
        by the engine's rule (``quant/affine.h``)."""
        from .. import _core

        calibrated = set(self._native.calibration_tensors())
        grids = {}
        for name, (lo, hi) in self.ranges.items():
            if name not in calibrated:
                params = _core.affine_params_from_range(_core.AffineFormat(8, False, False), float(lo), float(hi))
                grids[name] = (float(np.float32(params.scale)), int(params.zero_point))
        return grids

    @property
    def source(self):
        """What the engine was built from and exports from: the model's path, or its bytes."""
        return self._source

    # --- introspection ------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self._native.backend

    def set_threads(self, threads: int) -> None:
        self._native.set_threads(int(threads))

    def profile_layers(self, on: bool = True) -> None:
        self._native.set_profiling(bool(on))
        self._native.reset_layer_times()

    def layer_times(self) -> list[tuple[str, str, float, int]]:
        """(node name, op type, seconds, calls) per executed node since ``profile_layers()``."""
        return self._native.layer_times()

    def __repr__(self):
        return f"Engine(mode={self.mode!r}, backend={self.backend!r}, inputs={self.input_names})"


def _model_source(model):
    """What the engine reads its model from again when it exports it: the path, the (immutable)
    bytes, or a serialized copy of a ModelProto (which the caller may change afterwards). A TFLite
    model (its flatbuffer identifier "TFL3") is converted once: the bytes of its ONNX form
    (:func:`edgequant.tflite.tflite_to_onnx`)."""
    if isinstance(model, bytearray):
        model = bytes(model)
    if isinstance(model, bytes):
        return _onnx_from_tflite(model) if _is_tflite(model[:8]) else model
    if isinstance(model, (str, os.PathLike)):
        path = pathlib.Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"no ONNX model at {str(path)!r}")
        with path.open("rb") as file:
            if _is_tflite(file.read(8)):
                return _onnx_from_tflite(path)
        return path.absolute()  # not resolved: external data lies beside the path as given
    if hasattr(model, "SerializeToString"):
        return model.SerializeToString()
    raise TypeError(f"model must be a path, bytes or onnx.ModelProto, got {type(model).__name__}")


def _is_tflite(head: bytes) -> bool:
    return len(head) == 8 and head[4:8] == b"TFL3"


def _onnx_from_tflite(model) -> bytes:
    from edgequant.tflite import tflite_to_onnx

    return tflite_to_onnx(model).SerializeToString()


def _model_bytes(source) -> bytes:
    return source.read_bytes() if isinstance(source, pathlib.Path) else source

