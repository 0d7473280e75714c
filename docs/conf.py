"""Sphinx configuration of edgequant's documentation site (``make docs``; the checks: ``make docs-check``).

Strict on purpose: the build runs with ``-W --keep-going -n`` (every warning fails it, unresolved
cross-references included), and numpydoc validates the public docstrings: a parameter missing from
a docstring's Parameters section, or documented under a name the signature does not have, fails.
"""

from __future__ import annotations

import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "edgequant"
author = "the edgequant authors"
copyright = "2026, the edgequant authors"

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "myst_nb",
    "sphinxarg.ext",
    "api_pages",
    "cli_pages",
    "notebook_pages",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "api/generated/api_counts.json"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# ---- cross-references: nitpicky; only third-party types (no network for intersphinx) are let through
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|onnx|onnxruntime|torch|pandas|pd|matplotlib|dask|concurrent|pathlib|os|argparse"
               r"|collections|typing|sqlite3|tflite|numpy\.typing|npt|enum|abc|io|types|_thread|threading)(\..*)?"),
    (r"py:class", r"(Path|PathLike|ndarray|ArrayLike|DTypeLike|Callable|Iterable|Iterator|Sequence|Mapping"
                  r"|Any|Generator|Executor|Future|ModelProto|TensorProto|NodeProto|GraphProto|Figure|Axes"
                  r"|DataFrame|Module|Tensor|Namespace|ArgumentParser|Enum|IntEnum|Protocol|Literal)"),
    (r"py:class", r"(int|float|str|bytes|bool|dict|list|tuple|set|frozenset|object|type|None|complex|slice"
                  r"|BaseException|Exception|ValueError|RuntimeError|TypeError|OSError)"),
    # the compiled core's pybind11 types (documented through their Python wrappers)
    (r"py:.*", r"edgequant\._(core|engine)(\..*)?"),
]

# ---- autodoc + numpydoc
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {"exclude-members": "__init__, __new__"}
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = False
# PR01: a parameter is not documented; PR02: a documented parameter is not in the signature;
# PR03: parameters documented out of order. (An exported name without a docstring: _ext/api_pages.py.)
numpydoc_validation_checks = {"PR01", "PR02", "PR03"}
# A one-paragraph docstring with no Parameters section is allowed (its prose names the arguments);
# once a docstring has a Parameters section, it must match the signature exactly.
numpydoc_validation_overrides = {"PR01": [r"(?m)\A(?![\s\S]*^\s*Parameters\s*\n\s*-{3,})"]}
numpydoc_validation_exclude = {r"\.__\w+__$"}

# ---- notebooks (myst-nb): rendered from the outputs notebook_pages stores; never executed by myst-nb
nb_execution_mode = "off"
nb_output_stderr = "remove"  # kernel warnings (tqdm, IPKernelApp) name this machine's paths; not part of a tutorial
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# ---- HTML
html_theme = "furo"
html_title = "edgequant"
html_static_path: list[str] = []
html_show_sourcelink = False
