"""Where the C runtime's sources are: installed beside the package (``edgequant/runtime_c``, by
CMake's install step) or, in a source checkout, ``runtime/c``."""

from __future__ import annotations

import pathlib

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent


def runtime_dir() -> pathlib.Path:
    """The folder holding ``edgequant_runtime.h`` and the kernel sources."""
    for candidate in (_PACKAGE / "runtime_c", _PACKAGE.parent.parent / "runtime" / "c"):
        if (candidate / "edgequant_runtime.h").is_file():
            return candidate
    raise FileNotFoundError("the C runtime sources are missing: reinstall edgequant (make setup), "
                            "or run from a source checkout that has runtime/c")


def runtime_files(coded_weights: bool = False) -> list:
    """The runtime's .c/.h files an exported model needs (the rANS decoder only with coded weights)."""
    files = sorted(p for p in runtime_dir().iterdir() if p.suffix in (".c", ".h"))
    if not coded_weights:
        files = [p for p in files if not p.name.startswith("eq_rans")]
    return files
