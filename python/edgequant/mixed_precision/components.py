"""What a component is: a weight tensor of a model, or one output channel of it.

Mixed precision gives each component its own bit width. A component is named after its tensor:
the ONNX initializer name (``"3.weight"``) or the torch parameter name (``"features.0.weight"``),
with ``[k]`` appended for output channel ``k`` when components are channels (``"3.weight[7]"``).
ONNX components are the conv and fully connected weights (:data:`edgequant.model.DEFAULT_ROLES`);
torch components are the ``weight`` of every ``Conv*d`` / ``ConvTranspose*d`` / ``Linear``
module. Tensors without an output-channel axis stay one component when channels are asked for.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

_CHANNEL_SUFFIX = re.compile(r"^(?P<tensor>.*)\[(?P<channel>\d+)\]$")


@dataclass(frozen=True)
class Component:
    """One unit of bit allocation.

    Attributes
    ----------
    name : str
        ``tensor`` or ``tensor[channel]``: the key of significance, costs and bit configs.
    tensor : str
        The weight tensor (ONNX initializer / torch parameter name).
    channel : int or None
        The output channel, or None for the whole tensor.
    axis : int or None
        The tensor's output-channel axis (None: the tensor has none and is quantized per tensor).
    shape : tuple of int
        The tensor's shape.
    size : int
        Weights in the component (the whole tensor's, or one channel's).
    """

    name: str
    tensor: str
    channel: int | None
    axis: int | None
    shape: tuple[int, ...]
    size: int


def is_torch_module(model) -> bool:
    """Whether ``model`` is a ``torch.nn.Module`` (without importing torch when it is not loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def list_components(model, per_channel: bool = False) -> list[Component]:
    """The components of ``model``, in file (ONNX) or registration (torch) order.

    Parameters
    ----------
    model : str, os.PathLike, bytes, onnx.ModelProto or torch.nn.Module
    per_channel : bool, default False
        One component per output channel of each weight tensor instead of one per tensor.

    Raises
    ------
    ValueError
        If the model has no conv / fully connected weight.
    """
    tensors = _torch_tensors(model) if is_torch_module(model) else _onnx_tensors(model)
    components = []
    for name, shape, axis in tensors:
        size = int(np.prod(shape, dtype=np.int64))
        if per_channel and axis is not None:
            per = size // shape[axis]
            components += [Component(f"{name}[{k}]", name, k, axis, shape, per) for k in range(shape[axis])]
        else:
            components.append(Component(name, name, None, axis, shape, size))
    return components


def _onnx_tensors(model) -> list[tuple[str, tuple[int, ...], int | None]]:
    from ..model import DEFAULT_ROLES, select_weights
    from ..onnx.loader import load_model_and_files

    loaded = load_model_and_files(model)
    selection = select_weights(loaded.model, DEFAULT_ROLES, False, loaded.description)
    return [(t.name, tuple(t.shape), selection.axes[t.name]) for t in selection.tensors]


def _torch_tensors(module) -> list[tuple[str, tuple[int, ...], int | None]]:
    import torch

    tensors = []
    for prefix, child in module.named_modules():
        weight = getattr(child, "weight", None)
        if not isinstance(weight, torch.nn.Parameter) or weight.ndim < 2:
            continue
        if isinstance(child, torch.nn.modules.conv._ConvTransposeNd):
            axis = 1
        elif isinstance(child, (torch.nn.modules.conv._ConvNd, torch.nn.Linear)):
            axis = 0
        else:
            continue
        tensors.append((f"{prefix}.weight" if prefix else "weight", tuple(weight.shape), axis))
    if not tensors:
        raise ValueError(f"{type(module).__name__} has no Conv/ConvTranspose/Linear weight to quantize")
    return tensors


def match_components(model_components: list[Component], names: Iterable[str], what: str = "components"
                     ) -> list[Component]:
    """The components of the model named by ``names`` (in that order), or a ValueError listing
    the names the model does not have and the ones it does."""
    by_name = {c.name: c for c in model_components}
    names = list(names)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = sorted(by_name)
        shown = ", ".join(known[:20]) + (f", ... ({len(known)} in all)" if len(known) > 20 else "")
        raise ValueError(f"{what} name(s) {unknown[:10]} are not components of the model; it has: {shown}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} lists a component more than once")
    return [by_name[n] for n in names]


def split_name(name: str) -> tuple[str, int | None]:
    """``"t[3]"`` -> ``("t", 3)``; ``"t"`` -> ``("t", None)``."""
    match = _CHANNEL_SUFFIX.match(name)
    return (match["tensor"], int(match["channel"])) if match else (name, None)
