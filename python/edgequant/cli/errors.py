"""How the command line reports errors: one line on stderr, exit 2 for usage, 1 for data.

Commands raise ordinary exceptions; :func:`report` turns any of them into the one line. A
command signals a wrong or missing option with :class:`UsageError` (exit 2); everything else —
missing or damaged files, bad data, a folder where a file belongs — exits 1. The path helpers
check command-line paths up front so that the message names the option and what is wrong.
"""

from __future__ import annotations

import pathlib
import sys

USAGE_EXIT = 2
DATA_EXIT = 1
INTERRUPTED_EXIT = 130


class UsageError(ValueError):
    """A wrong, missing or conflicting command-line option (exit status 2)."""


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split())


def describe(error: BaseException) -> str:
    """A one-line description of ``error`` for a user (no traceback, no errno noise)."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        reasons = {IsADirectoryError: "is a folder, not a file", NotADirectoryError: "a part of it is not a folder",
                   FileExistsError: "already exists and is not a folder", FileNotFoundError: "no such file or folder",
                   PermissionError: "permission denied"}
        reason = next((text for kind, text in reasons.items() if isinstance(error, kind)), error.strerror)
        return one_line(f"{error.filename}: {reason}")
    message = one_line(str(error))
    if isinstance(error, (ValueError, TypeError, OSError, UsageError)) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def report(command: str, error: BaseException) -> int:
    """Print ``error`` as one line for ``edgequant COMMAND`` and return the exit status."""
    if isinstance(error, KeyboardInterrupt):
        print(f"edgequant {command}: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT
    print(f"edgequant {command}: error: {describe(error)}", file=sys.stderr)
    return USAGE_EXIT if isinstance(error, UsageError) else DATA_EXIT


def input_file(path, what: str) -> pathlib.Path:
    """``path`` as an existing file to read; a clear error naming ``what`` otherwise."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{what} {path} is a folder, expected a file")
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path}: no such file")
    return path


def output_file(path, what: str, create_folder: bool = False) -> pathlib.Path:
    """``path`` as a file that can be written: not a folder, in an existing folder (created
    here when ``create_folder``); a clear error naming ``what`` otherwise."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{what} {path} is a folder, expected a file name")
    if create_folder or path.parent.exists():
        output_folder(path.parent, what)  # refuses a file where a folder belongs
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{what} {path}: folder {path.parent} does not exist")
    return path


def output_folder(path, what: str) -> pathlib.Path:
    """``path`` as a folder to write into, created if missing; an existing file is an error."""
    path = pathlib.Path(path)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            raise NotADirectoryError(f"{what} {path}: {part} is a file, expected a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path
