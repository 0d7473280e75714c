"""One compression-aware training run: SGD, prune-then-quantize after every step, early stopping."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .compressor import PruneQuantizeCompressor
from .data import TrainingData
from .models import build_model


@dataclass(frozen=True)
class Protocol:
    """How every run of a grid trains (part of the grid's identity in the store).

    Attributes
    ----------
    model : str
        A name from :data:`edgequant.training.models.MODELS`.
    epochs : int
        At most this many epochs (the paper: 200).
    patience : int
        Stop after this many epochs without a better validation accuracy.
    batch_size : int
    momentum, weight_decay : float
        SGD settings (the paper does not state its optimizer; SGD matches its learning rates).
    mode : str
        The compressor's mode (see :class:`PruneQuantizeCompressor`).
    warmup_steps : int
        Frozen mode: steps before the mask is fixed.
    seed : int
        Model initialisation and batch order.
    """

    model: str = "digits_cnn"
    epochs: int = 30
    patience: int = 8
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    mode: str = "paper"
    warmup_steps: int = 0
    seed: int = 0


@dataclass
class RunResult:
    """A finished run: the best epoch (by validation accuracy) and the per-epoch history.

    Accuracies are fractions. ``test_acc_paper`` is the paper's own choice of epoch (the highest
    *test* accuracy), reported beside ours for comparison only. ``steps`` maps each compressed
    parameter to its q_k at the best epoch (what :func:`~.export.export_eqz` needs).
    """

    gamma: float
    bits: int
    lr: float
    best_epoch: int
    val_acc: float
    test_acc: float
    train_acc: float
    density: float
    layer_density: dict
    test_acc_paper: float
    density_paper: float
    epochs_run: int
    weight_count: int
    train_s: float
    step_s: float
    compress_s: float
    history: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)
    best_state: dict | None = None

    def metrics(self) -> dict:
        """The JSON-able fields (everything but the weights)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("best_state", "gamma", "bits", "lr")}


