"""Hessian-trace sensitivity (HAWQ-V2/V3), the baseline semantic significance is measured against.

Per layer ``l`` the trace of its diagonal Hessian block ``H_ll`` of the loss is estimated with
Hutchinson's estimator, ``Tr(H_ll) = E[v_lᵀ (H v)_l]`` over Rademacher vectors ``v`` (entries ±1,
drawn for every layer at once; the cross-layer terms have expectation 0). ``H v`` comes from
double back-propagation: the gradient of ``gᵀv`` where ``g`` is the loss gradient built with
``create_graph=True``. HAWQ-V2/V3 then rank a layer at ``b`` bits by

    Ω_l(b) = Tr(H_ll) / n_l · ‖Q_b(W_l) − W_l‖²,

the mean curvature times the squared quantization error (a second-order Taylor model of the
loss increase), which :func:`hessian_costs` returns as ``costs[l][b]`` for
:func:`~edgequant.mixed_precision.allocate_bits`. ``Q_b`` is the same per-channel affine
quantizer as everywhere in mixed precision (:func:`~.fake_quant.affine_fake_quantize`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .fake_quant import affine_fake_quantize

#: Modules whose ``weight`` is a component by default.
QUANTIZABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def weight_parameters(model: nn.Module, names: Iterable[str] | None = None) -> dict[str, nn.Parameter]:
    """``{name: parameter}`` of the Conv/Linear weights (default) or of the given parameter names.

    Raises
    ------
    ValueError
        An unknown name (the message lists the known ones), or nothing selected.
    """
    named = dict(model.named_parameters())
    if names is None:
        chosen = [f"{prefix}.weight" if prefix else "weight" for prefix, module in model.named_modules()
                  if isinstance(module, QUANTIZABLE) and module.weight is not None]
    else:
        chosen = list(names)
        unknown = [name for name in chosen if name not in named]
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; the model's weights are "
                             f"{sorted(weight_parameters(model))}")
    if not chosen:
        raise ValueError("the model has no Conv/Linear weight to estimate a Hessian trace for")
    return {name: named[name] for name in chosen}


@dataclass
class TraceEstimate:
    """Hutchinson estimates of every layer's Hessian-block trace.

    Attributes
    ----------
    traces : dict
        Name -> estimated ``Tr(H_ll)`` (the mean over the probes).
    standard_errors : dict
        Name -> standard error of that mean (sample std / √probes; 0 after one probe).
    sizes : dict
        Name -> weight count ``n_l``.
    probes : int
        Rademacher vectors used.
    converged : bool
        Whether every layer reached ``standard_error ≤ tolerance·|trace|`` before ``max_probes``.
    samples : dict
        Name -> the per-probe values ``v_lᵀ(Hv)_l`` (for checking the estimator).
    """

    traces: dict
    standard_errors: dict
    sizes: dict
    probes: int
    converged: bool
    samples: dict = field(default_factory=dict, repr=False)

    def mean_traces(self) -> dict:
        """``Tr(H_ll) / n_l`` per layer: HAWQ-V2's average curvature."""
        return {name: self.traces[name] / self.sizes[name] for name in self.traces}


