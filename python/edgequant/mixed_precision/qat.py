"""Quantization-aware fine-tuning at a mixed bit configuration (SPEC §7 step 4), and its QDQ export.

:class:`FakeQuantModel` runs a module with each configured weight replaced by its per-channel
affine fake quantization at that component's bit width (forward equal to
``edgequant.quantizers.Affine`` bit for bit, backward straight-through); the float weights stay
the trainable "latent" weights. :func:`fine_tune` trains it a few epochs on a
:class:`~edgequant.training.TrainingData`; :func:`export_qdq` writes the result as a QDQ ONNX
model whose ``DequantizeLinear`` outputs equal the fake-quantized weights bit for bit, so ONNX
Runtime and :class:`edgequant.Engine` run what was trained.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..training.trainer import epoch_batches
from .components import list_components, split_name
from .config import bits_by_tensor, config_symmetric, make_config, validate_config
from .fake_quant import affine_fake_quantize


def as_config(model: nn.Module, bits: Mapping) -> dict:
    """A bit config (:func:`~.config.make_config`) from a config or from an allocation.

    ``bits`` is either a config (``{"format": "edgequant-mpq", "weights": {...}, ...}``, as
    :func:`~.config.load_config` returns) or ``{component: bits}`` as
    :func:`~.allocation.allocate_bits` returns (tensor names, or ``"tensor[k]"`` channels).
    """
    if not isinstance(bits, Mapping):
        raise TypeError(f"bits must be a bit config or a mapping {{component: bits}}, got {type(bits).__name__}")
    if "format" in bits:
        return validate_config(dict(bits))
    per_channel = any(split_name(str(name))[1] is not None for name in bits)
    return make_config(dict(bits), list_components(model, per_channel=per_channel))


class FakeQuantModel(nn.Module):
    """``model`` with its configured weights fake-quantized in every forward pass.

    Parameters
    ----------
    model : torch.nn.Module
        Holds the latent float weights (trained in place by an optimizer over this wrapper's
        parameters). State dict names are unchanged (``wrapper.model.state_dict()``).
    bits : mapping
        A bit config or an allocation ``{component: bits}`` (see :func:`as_config`); weights it
        leaves out stay float32. The config's ``symmetric`` choice is used. An empty mapping
        quantizes nothing (fine-tuning it is the float control of a QAT experiment).

    Raises
    ------
    ValueError
        A component the model does not have, a bad width, a per-channel list of the wrong length.
    """

    def __init__(self, model: nn.Module, bits: Mapping):
        super().__init__()
        self.model = model
        if isinstance(bits, Mapping) and not bits:
            self.config, self.widths, self.symmetric = None, {}, True
            return
        self.config = as_config(model, bits)
        self.widths = bits_by_tensor(self.config, model, require_all=False)
        self.symmetric = config_symmetric(self.config)

    def quantized_weights(self) -> dict:
        """``{name: fake-quantized weight}`` (differentiable, straight-through)."""
        named = dict(self.model.named_parameters())
        quantized = {}
        for name, (width, axis) in self.widths.items():
            weight = named[name] if axis == 0 else named[name].movedim(axis, 0)
            value = affine_fake_quantize(weight, width, self.symmetric, name)
            quantized[name] = value if axis == 0 else value.movedim(0, axis)
        return quantized

    def forward(self, x):
        return torch.func.functional_call(self.model, self.quantized_weights(), (x,))

    def quantized_model(self) -> nn.Module:
        """A deep copy of ``model`` whose configured weights hold their quantized values (PTQ)."""
        clone = copy.deepcopy(self.model)
        with torch.no_grad():
            named = dict(clone.named_parameters())
            for name, value in self.quantized_weights().items():
                named[name].copy_(value)
        return clone


@dataclass
class FineTuneResult:
    """A finished fine-tuning: the epoch of least validation loss (of the fake-quantized model).

    ``model`` is the FakeQuantModel holding that epoch's latent weights; ``history`` has one entry
    per epoch (``train_acc``, ``loss``, ``val_acc``, ``val_loss``); epoch 0 is before any update
    (the post-training quantized model), kept when no epoch lowers the validation loss.
    """

    model: FakeQuantModel
    best_epoch: int
    val_acc: float
    val_loss: float
    seconds: float
    history: dict = field(default_factory=dict)


def fine_tune(model: nn.Module, bits: Mapping, data, epochs: int = 3, lr: float = 0.005, batch_size: int = 64,
              momentum: float = 0.9, weight_decay: float = 0.0, seed: int = 0, device=None,
              progress=None) -> FineTuneResult:
    """Fine-tune a copy of ``model`` with fake quantization at ``bits`` (SGD, straight-through).

    Keeps the epoch of least validation cross-entropy (the loss moves when the accuracy of a small
    validation split does not), epoch 0 being the post-training quantized model.

    Parameters
    ----------
    model : torch.nn.Module
        The trained float model (not modified: a copy is trained).
    bits : mapping
        A bit config or an allocation ``{component: bits}`` (see :func:`as_config`).
    data : edgequant.training.TrainingData
        Train / validation splits (horizontal flips when ``data.augment``).
    epochs : int
        Epochs of fine-tuning (0: just evaluate the post-training quantized model).
    lr, batch_size, momentum, weight_decay : SGD settings; the learning rate follows a cosine
        schedule to 0 over the epochs.
    seed : int
        Batch order and flips.
    device : str or torch.device, optional
        Default: CUDA when present, else the CPU.
    progress : callable, optional
        ``progress(epoch, history)`` after each epoch.
    """
    from ..training.trainer import pick_device

    if not (isinstance(epochs, int) and epochs >= 0):
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if not (isinstance(lr, int | float) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    device = pick_device(device)
    # dropout draws from the global generator: fork it so that a run depends on ``seed`` only
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        wrapper, best, history, seconds = _train(model, bits, data, epochs, lr, batch_size, momentum, weight_decay,
                                                 seed, device, progress)
    wrapper.model.load_state_dict(best[2])
    wrapper.eval()
    return FineTuneResult(model=wrapper, best_epoch=best[0], val_acc=history["val_acc"][best[0]], val_loss=best[1],
                          seconds=seconds, history=history)


def _train(model, bits, data, epochs, lr, batch_size, momentum, weight_decay, seed, device, progress):
    wrapper = FakeQuantModel(copy.deepcopy(model).to(device), bits)
    optimizer = torch.optim.SGD(wrapper.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    steps_per_epoch = max(1, len(data.y_train) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * steps_per_epoch))
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    history = {"train_acc": [float("nan")], "loss": [float("nan")], "val_acc": [], "val_loss": []}
    _validate(wrapper, data, device, history)
    best = (0, history["val_loss"][0], _state(wrapper))
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        wrapper.train()
        correct, loss_sum = 0, 0.0
        for x, y in epoch_batches(x_train, y_train, batch_size, generator, data.augment, device):
            optimizer.zero_grad(set_to_none=True)
            output = wrapper(x)
            loss = nn.functional.cross_entropy(output, y)
            loss.backward()
            optimizer.step()
            schedule.step()
            correct += int((output.argmax(1) == y).sum())
            loss_sum += loss.item() * len(y)
        if not np.isfinite(loss_sum):
            raise ValueError(f"fine-tuning diverged at epoch {epoch} (loss {loss_sum}); lower lr={lr}")
        history["train_acc"].append(correct / len(y_train))
        history["loss"].append(loss_sum / len(y_train))
        _validate(wrapper, data, device, history)
        if history["val_loss"][-1] < best[1]:
            best = (epoch, history["val_loss"][-1], _state(wrapper))
        if progress is not None:
            progress(epoch, history)
    return wrapper, best, history, time.perf_counter() - started


@torch.no_grad()
def _validate(wrapper: FakeQuantModel, data, device, history: dict, batch_size: int = 500) -> None:
    """Append the validation accuracy and mean cross-entropy (eval mode) to ``history``."""
    wrapper.eval()
    correct, loss_sum = 0, 0.0
    for begin in range(0, len(data.y_val), batch_size):
        x = torch.from_numpy(data.x_val[begin:begin + batch_size]).to(device)
        y = torch.from_numpy(data.y_val[begin:begin + batch_size]).to(device)
        logits = wrapper(x)
        correct += int((logits.argmax(1) == y).sum())
        loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
    history["val_acc"].append(correct / max(len(data.y_val), 1))
    history["val_loss"].append(loss_sum / max(len(data.y_val), 1))


def _state(wrapper: FakeQuantModel) -> dict:
    return {k: v.detach().clone() for k, v in wrapper.model.state_dict().items()}


def export_qdq(wrapper: FakeQuantModel, path: str | os.PathLike | None, input_shape):
    """Write the fake-quantized network as QDQ ONNX; returns the ``onnx.ModelProto``.

    :func:`edgequant.training.export_onnx` writes the latent float model (BatchNorm as a per-channel
    multiply-add, so no weight is folded off its grid; parameter names kept), then
    :func:`~.qdq.save_mixed_precision_qdq` stores every configured weight as int8 codes on its
    b-bit grid with per-output-channel scales and a ``DequantizeLinear``, whose output equals the
    fake-quantized weight bit for bit (both are ``Affine``).
    """
    from ..training.export import export_onnx
    from .qdq import save_mixed_precision_qdq

    if wrapper.config is None:
        raise ValueError("the model quantizes no weight: export it with edgequant.training.export_onnx")
    float_model = export_onnx(wrapper.model, None, input_shape, opset=13, dynamic_batch=True)
    return save_mixed_precision_qdq(float_model, wrapper.config, path=path, require_all=False)
