"""MaxPool2D: ``eq_max_pool_s8`` (``runtime/c/eq_max_pool.c``), input quantization kept."""

from __future__ import annotations

from . import Kernel, _window, register

KERNEL = register(Kernel(
    kind="max_pool", function="eq_max_pool_s8", header="eq_pooling.h", struct=_window.STRUCT,
    fields=_window.FIELDS, arguments=_window.pool_arguments, check=_window.check_pool))
