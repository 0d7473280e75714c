"""How closely a compressed model's outputs follow the original's: ONNX Runtime runs both on the
same sample inputs and every output is compared (cosine similarity and largest absolute error).

Quantizing weights can damage a model silently (issue 22: the README's ``compress`` settings left a
text detector's output at cosine 0.80), so ``edgequant compress`` reports this and warns below a
threshold. Synthetic inputs can understate the damage: measure on real samples where there are some.

>>> report = output_fidelity("model.onnx", decompress_model("model.eqz"))
>>> print(report)                 # one line per output: cosine, max |error|, the output's range
>>> report.worst.cosine < 0.99    # damaged?
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Value given to a symbolic (named or unknown) dimension of a synthetic input, the batch axis aside.
SYMBOLIC_DIM = 64
#: Synthetic samples, and the most samples of given data, that are run.
DEFAULT_SAMPLES = 4
#: Below this cosine similarity an output counts as damaged (``edgequant compress --min-cosine``).
DEFAULT_MIN_COSINE = 0.99


@dataclass(frozen=True)
class OutputFidelity:
    """One output compared over every sample.

    Attributes
    ----------
    name : str
    cosine : float
        Cosine similarity of the original and restored outputs (all samples flattened together);
        1.0 when both are all zeros, NaN when either holds a non-finite value.
    max_abs_error : float
        Largest ``|original − restored|``.
    max_abs_value : float
        Largest ``|original|``, the scale the error is to be read against.
    """

    name: str
    cosine: float
    max_abs_error: float
    max_abs_value: float


@dataclass(frozen=True)
class FidelityReport:
    """Every output's fidelity on the sample inputs, or why the models could not be run.

    Attributes
    ----------
    outputs : list of OutputFidelity
        Empty when ``error`` is set.
    samples : int
    inputs : str
        Where the inputs came from ("synthetic: ..." or the caller's description).
    error : str or None
        Why ONNX Runtime could not run the models on these inputs.
    """

    outputs: list[OutputFidelity]
    samples: int
    inputs: str
    error: str | None = None

    @property
    def worst(self) -> OutputFidelity | None:
        """The output of lowest cosine (NaN counts as lowest); None if nothing ran."""
        if not self.outputs:
            return None
        return min(self.outputs, key=lambda output: -np.inf if np.isnan(output.cosine) else output.cosine)

    def problems(self, min_cosine: float) -> list[str]:
        """One sentence per output below ``min_cosine`` (or non-finite), or why nothing was measured.

        Parameters
        ----------
        min_cosine : float

        Returns
        -------
        list of str
            Empty when every output reaches ``min_cosine``.
        """
        if self.error is not None:
            return [f"the output fidelity was not measured ({self.error}); pass real sample inputs"]
        return [f"output {output.name!r} has cosine {output.cosine:.4f} against the original "
                f"(below {min_cosine:g}; max abs error {output.max_abs_error:.4g} on values up to "
                f"{output.max_abs_value:.4g}): the compressed model may be damaged; a finer quantizer "
                "(more levels, a smaller deadzone) keeps it closer"
                for output in self.outputs if not output.cosine >= min_cosine]

    def __str__(self) -> str:
        head = f"output fidelity, ONNX Runtime, original vs restored ({self.samples} samples, {self.inputs}):"
        if self.error is not None:
            return f"{head} not measured: {self.error}"
        lines = [head] + [f"  {output.name:<24s} cosine {output.cosine:.6f}  max abs error {output.max_abs_error:.4g}"
                          f"  (|original| up to {output.max_abs_value:.4g})" for output in self.outputs]
        return "\n".join(lines)


def output_fidelity(original, restored, inputs=None, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                    inputs_description: str = "given inputs") -> FidelityReport:
    """Run ``original`` and ``restored`` on the same inputs with ONNX Runtime and compare every output.

    Parameters
    ----------
    original, restored : path-like, bytes or onnx.ModelProto
        The model before compression and as restored (quantize-dequantized), e.g. by
        :func:`~edgequant.compress.decompress_model`. External data is read.
    inputs : numpy.ndarray or dict of str to numpy.ndarray, optional
        Sample inputs, samples on axis 0 (an array feeds the first input; a dict names inputs).
        Each sample runs alone, as a batch of one, and at most ``samples`` are used. Inputs not
        given are synthetic.
    samples : int
        Synthetic samples to run, or the most given samples to use.
    seed : int
        Seed of the synthetic inputs: uniform [0, 1) floats, zero integers, False booleans (as
        ``edgequant profile``); a symbolic dimension is 1 on the batch axis (axis 0) and
        :data:`SYMBOLIC_DIM` elsewhere.
    inputs_description : str
        Where given inputs came from, for the report.

    Returns
    -------
    FidelityReport
        With ``error`` set, instead of raising, when ONNX Runtime cannot build or run a model on
        these inputs (synthetic inputs may not suit every model: pass real ones).

    Raises
    ------
    ValueError
        If ``samples`` < 1, or ``inputs`` names an input the model does not have or holds no samples.
    """
    import onnxruntime

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # no warnings about unused initializers on stderr
    # Memory over speed: no prepacked copies of the weights, no arena; and one model at a time.
    options.enable_cpu_mem_arena = False
    options.add_session_config_entry("session.disable_prepacking", "1")
    results: list[list[list[np.ndarray]]] = [[], []]
    feeds, description, names = [], inputs_description, []
    for model, outputs in zip((original, restored), results, strict=True):
        try:
            session = onnxruntime.InferenceSession(_model_bytes(model), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # ONNX Runtime's own exception types are not importable in a stable way
            return FidelityReport([], 0, "", f"ONNX Runtime cannot load the model: {_one_line(error)}")
        if not names:
            feeds, description = _feeds(session, inputs, samples, seed, inputs_description)
            names = [output.name for output in session.get_outputs()]
        try:
            outputs.extend(session.run(None, feed) for feed in feeds)
        except Exception as error:
            return FidelityReport([], len(feeds), description, f"ONNX Runtime cannot run it: {_one_line(error)}")
        del session  # before the next model's session exists
    compared = [_compare(name, [run[index] for run in results[0]], [run[index] for run in results[1]])
                for index, name in enumerate(names)]
    return FidelityReport(compared, len(feeds), description)


def compressed_model_fidelity(original, eqz, inputs=None, inputs_description: str = "given inputs") -> FidelityReport:
    """:func:`output_fidelity` of ``original`` against the model that the ``.eqz`` file ``eqz`` restores.

    Parameters
    ----------
    original : path-like, bytes or onnx.ModelProto
    eqz : path-like or bytes
        Read with :func:`~edgequant.compress.decompress_model`: what a user of the file gets.
    inputs, inputs_description
        As :func:`output_fidelity` (None: synthetic inputs).

    Returns
    -------
    FidelityReport
        ``report.problems(min_cosine)`` lists the damaged outputs.
    """
    from .model_file import decompress_model

    # Serialized at once: the restored ModelProto is not kept beside its bytes.
    return output_fidelity(original, decompress_model(eqz).SerializeToString(), inputs,
                           inputs_description=inputs_description)


def _model_bytes(model) -> bytes:
    from ..onnx.loader import load_model_and_files

    if isinstance(model, bytes):  # already serialized; bytes cannot name external data files
        return model
    return load_model_and_files(model).model.SerializeToString()


_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
                "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(int16)": np.int16,
                "tensor(uint16)": np.uint16, "tensor(int32)": np.int32, "tensor(uint32)": np.uint32,
                "tensor(int64)": np.int64, "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_}


def _feeds(session, inputs, samples: int, seed: int, description: str) -> tuple[list[dict], str]:
    """One feed per sample: the given arrays sliced to one sample each, the rest synthetic."""
    declared = session.get_inputs()
    if inputs is None:
        given = {}
    elif isinstance(inputs, dict):
        given = dict(inputs)
    else:
        given = {declared[0].name: inputs}
    unknown = sorted(set(given) - {spec.name for spec in declared})
    if unknown:
        raise ValueError(f"inputs {unknown} are not inputs of the model ({[spec.name for spec in declared]})")
    count = samples
    if given:
        available = min(len(np.asarray(array)) if np.ndim(array) else 0 for array in given.values())
        if available == 0:
            raise ValueError("the sample inputs hold no samples (axis 0 is empty)")
        count = min(samples, available)
    else:
        description = f"synthetic: uniform [0, 1) floats, seed {seed}"
    rng = np.random.default_rng(seed)
    feeds = []
    for sample in range(count):
        feed = {}
        for spec in declared:
            dtype = _NUMPY_TYPES.get(spec.type, np.float32)
            if spec.name in given:
                feed[spec.name] = np.asarray(given[spec.name][sample:sample + 1]).astype(dtype, copy=False)
            else:
                feed[spec.name] = _synthetic(spec.shape, dtype, rng)
        feeds.append(feed)
    return feeds, description


def _synthetic(shape, dtype, rng) -> np.ndarray:
    dims = [d if isinstance(d, int) and d > 0 else (1 if axis == 0 else SYMBOLIC_DIM) for axis, d in enumerate(shape)]
    if np.issubdtype(dtype, np.floating):
        return rng.random(dims).astype(dtype)
    return np.zeros(dims, dtype)


def _compare(name: str, original: list[np.ndarray], restored: list[np.ndarray]) -> OutputFidelity:
    a = np.concatenate([np.asarray(x, np.float64).reshape(-1) for x in original])
    b = np.concatenate([np.asarray(x, np.float64).reshape(-1) for x in restored])
    if a.size == 0:
        return OutputFidelity(name, 1.0, 0.0, 0.0)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return OutputFidelity(name, float("nan"), float("nan"), float(np.nanmax(np.abs(a), initial=0.0)))
    norm_a, norm_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if norm_a == 0.0 or norm_b == 0.0:
        cosine = 1.0 if np.array_equal(a, b) else 0.0
    else:
        cosine = float(np.clip(np.dot(a / norm_a, b / norm_b), -1.0, 1.0))
    return OutputFidelity(name, cosine, float(np.max(np.abs(a - b))), float(np.max(np.abs(a))))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__
