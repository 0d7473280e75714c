"""The paper's Tables I and II from a grid's rows, beside the paper's own numbers."""

from __future__ import annotations

from .score import efficiency_score

#: Paper 002 Table I: (γ, bits) -> (test accuracy %, density %), best over the learning rates.
PAPER_TABLE_I = {
    (0.0, 32): (87.21, 100.00), (0.0, 16): (86.84, 73.55), (0.0, 8): (62.15, 99.93), (0.0, 4): (10.95, 100.00),
    (0.0, 3): (12.05, 100.00),
    (0.125, 32): (83.74, 18.64), (0.125, 16): (83.76, 14.72), (0.125, 8): (84.04, 11.22),
    (0.125, 4): (83.85, 19.69), (0.125, 3): (74.95, 33.00),
    (0.25, 32): (84.49, 8.04), (0.25, 16): (84.48, 16.38), (0.25, 8): (83.03, 22.66), (0.25, 4): (81.89, 14.91),
    (0.25, 3): (76.43, 31.71),
    (0.375, 32): (84.42, 6.58), (0.375, 16): (83.61, 6.56), (0.375, 8): (84.78, 8.68), (0.375, 4): (79.75, 12.53),
    (0.375, 3): (76.29, 25.05),
    (0.5, 32): (83.33, 6.29), (0.5, 16): (83.34, 15.22), (0.5, 8): (83.58, 13.99), (0.5, 4): (80.74, 8.50),
    (0.5, 3): (76.00, 22.29),
    (0.625, 32): (83.20, 12.09), (0.625, 16): (83.04, 5.45), (0.625, 8): (83.41, 7.42), (0.625, 4): (79.20, 6.93),
    (0.625, 3): (75.60, 18.60),
    (0.75, 32): (82.68, 5.81), (0.75, 16): (82.72, 7.06), (0.75, 8): (82.47, 12.78), (0.75, 4): (79.34, 7.11),
    (0.75, 3): (75.69, 13.43),
}

#: Paper 002 Table II: (γ, bits) -> PE for ρ = 1, 2, 3.
PAPER_TABLE_II = {
    (0.125, 8): (34.36, 33.11, 31.90), (0.125, 4): (39.06, 37.55, 36.10), (0.125, 3): (27.78, 23.87, 20.52),
    (0.25, 8): (16.81, 16.00, 15.23), (0.25, 4): (50.37, 47.30, 44.41), (0.25, 3): (29.48, 25.83, 22.64),
    (0.375, 8): (44.81, 43.56, 42.35), (0.375, 4): (58.37, 53.37, 48.80), (0.375, 3): (37.25, 32.59, 28.50),
    (0.5, 8): (27.39, 26.25, 25.16), (0.5, 4): (87.09, 80.62, 74.63), (0.5, 3): (41.70, 36.33, 31.66),
    (0.625, 8): (51.55, 49.30, 47.15), (0.625, 4): (104.90, 95.27, 86.52), (0.625, 3): (49.72, 43.10, 37.36),
    (0.75, 8): (29.59, 27.98, 26.45), (0.75, 4): (102.42, 93.18, 84.77), (0.75, 3): (68.95, 59.84, 51.94),
}


def best_per_config(rows: list[dict]) -> dict[tuple[float, int], dict]:
    """For each (γ, bits), the finished run with the best validation accuracy over learning rates."""
    best: dict[tuple[float, int], dict] = {}
    for row in rows:
        if row.get("status") != "ok":
            continue
        key = (float(row["params"]["gamma"]), int(row["params"]["bits"]))
        if key not in best or row["val_acc"] > best[key]["val_acc"]:
            best[key] = row
    return best


def baseline_accuracy(best: dict) -> float:
    """Test accuracy of the best uncompressed run (γ = 0, 32 bits), as the paper's baseline."""
    if (0.0, 32) not in best:
        raise ValueError("the grid has no finished uncompressed run (gamma=0, bits=32): no baseline for PE")
    return best[(0.0, 32)]["test_acc"]


def table_i(rows: list[dict], paper: bool = True) -> list[dict]:
    """Table I: test accuracy (density) per γ × bits, in %, ours and (``paper``) the paper's."""
    best = best_per_config(rows)
    gammas = sorted({g for g, _ in best})
    bits = sorted({b for _, b in best}, reverse=True)
    table = []
    for gamma in gammas:
        line = {"gamma": gamma}
        for b in bits:
            run = best.get((gamma, b))
            line[f"{b} bits"] = "" if run is None else f"{100 * run['test_acc']:.2f}% ({100 * run['density']:.2f}%)"
            if paper and (gamma, b) in PAPER_TABLE_I:
                acc, density = PAPER_TABLE_I[(gamma, b)]
                line[f"{b} bits (paper)"] = f"{acc:.2f}% ({density:.2f}%)"
        table.append(line)
    return table


def table_ii(rows: list[dict], bits=(8, 4, 3), rhos=(1, 2, 3), paper: bool = True) -> list[dict]:
    """Table II: PE per γ (> 0) × bits for each ρ, against the best uncompressed run."""
    best = best_per_config(rows)
    base = baseline_accuracy(best)
    table = []
    for gamma in sorted({g for g, _ in best if g > 0}):
        line = {"gamma": gamma}
        for rho in rhos:
            for b in bits:
                run = best.get((gamma, b))
                if run is None:
                    continue
                score = efficiency_score(run["test_acc"], base, run["density"], b, 32, rho) if run["density"] > 0 \
                    else float("nan")
                line[f"rho={rho} {b} bits"] = round(score, 2)
                if paper and (gamma, b) in PAPER_TABLE_II:
                    line[f"rho={rho} {b} bits (paper)"] = PAPER_TABLE_II[(gamma, b)][rho - 1]
        table.append(line)
    return table


def markdown(table: list[dict]) -> str:
    """A list of dicts as a Markdown table (columns from the first row)."""
    if not table:
        return "(no rows)"
    columns = list(dict.fromkeys(k for row in table for k in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in table]
    return "\n".join(lines)
