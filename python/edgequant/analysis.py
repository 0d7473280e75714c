"""Weight-distribution analysis of an ONNX model (SPEC §3, the paper's Tables 3.1–3.3).

Which known distribution do a network's weights follow — as a whole, per role and per layer —
and so which quantizer suits them (Laplace → dead-zone, after Sullivan 1996)?

>>> from edgequant.analysis import analyze_model
>>> analysis = analyze_model("mnist-8.onnx", per_layer=True)
>>> print(analysis)                     # composition, top-3 by SSE and KL, recommendation
>>> analysis.whole.ranking("kl")[:3]
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

import numpy as np

from .fit import FAMILIES, FitReport, fit_distributions
from .report import format_table

#: The eight families of the paper (§2.6); Student-t and generalized normal are its "future work".
PAPER_FAMILIES = ("norm", "uniform", "cauchy", "expon", "gamma", "laplace", "alpha", "logistic")

#: Roles whose tensors are "the weights" for the whole-model fit (biases and batch-norm
#: parameters are reported per role but do not mix into the whole-model histogram).
WEIGHT_ROLES = ("conv_weight", "gemm_weight")

#: Tensors smaller than this are listed but not fitted per layer: a histogram of a few dozen
#: values says nothing about a family.
MIN_LAYER_WEIGHTS = 256


def resolve_families(families) -> tuple[str, ...]:
    """``None``/"all" → every family; "paper" → :data:`PAPER_FAMILIES`; else the given names."""
    if families is None or families == "all":
        return tuple(FAMILIES)
    if families == "paper":
        return PAPER_FAMILIES
    if isinstance(families, str):
        families = [name.strip() for name in families.split(",") if name.strip()]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {sorted(FAMILIES)} (or 'paper', 'all')")
    return tuple(families)


@dataclass
class ModelAnalysis:
    """The analysis of one model: composition, layer statistics and distribution fits.

    Attributes
    ----------
    name : str
    composition : dict
        :func:`edgequant.onnx.composition` (Table 3.1).
    layers : list of dict
        Per-tensor statistics (:func:`edgequant.onnx.layer_stats` rows).
    whole : FitReport
        Fits of every conv/gemm weight of the model together (Tables 3.2/3.3).
    by_role : dict of str to FitReport
    by_layer : dict of str to FitReport
        Only with ``per_layer=True``, for tensors of at least ``MIN_LAYER_WEIGHTS`` values.
    """

    name: str
    composition: dict
    layers: list
    whole: FitReport
    by_role: dict = field(default_factory=dict)
    by_layer: dict = field(default_factory=dict)

    def top(self, criterion: str = "sse", k: int = 3) -> list[str]:
        """The ``k`` best families of the whole model by ``criterion``."""
        return [fit.family for fit in self.whole.ranking(criterion)[:k]]

    def rank_of(self, family: str, criterion: str = "sse") -> int:
        """1-based rank of ``family`` in the whole-model ranking."""
        return [fit.family for fit in self.whole.ranking(criterion)].index(family) + 1

    def recommendation(self, criterion: str = "sse") -> str:
        return self.whole.recommendation(criterion)

    def layer_rows(self) -> list[dict]:
        """One row per fitted layer: best family by SSE and by KL, and the layer's statistics."""
        stats = {row["name"]: row for row in self.layers}
        rows = []
        for name, report in self.by_layer.items():
            row = stats[name]
            rows.append({
                "layer": name, "role": row["role"], "count": row["count"], "std": row["std"],
                "kurtosis": row["kurtosis"], "best SSE": report.best("sse").family,
                "best KL": report.best("kl").family if "kl" in report.criteria else "",
            })
        return rows

    def to_dict(self) -> dict:
        """JSON-ready (fits without their histograms' raw counts for brevity)."""
        def brief(report: FitReport) -> dict:
            data = report.to_dict()
            data.pop("histogram", None)
            return data

        return {
            "name": self.name, "composition": self.composition, "layers": self.layers,
            "whole": brief(self.whole), "by_role": {role: brief(r) for role, r in self.by_role.items()},
            "by_layer": {layer: brief(r) for layer, r in self.by_layer.items()},
        }

    def __str__(self) -> str:
        c = self.composition
        lines = [
            f"Model {self.name}: {c['parameters']:,} parameters, file {c['file_bytes']:,} bytes, "
            f"weights+biases {c['weight_and_bias_bytes']:,} bytes ({c['weight_and_bias_percent']:.1f}% of the file)",
            "",
            f"Whole-model fit of {self.whole.summary['count']:,} conv/gemm weights "
            "(top 3, as the paper's Tables 3.2/3.3):",
        ]
        for criterion in self.whole.criteria:
            ranked = self.whole.ranking(criterion)[:3]
            lines.append(f"  by {criterion.upper():3s}: " + ", ".join(
                f"{i}. {fit.family} ({fit.score(criterion):.4g})" for i, fit in enumerate(ranked, start=1)))
        for role, report in self.by_role.items():
            lines.append(f"  {role} ({report.summary['count']:,}): best by SSE {report.best('sse').family}"
                         + (f", by KL {report.best('kl').family}" if "kl" in report.criteria else ""))
        if self.by_layer:
            lines += ["", "Per layer:", format_table(self.layer_rows())]
        lines += ["", f"Recommendation: {self.recommendation()}"]
        return "\n".join(lines)


