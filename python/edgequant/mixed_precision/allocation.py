"""Exact bit allocation under a budget: a multiple-choice knapsack (SPEC §7.3).

Choose ``b_c ∈ choices`` for every component to minimise ``Σ costs[c][b_c]`` subject to
``Σ weight[c][b_c] ≤ budget``, where a choice's weight is ``sizes[c]·b`` bits (a budget in bits
per weight) or the entropy-coded bytes of the component at ``b`` bits (a budget in bytes,
:func:`~.coded_size.coded_weight_bytes`). The weights are integers, so the problem is solved
exactly: dynamic programming over the budget once every component's cheapest choice is paid for
and the grid is divided by the gcd of the remaining increments, or — when that table would be too
large — an integer linear program (``scipy.optimize.milp``, zero optimality gap). Never greedily.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from functools import reduce

import numpy as np

from .quantization import check_choices

__all__ = ["achieved_bits_per_weight", "allocate_bits"]

#: Largest DP choice table (components × budget grid cells, 2 bytes each) before the ILP takes over.
_MAX_DP_CELLS = 20_000_000


def allocate_bits(costs: Mapping[str, Mapping[int, float]], sizes: Mapping[str, int],
                  budget_bits_per_weight: float | None = None, budget_bytes: int | None = None,
                  choices: Sequence[int] = (2, 4, 8),
                  coded_bytes: Mapping[str, Mapping[int, int]] | None = None) -> dict[str, int]:
    """``{component: bits}`` of least total cost within the budget (see the module docstring).

    Parameters
    ----------
    costs : mapping component -> {bits: cost}
        E.g. :func:`~.significance.layer_costs`; every choice must have a finite cost.
    sizes : mapping component -> int
        Weight count of each component (> 0); the same keys as ``costs``.
    budget_bits_per_weight : float, optional
        Average bits per weight: the budget is ``floor(budget · Σ sizes)`` bits (the decimal
        value as written, so 3.3 means 33/10; a product within 1e-9 of an integer is that integer,
        so that 10/3 in floating point still gives 10 bits to 3 weights).
    budget_bytes : int, optional
        Budget in entropy-coded bytes; needs ``coded_bytes``. Exactly one budget is given.
    choices : sequence of int, default (2, 4, 8)
    coded_bytes : mapping component -> {bits: bytes}, optional
        Coded size of each component at each choice (:func:`~.coded_size.coded_weight_bytes`).

    Returns
    -------
    dict of str to int

    Raises
    ------
    ValueError
        Empty or mismatched inputs, negative or non-integer sizes, a missing or non-finite cost,
        both or neither budget, or a budget below the minimum (every component at its cheapest
        choice) — the message gives both numbers.
    """
    choices = check_choices(choices)
    names = _check_keys(costs, sizes)
    cost_table = np.array([[_cost(costs, name, b) for b in choices] for name in names], dtype=np.float64)
    size_array = np.array([_size(sizes, name) for name in names], dtype=object)
    if (budget_bits_per_weight is None) == (budget_bytes is None):
        raise ValueError("give exactly one of budget_bits_per_weight and budget_bytes")
    if budget_bytes is None:
        budget_value = _positive_number(budget_bits_per_weight, "budget_bits_per_weight")
        total = int(sum(size_array))
        exact = budget_value * total
        nearest = round(exact)  # 10/3 typed as 3.3333333333333335 still means 10 bits for 3 weights
        budget = nearest if abs(exact - nearest) <= Fraction(1, 10**9) else math.floor(exact)
        weights = [[int(size) * b for b in choices] for size in size_array]
        minimum = sum(min(w) for w in weights)
        if budget < minimum:
            raise ValueError(f"budget_bits_per_weight={budget_bits_per_weight} gives {budget} bits for {total} "
                             f"weights, below the minimum {minimum} bits ({minimum / total:.4f} bits/weight: "
                             f"every component at {min(choices)} bits)")
    else:
        if coded_bytes is None:
            raise ValueError("budget_bytes needs coded_bytes (coded_weight_bytes(model, components, choices))")
        budget = _non_negative_int(budget_bytes, "budget_bytes")
        weights = [[_coded(coded_bytes, name, b) for b in choices] for name in names]
        minimum = sum(min(w) for w in weights)
        if budget < minimum:
            raise ValueError(f"budget_bytes={budget} is below the minimum {minimum} coded bytes (every component at "
                             "its smallest coded size)")
    picks = _solve(cost_table, weights, budget)
    return {name: choices[pick] for name, pick in zip(names, picks, strict=True)}


def achieved_bits_per_weight(bits: Mapping[str, int], sizes: Mapping[str, int]) -> float:
    """``Σ sizes[c]·bits[c] / Σ sizes[c]``."""
    names = _check_keys(bits, sizes, "bits")
    total = sum(_size(sizes, n) for n in names)
    return sum(_size(sizes, n) * int(bits[n]) for n in names) / total


def total_cost(costs: Mapping[str, Mapping[int, float]], bits: Mapping[str, int]) -> float:
    """``Σ costs[c][bits[c]]``."""
    return float(sum(costs[name][bits[name]] for name in bits))


# --- the solvers ----------------------------------------------------------------------------------
def _solve(cost_table: np.ndarray, weights: list[list[int]], budget: int) -> list[int]:
    """Index of the chosen option per component, minimising Σ cost with Σ weight ≤ budget."""
    base = [min(w) for w in weights]
    increments = [[w - low for w in row] for row, low in zip(weights, base, strict=True)]
    capacity = budget - sum(base)
    step = reduce(math.gcd, (i for row in increments for i in row if i), 0)
    if step == 0:  # every choice weighs the same: take the cheapest of each
        return [int(np.argmin(row)) for row in cost_table]
    capacity //= step
    increments = [[i // step for i in row] for row in increments]
    max_useful = sum(max(row) for row in increments)
    capacity = min(capacity, max_useful)  # a budget beyond everything at its largest is no constraint
    if len(increments) * (capacity + 1) <= _MAX_DP_CELLS:
        return _dynamic_programming(cost_table, increments, capacity)
    return _integer_program(cost_table, increments, capacity)


def _dynamic_programming(cost_table: np.ndarray, increments: list[list[int]], capacity: int) -> list[int]:
    """Multiple-choice knapsack by DP over the used capacity 0..capacity, with backtracking."""
    best = np.full(capacity + 1, np.inf)
    best[0] = 0.0
    picks = np.zeros((len(increments), capacity + 1), dtype=np.int16)
    for index, (row_costs, row_increments) in enumerate(zip(cost_table, increments, strict=True)):
        updated = np.full(capacity + 1, np.inf)
        for option, (cost, increment) in enumerate(zip(row_costs, row_increments, strict=True)):
            if increment > capacity:
                continue
            candidate = np.full(capacity + 1, np.inf)
            candidate[increment:] = best[:capacity + 1 - increment] + cost
            better = candidate < updated
            updated[better] = candidate[better]
            picks[index, better] = option
        best = updated
    used = int(np.argmin(best))  # the first (least used budget) among equal totals
    chosen = []
    for index in range(len(increments) - 1, -1, -1):
        option = int(picks[index, used])
        chosen.append(option)
        used -= increments[index][option]
    return chosen[::-1]


def _integer_program(cost_table: np.ndarray, increments: list[list[int]], capacity: int) -> list[int]:
    """The same problem as a 0/1 ILP for HiGHS (one-hot choice per component), solved to optimality."""
    try:
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import coo_array
    except ImportError:  # pragma: no cover - scipy is a dependency
        return _dynamic_programming(cost_table, increments, capacity)
    count, options = cost_table.shape
    variables = count * options
    rows = np.repeat(np.arange(count), options)
    one_hot = coo_array((np.ones(variables), (rows, np.arange(variables))), shape=(count, variables))
    weight_row = np.array(increments, dtype=np.float64).reshape(1, -1)
    result = milp(cost_table.reshape(-1), integrality=np.ones(variables), bounds=Bounds(0, 1),
                  constraints=[LinearConstraint(one_hot, 1, 1), LinearConstraint(weight_row, -np.inf, capacity)],
                  options={"mip_rel_gap": 0.0})
    if result.x is None:
        raise ValueError(f"the bit allocation ILP failed: {result.message}")
    chosen = [int(np.argmax(row)) for row in result.x.reshape(count, options)]
    if sum(increments[i][c] for i, c in enumerate(chosen)) > capacity:  # pragma: no cover - HiGHS tolerance
        raise ValueError("the bit allocation ILP returned a choice over the budget")
    return chosen


# --- checks ---------------------------------------------------------------------------------------
def _check_keys(costs: Mapping, sizes: Mapping, what: str = "costs") -> list[str]:
    if not isinstance(costs, Mapping) or not isinstance(sizes, Mapping):
        raise ValueError(f"{what} and sizes must be mappings keyed by component name")
    if not costs:
        raise ValueError(f"{what} is empty: nothing to allocate")
    missing, extra = sorted(set(costs) - set(sizes)), sorted(set(sizes) - set(costs))
    if missing or extra:
        raise ValueError(f"{what} and sizes have different components: only in {what} {missing[:10]}, "
                         f"only in sizes {extra[:10]}")
    return list(costs)


def _cost(costs, name: str, bits: int) -> float:
    row = costs[name]
    if not isinstance(row, Mapping) or bits not in row:
        have = sorted(row) if isinstance(row, Mapping) else type(row).__name__
        raise ValueError(f"costs[{name!r}] has no cost for {bits} bits (it has {have})")
    value = float(row[bits])
    if not math.isfinite(value):
        raise ValueError(f"costs[{name!r}][{bits}] is not finite ({value})")
    return value


def _size(sizes, name: str) -> int:
    size = sizes[name]
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"sizes[{name!r}] must be a positive integer weight count, got {size!r}")
    return int(size)


def _coded(coded_bytes, name: str, bits: int) -> int:
    row = coded_bytes.get(name) if isinstance(coded_bytes, Mapping) else None
    if row is None or bits not in row:
        raise ValueError(f"coded_bytes has no size for component {name!r} at {bits} bits")
    return _non_negative_int(row[bits], f"coded_bytes[{name!r}][{bits}]")


def _positive_number(value, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating, Fraction)):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        value = Fraction(repr(float(value)))  # the decimal as written: 3.3 -> 33/10
    value = Fraction(value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)
