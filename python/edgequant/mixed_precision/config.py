"""The mixed-precision bit configuration file (JSON) that compress, QDQ export and QAT read.

::

    {"format": "edgequant-mpq", "version": 1,
     "quantizer": {"method": "affine", "symmetric": true, "signed": true, "per_channel": true},
     "weights": {"0.weight": 8, "3.weight": 4, "9.weight": [2, 4, 4, 8, ...]},
     ...}                                    # any further keys: metadata, kept as they are

``weights`` maps every quantized weight tensor to its bit width, or to one width per output
channel (a list along the tensor's output-channel axis). Every weight is quantized with
:func:`~.quantization.weight_quantizer` (signed affine, one scale per output channel).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from .components import Component
from .quantization import MAX_BITS, MIN_BITS

FORMAT = "edgequant-mpq"
VERSION = 1


def make_config(bits: Mapping[str, int], components: Sequence[Component] | None = None, symmetric: bool = True,
                **metadata) -> dict:
    """A config from an allocation ``{component: bits}``.

    Channel components (``"t[k]"``) are gathered into one list per tensor, which needs
    ``components`` (every channel of such a tensor must have a width). Extra keyword arguments are
    stored as metadata (critical classes, budget, measured costs...).
    """
    weights: dict[str, int | list[int]] = {}
    by_name = {c.name: c for c in components or ()}
    channels: dict[str, dict[int, int]] = {}
    shapes: dict[str, Component] = {}
    for name, width in bits.items():
        component = by_name.get(name)
        if component is not None and component.channel is not None:
            channels.setdefault(component.tensor, {})[component.channel] = _plain(width)
            shapes[component.tensor] = component
        else:
            weights[name] = _plain(width)
    for tensor, widths in channels.items():
        component = shapes[tensor]
        count = component.shape[component.axis]
        missing = sorted(set(range(count)) - set(widths))
        if missing:
            raise ValueError(f"tensor {tensor!r} has no bit width for output channel(s) {missing[:10]}")
        weights[tensor] = [widths[k] for k in range(count)]
    reserved = {"format", "version", "quantizer", "weights"} & set(metadata)
    if reserved:
        raise ValueError(f"metadata cannot set {sorted(reserved)}")
    config = {"format": FORMAT, "version": VERSION,
              "quantizer": {"method": "affine", "symmetric": bool(symmetric), "signed": True, "per_channel": True},
              "weights": weights, **metadata}
    return validate_config(config)


def _plain(width):
    """NumPy integers (and arrays / tuples of them) as JSON-able ints; anything else is left for
    :func:`validate_config` to judge (a float is refused there, never truncated)."""
    import numpy as np

    if isinstance(width, (list, tuple, np.ndarray)):
        return [_plain(w) for w in width]
    return int(width) if isinstance(width, np.integer) else width


def save_config(config: Mapping, path: str | os.PathLike) -> Path:
    """Validate ``config`` and write it as JSON; returns the path."""
    config = validate_config(dict(config))
    path = Path(path)
    path.write_text(json.dumps(config, indent=1, default=_json_default) + "\n")
    return path


def load_config(path: str | os.PathLike) -> dict:
    """Read and validate a config file.

    Raises
    ------
    ValueError
        Not JSON, not an edgequant-mpq config, a newer version, or bad bit widths (named).
    FileNotFoundError
    """
    path = Path(path)
    text = path.read_text(errors="replace")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a JSON bit config ({error})") from None
    try:
        return validate_config(config)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def validate_config(config) -> dict:
    """``config`` after checking its format, version, quantizer and every bit width."""
    if not isinstance(config, dict):
        raise ValueError(f"a bit config is a JSON object, got {type(config).__name__}")
    if config.get("format") != FORMAT:
        raise ValueError(f'not an {FORMAT} config: "format" is {config.get("format")!r}')
    version = config.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f'"version" must be a positive integer, got {version!r}')
    if version > VERSION:
        raise ValueError(f"config version {version} is newer than this edgequant reads ({VERSION})")
    quantizer = config.get("quantizer", {"method": "affine", "symmetric": True})
    if not isinstance(quantizer, dict) or quantizer.get("method", "affine") != "affine" or not isinstance(
            quantizer.get("symmetric", True), bool):
        raise ValueError(f'"quantizer" must be {{"method": "affine", "symmetric": true|false}}, got {quantizer!r}')
    weights = config.get("weights")
    if not isinstance(weights, dict) or not weights:
        raise ValueError('"weights" must be a non-empty object {tensor name: bits}')
    for name, bits in weights.items():
        widths = bits if isinstance(bits, list) else [bits]
        if not widths or any(isinstance(b, bool) or not isinstance(b, int) or not MIN_BITS <= b <= MAX_BITS
                             for b in widths):
            raise ValueError(f'"weights"[{name!r}] must be an integer in [{MIN_BITS}, {MAX_BITS}] or a non-empty '
                             f"list of them (one per output channel), got {bits!r}")
    return config


def config_symmetric(config: Mapping) -> bool:
    """Whether the config's weights use symmetric ranges (the default)."""
    return bool(config.get("quantizer", {}).get("symmetric", True))


def _json_default(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def bits_by_tensor(config: Mapping, model, require_all: bool = True) -> dict[str, tuple[int | list[int], int | None]]:
    """``{tensor: (bits, output-channel axis)}`` of ``config`` checked against ``model``'s weights.

    Parameters
    ----------
    config : mapping
        A validated config (:func:`load_config`).
    model : str, os.PathLike, bytes, onnx.ModelProto or torch.nn.Module
    require_all : bool, default True
        Every conv / fully connected weight of the model must have a width.

    Raises
    ------
    ValueError
        A tensor the model does not have, a weight the config leaves out, or a per-channel list
        whose length is not the tensor's channel count (or for a tensor without channel axis).
    """
    from .components import list_components

    components = {c.tensor: c for c in list_components(model)}
    weights = validate_config(dict(config))["weights"]
    unknown = sorted(set(weights) - set(components))
    if unknown:
        raise ValueError(f"the bit config names tensor(s) {unknown[:10]} that are not conv/fully connected weights of "
                         f"the model; its weights are {sorted(components)[:20]}")
    missing = sorted(set(components) - set(weights))
    if require_all and missing:
        raise ValueError(f"the bit config gives no bit width for weight(s) {missing[:10]} of the model")
    result = {}
    for name, bits in weights.items():
        component = components[name]
        if isinstance(bits, list):
            if component.axis is None:
                raise ValueError(f"tensor {name!r} has no output-channel axis: give it one bit width, not a list")
            channels = component.shape[component.axis]
            if len(bits) != channels:
                raise ValueError(f"tensor {name!r} has {channels} output channels, the config lists {len(bits)} "
                                 "bit widths")
        result[name] = (bits, component.axis)
    return result
