"""Compression-aware training: prune-then-quantize after every optimizer step (SPEC §5, paper 002).

Needs PyTorch (``pip install 'edgequant[torch]'``, which pins ``torch==2.13.0``); the scores
work without it.

>>> from edgequant.training import PruneQuantizeCompressor, efficiency_score
>>> compressor = PruneQuantizeCompressor(model, gamma=0.375, bits=8)
>>> for x, y in batches:
...     loss_fn(model(x), y).backward(); optimizer.step(); optimizer.zero_grad()
...     compressor.step()            # prune at γ·std(W), quantize the survivors, in place
>>> compressor.density()["total"]
"""

from __future__ import annotations

import importlib

from .score import efficiency_score, measured_efficiency_score

#: Public names that need torch, and the module that defines each (imported on first use).
_LAZY = {
    "PruneQuantizeCompressor": "compressor", "MODES": "compressor", "THRESHOLD_STDS": "compressor",
    "GRIDS": "compressor",
    "Protocol": "trainer", "RunResult": "trainer", "train_run": "trainer", "accuracy": "trainer",
    "pick_device": "trainer",
    "MODELS": "models", "build_model": "models", "paper_cifar10_cnn": "models", "digits_cnn": "models",
    "paper_mnist_cnn": "models", "mnist_data": "data",
    "TrainingData": "data", "digits_data": "data", "cifar10_data": "data",
    "run_training_grid": "grid", "training_grid": "grid", "PAPER_GAMMAS": "grid", "PAPER_BITS": "grid",
    "PAPER_LRS": "grid",
    "export_onnx": "export", "export_eqz": "export",
    "table_i": "tables", "table_ii": "tables", "best_per_config": "tables",
    "plot_figures": "plots",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    except ModuleNotFoundError as error:
        if error.name == "torch":
            raise ImportError(f"edgequant.training.{name} needs PyTorch: pip install 'edgequant[torch]' "
                              "(torch==2.13.0)") from None
        raise
    globals()[name] = value
    return value


__all__ = ["efficiency_score", "measured_efficiency_score", *_LAZY]
