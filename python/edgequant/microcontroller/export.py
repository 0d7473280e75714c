"""``export_c``: a model file to ``model.h`` / ``model.c`` plus the runtime sources in one folder."""

from __future__ import annotations

import pathlib
import shutil
import struct
from dataclasses import dataclass

from .budgets import check_budgets
from .codegen import model_header, model_source
from .planner import plan_arena
from .runtime_sources import runtime_files
from .validation import validate_graph, validate_plan


@dataclass
class ExportReport:
    """What :func:`export_c` wrote and the footprint it planned.

    Attributes
    ----------
    directory : pathlib.Path
    graph : IntegerGraph
    plan : ArenaPlan
    weight_bytes : int
        Constant data in flash (coded streams with ``coded_weights``).
    plain_weight_bytes : int
        The same constants stored plainly.
    files : list of pathlib.Path
    """

    directory: pathlib.Path
    graph: object
    plan: object
    weight_bytes: int
    plain_weight_bytes: int
    files: list
    coded_layers: int = 0

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_size


def load_graph(model, calibration=None, method="minmax"):
    """An :class:`~.graph.IntegerGraph` from a ``.tflite`` (int8) or ``.onnx`` (quantized to static
    INT8 with ``calibration``) path."""
    path = pathlib.Path(model)
    if not path.is_file():
        raise FileNotFoundError(f"no model at {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        if calibration is not None:
            raise ValueError("calibration data is for ONNX models; a .tflite model carries its own int8 parameters")
        from ..tflite import read_tflite
        from .tflite_frontend import from_tflite

        try:
            model = read_tflite(path)
        except (TypeError, AttributeError, IndexError, KeyError, OverflowError, struct.error) as error:
            # the schema readers trust the file's offsets; whatever a corrupt file makes them raise is a bad file
            raise ValueError(f"corrupt TFLite flatbuffer {path.name!r} ({type(error).__name__}: {error})") from error
        return from_tflite(model, source=path.name)
    if suffix == ".onnx":
        from .onnx_frontend import from_onnx

        if calibration is None:
            raise ValueError("an ONNX model is quantized to static INT8 first: give calibration inputs")
        return from_onnx(path, calibration, method=method)
    raise ValueError(f"export-c reads .tflite or .onnx models, not {path.suffix or 'a file without suffix'!r}")


def export_c(model, output_dir, calibration=None, method="minmax", flash_kb=None, ram_kb=None,
             coded_weights=False) -> ExportReport:
    """Write ``model.h``, ``model.c`` and the C runtime into ``output_dir``.

    ``cc -std=c99 output_dir/*.c app.c`` then builds a program calling ``edgequant_invoke``.

    Parameters
    ----------
    model : str, os.PathLike or IntegerGraph
        A ``.tflite`` int8 model, an ``.onnx`` model (needs ``calibration``) or an already lowered graph.
    output_dir : str or os.PathLike
        Created if missing.
    calibration : array, optional
        ONNX only: float inputs (batch on axis 0) for static INT8 calibration.
    method : str
        ONNX only: the calibration method (see :data:`edgequant.engine.METHODS`).
    flash_kb, ram_kb : float, optional
        Budgets; a model over either raises :class:`~.budgets.BudgetExceededError` naming the largest tensors.
    coded_weights : bool
        Store weights rANS-coded in flash and decode each layer's into the arena before it runs.

    Returns
    -------
    ExportReport

    Raises
    ------
    UnsupportedModelError
        A ``ValueError``: the model uses what the C runtime does not have, or breaks a fact the
        generated C relies on (:mod:`~.validation`: sizes, channel counts, dimensions, zero points,
        int32 arithmetic, dataflow order), checked for either front end before anything is written.
    ValueError
        A file that is not a readable ``.tflite`` / ``.onnx`` (corrupt, a sparsity table that does not fit, ...).
    """
    from .graph import IntegerGraph
    from .weights import PlainWeights

    graph = model if isinstance(model, IntegerGraph) else load_graph(model, calibration, method)
    validate_graph(graph)  # whatever the front end: every fact the generated C relies on
    if coded_weights:
        from .coded_weights import CodedWeights

        weights = CodedWeights(graph)
    else:
        weights = PlainWeights()
    plan = plan_arena(graph, weights.scratch_bytes(graph))
    validate_plan(plan)
    flash = weights.flash_bytes(graph)
    check_budgets(graph, plan, flash, flash_kb, ram_kb)
    directory = pathlib.Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    # the decoder ships only when some layer's weights were worth coding
    sources = runtime_files(bool(getattr(weights, "streams", None)))
    for stale in directory.glob("eq_rans_decode.[ch]"):  # from an earlier coded export into this folder
        if stale.name not in {s.name for s in sources}:
            stale.unlink()
    for source in sources:
        target = directory / source.name
        shutil.copyfile(source, target)
        written.append(target)
    (directory / "model.h").write_text(model_header(graph, plan))
    (directory / "model.c").write_text(model_source(graph, plan, weights))
    written += [directory / "model.h", directory / "model.c"]
    return ExportReport(directory, graph, plan, flash, PlainWeights().flash_bytes(graph), written,
                        len(getattr(weights, "streams", {})))
