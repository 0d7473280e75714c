"""Load an ONNX model from a path, bytes or a ModelProto, refusing broken or unsafe files."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import onnx

from .external_data import has_external_data, inline_external_data

ModelSource = str | os.PathLike | bytes | onnx.ModelProto


@dataclass(frozen=True)
class LoadedModel:
    """A parsed model with its external data inlined, and where it came from.

    Attributes
    ----------
    model : onnx.ModelProto
        The model; every tensor holds its own bytes.
    description : str
        The file path, or a short description for in-memory models, for error messages.
    model_file : pathlib.Path or None
        The model file, None for bytes or a ModelProto.
    external_files : tuple of pathlib.Path
        The distinct external-data files read.
    """

    model: onnx.ModelProto
    description: str
    model_file: Path | None
    external_files: tuple[Path, ...]


def load_model(
    source: ModelSource, *, base_dir: str | os.PathLike | None = None
) -> onnx.ModelProto:
    """Load an ONNX model, with its external data, checking it is safe and well formed.

    Parameters
    ----------
    source : str, os.PathLike, bytes or onnx.ModelProto
        A model file, its serialized bytes, or an already-loaded model. A ModelProto that holds
        all its data is returned as is; one with external data is copied before inlining.
    base_dir : str or os.PathLike, optional
        Folder that external-data locations are relative to. Defaults to the model file's
        folder; needed for bytes or a ModelProto that still reference external data.

    Returns
    -------
    onnx.ModelProto
        The model, every tensor holding its own bytes.

    Raises
    ------
    FileNotFoundError
        If the model file does not exist (an ``ExternalDataNotFoundError``, which is also a
        ``ValueError``, if an external-data file it names does not).
    ValueError
        If the bytes are not a valid ONNX model, or an external-data location is absolute or
        escapes the model's folder (directly, with ``..`` or through a symlink).
    TypeError
        If ``source`` is none of the accepted types.
    """
    return load_model_and_files(source, base_dir=base_dir).model


def load_model_and_files(
    source: ModelSource, *, base_dir: str | os.PathLike | None = None
) -> LoadedModel:
    """Like :func:`load_model`, also telling which files were read (see :class:`LoadedModel`)."""
    if isinstance(source, onnx.ModelProto):
        description = f"ONNX model {source.graph.name!r}" if source.graph.name else "ONNX model"
        check_model_structure(source, description)
        if not has_external_data(source):
            return LoadedModel(source, description, None, ())
        model = onnx.ModelProto()
        model.CopyFrom(source)  # inlining edits tensors; leave the caller's model untouched
        files = inline_external_data(model, _required_base_dir(base_dir, description))
        return LoadedModel(model, description, None, files)
    if isinstance(source, bytes | bytearray | memoryview):
        description = "ONNX model bytes"
        model = parse_model_bytes(bytes(source), description)
        files = ()
        if has_external_data(model):
            files = inline_external_data(model, _required_base_dir(base_dir, description))
        return LoadedModel(model, description, None, files)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            if path.exists():
                raise ValueError(f"{str(path)!r} is not a file")
            raise FileNotFoundError(errno.ENOENT, "ONNX model file not found", str(path))
        description = str(path)
        model = parse_model_bytes(path.read_bytes(), description)
        folder = Path(base_dir) if base_dir is not None else path.parent
        files = inline_external_data(model, folder)
        return LoadedModel(model, description, path, files)
    raise TypeError(
        "source must be a path, bytes or an onnx.ModelProto, got " + type(source).__name__
    )


def _required_base_dir(base_dir, description: str) -> Path:
    if base_dir is None:
        raise ValueError(
            f"{description} keeps tensors in external data files: pass base_dir, or load it from "
            "its path"
        )
    return Path(base_dir)


def parse_model_bytes(data: bytes, description: str) -> onnx.ModelProto:
    """Parse serialized ONNX bytes, turning every protobuf failure into a ValueError."""
    if not data:
        raise ValueError(f"{description} is not a valid ONNX model: it is empty")
    if data[4:8] == b"TFL3":  # a TensorFlow Lite flatbuffer's identifier
        raise ValueError(f"{description} is a TensorFlow Lite model, not ONNX: convert it first "
                         "(edgequant.tflite.tflite_to_onnx; the engine, `edgequant profile` and `edgequant export-c` "
                         "take .tflite files as they are)")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as error:  # DecodeError and friends; never leak protobuf's own types
        raise ValueError(f"{description} is not a valid ONNX model: {error}") from error
    check_model_structure(model, description)
    return model


def check_model_structure(model: onnx.ModelProto, description: str) -> None:
    """Raise ValueError unless ``model`` looks like an ONNX model (a cheap, pure-Python check).

    Protobuf parses almost any byte string into *some* message, so a parse alone proves little.
    ``onnx.checker`` is deliberately not used: it rejects models with unregistered custom ops
    that are still fine for weight analysis.
    """
    problem = None
    if model.ir_version <= 0:
        problem = "it has no IR version"
    elif not model.HasField("graph"):
        problem = "it has no graph"
    elif any(not node.op_type for node in model.graph.node):
        problem = "a node has no op_type"
    if problem:
        raise ValueError(f"{description} is not a valid ONNX model: {problem}")
