"""DepthwiseConv2D: ``eq_depthwise_conv2d_s8`` (``runtime/c/eq_depthwise_conv2d.c``), 1HWO filters."""

from __future__ import annotations

from . import Kernel, _window, register

KERNEL = register(Kernel(
    kind="depthwise_conv2d", function="eq_depthwise_conv2d_s8", header="eq_depthwise_conv2d.h",
    struct=_window.STRUCT, fields=_window.FIELDS, arguments=_window.conv_arguments,
    check=lambda graph, layer, src, dst: _window.check_convolution(layer, src, dst, depthwise=True),
    required=_window.CONV_CONSTANTS, optional=frozenset({"bias"}), reference=True))
