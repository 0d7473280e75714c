"""A trained compressed network to ONNX and to ``.eqz``, with the bits per weight actually coded.

The ``.eqz`` holds each compressed weight as its integer symbols ``round(C/q_k)`` (exact: the
weights lie on their layer's grid after :meth:`PruneQuantizeCompressor.step`), entropy-coded
with :mod:`edgequant.coding`; most symbols of a pruned layer are 0 and cost a fraction of a bit.
:func:`edgequant.compress.decompress_model` restores the exported ONNX bit for bit.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__, entropy
from ..compress.packing import CodedTensor, pack_model


@dataclass
class EqzExport:
    """Sizes of an exported compressed network.

    ``coded_bits_per_weight`` is 8 × the coded symbol streams' bytes over all compressed weights
    (pruned ones included): the measured counterpart of the paper's ``density × bits``
    (``paper_bits_per_weight``). ``entropy_bits_per_weight`` is the ideal order-0 estimate.
    """

    path: Path
    onnx_bytes: int
    file_bytes: int
    weight_count: int
    nonzero: int
    bits: int
    coded_bits_per_weight: float
    entropy_bits_per_weight: float

    @property
    def density(self) -> float:
        return self.nonzero / self.weight_count

    @property
    def paper_bits_per_weight(self) -> float:
        return self.density * self.bits

    def __str__(self) -> str:
        return (f"{self.path.name}: {self.file_bytes:,} bytes (float32 ONNX {self.onnx_bytes:,} bytes, "
                f"{self.onnx_bytes / self.file_bytes:.1f}x); {self.weight_count:,} compressed weights, density "
                f"{100 * self.density:.2f}%: coded {self.coded_bits_per_weight:.3f} bits/weight "
                f"(entropy {self.entropy_bits_per_weight:.3f}) vs the paper's density x bits "
                f"{self.paper_bits_per_weight:.3f}")


class _ChannelAffine(torch.nn.Module):
    """An eval-mode BatchNorm as ``x·a + b``: the ONNX exporter would fold a BatchNorm into the
    preceding convolution, moving its weights off their quantization grid."""

    def __init__(self, bn: torch.nn.BatchNorm2d):
        super().__init__()
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        self.register_buffer("scale", scale.reshape(1, -1, 1, 1))
        self.register_buffer("shift", (bn.bias.detach() - bn.running_mean * scale).reshape(1, -1, 1, 1))

    def forward(self, x):
        return x * self.scale + self.shift


def _unfolded(model: torch.nn.Module) -> torch.nn.Module:
    import copy

    clone = copy.deepcopy(model).cpu().eval()
    for name, module in list(clone.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.BatchNorm2d) and child.track_running_stats:
                setattr(module, child_name, _ChannelAffine(child))
        del name
    return clone


def export_onnx(model: torch.nn.Module, path: str | os.PathLike | None, input_shape, opset: int = 17,
                dynamic_batch: bool = True) -> bytes:
    """Export ``model`` (eval mode) to ONNX; the Conv/Linear initializers keep their parameter names
    and exact values. The batch dimension is symbolic (``"batch"``) unless ``dynamic_batch=False``
    fixes it at 1. Writes ``path`` when given; returns the bytes."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(_unfolded(model), torch.zeros(1, *input_shape), buffer, dynamo=False,
                          do_constant_folding=False, input_names=["input"], output_names=["logits"],
                          opset_version=opset,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def export_eqz(model: torch.nn.Module, steps: dict[str, float], bits: int, path: str | os.PathLike,
               input_shape) -> EqzExport:
    """Write ``model`` as ``.eqz``: the ONNX graph plus the compressed weights' coded symbols.

    Parameters
    ----------
    model : torch.nn.Module
        Trained with a :class:`PruneQuantizeCompressor` whose last :meth:`~PruneQuantizeCompressor.step` came after the
        last weight update.
    steps : dict
        Parameter name -> the step q_k of its last compression (``{s.name: s.step for s in
        compressor.states}``).
    bits : int
        The compressor's b (for the paper's accounting only).
    path : path-like
    input_shape : tuple
        ``[C, H, W]`` of one input.

    Raises
    ------
    ValueError
        A weight not on its step's grid (not compressed, or changed after the last step), a
        step that is not > 0 (a prune-only run has nothing quantized to code), or a parameter
        name absent from the ONNX graph.
    """
    import onnx

    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: no folder {str(path.parent)!r}")
    data = export_onnx(model, None, input_shape)
    graph = onnx.load_from_string(data)
    initializers = {t.name: t for t in graph.graph.initializer}
    parameters = dict(model.named_parameters())
    coded = []
    for name, step in steps.items():
        if not step > 0:
            raise ValueError(f"{name}: step {step} is not > 0; a prune-only (32-bit) run has nothing quantized")
        if name not in initializers or name not in parameters:
            raise ValueError(f"{name!r} is not an initializer of the exported graph")
        weight = parameters[name].detach().cpu().float().numpy()
        codes = np.rint(weight / np.float32(step)).astype(np.int32)
        if not np.array_equal(np.float32(step) * codes.astype(np.float32), weight):
            raise ValueError(f"{name}: the weights are not on the grid of step {step}; call compressor.step() "
                             "after the last optimizer step")
        max_symbol = int(np.abs(codes).max(initial=0)) + 1
        coded.append(CodedTensor(name, codes, {"method": "prune_quantize", "params": {"gamma": 0.0, "bits": 16}},
                                 {"threshold": 0.0, "step": float(step), "max_symbol": max_symbol}))
    if not coded:
        raise ValueError("no weights to code")
    symbols = [tensor.symbols for tensor in coded]
    count = sum(s.size for s in symbols)
    ideal = sum(entropy.entropy(s) * s.size for s in symbols) / count
    packed = pack_model(graph, coded, f"edgequant {__version__} (training)", ideal)
    path.write_bytes(packed.data)
    return EqzExport(path=path, onnx_bytes=len(data), file_bytes=len(packed.data), weight_count=count,
                     nonzero=int(sum(np.count_nonzero(s) for s in symbols)), bits=int(bits),
                     coded_bits_per_weight=8 * packed.coded_bytes / count, entropy_bits_per_weight=ideal)


