"""Reshape: ``eq_copy_s8`` (``runtime/c/eq_reshape.c``), a copy of ``size`` values (usually planned
away as an alias of its input, ``planner.py``). No parameter struct: the size is an argument."""

from __future__ import annotations

from . import Kernel, register
from ._checks import require


def _arguments(site) -> str:
    return f"{site.sources[0]}, {site.layer.params['size']}, {site.destination}"


def _check(graph, layer, src, dst) -> None:
    size = layer.params["size"]
    require(src.size == dst.size == size, f"copies {size} values from {src.size} into {dst.size}")


KERNEL = register(Kernel(
    kind="reshape", function="eq_copy_s8", header="eq_reshape.h", struct=None, fields=("size",),
    arguments=_arguments, check=_check, alias=True))
