"""Where a loader reads from: the caller's path, else a folder inside the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

from .shared_data import DATA_ENV_VAR, shared_data_dir


def data_location(path, default_subpath: str, parameter: str = "path") -> Path:
    """The file or folder a loader reads.

    Parameters
    ----------
    path : str, os.PathLike or None
        The caller's choice; None means ``<shared data>/<default_subpath>``.
    default_subpath : str
        Relative to :func:`edgequant.datasets.shared_data_dir`.
    parameter : str
        Name of the argument, for messages.

    Raises
    ------
    FileNotFoundError
        If the location does not exist (naming it), or no path was given and there is no shared
        data folder.
    TypeError
        If ``path`` is not a path.
    """
    if path is None:
        root = shared_data_dir()
        if root is None:
            raise FileNotFoundError(
                f"no {parameter} given and no shared data folder: set {DATA_ENV_VAR} to the folder "
                f"that holds {default_subpath!r}, or pass {parameter}"
            )
        location = root / default_subpath
    elif isinstance(path, str | os.PathLike):
        location = Path(path).expanduser()
    else:
        raise TypeError(f"{parameter} must be a path, got {type(path).__name__}")
    if not location.exists():
        raise FileNotFoundError(f"{parameter}: {str(location)!r} does not exist")
    return location


def checked_limit(limit, parameter: str = "limit") -> int | None:
    """``limit`` as an int >= 1, or None (no limit)."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"{parameter} must be an integer >= 1 or None, got {limit!r}")
    return limit
