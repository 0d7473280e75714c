"""One long compression-aware run that survives interruptions, with a per-layer trace (paper 002).

The paper trains for up to 200 epochs (~300,000 steps at batch 32). :func:`train_long` runs that
protocol — SGD with momentum, prune-then-quantize after every step — checkpointing at the end of
every epoch and appending a record to a trace every few thousand steps, so a run longer than one
sitting continues where it stopped, bit for bit (model, optimizer, compressor, batch order and
dropout RNG are all in the checkpoint). A run's folder holds::

    config.json       the LongRunConfig (a resumed run must match it)
    checkpoint.pt     the state after the last whole epoch
    trace.jsonl       one JSON record per recorded step (density, accuracy, per-layer β, q_k,
                      std, kurtosis, ...), cut back to the checkpoint's step on resume
    status.json       "running" / "stopped" (budget) / "done" / "diverged", and why

>>> config = LongRunConfig(dataset="mnist", gamma=0.375, bits=8, lr=0.05)
>>> trace = train_long(config, "out/long/mnist-paper", steps=300_000, budget_s=3600)
>>> trace.records[-1]["density"]
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .compressor import GRIDS, MODES, THRESHOLD_STDS, PruneQuantizeCompressor
from .models import MODELS, build_model
from .trainer import draw_epoch, epoch_batches

#: Data sets a long run trains on, with the model each uses by default.
DATASETS = {"mnist": "paper_mnist_cnn", "cifar10": "paper_cifar10_cnn", "digits": "digits_cnn"}

#: Steps recorded before the regular ``record_every`` grid starts (the fast early fall of density).
_EARLY_STEPS = (0, 25, 50, 100, 250, 500, 1000)


@dataclass(frozen=True)
class LongRunConfig:
    """Everything that decides a long run's result (the target step count does not: runs extend).

    Attributes
    ----------
    dataset : {"mnist", "cifar10", "digits"}
        MNIST: the shared 10,000 test images split 8,000 train / 2,000 test (or the 60,000 training
        images when present); CIFAR-10: all 50,000 training images, 2,000 test images, random flips.
    model : str, optional
        Default per data set (:data:`DATASETS`).
    mode, gamma, bits, threshold_std, grid, warmup_steps
        The compressor's settings (:class:`PruneQuantizeCompressor`); ``warmup_steps=None`` in
        frozen mode fixes the mask after one epoch.
    lr, momentum, weight_decay, batch_size
        SGD (torch's: momentum without dampening, L2 weight decay folded into the gradient).
    reset_pruned_momentum : bool, default False
        Zero the momentum buffer wherever the compressor left a zero (not the paper's method: a
        stability probe; pruned weights then restart from the gradient alone).
    seed : int
        Initialisation, batch order and dropout.
    """

    dataset: str = "mnist"
    model: str | None = None
    mode: str = "paper"
    gamma: float = 0.375
    bits: int = 8
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 32
    threshold_std: str = "all"
    grid: str = "zero"
    warmup_steps: int | None = None
    reset_pruned_momentum: bool = False
    seed: int = 0

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {self.dataset!r}")
        if self.model is not None and self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; known: {sorted(MODELS)}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {list(GRIDS)}, got {self.grid!r}")
        if self.threshold_std not in THRESHOLD_STDS:
            raise ValueError(f"threshold_std must be one of {list(THRESHOLD_STDS)}, got {self.threshold_std!r}")
        for name in ("lr", "momentum", "weight_decay", "gamma"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 2):
            raise ValueError(f"batch_size must be an integer >= 2 (BatchNorm), got {self.batch_size!r}")

    @property
    def model_name(self) -> str:
        return self.model or DATASETS[self.dataset]

    @property
    def name(self) -> str:
        """A short folder name: ``mnist-paper-g0.375-b8-lr0.05`` (+ the non-default options)."""
        parts = [self.dataset, self.mode, f"g{self.gamma:g}", f"b{self.bits}", f"lr{self.lr:g}"]
        if self.weight_decay != 5e-4:
            parts.append(f"wd{self.weight_decay:g}")
        if self.momentum != 0.9:
            parts.append(f"m{self.momentum:g}")
        if self.threshold_std != "all":
            parts.append(f"std-{self.threshold_std}")
        if self.grid != "zero":
            parts.append(f"grid-{self.grid}")
        if self.reset_pruned_momentum:
            parts.append("reset-momentum")
        if self.seed:
            parts.append(f"seed{self.seed}")
        return "-".join(parts)

    def label(self) -> str:
        """A legend label: ``paper γ=0.375 b=8 lr=0.05``."""
        extra = "".join([" std over survivors" if self.threshold_std == "survivors" else "",
                         " levels from β" if self.grid == "threshold" else "",
                         " momentum reset" if self.reset_pruned_momentum else "",
                         f" wd={self.weight_decay:g}" if self.weight_decay != 5e-4 else "",
                         f" momentum={self.momentum:g}" if self.momentum != 0.9 else ""])
        data = "" if self.dataset == "mnist" else f"{self.dataset} "
        return f"{data}{self.mode} γ={self.gamma:g} b={self.bits} lr={self.lr:g}{extra}"


@dataclass
class LongRunTrace:
    """A long run's records (oldest first) and how its last sitting ended."""

    config: LongRunConfig
    records: list[dict] = field(default_factory=list)
    status: str = "running"
    reason: str = ""

    @property
    def steps(self) -> int:
        return self.records[-1]["step"] if self.records else 0

    def column(self, key: str) -> np.ndarray:
        """One field of every record (NaN where a record lacks it)."""
        return np.array([record.get(key, np.nan) for record in self.records], dtype=np.float64)

    def first_step_below(self, density: float) -> int | None:
        """The first recorded step whose total density is below ``density`` (None if never)."""
        for record in self.records:
            if record.get("density", 1.0) < density:
                return int(record["step"])
        return None


def load_trace(folder) -> LongRunTrace:
    """Read a run folder written by :func:`train_long` (while it runs, too)."""
    folder = Path(folder)
    try:
        config = LongRunConfig(**json.loads((folder / "config.json").read_text()))
    except FileNotFoundError:
        raise FileNotFoundError(f"{str(folder)!r} is not a long-run folder (no config.json)") from None
    records = _read_records(folder / "trace.jsonl")
    status = json.loads((folder / "status.json").read_text()) if (folder / "status.json").is_file() else {}
    return LongRunTrace(config, records, status.get("status", "running"), status.get("reason", ""))


def load_data(config: LongRunConfig, path=None):
    """The :class:`~.data.TrainingData` a config trains on (``path``: the data set's local files)."""
    from .data import cifar10_data, digits_data, mnist_data

    if config.dataset == "mnist":
        return mnist_data(path, seed=config.seed)
    if config.dataset == "cifar10":
        return cifar10_data(path, test_images=2000, validation=0.02, seed=config.seed)
    return digits_data(seed=config.seed)


def train_long(config: LongRunConfig, folder, steps: int, record_every: int = 2000, budget_s: float | None = None,
               threads: int | None = 1, data=None, progress: bool = True,
               stop_when_dead: int | None = None, device="cpu") -> LongRunTrace:
    """Train ``config`` up to ``steps`` optimizer steps in ``folder``, resuming what is there.

    Parameters
    ----------
    config : LongRunConfig
    folder : str or os.PathLike
        The run's folder; created if needed. A folder holding another config is refused.
    steps : int
        Train until this many steps are done (a finished run given more steps continues).
    record_every : int, default 2000
        Record density, test accuracy and the per-layer statistics every this many steps (and at
        steps 0, 25, 50, 100, 250, 500 and 1,000).
    budget_s : float, optional
        Stop at the first epoch end after this many seconds of this sitting (status "stopped";
        call again to continue).
    threads : int or None, default 1
        ``torch.set_num_threads`` for this process (None leaves it). Two runs with one thread each
        use two cores better than one run with two: the layers are small.
    data : TrainingData, optional
        Default :func:`load_data` of the config.
    progress : bool, default True
        A tqdm bar over the steps.
    stop_when_dead : int, optional
        Stop (status "collapsed") once every record of the last this-many steps has a test
        accuracy below twice chance (10 classes: 20 %): a network that has died does not come back.
    device : str or torch.device, default "cpu"
        Where the model, the training images and the compressor's work live (``"cuda"``: the
        compressor's torch path). The batch order and flips are drawn on the CPU either way, so a
        run can move between devices at a checkpoint; it is bit-exact on resume on one device only.

    Returns
    -------
    LongRunTrace
        Every record so far; ``status`` "done", "stopped", "collapsed" or "diverged" (NaN weights
        or loss: the record of that step says where, the checkpoint keeps the last whole epoch).
    """
    if not (isinstance(steps, int) and steps >= 0):
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not (isinstance(record_every, int) and record_every >= 1):
        raise ValueError(f"record_every must be an integer >= 1, got {record_every!r}")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r} ({error})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but this torch sees no CUDA GPU (train on 'cpu')")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder):
        _claim(folder, config)
        return _train(config, folder, steps, record_every, budget_s, threads, data, progress, stop_when_dead, device)


