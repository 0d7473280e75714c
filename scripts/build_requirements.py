"""Prints pyproject.toml's [build-system] requires, one per line (a pip requirements file): the
Makefile installs them before `pip install --no-build-isolation` (one list, no copy to keep in step)."""

import pathlib

import tomllib

pyproject = pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml"
print("\n".join(tomllib.loads(pyproject.read_text())["build-system"]["requires"]))
