"""Where edgequant finds the shared third-party models and data sets used by tests and notebooks
(re-exported as :func:`edgequant.datasets.shared_data_dir`)."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that points at the shared data folder (the one holding ``models/``).
DATA_ENV_VAR = "EDGEQUANT_DATA"


def shared_data_dir() -> Path | None:
    """Return the shared data folder, or None when it is absent.

    The folder is ``$EDGEQUANT_DATA`` when that variable is set, else ``../shared/data`` beside
    the edgequant working tree: the checkout that holds this package — an in-place development
    build, or a ``pip install .`` into a virtual environment inside the checkout (``make``'s
    ``.venv``), wherever the current directory is — or else the checkout the current directory
    is in (a package installed elsewhere, used from the working tree).

    Returns
    -------
    pathlib.Path or None
        The folder, resolved, if it exists; None otherwise, so callers can skip with a reason.
    """
    configured = os.environ.get(DATA_ENV_VAR)
    if configured:
        candidates = [Path(configured).expanduser()]
    else:
        package_checkout = _edgequant_tree(Path(__file__).resolve().parent)
        candidates = [root.parent / "shared" / "data" for root in (package_checkout, _working_tree()) if root]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return None


def _working_tree() -> Path | None:
    """The edgequant checkout holding the current directory (its pyproject.toml names edgequant)."""
    try:
        here = Path.cwd().resolve()
    except OSError:  # the current directory was deleted
        return None
    return _edgequant_tree(here)


def _edgequant_tree(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` with a pyproject.toml, if that file names edgequant."""
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                text = pyproject.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
            return folder if 'name = "edgequant"' in text else None
    return None