def _train(config, folder: Path, steps, record_every, budget_s, threads, data, progress, stop_when_dead, device):
    if threads is not None:
        torch.set_num_threads(threads)
    data = load_data(config) if data is None else data
    session = _Session(config, data, device)
    trace = LongRunTrace(config)
    checkpoint = folder / "checkpoint.pt"
    if checkpoint.is_file():
        try:
            saved = torch.load(checkpoint, map_location=device, weights_only=False)  # the run's own file
        except Exception as error:
            raise ValueError(f"{str(checkpoint)!r} cannot be read ({type(error).__name__}: {error}); delete it to "
                             "restart the run from step 0") from None
        session.restore(saved)
    trace.records = [r for r in _read_records(folder / "trace.jsonl") if r["step"] <= session.step]
    _write_records(folder / "trace.jsonl", trace.records)
    if not trace.records:
        trace.records.append(session.record())
        _append_record(folder / "trace.jsonl", trace.records[-1])
    _write_status(folder, "running")
    started = time.perf_counter()
    bar = _progress_bar(progress, steps, session.step, config.label())
    try:
        for event, recorded in session.advance(steps, record_every):
            if event == "record":
                trace.records.append(recorded)
                _append_record(folder / "trace.jsonl", recorded)
                if bar is not None:
                    bar.update(session.step - bar.n)
                    bar.set_postfix(density=f"{recorded['density']:.4f}", test=f"{recorded['test_acc']:.3f}")
                if stop_when_dead and _dead_for(trace.records, stop_when_dead):
                    _save_atomically(session.checkpoint(), checkpoint)
                    trace.status = "collapsed"
                    trace.reason = f"test accuracy below 20 % for the last {stop_when_dead:,} steps"
                    break
                continue
            _save_atomically(session.checkpoint(), checkpoint)
            if budget_s is not None and time.perf_counter() - started >= budget_s:
                trace.status, trace.reason = "stopped", f"budget of {budget_s:g} s for this sitting"
                break
        else:
            _save_atomically(session.checkpoint(), checkpoint)
            trace.status, trace.reason = "done", f"{steps:,} steps"
    except _Diverged as diverged:
        trace.records.append(diverged.record)
        _append_record(folder / "trace.jsonl", diverged.record)
        trace.status, trace.reason = "diverged", str(diverged)
    except KeyboardInterrupt:
        _write_status(folder, "stopped", f"interrupted at step {session.step:,}; the last checkpoint is kept")
        raise
    finally:
        if bar is not None:
            bar.close()
    _write_status(folder, trace.status, trace.reason)
    return trace