def pick_device(device=None) -> torch.device:
    """The given device, else CUDA when present, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_run(data: TrainingData, gamma: float, bits: int, lr: float, protocol: Protocol | None = None,
              device=None, keep_best_state: bool = True, progress=None) -> RunResult:
    """Train ``protocol.model`` on ``data`` with prune-then-quantize after every step.

    Parameters
    ----------
    data : TrainingData
    gamma, bits : float, int
        The compressor's γ and b (``bits == 32``: prune only).
    lr : float
        SGD learning rate, > 0.
    protocol : Protocol, optional
        Default ``Protocol()``.
    device : str or torch.device, optional
        Default: CUDA when present, else CPU.
    keep_best_state : bool, default True
        Keep a copy of the best epoch's ``state_dict`` (on the CPU) in the result.
    progress : callable, optional
        Called as ``progress(epoch, history)`` after each epoch.

    Raises
    ------
    ValueError
        Bad γ/bits (see the compressor), ``lr <= 0``; training that diverges (NaN weights).
    """
    protocol = Protocol() if protocol is None else protocol
    if not (isinstance(lr, int | float) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    device = pick_device(device)
    model = build_model(protocol.model, protocol.seed).to(device)
    compressor = PruneQuantizeCompressor(model, gamma, bits, mode=protocol.mode, warmup_steps=protocol.warmup_steps)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=protocol.momentum,
                                weight_decay=protocol.weight_decay)
    loss_function = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(protocol.seed)
    x_train = torch.from_numpy(data.x_train)
    y_train = torch.from_numpy(data.y_train)
    history = {"train_acc": [], "val_acc": [], "test_acc": [], "density": [], "loss": []}
    best = None
    step_s = compress_s = 0.0
    steps = 0
    started = time.perf_counter()
    compressor.step()  # the first forward pass already sees compressed weights
    for epoch in range(protocol.epochs):
        model.train()
        correct, loss_sum = 0, 0.0
        for x, y in epoch_batches(x_train, y_train, protocol.batch_size, generator, data.augment, device):
            tick = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            output = model(x)
            loss = loss_function(output, y)
            loss.backward()
            optimizer.step()
            middle = time.perf_counter()
            compressor.step()
            done = time.perf_counter()
            step_s += done - tick
            compress_s += done - middle
            steps += 1
            correct += int((output.argmax(1) == y).sum())
            loss_sum += loss.item() * len(y)
        if not np.isfinite(loss_sum):
            raise ValueError(f"training diverged at epoch {epoch + 1} (loss {loss_sum}); lower lr={lr}")
        history["train_acc"].append(correct / len(y_train))
        history["loss"].append(loss_sum / len(y_train))
        history["val_acc"].append(accuracy(model, data.x_val, data.y_val, device))
        history["test_acc"].append(accuracy(model, data.x_test, data.y_test, device))
        history["density"].append(compressor.density()["total"])
        if best is None or history["val_acc"][-1] > history["val_acc"][best[0]]:
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()} \
                if keep_best_state else None
            best = (epoch, compressor.density(), state, {layer.name: layer.step for layer in compressor.states})
        if progress is not None:
            progress(epoch, history)
        if epoch - best[0] >= protocol.patience:
            break
    epoch, layer_density, state, best_steps = best
    paper_epoch = int(np.argmax(history["test_acc"]))
    return RunResult(
        gamma=float(gamma), bits=int(bits), lr=float(lr), best_epoch=epoch + 1,
        val_acc=history["val_acc"][epoch], test_acc=history["test_acc"][epoch],
        train_acc=history["train_acc"][epoch], density=layer_density["total"], layer_density=layer_density,
        test_acc_paper=history["test_acc"][paper_epoch], density_paper=history["density"][paper_epoch],
        epochs_run=len(history["val_acc"]), weight_count=compressor.size,
        train_s=time.perf_counter() - started, step_s=step_s / max(steps, 1), compress_s=compress_s / max(steps, 1),
        history=history, steps=best_steps, best_state=state,
    )


@torch.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device=None, batch_size: int = 500) -> float:
    """Top-1 accuracy (a fraction) of ``model`` in eval mode."""
    model.eval()
    device = pick_device(device) if device is None else device
    correct = 0
    for begin in range(0, len(y), batch_size):
        xb = torch.from_numpy(x[begin:begin + batch_size]).to(device)
        correct += int((model(xb).argmax(1).cpu().numpy() == y[begin:begin + batch_size]).sum())
    return correct / len(y) if len(y) else 0.0


def draw_epoch(samples: int, batch_size: int, generator, augment: bool):
    """An epoch's permutation of ``samples`` and, when ``augment``, its horizontal flips (a bool per
    position of the permutation), drawn from ``generator`` in the order :func:`epoch_batches` draws
    them batch by batch — so either gives the same epoch — but all at once, to be moved to a GPU
    in one copy instead of one per batch."""
    order = torch.randperm(samples, generator=generator)
    if not augment:
        return order, None
    flips = torch.zeros(samples, dtype=torch.bool)
    for begin in range(0, samples, batch_size):
        count = min(batch_size, samples - begin)
        if count >= 2:  # the batches epoch_batches yields
            flips[begin:begin + count] = torch.rand(count, generator=generator) < 0.5
    return order, flips


def epoch_batches(x_train, y_train, batch_size: int, generator, augment: bool, device, order=None, start: int = 0,
                  flips=None):
    """One epoch of training batches ``(x, y)`` on ``device``: a fresh permutation drawn from
    ``generator``, batches of at least two samples (BatchNorm), and random horizontal flips when
    ``augment`` (drawn from the same generator, so a seed fixes the whole epoch).

    ``order`` and ``flips`` (:func:`draw_epoch`'s) and ``start`` continue an epoch that was
    interrupted: its permutation, flips and the position of the next batch in it (an ``order``
    without ``flips``: the generator must be in the state it was left in, the rest of the flips
    are drawn batch by batch). With ``x_train`` on a GPU, order and flips are copied there once
    and no batch waits for the host."""
    if order is None:
        order, flips = draw_epoch(len(y_train), batch_size, generator, augment)
    order = order.to(x_train.device)
    if flips is not None:
        flips = flips.to(x_train.device)
    for begin in range(start, len(order), batch_size):
        index = order[begin:begin + batch_size]
        if len(index) < 2:
            continue  # BatchNorm needs two samples
        x, y = x_train[index], y_train[index]
        if flips is not None:
            x = torch.where(flips[begin:begin + batch_size, None, None, None], x.flip(3), x)
        elif augment:  # an epoch resumed from a checkpoint that predates draw_epoch
            flip = (torch.rand(len(index), generator=generator) < 0.5).to(x.device)  # CPU draws on any device
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        yield x.to(device), y.to(device)
