"""Where the command line writes: never over one of its own inputs, and atomically.

Every command that writes a file checks its output paths against its input paths up front with
:func:`refuse_output_is_input` ("the same file" through symlinks and hard links too), so that
``edgequant compress M.onnx -o M.onnx`` exits 2 instead of destroying the model. It then writes
each file through :func:`atomic_output`: into a temporary file in the destination's folder, renamed
over the destination only once complete, so that a failure leaves the old file (or nothing) and
never a half-written one. :func:`atomic_folder_output` does the same for the files a command
writes into a folder (``export-c``), file by file.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping

from .errors import UsageError

__all__ = ["atomic_folder_output", "atomic_output", "refuse_output_is_input", "same_file", "with_default_suffix"]


def same_file(first, second) -> bool:
    """Whether two paths name the same file: the same (device, inode) when both exist — so a
    symlink or a hard link to a file is that file — else the same path once symlinks are resolved."""
    first, second = os.fspath(first), os.fspath(second)
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return os.path.normcase(os.path.realpath(first)) == os.path.normcase(os.path.realpath(second))


def refuse_output_is_input(outputs: Mapping[str, object], inputs: Mapping[str, object]) -> None:
    """Raise :class:`~.errors.UsageError` when an output path is one of the inputs, or two outputs are one file.

    Parameters
    ----------
    outputs, inputs : mapping of str to path-like or None
        What the command line calls each path (``"-o/--output"``, ``"MODEL"``) to the path;
        ``None`` (an option not given) is skipped. An output may also be a list of paths (the
        files a command writes into a folder) under one name.
    """
    given_inputs = [(name, path) for name, path in inputs.items() if path is not None]
    given_outputs = [(name, path) for name, paths in outputs.items() if paths is not None
                     for path in (paths if isinstance(paths, (list, tuple)) else [paths])]
    for output_name, output in given_outputs:
        for input_name, source in given_inputs:
            if same_file(output, source):
                shown = f"{output_name} {os.fspath(output)}"
                same = "" if os.fspath(output) == os.fspath(source) else f" ({os.fspath(source)})"
                raise UsageError(f"{shown} is the input {input_name}{same}: refusing to overwrite it; "
                                 "choose another output path")
    for index, (first_name, first) in enumerate(given_outputs):
        for second_name, second in given_outputs[index + 1:]:
            if first_name != second_name and same_file(first, second):
                raise UsageError(f"{first_name} and {second_name} are the same file {os.fspath(first)}; "
                                 "give each output its own path")


def with_default_suffix(path, suffix: str) -> pathlib.Path | None:
    """``path`` with ``suffix`` appended when it has none (what matplotlib's ``savefig`` does), so
    that the checks and the atomic rename see the file really written; ``None`` stays ``None``, and
    an existing folder stays itself (for the command to refuse it as a folder)."""
    if path is None:
        return None
    path = pathlib.Path(path)
    return path if path.suffix or path.is_dir() else path.with_name(path.name + suffix)


@contextlib.contextmanager
def atomic_output(path) -> Iterator[pathlib.Path]:
    """Yield a temporary path to write ``path``'s content to; on success it replaces ``path``.

    The temporary file lies in the destination's folder (so the final :func:`os.replace` is one
    atomic rename on one file system) and keeps the destination's suffix (matplotlib and NumPy pick
    the format from it). An existing destination keeps its permission bits; a new one gets the
    usual ones (0o666 less the umask). A symlink is written through: its target is replaced, the
    link stays. On an exception the temporary file is removed and the destination is untouched.
    """
    destination = pathlib.Path(os.path.realpath(path))
    temporary = _new_file_beside(destination)
    try:
        yield temporary
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_folder_output(folder, stale: Iterable[str] = ()) -> Iterator[pathlib.Path]:
    """Yield a temporary folder to write files into; on success each moves into ``folder`` atomically.

    ``folder`` is created if missing (once the body succeeded). Each file is renamed over its
    namesake in ``folder`` (so no file there is ever half-written); files of ``folder`` named in
    ``stale`` that this run did not write are removed (what an earlier run wrote and this one no
    longer does). On an exception ``folder`` is left as it was. Files only: a sub-folder in the
    temporary folder is an error.
    """
    folder = pathlib.Path(os.path.realpath(folder))
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = pathlib.Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        yield temporary
        folder.mkdir(exist_ok=True)
        written = sorted(temporary.iterdir())
        for source in written:
            if not source.is_file():
                raise IsADirectoryError(f"{source}: atomic_folder_output moves files, not folders")
            os.chmod(source, _new_file_mode(folder / source.name))
        for source in written:
            os.replace(source, os.path.realpath(folder / source.name))
        for name in set(stale) - {source.name for source in written}:
            (folder / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _new_file_beside(destination: pathlib.Path) -> pathlib.Path:
    """A new, empty file in ``destination``'s folder, named after it, with the mode it should end with."""
    mode = _new_file_mode(destination)
    descriptor, name = tempfile.mkstemp(prefix=f".{destination.stem}.", suffix=f".tmp{destination.suffix}",
                                        dir=destination.parent)
    os.close(descriptor)
    os.chmod(name, mode)  # mkstemp creates 0o600; the result should read like any file the user writes
    return pathlib.Path(name)


def _new_file_mode(destination: pathlib.Path) -> int:
    """The permission bits ``destination`` has, or a new file would get (0o666 less the umask)."""
    try:
        return destination.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