def _dead_for(records: list[dict], span: int) -> bool:
    """Every record of the last ``span`` steps (the window fully recorded) is below 20 % accuracy."""
    last = records[-1]["step"]
    window = [r for r in records if r["step"] >= last - span]
    return window[0]["step"] <= last - span and all(r.get("test_acc", 1.0) < 0.2 for r in window)


def _defers_checks(device: torch.device) -> bool:
    """Whether steps on ``device`` leave NaN/Inf and loss checks to records and epoch ends: on a GPU,
    where each check is a wait; on the CPU they cost nothing and name the exact step."""
    return device.type != "cpu"


class _Diverged(Exception):
    def __init__(self, message: str, record: dict):
        super().__init__(message)
        self.record = record


class _Session:
    """The model, optimizer, compressor and RNGs of one run, stepped an epoch at a time."""

    def __init__(self, config: LongRunConfig, data, device: torch.device):
        self.config = config
        self.data = data
        self.device = device
        self.model = build_model(config.model_name, config.seed).to(device)
        if any(isinstance(m, nn.Conv2d) for m in self.model.modules()):  # NHWC: ~15 % faster here
            self.model = self.model.to(memory_format=torch.channels_last)
        warmup = config.warmup_steps
        if warmup is None:
            warmup = len(data.y_train) // config.batch_size if config.mode == "frozen" else 0
        # on a GPU nothing in a step waits for the device: NaN/Inf, the loss and the running accuracy
        # are looked at when recording and at epoch ends (a wait per step would idle the GPU)
        self.deferred = _defers_checks(device)
        self.compressor = PruneQuantizeCompressor(self.model, config.gamma, config.bits, mode=config.mode,
                                                  warmup_steps=warmup, threshold_std=config.threshold_std,
                                                  grid=config.grid, check_every_step=not self.deferred)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.x_train = torch.from_numpy(data.x_train).to(device)  # on a GPU: no copy per batch
        self.y_train = torch.from_numpy(data.y_train).to(device)
        self.step = 0
        self.epochs = 0
        self.train_s = 0.0
        self._order: torch.Tensor | None = None  # the current epoch's permutation
        self._flips: torch.Tensor | None = None  # and its flips (augmented data)
        self._checked_step = 0  # deferred: the last step known free of NaN/Inf
        self._position = 0  # where its next batch starts
        self._loss_sum = self._correct = self._seen = 0
        with torch.random.fork_rng(devices=[]):
            self.compressor.step()  # the first forward pass already sees compressed weights
        torch.manual_seed(config.seed)  # dropout

    def advance(self, steps: int, record_every: int):
        """Train up to ``steps``, yielding ``("record", record)`` at every recorded step and
        ``("epoch", None)`` at every epoch end (where the caller checkpoints and may stop)."""
        while self.step < steps:
            if self._order is None:
                self._order, self._flips = draw_epoch(len(self.y_train), self.config.batch_size, self.generator,
                                                      self.data.augment)
                self._position = 0
            self.model.train()
            tick = time.perf_counter()
            for x, y in epoch_batches(self.x_train, self.y_train, self.config.batch_size, self.generator,
                                      self.data.augment, self.device, order=self._order, start=self._position,
                                      flips=self._flips):
                self._position += self.config.batch_size
                self._train_step(x, y)
                if self.step in _EARLY_STEPS or self.step % record_every == 0 or self.step == steps:
                    self._check_deferred()
                    self.train_s += time.perf_counter() - tick
                    yield "record", self.record()
                    self.model.train()
                    tick = time.perf_counter()
                if self.step >= steps:
                    break
            self._check_deferred()
            self.train_s += time.perf_counter() - tick
            if self._position >= len(self._order):
                self._order = self._flips = None
                self.epochs += 1
                yield "epoch", None

    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        self.optimizer.zero_grad(set_to_none=True)
        output = self.model(x)
        loss = nn.functional.cross_entropy(output, y)
        loss.backward()
        self.optimizer.step()
        try:
            self.compressor.step()
        except ValueError as error:  # NaN/Inf weights
            raise _Diverged(f"step {self.step + 1}: {error}", {"step": self.step + 1, "diverged": str(error)}) \
                from None
        if self.config.reset_pruned_momentum:
            self._reset_pruned_momentum()
        if self.deferred:  # device tensors: NaN in the loss stays in the sum until _check_deferred
            self.step += 1
            self._loss_sum = self._loss_sum + loss.detach().double() * len(y)
            self._correct = self._correct + (output.argmax(1) == y).sum()
            self._seen += len(y)
            return
        value = loss.item()
        if not math.isfinite(value):
            raise _Diverged(f"step {self.step + 1}: loss {value}", {"step": self.step + 1, "diverged": "loss"})
        self.step += 1
        self._loss_sum += value * len(y)
        self._correct += int((output.argmax(1) == y).sum())
        self._seen += len(y)

    def _check_deferred(self) -> None:
        """Deferred steps: wait for the device, then raise _Diverged if a step since the last check
        met NaN/Inf (weights or loss); the record names the step range."""
        if not self.deferred or self.step == self._checked_step:
            return
        since = f"steps {self._checked_step + 1:,}-{self.step:,}"
        try:
            self.compressor.check_finite()
        except ValueError as error:
            raise _Diverged(f"{since}: {error}", {"step": self.step, "diverged": str(error)}) from None
        if isinstance(self._loss_sum, torch.Tensor):
            self._loss_sum, self._correct = float(self._loss_sum), int(self._correct)
            if not math.isfinite(self._loss_sum):
                raise _Diverged(f"{since}: loss {self._loss_sum}", {"step": self.step, "diverged": "loss"})
        self._checked_step = self.step

    def _reset_pruned_momentum(self) -> None:
        for _, parameter in self.compressor.parameters:
            buffer = self.optimizer.state.get(parameter, {}).get("momentum_buffer")
            if buffer is not None:
                buffer.mul_(parameter.data != 0)

    @torch.no_grad()
    def record(self) -> dict:
        """Density, accuracies and the per-layer statistics now."""
        from .trainer import accuracy

        densities = self.compressor.density()
        layers = {}
        for (name, parameter), state in zip(self.compressor.parameters, self.compressor.states, strict=True):
            layers[name] = {"density": densities[name], "beta": state.threshold, "q": state.step,
                            **weight_statistics(parameter.detach())}
        record = {
            "step": self.step, "epoch": self.epochs, "train_s": round(self.train_s, 2),
            "loss": self._loss_sum / self._seen if self._seen else None,
            "train_acc": self._correct / self._seen if self._seen else None,
            "test_acc": accuracy(self.model, self.data.x_test, self.data.y_test, self.device),
            "density": densities["total"], "layers": layers,
        }
        self._loss_sum = self._correct = self._seen = 0
        return record

    def checkpoint(self) -> dict:
        return {"config": asdict(self.config), "step": self.step, "epochs": self.epochs, "train_s": self.train_s,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "compressor": self.compressor.state_dict(), "generator": self.generator.get_state(),
                "torch_rng": torch.get_rng_state(), "order": self._order, "flips": self._flips,
                "position": self._position,
                "accumulated": (self._loss_sum, self._correct, self._seen),
                # dropout on a GPU draws from the device's generator
                "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None}

    def restore(self, saved: dict) -> None:
        if saved.get("config") != asdict(self.config):
            raise ValueError("the checkpoint was written by another configuration")
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.compressor.load_state_dict(saved["compressor"])
        self.generator.set_state(saved["generator"].cpu())
        torch.set_rng_state(saved["torch_rng"].cpu())
        if self.device.type == "cuda" and saved.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"].cpu(), self.device)
        self.step, self.epochs, self.train_s = int(saved["step"]), int(saved["epochs"]), float(saved["train_s"])
        self._order = None if saved["order"] is None else saved["order"].cpu()
        # a checkpoint written before flips were drawn per epoch: epoch_batches draws them per batch
        self._flips = None if saved.get("flips") is None else saved["flips"].cpu()
        self._position = int(saved["position"])
        self._loss_sum, self._correct, self._seen = saved["accumulated"]
        self._checked_step = self.step


def weight_statistics(weight: torch.Tensor) -> dict:
    """std, excess kurtosis (of all weights and of the non-zero ones), RMS of the non-zero ones,
    max|w| and the L2 norm: what decides how much γ·std(W) prunes."""
    w = weight.double().reshape(-1)
    survivors = w[w != 0]
    return {"std": float(w.std(unbiased=False)) if w.numel() else 0.0,
            "kurtosis": _excess_kurtosis(w), "kurtosis_survivors": _excess_kurtosis(survivors),
            "rms_survivors": float(survivors.square().mean().sqrt()) if survivors.numel() else 0.0,
            "max_abs": float(w.abs().max()) if w.numel() else 0.0, "norm": float(w.norm())}


def _excess_kurtosis(values: torch.Tensor) -> float | None:
    if values.numel() < 2:
        return None
    centred = values - values.mean()
    variance = float(centred.square().mean())
    if variance == 0:
        return None
    return float(centred.pow(4).mean()) / variance ** 2 - 3.0


@contextlib.contextmanager
def _exclusive(folder: Path):
    """Hold ``folder/lock`` while training: two processes on one run would overwrite each other."""
    with open(folder / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"{str(folder)!r} is being trained by another process") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _claim(folder: Path, config: LongRunConfig) -> None:
    path = folder / "config.json"
    mine = asdict(config)
    if path.is_file():
        theirs = json.loads(path.read_text())
        if theirs != mine:
            raise ValueError(f"{str(folder)!r} holds another run ({theirs}); pick another folder")
        return
    path.write_text(json.dumps(mine, indent=1) + "\n")


def _read_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill: the checkpoint is older anyway
                break
    return records


def _append_record(path: Path, record: dict) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def _write_records(path: Path, records: list[dict]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text("".join(json.dumps(r) + "\n" for r in records))
    os.replace(temporary, path)


def _write_status(folder: Path, status: str, reason: str = "") -> None:
    (folder / "status.json").write_text(json.dumps({"status": status, "reason": reason}) + "\n")


def _save_atomically(state: dict, path: Path) -> None:
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def _progress_bar(enabled: bool, total: int, done: int, label: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc=label, unit="step", mininterval=5)
