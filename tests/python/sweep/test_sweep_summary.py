"""The summary picks the lowest entropy within the budget (constructed tables)."""

import math

import pytest

from edgequant.sweep import best_within_budget, summary_table


def row(label, entropy, top1, status="ok", **extra):
    return {"label": label, "method": label.split()[0], "params": {"levels": 2**int(entropy + 1)},
            "entropy": entropy, "compression_ratio": 32 / entropy, "top1": top1, "status": status,
            **extra}  # fmt: skip


BASELINE = {"top1": 0.90, "top1_agreement": 1.0}

ROWS = [
    row("midtread", 1.0, 0.70),  # cheapest, far outside the budget
    row("midtread", 2.0, 0.893),  # 0.7 pp: within 1 pp
    row("midtread", 3.0, 0.899),
    row("deadzone δ=0.1", 1.5, 0.88),  # 2 pp: outside
    row("deadzone δ=0.1", 2.5, 0.89),  # exactly 1 pp: within (budget is inclusive)
    row("mulaw", 0.5, float("nan")),  # NaN metric: never picked
    row("mulaw", 0.4, 0.90, status="error"),  # failed point: never picked
    row("affine per-tensor", 2.0, 0.91),  # same entropy as midtread, better metric: wins the tie
]


def test_best_is_the_lowest_entropy_within_budget():
    best = best_within_budget(ROWS, BASELINE, budget_pp=1.0)
    assert best["label"] == "affine per-tensor" and best["entropy"] == 2.0
    assert best["loss_pp"] == pytest.approx(-1.0)
    assert best_within_budget(ROWS[:3], BASELINE, budget_pp=1.0)["entropy"] == 2.0
    assert best_within_budget(ROWS[:3], BASELINE, budget_pp=0.5)["entropy"] == 3.0
    assert best_within_budget(ROWS[:3], BASELINE, budget_pp=25)["entropy"] == 1.0
    assert best_within_budget(ROWS[:1], BASELINE, budget_pp=1.0) is None


def test_summary_has_the_best_point_of_each_curve_sorted_by_entropy():
    table = summary_table(ROWS, BASELINE, budget_pp=1.0)
    assert [(t["label"], t["entropy"]) for t in table] == [
        ("midtread", 2.0), ("affine per-tensor", 2.0), ("deadzone δ=0.1", 2.5),
    ]  # fmt: skip
    deadzone = table[2]
    assert deadzone["loss_pp"] == pytest.approx(1.0) and deadzone["compression_ratio"] == 32 / 2.5
    assert math.isclose(deadzone["metric"], 0.89)


def test_label_free_metric_and_bad_budgets():
    rows = [{**r, "top1_agreement": r["top1"] + 0.1} for r in ROWS[:3]]
    best = best_within_budget(rows, {"top1_agreement": 1.0}, budget_pp=0.5)  # metric inferred
    assert best["entropy"] == 3.0  # agreement 0.999; the 2-bit point agrees on 0.993 only
    with pytest.raises(ValueError, match="budget_pp"):
        best_within_budget(ROWS, BASELINE, budget_pp=-1)
    with pytest.raises(ValueError, match="not among the reference metrics"):
        best_within_budget(ROWS, BASELINE, metric="f1")
