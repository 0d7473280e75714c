"""Where edgequant finds the shared third-party models and data sets used by tests and notebooks."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that points at the shared data folder (the one holding ``models/``).
DATA_ENV_VAR = "EDGEQUANT_DATA"


def shared_data_dir() -> Path | None:
    """Return the shared data folder, or None when it is absent.

    The folder is ``$EDGEQUANT_DATA`` when that variable is set, else ``<repo>/../shared/data``
    (``<repo>`` being the checkout that holds ``python/edgequant``).

    Returns
    -------
    pathlib.Path or None
        The folder, resolved, if it exists; None otherwise, so callers can skip with a reason.
    """
    configured = os.environ.get(DATA_ENV_VAR)
    if configured:
        candidate = Path(configured).expanduser()
    else:
        repository_root = Path(__file__).resolve().parents[2]
        candidate = repository_root.parent / "shared" / "data"
    return candidate.resolve() if candidate.is_dir() else None