def _weights_by_role(tensors) -> dict[str, np.ndarray]:
    groups: dict[str, list[np.ndarray]] = {}
    for tensor in tensors:
        if tensor.role in ("conv_weight", "gemm_weight", "bias", "batchnorm") and tensor.size:
            groups.setdefault(tensor.role, []).append(tensor.values.reshape(-1))
    return {role: np.concatenate(parts) for role, parts in groups.items()}


def analyze_model(model, per_layer: bool = False, families=None, criteria=("sse", "kl"), bins="fd",
                  center: bool = True, mass: float = 0.99, progress: bool = False) -> ModelAnalysis:
    """Analyse the weight distributions of an ONNX model.

    Parameters
    ----------
    model : path-like or onnx.ModelProto
    per_layer : bool
        Also fit every conv/gemm/bias tensor with at least ``MIN_LAYER_WEIGHTS`` values.
    families : None, "all", "paper" or list of str
        Families to fit; "paper" is the paper's eight (:data:`PAPER_FAMILIES`).
    criteria, bins, center, mass
        As :func:`edgequant.fit.fit_distributions` (the paper: histogram centred on the mean,
        range limited to the central mass).
    progress : bool
        Show a progress bar over layers.

    Raises
    ------
    ValueError
        Malformed or non-ONNX files, missing external data, a model without float weights,
        NaN/Inf weights, unknown family names.
    """
    from .onnx import composition, layer_stats, load_model, weights

    families = resolve_families(families)
    name = pathlib.Path(model).name if isinstance(model, (str, pathlib.Path)) else (model.graph.name or "model")
    loaded = load_model(model)
    tensors = weights(loaded)
    options = {"families": families, "criteria": criteria, "bins": bins, "center": center, "mass": mass}
    groups = _weights_by_role(tensors)
    weight_parts = [groups[role] for role in WEIGHT_ROLES if role in groups]
    if not weight_parts:
        raise ValueError(f"{name} has no conv or gemm weights to analyse")
    whole = fit_distributions(np.concatenate(weight_parts), **options)
    by_role = {role: fit_distributions(values, **options) for role, values in groups.items()
               if values.size >= MIN_LAYER_WEIGHTS}
    by_layer = {}
    if per_layer:
        from tqdm.auto import tqdm

        candidates = [t for t in tensors if t.role in ("conv_weight", "gemm_weight", "bias")
                      and t.size >= MIN_LAYER_WEIGHTS]
        for tensor in tqdm(candidates, desc="fitting layers", disable=not progress, leave=False):
            by_layer[tensor.name] = fit_distributions(tensor.values, **options)
    source = model if isinstance(model, (str, pathlib.Path)) else loaded
    return ModelAnalysis(name=name, composition=composition(source), layers=layer_stats(tensors).to_records(),
                         whole=whole, by_role=by_role, by_layer=by_layer)