def export_runs(rows: list[dict], checkpoints: str | os.PathLike, folder: str | os.PathLike,
                rho: int = 1) -> list[dict]:
    """Export every finished quantized run (bits < 32) of a grid whose checkpoint exists to
    ``<folder>/<label>.eqz``; one row per run: sizes, coded bits/weight against the paper's
    ``density × bits``, and PE estimated (paper) and measured (coded bits)."""
    from .grid import checkpoint_name
    from .models import MODELS, build_model
    from .score import efficiency_score, measured_efficiency_score
    from .tables import baseline_accuracy, best_per_config

    base = baseline_accuracy(best_per_config(rows))
    table = []
    for row in rows:
        if row.get("status") != "ok" or row["params"]["bits"] >= 32:
            continue
        file = Path(checkpoints) / checkpoint_name(row["sweep_id"], row["params"])
        if not file.is_file():
            continue
        saved = torch.load(file, map_location="cpu", weights_only=True)
        model = build_model(saved["model"])
        model.load_state_dict(saved["state_dict"])
        gamma, bits, lr = (row["params"][k] for k in ("gamma", "bits", "lr"))
        export = export_eqz(model, saved["steps"], bits, Path(folder) / f"g{gamma:g}_b{bits}_lr{lr:g}.eqz",
                            MODELS[saved["model"]][1])
        table.append({
            "gamma": gamma, "bits": bits, "lr": lr, "test %": round(100 * row["test_acc"], 2),
            "density %": round(100 * export.density, 2), ".eqz bytes": export.file_bytes,
            "ONNX bytes": export.onnx_bytes, "paper bits/weight (p·b)": round(export.paper_bits_per_weight, 3),
            "coded bits/weight": round(export.coded_bits_per_weight, 3),
            "entropy bits/weight": round(export.entropy_bits_per_weight, 3),
            f"PE paper (ρ={rho})": round(efficiency_score(row["test_acc"], base, export.density, bits, 32, rho), 2)
            if export.density > 0 else float("nan"),
            f"PE measured (ρ={rho})": round(measured_efficiency_score(row["test_acc"], base,
                                                                      export.coded_bits_per_weight, 32, rho), 2),
        })
    return table
