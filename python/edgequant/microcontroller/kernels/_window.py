"""The spatial window (``eq_window_params``) shared by convolution, depthwise convolution and
pooling: its fields and the geometry facts every window kernel relies on."""

from __future__ import annotations

import numpy as np

from ._checks import INT32_MAX, check_offsets, check_requantize, max_input_term, require

STRUCT = "eq_window_params"
FIELDS = ("batches", "input_height", "input_width", "input_channels", "output_height", "output_width",
          "output_channels", "filter_height", "filter_width", "stride_height", "stride_width",
          "dilation_height", "dilation_width", "padding_top", "padding_left", "depth_multiplier",
          "input_offset", "output_offset", "activation_min", "activation_max")
CONV_CONSTANTS = frozenset({"filter", "multipliers", "shifts"})


def conv_arguments(site) -> str:
    """``(params, multipliers, shifts, src, filter, bias or NULL, dst)``: conv and depthwise conv."""
    names = site.constants
    return (f"{site.params}, {names['multipliers']}, {names['shifts']}, {site.sources[0]}, {names['filter']}, "
            f"{names.get('bias', 'NULL')}, {site.destination}")


def pool_arguments(site) -> str:
    return f"{site.params}, {site.sources[0]}, {site.destination}"


def check_window(p, src, dst) -> None:
    """NHWC tensors matching the parameters; positive window sizes; positions that fit int32."""
    require(len(src.shape) == 4 and len(dst.shape) == 4, f"input {list(src.shape)} / output {list(dst.shape)} "
                                                         "are not NHWC")
    require(tuple(src.shape) == (p["batches"], p["input_height"], p["input_width"], p["input_channels"]),
            f"input is {list(src.shape)}, the parameters say {[p['batches'], p['input_height'], p['input_width'], p['input_channels']]}")  # noqa: E501
    require(tuple(dst.shape) == (p["batches"], p["output_height"], p["output_width"], p["output_channels"]),
            f"output is {list(dst.shape)}, the kernel writes {[p['batches'], p['output_height'], p['output_width'], p['output_channels']]}")  # noqa: E501
    for key in ("filter_height", "filter_width", "stride_height", "stride_width", "dilation_height",
                "dilation_width", "depth_multiplier"):
        require(p[key] >= 1, f"{key} is {p[key]}")
    require(p["padding_top"] >= 0 and p["padding_left"] >= 0, "negative padding")
    for axis in ("height", "width"):
        extent = (p[f"output_{axis}"] - 1) * p[f"stride_{axis}"] + (p[f"filter_{axis}"] - 1) * p[f"dilation_{axis}"]
        pad = p["padding_top" if axis == "height" else "padding_left"]
        require(extent + pad + p[f"input_{axis}"] <= INT32_MAX, f"the window positions along the {axis} overflow int32")
    check_offsets(p)


def check_pool(graph, layer, src, dst) -> None:
    """A pool keeps its channels and quantization, and no window covers only padding."""
    p = layer.params
    check_window(p, src, dst)
    require(p["input_channels"] == p["output_channels"], "the pool changes the channel count")
    # the pool kernels do not requantize (TFLite Micro refuses scales more than 1e-6 apart, too)
    require(src.zero_point == dst.zero_point and abs(src.scale - dst.scale) <= 1e-6,
            "the output's quantization differs from the input's (a pool does not requantize)")
    require(p["filter_height"] * p["filter_width"] * 128 <= INT32_MAX, "the pool window's sum overflows int32")
    for axis, pad in (("height", p["padding_top"]), ("width", p["padding_left"])):
        last_start = (p[f"output_{axis}"] - 1) * p[f"stride_{axis}"] - pad
        require(p[f"filter_{axis}"] > pad and last_start < p[f"input_{axis}"],
                f"a pooling window along the {axis} covers no input value (empty window)")


def check_convolution(layer, src, dst, depthwise: bool) -> None:
    """Filter layout (OHWI, or 1HWO for depthwise) and per-channel sizes; no int32 overflow."""
    p = layer.params
    check_window(p, src, dst)
    channels = p["output_channels"]
    if depthwise:
        require(channels == p["input_channels"] * p["depth_multiplier"],
                f"{channels} output channels from {p['input_channels']} x depth multiplier {p['depth_multiplier']}")
        per_channel = p["filter_height"] * p["filter_width"]
    else:
        require(p["depth_multiplier"] == 1, "depth multiplier on a plain convolution")
        per_channel = p["filter_height"] * p["filter_width"] * p["input_channels"]
    filt = layer.constants["filter"]
    require(filt.size <= INT32_MAX, f"the filter has {filt.size:,} values, more than int32 indexes")
    require(filt.size == channels * per_channel,
            f"the filter has {filt.size} values; {channels} output channels of {per_channel} taps need "
            f"{channels * per_channel} (does the input have more channels than the filter?)")
    layout = ((1, p["filter_height"], p["filter_width"], channels) if depthwise else
              (channels, p["filter_height"], p["filter_width"], p["input_channels"]))
    require(filt.shape == layout, f"the filter is {list(filt.shape)}, the kernel reads it as "
                                  f"{'1HWO' if depthwise else 'OHWI'} {list(layout)}")
    for name in ("multipliers", "shifts", "bias"):
        if name in layer.constants:
            require(layer.constants[name].size == channels,
                    f"{name} has {layer.constants[name].size} entries for {channels} output channels")
    # taps per output channel, in the filter's own layout (OHWI, or 1HWO for depthwise)
    taps = filt.reshape(-1, channels) if depthwise else filt.reshape(channels, -1).T
    sums = np.abs(taps.astype(np.int64)).sum(axis=0) * max_input_term(p["input_offset"])
    if "bias" in layer.constants:
        sums += np.abs(layer.constants["bias"].astype(np.int64))
    require(int(sums.max()) <= INT32_MAX, "the accumulator can overflow int32 (weights or bias too large)")
    for oc in range(channels):
        check_requantize(int(sums[oc]), int(layer.constants["multipliers"][oc]), int(layer.constants["shifts"][oc]),
                         f"output channel {oc}")
