"""Prints pyproject.toml's [build-system] requires, quoted for a shell: the Makefile installs them
before `pip install --no-build-isolation` (one list, no copy of it to keep in step)."""

import pathlib
import shlex

import tomllib

pyproject = pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml"
requires = tomllib.loads(pyproject.read_text())["build-system"]["requires"]
print(" ".join(shlex.quote(r) for r in requires))
