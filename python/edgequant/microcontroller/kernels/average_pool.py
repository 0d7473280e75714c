"""AveragePool2D: ``eq_average_pool_s8`` (``runtime/c/eq_average_pool.c``), input quantization kept."""

from __future__ import annotations

from . import Kernel, _window, register

KERNEL = register(Kernel(
    kind="average_pool", function="eq_average_pool_s8", header="eq_pooling.h", struct=_window.STRUCT,
    fields=_window.FIELDS, arguments=_window.pool_arguments, check=_window.check_pool))
