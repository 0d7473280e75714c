"""Prune-then-quantize inside every training step (SPEC §5, paper 002 eqs. 1–4).

After ``optimizer.step()`` every selected weight tensor ``W_l`` becomes
``C_l = q_k·round(H_l/q_k)`` with ``H_l = W_l·[|W_l| ≥ γ·std(W_l)]`` and
``q_k = (max|H_l| − β_l)/(2^(b−1) − 1)``, so the next forward pass runs on the compressed
coefficients. On the CPU the work is done in place by the C++ core (``_core.fit_prune_quantize``
then ``PruneQuantize.quantize``) on NumPy views of the parameters: no copy, the GIL released,
no per-element Python. Other devices use the same formula in torch ops on the device; with
``check_every_step=False`` those ops never wait for the device (β, q_k and a NaN/Inf flag stay
device tensors until :meth:`PruneQuantizeCompressor.check_finite` or a read of the states), so a
GPU is kept busy instead of being synchronised with a dozen times per layer and step.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from .. import _core
from .._validation import real_in

#: The three ways of applying the compression, see :class:`PruneQuantizeCompressor`.
MODES = ("paper", "frozen", "straight-through", "pruned-shadow")

#: Which weights std(W) of eq. 1 is taken over, see :class:`PruneQuantizeCompressor`.
THRESHOLD_STDS = ("all", "survivors")

#: Where the quantization levels of eq. 4 sit, see :class:`PruneQuantizeCompressor`.
GRIDS = ("zero", "threshold")

#: Bit widths the C++ core quantizes to; ``bits == bits_orig`` means "prune only".
_MIN_BITS, _MAX_BITS = 2, 16


@dataclass
class LayerState:
    """What the compressor knows about one weight tensor after its last :meth:`step`.

    Attributes
    ----------
    name : str
        The parameter's qualified name (``"features.0.weight"``).
    threshold : float
        β = γ·std(W) of the last step (the frozen β in frozen mode). A 0-dim device tensor
        between steps of a compressor with ``check_every_step=False`` until it is settled
        (:meth:`PruneQuantizeCompressor.density`, ``state_dict``, ``check_finite``).
    step : float
        q_k of the last step (0 when the layer is only pruned); settled like ``threshold``.
    nonzero, size : int
        Non-zero coefficients when last counted (:meth:`PruneQuantizeCompressor.density`), and
        all coefficients.
    """

    name: str
    threshold: float = 0.0
    step: float = 0.0
    nonzero: int = 0
    size: int = 0

    @property
    def density(self) -> float:
        return self.nonzero / self.size if self.size else 0.0


class PruneQuantizeCompressor:
    """Compress a module's Conv / Linear weights in place after every optimizer step.

    Parameters
    ----------
    module : torch.nn.Module
    gamma : float
        γ ≥ 0: the pruning threshold is γ·std(W) per layer (population std).
    bits : int
        b in [2, 16] quantizes the survivors with step q_k; ``b == bits_orig`` (32) prunes only
        and keeps the survivors in float32 (the paper's "32 bits" column).
    layers : iterable of str or torch.nn.Parameter, optional
        Which parameters to compress (names as in ``module.named_parameters()``). Default: the
        ``weight`` of every ``Conv1d/2d/3d`` and ``Linear``; BN and biases are left alone.
    bits_orig : int, default 32
        Bits of an uncompressed weight (the denominator of the compression ratio).
    mode : {"paper", "frozen", "straight-through", "pruned-shadow"}, default "paper"
        ``"paper"`` recomputes β and the mask every step, as the paper does (a pruned weight can
        grow back if a gradient pushes it past β before the next step). ``"frozen"`` does so for
        ``warmup_steps`` steps, then fixes the mask and β: pruned weights stay exactly zero and
        only the survivors are re-quantized. ``"straight-through"`` keeps full-precision shadow
        weights: the gradient is taken at the compressed weights but the optimizer's update is
        accumulated in the shadow, which is compressed again (the straight-through estimator).
        ``"pruned-shadow"`` is straight-through with eqs. 1–2 applied to the shadow itself: the
        stored weights are pruned every step (a pruned weight restarts from zero, as in paper
        mode) and only the forward pass sees them quantized (eqs. 3–4), so updates smaller than
        q_k/2 are not rounded away. The reading of the paper's Fig. 1 under which its densities
        hardly depend on b (Table I); see ``benchmarks/RESULTS.md``.
    warmup_steps : int, default 0
        Frozen mode only: the mask left by step number ``max(warmup_steps, 1)`` (in paper mode)
        is fixed from then on.
    threshold_std : {"all", "survivors"}, default "all"
        The two readings of eq. 1's std(W_l). ``"all"`` (the paper's text: "the standard
        deviation of the weights of the l-th layer") takes the population std over every
        position of the updated tensor, pruned ones included (they hold their last update or 0),
        so β = γ·√p·rms(survivors) shrinks as the density p falls. ``"survivors"`` takes it over
        the positions left non-zero by the previous step only, so β does not shrink with p.
        Paper and frozen-warm-up steps only (straight-through prunes its dense shadow).
    grid : {"zero", "threshold"}, default "zero"
        The two readings of eqs. 3–4. ``"zero"`` is eq. 4 as printed, ``C = q_k·round(H/q_k)``:
        levels at multiples of q_k, so max|H| = β + (2^(b−1)−1)·q_k is generally *not* a level
        and re-quantizing rounds the largest weights the same way every step (the ratio
        max|H|/q_k does not depend on the scale). Repeated every step (paper and frozen modes),
        max|H|, q_k and the whole layer shrink or grow by a fixed factor per step once β > 0:
        long runs die or blow up (``benchmarks/RESULTS.md``, "Paper 002 at the paper's length").
        ``"threshold"`` puts the 2^(b−1)−1 steps of eq. 3 between β and max|H|, i.e. survivors
        become ``sign(H)·(β + q_k·round((|H| − β)/q_k))``: max|H| is a level (a fixed point),
        every survivor fits b bits (sign + b−1), which is what the paper's p·b rate assumes.
    check_every_step : bool, default True
        Raise on NaN/Inf weights in the :meth:`step` that meets them. ``False`` matters only for
        weights the C++ core cannot view (a GPU's): the step then queues its torch ops without
        waiting for the device, and NaN/Inf is reported by the next :meth:`check_finite` (also
        called by :meth:`density` and :meth:`state_dict`) — the way to keep a GPU busy; call
        ``check_finite`` every few hundred steps. Survivors-std steps and frozen steps on such
        weights still wait.

    Raises
    ------
    ValueError
        γ < 0 or not finite, bits outside [2, 16] and not ``bits_orig``, an unknown mode or
        layer name, a selected parameter that is not floating point, or nothing to compress.
    TypeError
        ``module`` is not a ``torch.nn.Module``.

    Notes
    -----
    Degenerate layers are defined, never an error: a layer of constant weights has std 0, so
    β = 0 and nothing is pruned (a constant non-zero layer is quantized exactly; an all-zero one
    stays zero); a layer whose weights all fall below β ends the step all zero (density 0) and,
    in paper mode, can regrow from the next gradient. NaN or Inf weights raise ``ValueError``
    naming the layer (training has diverged).
    """

    def __init__(self, module, gamma, bits, layers=None, bits_orig: int = 32, mode: str = "paper",
                 warmup_steps: int = 0, threshold_std: str = "all", grid: str = "zero",
                 check_every_step: bool = True):
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.gamma = real_in(gamma, "gamma", low=0.0)
        self.bits_orig = _integer(bits_orig, "bits_orig", 2, 64)
        self.bits = _integer(bits, "bits", _MIN_BITS, self.bits_orig)
        if _MAX_BITS < self.bits < self.bits_orig:
            raise ValueError(f"bits must be in [{_MIN_BITS}, {_MAX_BITS}] or equal to bits_orig "
                             f"({self.bits_orig}, prune only), got {self.bits}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        self.mode = mode
        if threshold_std not in THRESHOLD_STDS:
            raise ValueError(f"threshold_std must be one of {list(THRESHOLD_STDS)}, got {threshold_std!r}")
        if threshold_std == "survivors" and mode in ("straight-through", "pruned-shadow"):
            raise ValueError("threshold_std='survivors' needs mode 'paper' or 'frozen' (straight-through prunes its "
                             "dense shadow weights)")
        self.threshold_std = threshold_std
        if grid not in GRIDS:
            raise ValueError(f"grid must be one of {list(GRIDS)}, got {grid!r}")
        self.grid = grid
        self.warmup_steps = _integer(warmup_steps, "warmup_steps", 0, None)
        if not isinstance(check_every_step, bool):
            raise TypeError(f"check_every_step must be True or False, got {check_every_step!r}")
        self.check_every_step = check_every_step
        self.module = module
        self.parameters = _select(module, layers)
        self.states = [LayerState(name, size=p.numel()) for name, p in self.parameters]
        self.steps_done = 0
        self._masks: list[torch.Tensor] | None = None
        self._shadows: list[torch.Tensor] | None = None
        self._last: list[torch.Tensor] | None = None
        self._previous: list[torch.Tensor] | None = None
        if mode in ("straight-through", "pruned-shadow"):
            self._shadows = [p.detach().clone() for _, p in self.parameters]
            self._last = [torch.empty_like(p.detach()) for _, p in self.parameters]
        # check_every_step=False: per layer, NaN once any deferred step met NaN/Inf (std·0 summed)
        self._health: list[torch.Tensor | None] = [None] * len(self.parameters)

    @property
    def quantizes(self) -> bool:
        """False when ``bits == bits_orig``: the survivors keep their float32 values."""
        return self.bits < self.bits_orig

    # -- the step ------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self) -> None:
        """Prune and quantize every selected weight in place (call after ``optimizer.step()``)."""
        freezing = self.mode == "frozen" and self._masks is None and self.steps_done + 1 >= self.warmup_steps
        for index, ((_, parameter), state) in enumerate(zip(self.parameters, self.states, strict=True)):
            weight = parameter.data
            if self._shadows is not None:
                shadow = self._update_shadow(index, weight)
                self._compress(shadow, state, out=weight, index=index)  # C = PQ(shadow), written straight into W
                if self.mode == "pruned-shadow":
                    shadow.mul_(shadow.abs() >= state.threshold)  # H = P(shadow) is what is stored
                self._last[index].copy_(weight)
            elif self._masks is not None:
                weight.mul_(self._masks[index])
                self._quantize_survivors(weight, state)
            elif self._previous is not None:
                self._compress_over_survivors(weight, state, self._previous[index])
            else:
                self._compress(weight, state, index=index)
        if freezing:
            self._masks = [p.data != 0 for _, p in self.parameters]
            self.check_finite()  # frozen steps use β as a float
        if self.threshold_std == "survivors" and self._masks is None:
            self._previous = [p.data != 0 for _, p in self.parameters]
        self.steps_done += 1

    def _compress(self, source: torch.Tensor, state: LayerState, out: torch.Tensor | None = None,
                  index: int = 0) -> None:
        """Eqs. 1–4 on ``source``, written into ``out`` (default: in place)."""
        out = source if out is None else out
        if _core_can_view(source) and _core_can_view(out) and not (self.grid == "threshold" and self.quantizes):
            flat = source.numpy().reshape(-1)  # views: the C++ core reads and writes the tensors' memory
            target = out.numpy().reshape(-1)
            if self.quantizes:
                fit = _core.fit_prune_quantize(flat, self.gamma, self.bits)  # one read: std, max|W|
                _check_finite(fit.non_finite, state.name)
                fit.op.quantize(flat, target)  # elementwise, so in place is safe
                state.threshold, state.step = fit.threshold, fit.step
                return
            if self.gamma == 0:  # β = 0 keeps every weight: only look for NaN/Inf (one read, no write)
                _check_finite(_core.tensor_range(flat).non_finite, state.name)
                state.threshold = state.step = 0.0
                if out is not source:
                    out.copy_(source)
                return
            moments = _core.tensor_moments(flat)
            _check_finite(moments.non_finite, state.name)
            state.threshold, state.step = self.gamma * moments.std, 0.0
            torch.mul(source, source.abs() >= state.threshold, out=out)
            return
        if out is not source:
            out.copy_(source)
        bits = self.bits if self.quantizes else None
        if self.check_every_step:
            state.threshold, state.step = torch_prune_quantize_(out, self.gamma, bits, state.name, self.grid)
            return
        threshold, step, std = _prune_quantize_torch(out, self.gamma, bits, self.grid)
        health = std * 0  # NaN when this step met NaN/Inf; stays NaN once added
        self._health[index] = health if self._health[index] is None else self._health[index].add_(health)
        state.threshold, state.step = threshold, step

    def _compress_over_survivors(self, weight: torch.Tensor, state: LayerState, previous: torch.Tensor) -> None:
        """Eqs. 1–4 with β = γ·std over ``previous``: the positions the last step left non-zero
        (the others hold only this step's update). Torch ops: this reading is for experiments."""
        survivors = weight[previous]
        if not bool(torch.isfinite(weight).all()):
            raise ValueError(f"layer {state.name!r} has NaN/Inf weights: training diverged (lower the learning rate)")
        threshold = self.gamma * float(survivors.double().std(unbiased=False)) if survivors.numel() else 0.0
        kept = weight * (weight.abs() >= threshold)
        if self.quantizes:
            max_kept = float(kept.abs().max()) if kept.numel() else 0.0
            step = _step(max_kept, threshold, self.bits)
            weight.copy_(_round_to_grid(kept, threshold, step, self.grid))
        else:
            weight.copy_(kept)
            step = 0.0
        state.threshold, state.step = threshold, step

    def _quantize_survivors(self, weight: torch.Tensor, state: LayerState) -> None:
        """Frozen mode after the warm-up: the mask and β are fixed, only q_k follows max|H|."""
        if not self.quantizes:
            return
        viewable = _core_can_view(weight)
        if viewable:  # one pass, no |W| temporary
            flat = weight.numpy().reshape(-1)
            extent = _core.tensor_range(flat)
            _check_finite(extent.non_finite, state.name)
            max_abs = extent.max_abs
        else:
            max_abs = float(weight.abs().max())
            if not np.isfinite(max_abs):
                raise ValueError(f"layer {state.name!r} has NaN/Inf weights: training diverged")
        step = _step(max_abs, state.threshold, self.bits)
        if self.grid == "threshold":
            weight.copy_(_round_to_grid(weight, state.threshold, step, self.grid))
        elif viewable:
            max_symbol = int(np.ceil(max_abs / step)) + 1
            _core.make_quantizer_kernels(
                "prune_quantize", [("threshold", 0.0), ("step", step), ("max_symbol", max_symbol)]).quantize(flat, flat)
        else:
            weight.copy_(torch.round(weight / step) * step)
        state.step = step

    def _update_shadow(self, index: int, weight: torch.Tensor) -> torch.Tensor:
        """weight = C_prev + Δ (the optimizer's update of the compressed weights): shadow += Δ."""
        shadow = self._shadows[index]
        if self.steps_done:
            shadow.add_(weight).sub_(self._last[index])
        else:
            shadow.copy_(weight)
        return shadow

    # -- bookkeeping ---------------------------------------------------------------------------
    def check_finite(self) -> None:
        """Settle the deferred steps (``check_every_step=False``): wait for the device once, turn
        each layer's β and q_k into floats, and raise ``ValueError`` naming the first layer that
        met NaN/Inf weights in any step since the last check. A no-op when nothing is deferred."""
        pending = [i for i, health in enumerate(self._health) if health is not None]
        if not pending:
            return
        device = self._health[pending[0]].device

        def scalar(value):
            if isinstance(value, torch.Tensor):
                return value.detach().reshape(()).double()
            return torch.tensor(float(value), dtype=torch.float64, device=device)

        rows = torch.stack([torch.stack([scalar(self.states[i].threshold), scalar(self.states[i].step),
                                         self._health[i]]) for i in pending]).tolist()  # the one wait
        bad = None
        for i, (threshold, step, health) in zip(pending, rows, strict=True):
            self.states[i].threshold, self.states[i].step = threshold, step
            self._health[i] = None
            if bad is None and not math.isfinite(health):
                bad = self.states[i].name
        if bad is not None:
            raise ValueError(f"layer {bad!r} met NaN/Inf weights since the last check: training diverged "
                             "(lower the learning rate)")

    def density(self) -> dict[str, float]:
        """Fraction of non-zero coefficients per layer, and ``"total"``.

        Counted exactly when asked (one pass over the weights), not in every :meth:`step`.
        Settles deferred steps first (:meth:`check_finite`).
        """
        self.check_finite()
        self._count()
        densities = {state.name: state.density for state in self.states}
        densities["total"] = self.nonzero / self.size
        return densities

    def _count(self) -> None:
        for (_, parameter), state in zip(self.parameters, self.states, strict=True):
            state.nonzero = int(torch.count_nonzero(parameter))

    @property
    def nonzero(self) -> int:
        """Non-zero coefficients of all selected layers, now."""
        self._count()
        return sum(state.nonzero for state in self.states)

    @property
    def size(self) -> int:
        return sum(state.size for state in self.states)

    def state_dict(self) -> dict:
        """What :meth:`load_state_dict` needs to continue exactly where this compressor stopped.

        The step count, the per-layer β and q_k, and the mode's tensors (frozen masks,
        straight-through shadows, the previous step's non-zero positions); the weights
        themselves belong to the module's own ``state_dict``.
        """
        self.check_finite()
        names = [name for name, _ in self.parameters]
        return {
            "settings": {"gamma": self.gamma, "bits": self.bits, "bits_orig": self.bits_orig, "mode": self.mode,
                         "warmup_steps": self.warmup_steps, "threshold_std": self.threshold_std, "grid": self.grid,
                         "layers": names},
            "steps_done": self.steps_done,
            "layers": [{"threshold": s.threshold, "step": s.step} for s in self.states],
            "masks": None if self._masks is None else [m.clone() for m in self._masks],
            "shadows": None if self._shadows is None else [t.clone() for t in self._shadows],
            "last": None if self._last is None else [t.clone() for t in self._last],
            "previous": None if self._previous is None else [m.clone() for m in self._previous],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` into a compressor built with the same settings and module.

        Raises ``ValueError`` when the settings, the layers or a tensor's shape differ.
        """
        mine = self.state_dict()["settings"]
        if state.get("settings") != mine:
            raise ValueError(f"the saved compressor has settings {state.get('settings')}, this one {mine}")
        shapes = [p.shape for _, p in self.parameters]

        def tensors(key):
            saved = state.get(key)
            if saved is None:
                return None
            if len(saved) != len(shapes) or any(t.shape != shape for t, shape in zip(saved, shapes, strict=True)):
                raise ValueError(f"the saved compressor's {key!r} do not match this module's weight shapes")
            return [t.clone() for t in saved]

        self._masks, self._previous = tensors("masks"), tensors("previous")
        if self.mode in ("straight-through", "pruned-shadow"):
            self._shadows, self._last = tensors("shadows"), tensors("last")
            if self._shadows is None or self._last is None:
                raise ValueError("the saved straight-through compressor lacks its shadow weights")
        for layer, saved in zip(self.states, state["layers"], strict=True):
            layer.threshold, layer.step = float(saved["threshold"]), float(saved["step"])
        self.steps_done = int(state["steps_done"])
        self._health = [None] * len(self.parameters)  # the saved steps were checked when saved

    def full_precision_weights(self) -> dict[str, torch.Tensor] | None:
        """Straight-through mode: the shadow weights by name (None in the other modes)."""
        if self._shadows is None:
            return None
        return {name: shadow for (name, _), shadow in zip(self.parameters, self._shadows, strict=True)}

    def __repr__(self):
        return (f"PruneQuantizeCompressor(gamma={self.gamma}, bits={self.bits}, mode={self.mode!r}, "
                f"layers={len(self.parameters)}, weights={self.size:,})")


def torch_prune_quantize_(weight: torch.Tensor, gamma: float, bits: int | None, name: str = "weight",
                          grid: str = "zero"):
    """Eqs. 1–4 in torch ops, in place, for tensors the C++ core cannot view (GPU, float16...)
    and for the ``"threshold"`` grid.

    Same rules and degenerate cases as ``cpp/quant/prune_quantize.h``. Returns ``(β, q_k)`` as
    floats; NaN/Inf weights raise ``ValueError`` before anything is written.
    """
    if weight.numel() and not bool(torch.isfinite(weight).all()):
        raise ValueError(f"layer {name!r} has NaN/Inf weights: training diverged")
    threshold, step, _ = _prune_quantize_torch(weight, gamma, bits, grid)
    return tuple(torch.stack([threshold, step]).tolist())


def _prune_quantize_torch(weight: torch.Tensor, gamma: float, bits: int | None, grid: str):
    """Eqs. 1–4 in place in torch ops that never wait for the device: returns β, q_k and the
    population std as 0-dim float64 tensors on the weight's device (std is NaN when the weights
    hold NaN or Inf; the caller decides when to look)."""
    work = weight if weight.dtype == torch.float64 else weight.float()
    zero = torch.zeros((), dtype=torch.float64, device=weight.device)
    std = work.double().std(unbiased=False) if work.numel() else zero
    threshold = std * gamma
    kept = work * (work.abs() >= threshold)
    if bits is None:
        weight.copy_(kept)
        return threshold, zero, std
    max_kept = kept.abs().max().double() if kept.numel() else zero
    step = _step(max_kept, threshold, bits)
    weight.copy_(_round_to_grid(kept, threshold, step, grid))
    return threshold, step, std


def _round_to_grid(kept: torch.Tensor, threshold: float, step: float, grid: str) -> torch.Tensor:
    """Eq. 4 on pruned weights: multiples of ``step`` (``"zero"``) or ``threshold`` + multiples of
    ``step`` in magnitude (``"threshold"``; a frozen survivor that drifted below β stays at β)."""
    if grid == "zero":
        return torch.round(kept / step) * step
    magnitude = kept.abs()
    levels = torch.round((magnitude - threshold) / step).clamp_(min=0)
    return torch.where(magnitude > 0, torch.sign(kept) * (threshold + step * levels), torch.zeros_like(kept))


def _step(max_kept, threshold, bits: int):
    """q_k of eq. 3, (max|H| − β)/(2^(b−1) − 1); where that is not positive (β ≥ max|H|, or NaN),
    max|H|/(2^(b−1) − 1), or 1 for an all-zero layer. Floats or 0-dim tensors (then no wait)."""
    top = float(2 ** (bits - 1) - 1)
    step = (max_kept - threshold) / top
    if isinstance(step, torch.Tensor):
        fallback = torch.where(max_kept > 0, max_kept / top, torch.ones_like(step))
        return torch.where(step > 0, step, fallback)
    if not step > 0:
        step = max_kept / top if max_kept > 0 else 1.0
    return step


def _core_can_view(weight: torch.Tensor) -> bool:
    """The C++ core works in place on contiguous float32 CPU memory (it writes float32)."""
    return weight.device.type == "cpu" and weight.dtype == torch.float32 and weight.is_contiguous()


def _check_finite(count: int, name: str) -> None:
    if count:
        raise ValueError(f"layer {name!r} has {count} NaN/Inf weight(s): training diverged "
                         "(lower the learning rate)")


def _integer(value, name: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {high if high is not None else 'inf'}], got {value}")
    return int(value)


_COMPRESSIBLE = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)


def _select(module: torch.nn.Module, layers) -> list[tuple[str, torch.nn.Parameter]]:
    named = dict(module.named_parameters())
    if layers is None:
        chosen = [f"{prefix}.weight" if prefix else "weight" for prefix, sub in module.named_modules()
                  if isinstance(sub, _COMPRESSIBLE) and sub.weight is not None]
    else:
        if isinstance(layers, str | torch.Tensor):
            layers = [layers]
        by_identity = {id(p): name for name, p in named.items()}
        chosen = []
        for item in layers:
            if isinstance(item, torch.Tensor):
                if id(item) not in by_identity:
                    raise ValueError("a parameter given in layers does not belong to the module")
                chosen.append(by_identity[id(item)])
            elif isinstance(item, str):
                if item not in named:
                    raise ValueError(f"unknown parameter {item!r}; the module has {sorted(named)[:8]}...")
                chosen.append(item)
            else:
                raise TypeError(f"layers holds names or parameters, got {type(item).__name__}")
    if not chosen:
        raise ValueError("nothing to compress: the module has no Conv/Linear weight (pass layers=...)")
    selected = []
    for name in dict.fromkeys(chosen):
        parameter = named[name]
        if not parameter.is_floating_point():
            raise ValueError(f"parameter {name!r} is {parameter.dtype}, not floating point")
        selected.append((name, parameter))
    return selected