def hessian_traces(model: nn.Module, x, y, loss_fn: Callable | None = None, parameters: Iterable[str] | None = None,
                   batch_size: int = 256, tolerance: float = 0.05, min_probes: int = 8, max_probes: int = 200,
                   seed: int = 0, device=None) -> TraceEstimate:
    """Estimate ``Tr(H_ll)`` of the mean loss over ``(x, y)`` for every selected weight.

    Parameters
    ----------
    model : torch.nn.Module
        Evaluated in eval mode (BatchNorm's running statistics, no dropout); not modified.
    x, y : array-like or torch.Tensor
        Inputs and targets; the loss is their mean over all samples, accumulated in batches.
    loss_fn : callable, optional
        ``loss_fn(output, y) -> mean loss`` (default cross-entropy).
    parameters : iterable of str, optional
        Parameter names (default: every Conv/Linear weight).
    batch_size : int
        Samples per double-backward pass (memory, not the result).
    tolerance : float
        Stop once every layer's standard error is at most ``tolerance·|trace|`` (after
        ``min_probes``); also stops at ``max_probes`` with ``converged=False``.
    min_probes, max_probes : int
    seed : int
        Seeds the Rademacher vectors (the estimate is reproducible).
    device : str or torch.device, optional
        Where to compute; the model is moved there (in place). Default: where the model's
        parameters are.

    Raises
    ------
    ValueError
        Empty or mismatched data, bad tolerance/probe counts, unknown parameter names, a loss
        that is not a finite scalar.
    """
    if not (isinstance(tolerance, int | float) and 0 < tolerance < 1):
        raise ValueError(f"tolerance must be in (0, 1), got {tolerance!r}")
    if not (isinstance(min_probes, int) and isinstance(max_probes, int) and 1 <= min_probes <= max_probes):
        raise ValueError(f"need 1 <= min_probes <= max_probes, got {min_probes!r}, {max_probes!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    selected = weight_parameters(model, parameters)
    device = next(iter(selected.values())).device if device is None else torch.device(device)
    model.to(device)
    x, y = _tensor(x, "x"), _tensor(y, "y")
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"x and y must hold the same non-zero number of samples, got {len(x)} and {len(y)}")
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    names = list(selected)
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    samples = {name: [] for name in names}
    try:
        for probe in range(max_probes):
            vectors = [torch.randint(0, 2, p.shape, generator=generator).to(device, p.dtype) * 2 - 1
                       for p in selected.values()]
            products = [torch.zeros_like(v) for v in vectors]
            for begin in range(0, len(x), batch_size):
                xb, yb = x[begin:begin + batch_size].to(device), y[begin:begin + batch_size].to(device)
                loss = loss_fn(model(xb), yb)
                if loss.dim() != 0 or not bool(torch.isfinite(loss)):
                    raise ValueError(f"the loss must be a finite scalar, got {loss.detach().cpu()}")
                weight = len(xb) / len(x)  # the mean loss over all samples
                grads = torch.autograd.grad(loss, list(selected.values()), create_graph=True)
                dot = sum((g * v).sum() for g, v in zip(grads, vectors, strict=True))
                hvp = torch.autograd.grad(dot, list(selected.values()))
                for total, part in zip(products, hvp, strict=True):
                    total.add_(part.detach(), alpha=weight)
            for name, v, hv in zip(names, vectors, products, strict=True):
                samples[name].append(float((v * hv).double().sum()))
            if probe + 1 >= min_probes and all(_converged(samples[name], tolerance) for name in names):
                break
    finally:
        model.train(was_training)
    probes = len(samples[names[0]])
    return TraceEstimate(
        traces={name: float(np.mean(samples[name])) for name in names},
        standard_errors={name: _standard_error(samples[name]) for name in names},
        sizes={name: selected[name].numel() for name in names},
        probes=probes, converged=all(_converged(samples[name], tolerance) for name in names),
        samples={name: np.asarray(values) for name, values in samples.items()})


def hessian_costs(model: nn.Module, estimate: TraceEstimate, choices=(2, 4, 8), symmetric: bool = True) -> dict:
    """HAWQ-V2/V3 costs ``{name: {bits: Tr(H)/n · ‖Q_b(W) − W‖²}}`` for :func:`allocate_bits`.

    A negative trace estimate (negative curvature, or noise around 0) gives cost 0 at every width:
    the second-order model then predicts no loss increase, so the layer is the first to lose bits.
    """
    named = dict(model.named_parameters())
    missing = [name for name in estimate.traces if name not in named]
    if missing:
        raise ValueError(f"the estimate names parameters the model lacks: {missing}")
    costs = {}
    with torch.no_grad():
        for name, mean_trace in estimate.mean_traces().items():
            weight = named[name].detach().float()
            curvature = max(mean_trace, 0.0)
            costs[name] = {int(bits): curvature * float(((affine_fake_quantize(weight, int(bits), symmetric, name)
                                                          - weight).double() ** 2).sum())
                           for bits in choices}
    return costs


def _converged(values: list[float], tolerance: float) -> bool:
    return len(values) > 1 and _standard_error(values) <= tolerance * abs(float(np.mean(values)))


def _standard_error(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else 0.0


def _tensor(values, name: str) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach()
    try:
        return torch.from_numpy(np.ascontiguousarray(values))
    except TypeError as error:
        raise TypeError(f"{name} must be an array or a tensor: {error}") from None
