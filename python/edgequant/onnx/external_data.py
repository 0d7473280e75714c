"""Read a model's external tensor data, only ever from files inside the model's own folder.

ONNX lets a tensor keep its bytes in a side file named by a ``location`` relative to the model.
A model is untrusted input, so a location that is absolute, climbs out with ``..`` or reaches
out through a symlink is refused instead of being read.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

import onnx


class ExternalDataNotFoundError(FileNotFoundError, ValueError):
    """A model names an external-data file that does not exist.

    Both a ``FileNotFoundError`` (it is a missing file) and a ``ValueError`` (the model is
    unusable), so callers that only guard against ``ValueError`` still catch it.
    """


def iter_tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    """Yield every TensorProto of ``model`` that may hold external data, subgraphs included."""
    for function in model.functions:
        yield from _iter_node_tensors(function.node)
    if model.HasField("graph"):
        yield from _iter_graph_tensors(model.graph)


def _iter_graph_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    yield from _iter_node_tensors(graph.node)


def _iter_node_tensors(nodes) -> Iterator[onnx.TensorProto]:
    for node in nodes:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices
            if attribute.HasField("g"):
                yield from _iter_graph_tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _iter_graph_tensors(subgraph)


def has_external_data(model: onnx.ModelProto) -> bool:
    """Whether any tensor of ``model`` still keeps its bytes in a side file."""
    return any(_is_external(tensor) for tensor in iter_tensors(model))


def _is_external(tensor: onnx.TensorProto) -> bool:
    return tensor.data_location == onnx.TensorProto.EXTERNAL


def resolve_location(base_dir: Path, tensor_name: str, location: str) -> Path:
    """Return the file that ``location`` names inside ``base_dir``, or raise.

    Raises
    ------
    ValueError
        If the location is empty, absolute, or resolves (``..``, symlinks) outside ``base_dir``.
    ExternalDataNotFoundError
        If the file does not exist.
    """
    where = f"tensor {tensor_name!r}: external data location {location!r}"
    if not location or "\x00" in location:
        raise ValueError(f"{where} is not a usable file name")
    if os.path.isabs(location) or PureWindowsPath(location).is_absolute() or location[0] in "/\\":
        raise ValueError(
            f"{where} is an absolute path; external data must lie in the model's folder"
        )
    try:
        root = base_dir.resolve(strict=True)
        # resolve() follows symlinks, so a link pointing outside is caught like ``..`` is.
        target = (root / location).resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: symlink loop before Python 3.13
        raise ValueError(f"{where} cannot be resolved: {error}") from error
    if not target.is_relative_to(root):
        raise ValueError(f"{where} escapes the model's folder {str(root)!r}")
    if not target.exists():
        raise ExternalDataNotFoundError(
            errno.ENOENT, f"{where}: external data file not found", str(root / location)
        )
    if not target.is_file():
        raise ValueError(f"{where} is not a regular file")
    return target


def _external_entries(tensor: onnx.TensorProto) -> dict[str, str]:
    return {entry.key: entry.value for entry in tensor.external_data}


def _non_negative_int(text: str, key: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{where}: external data {key} {text!r} is not an integer") from None
    if value < 0:
        raise ValueError(f"{where}: external data {key} {value} is negative")
    return value


def read_external_bytes(tensor: onnx.TensorProto, base_dir: Path) -> tuple[bytes, Path]:
    """Read the bytes of one external tensor; return them with the file they came from."""
    entries = _external_entries(tensor)
    location = entries.get("location", "")
    path = resolve_location(base_dir, tensor.name, location)
    where = f"tensor {tensor.name!r} (external data {location!r})"
    offset = _non_negative_int(entries.get("offset", "0"), "offset", where)
    file_size = path.stat().st_size
    if "length" in entries:
        length = _non_negative_int(entries["length"], "length", where)
    else:
        length = max(file_size - offset, 0)
    if offset + length > file_size:
        raise ValueError(
            f"{where} needs bytes {offset}..{offset + length} but the file has only {file_size}"
        )
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(length), path


def inline_external_data(model: onnx.ModelProto, base_dir: Path) -> tuple[Path, ...]:
    """Move every external tensor's bytes into ``model`` (in place).

    Returns
    -------
    tuple of pathlib.Path
        The distinct external-data files read, in first-use order (for file-size accounting).
    """
    files: dict[Path, None] = {}
    for tensor in iter_tensors(model):
        if not _is_external(tensor):
            continue
        data, path = read_external_bytes(tensor, base_dir)
        files[path] = None
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
        tensor.raw_data = data
    return tuple(files)
